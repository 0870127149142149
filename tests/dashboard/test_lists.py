"""The lists staff work in (Promos, Promotions, Offer Responses, Coupon cards): each sorts by its column
headings both ways, shows its total, and downloads what it shows (filters and sort) as CSV."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from coupons import services as card_services
from offers.services import create_offer
from promos.models import Promo
from redemptions.models import OfferResponse
from redemptions.services import PromotionSnapshot, ResponseTerms, assign_response
from tests.coupons.factories import make_template
from tests.factories import PatientFactory
from tests.promos.factories import seed

pytestmark = pytest.mark.django_db


def url(clinic, name):
    return reverse(name, kwargs={"clinic_slug": clinic.slug})


def download(client, clinic, name, **params) -> list[list[str]]:
    response = client.get(url(clinic, name), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def column(rows: list[list[str]], heading: str) -> list[str]:
    at = rows[0].index(heading)
    return [row[at] for row in rows[1:]]


def heading_link(page: str, label: str, path: str) -> tuple[str, str]:
    """The aria-sort of the sortable column heading `label` on the page at `path`, and where its link goes."""
    found = re.search(r'<th scope="col" class="[^"]*" aria-sort="(\w+)"><a class="sort-link" href="([^"]+)">'
                      + re.escape(label), page)
    assert found, f"no sortable heading {label!r}"
    return found.group(1), path + found.group(2).replace("&amp;", "&")


def follow_heading_twice(client, path: str, label: str, params=None) -> tuple[str, str, str]:
    """The list at `path`, then sorted by the heading `label` (ascending), then by it again (descending)."""
    page = client.get(path, params or {}).content.decode()
    _, link = heading_link(page, label, path)
    ascending = client.get(link).content.decode()
    _, link = heading_link(ascending, label, path)
    return page, ascending, client.get(link).content.decode()


def in_order(page: str, *names: str) -> bool:
    return [page.index(name) for name in names] == sorted(page.index(name) for name in names)


# ---- Promos -----------------------------------------------------------------------------------------


@pytest.fixture
def promos(clinic_a, in_clinic):
    made = {name: seed(clinic_a, in_clinic, name, active=active)
            for name, active in (("Bravo", True), ("Alpha", True), ("Charlie", False))}
    with in_clinic(clinic_a):
        for name, uses in (("Bravo", 7), ("Alpha", 2), ("Charlie", 0)):
            Promo.objects.filter(pk=made[name].pk).update(uses=uses)
    return made


def promo_names(page: str) -> list[str]:
    return re.findall(r'class="row-link break" href="/c/[^/]+/promos/\d+/">([^<]+)</a>', page)


def test_promos_sort_by_their_column_headings_both_ways(clinic_a, viewer_a, client_for, promos):
    client, path = client_for(viewer_a), url(clinic_a, "promos:list")
    page = client.get(path).content.decode()

    state, link = heading_link(page, "Uses", path)
    assert state == "none"
    ascending = client.get(link).content.decode()
    assert promo_names(ascending) == ["Charlie", "Alpha", "Bravo"]
    state, link = heading_link(ascending, "Uses", path)
    assert state == "ascending"
    assert promo_names(client.get(link).content.decode()) == ["Bravo", "Alpha", "Charlie"]
    assert promo_names(client.get(url(clinic_a, "promos:list"), {"sort": "name"}).content.decode()) == [
        "Alpha", "Bravo", "Charlie"]
    assert '<span data-testid="promos-total">3 in total</span>' in page


def test_the_promo_csv_has_the_rows_shown_in_their_order(clinic_a, viewer_a, client_for, promos):
    rows = download(client_for(viewer_a), clinic_a, "promos:export", status="active", sort="-uses")

    assert column(rows, "Promo") == ["Bravo", "Alpha"]  # the Active segment, most used first
    assert column(rows, "Uses") == ["7", "2"]
    assert column(rows, "Status") == ["Active", "Active"]
    assert column(rows, "Code") == ["BRAVO", "ALPHA"]
    assert column(rows, "Promotion id") == [promos["Bravo"].promotion_key, promos["Alpha"].promotion_key]


# ---- Promotions -------------------------------------------------------------------------------------


def test_promotions_sort_by_column_and_export_what_they_show(clinic_a, in_clinic, viewer_a, client_for):
    with in_clinic(clinic_a):
        for name in ("Zeta offer", "Eta offer"):
            create_offer(clinic=clinic_a, data={"name": name, "title": name, "discount_type": "percent",
                                                "discount_value": "10"})
    client = client_for(viewer_a)

    page, ascending, descending = follow_heading_twice(client, url(clinic_a, "dashboard:promotions"), "Promotion",
                                                       {"kind": "offer"})
    assert in_order(ascending, "Eta offer", "Zeta offer") and in_order(descending, "Zeta offer", "Eta offer")
    assert '<span data-testid="promotions-total">2 in total</span>' in page

    rows = download(client, clinic_a, "dashboard:promotions_export", kind="offer", sort="-name")
    assert column(rows, "Promotion") == ["Zeta offer", "Eta offer"]
    assert column(rows, "Kind") == ["One-time offer", "One-time offer"]
    assert column(rows, "Assigned") == ["0", "0"] and column(rows, "Redemption rate (%)") == ["", ""]
    assert column(rows, "Currency") == [clinic_a.currency] * 2


# ---- Offer Responses --------------------------------------------------------------------------------

WHITENING = PromotionSnapshot(key="offer_7", kind="offer", id=7, name="Spring whitening", discount_type="amount",
                              discount_value=Decimal("25"), discount_label="£25.00 Off")


def test_the_responses_csv_follows_the_filters_and_sort(clinic_a, in_clinic, viewer_a, client_for):
    with in_clinic(clinic_a):
        made = {}
        for first in ("Ann", "Bob", "Cat"):
            patient = PatientFactory(first_name=first, last_name="Lee", email=f"{first.lower()}@example.com")
            made[first] = assign_response(clinic=clinic_a, patient=patient, source="claim", terms=ResponseTerms(
                promotion=WHITENING, title="£25 off whitening", allow_multiple=True))
        OfferResponse.objects.filter(pk=made["Bob"].pk).update(status="canceled")
    client = client_for(viewer_a)

    rows = download(client, clinic_a, "responses:export", status="pending", sort="-created")

    assert column(rows, "Patient") == ["Cat Lee", "Ann Lee"]
    assert column(rows, "E-mail") == ["cat@example.com", "ann@example.com"]
    assert column(rows, "Status") == ["Pending", "Pending"]
    assert column(rows, "Offer") == ["Spring whitening"] * 2
    assert column(rows, "Response id") == [str(made["Cat"].pk), str(made["Ann"].pk)]
    # a filter the list refuses gives the heading alone, never a 500
    assert download(client, clinic_a, "responses:export", status="lost") == [rows[0]]
    page = client.get(url(clinic_a, "responses:list")).content.decode()
    assert "3 in total" in page


# ---- Coupon cards -----------------------------------------------------------------------------------


def test_card_templates_sort_by_installed_users_and_export(clinic_a, in_clinic, viewer_a, client_for):
    with in_clinic(clinic_a):
        few = make_template(clinic_a, name="Few installs")
        many = make_template(clinic_a, name="Many installs")
        for n in range(3):
            card = card_services.issue_card(template=many, patient=PatientFactory())
            card_services.install_card(card=card, installed_on="pwa")
        card_services.install_card(card=card_services.issue_card(template=few, patient=PatientFactory()),
                                   installed_on="pwa")
    client = client_for(viewer_a)

    page, ascending, descending = follow_heading_twice(client, url(clinic_a, "cards:list"), "Installed users")
    assert in_order(ascending, "Few installs", "Many installs")
    assert in_order(descending, "Many installs", "Few installs")
    assert '<span data-testid="cards-total">2 in total</span>' in page

    rows = download(client, clinic_a, "cards:export", sort="-installed")
    assert column(rows, "Card") == ["Many installs", "Few installs"]
    assert column(rows, "Installed users") == ["3", "1"] and column(rows, "Issued") == ["3", "1"]
    assert column(rows, "Discount") == ["20% Off", "20% Off"]
