"""Marketing → Promos pages: list and segments, detail with metrics and activity, forms, lifecycle,
personal codes, comparison and portfolio (PRO-1, PRO-2, PRO-4 … PRO-8, CORE-2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_crm.common.choices import DiscountSource
from promos.models import Promo, PromoActivity, PromoCode
from promos.services import archive_promo
from redemptions.models import Redemption
from tests.factories import OrderFactory, PatientFactory
from tests.promos.factories import ACTOR, form_data, seed, url

pytestmark = pytest.mark.django_db


def status_of(clinic, in_clinic, promo) -> str:
    with in_clinic(clinic):
        return Promo.objects.get(pk=promo.pk).status


def test_list_shows_rows_segments_with_counts_and_derived_expired(clinic_a, in_clinic, staff_a, client_for):
    # given an active, a draft and an archived promo
    seed(clinic_a, in_clinic, "Live one", code="LIVE1", active=True)
    seed(clinic_a, in_clinic, "Draft one", code="DRAFT1")
    gone = seed(clinic_a, in_clinic, "Gone one", code="GONE1")
    with in_clinic(clinic_a):
        archive_promo(promo=gone, actor=ACTOR)
    client = client_for(staff_a)

    # when the list opens on All
    response = client.get(url(clinic_a, "list"))

    # then every promo is listed with its code and the segments carry their counts
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Live one", "LIVE1", "Draft one", "Gone one", "10% Off", "New promo"):
        assert text in html
    segments = dict(zip(["all", "active", "scheduled", "draft", "paused", "expired"],
                        [s.count for s in response.context["listing"].segments]))
    assert segments == {"all": 3, "active": 1, "scheduled": 0, "draft": 1, "paused": 0, "expired": 1}
    assert 'data-segment="expired">Expired <span class="count" data-testid="segment-count">1</span>' in html

    # and the Expired segment shows only the archived one, badged for what it is: Archived
    expired = client.get(url(clinic_a, "list"), {"status": "expired"})
    rows = expired.context["listing"].rows
    assert [r.promo.name for r in rows] == ["Gone one"] and rows[0].badge_label == "Archived"


def test_list_search_and_sort(clinic_a, in_clinic, viewer_a, client_for):
    seed(clinic_a, in_clinic, "Alpha", code="ZETA")
    seed(clinic_a, in_clinic, "Beta", code="BETA")
    client = client_for(viewer_a)
    found = client.get(url(clinic_a, "list"), {"q": "zeta"})
    assert [r.promo.name for r in found.context["listing"].rows] == ["Alpha"]
    ordered = client.get(url(clinic_a, "list"), {"sort": "-name"})
    assert [r.promo.name for r in ordered.context["listing"].rows] == ["Beta", "Alpha"]
    # a nonsense filter value is a form error, not a 500
    assert client.get(url(clinic_a, "list"), {"status": "bogus", "sort": "nope"}).status_code == 200


def test_create_through_the_form_makes_a_draft_with_its_code(clinic_a, in_clinic, staff_a, client_for):
    client = client_for(staff_a)
    assert client.get(url(clinic_a, "create")).status_code == 200

    response = client.post(url(clinic_a, "create"), form_data())

    with in_clinic(clinic_a):
        promo = Promo.objects.get(name="Spring whitening")
        assert promo.status == "draft" and promo.max_uses == 100 and promo.marketing_cost == Decimal("250")
        assert PromoCode.objects.get(promo=promo).code == "SPRING20"
        assert PromoActivity.objects.get(promo=promo).actor_email == staff_a.email
    assert response.status_code == 302 and response.url == url(clinic_a, "detail", promo.pk)


def test_create_a_tiered_promo_with_its_tiers(clinic_a, in_clinic, staff_a, client_for):
    data = form_data(kind="tiered", name="Spend more", code="TIERS", discount_value="", **{
        "tiers-0-min_order": "100", "tiers-0-discount_type": "percent", "tiers-0-discount_value": "10",
        "tiers-1-min_order": "300", "tiers-1-discount_type": "amount", "tiers-1-discount_value": "50"})
    response = client_for(staff_a).post(url(clinic_a, "create"), data)
    assert response.status_code == 302
    with in_clinic(clinic_a):
        promo = Promo.objects.get(name="Spend more")
        assert [(t.min_order, t.discount_type) for t in promo.tiers.order_by("min_order")] == [
            (Decimal("100.00"), "percent"), (Decimal("300.00"), "amount")]


@pytest.mark.parametrize("overrides, field, message", [
    ({"name": ""}, "name", "This field is required."),
    ({"code": ""}, "code", "Enter the code patients will type."),
    ({"discount_value": "150"}, "discount_value", "A percentage cannot be more than 100."),
    ({"discount_value": "abc"}, "discount_value", "Enter a number."),
    ({"starts_at": "2026-06-10T10:00", "ends_at": "2026-06-01T10:00"}, "ends_at", "The end must be after the start."),
    ({"max_uses": "0"}, "max_uses", "Ensure this value is greater than or equal to 1."),
    ({"audience": "patients"}, "audience_patients", "Choose at least one patient."),
    ({"applies_to": "services"}, "applies_to_items", "Name at least one service or category."),
    ({"code": "a b"}, "code", "Use 3 to 40 letters, digits, dashes or underscores."),
    ({"kind": "tiered"}, None, "A tiered promo needs at least one tier"),
])
def test_bad_input_is_a_form_error_never_a_500(clinic_a, staff_a, client_for, overrides, field, message):
    response = client_for(staff_a).post(url(clinic_a, "create"), form_data(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field or "__all__", [])
    assert any(message in e for e in errors), form.errors
    assert message.split("“")[0][:20] in response.content.decode().replace("&#x27;", "'")


def test_a_code_another_promo_uses_is_reported_on_the_code_field(clinic_a, in_clinic, staff_a, client_for):
    seed(clinic_a, in_clinic, "First", code="TAKEN")
    response = client_for(staff_a).post(url(clinic_a, "create"), form_data(code="taken"))
    assert response.status_code == 200
    assert "“First” already uses TAKEN (codes ignore case)." in response.context["form"].errors["code"]


def test_detail_shows_metrics_details_and_the_activity_diff_after_an_edit(clinic_a, in_clinic, staff_a, client_for):
    # given a promo used twice, then edited through the form
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True, max_uses=50)
    with in_clinic(clinic_a):
        patient = PatientFactory()
        for subtotal, discount in (("100.00", "10.00"), ("300.00", "30.00")):
            order = OrderFactory(patient=patient, subtotal=Decimal(subtotal), discount_amount=Decimal(discount),
                                 discount_source=DiscountSource.PROMO, source_key=promo.promotion_key)
            Redemption.objects.create(promotion_key=promo.promotion_key, promotion_kind="promo",
                                      promotion_id=promo.pk, promotion_name=promo.name, patient=patient,
                                      status="applied", discount_type="percent", discount_label="10% Off",
                                      order=order, discount_amount=Decimal(discount), order_total=order.total)
    client = client_for(staff_a)
    edit = client.post(url(clinic_a, "edit", promo.pk), form_data(
        name="Spring", code="SPRING", discount_value="10", max_uses="80", marketing_cost=""))
    assert edit.status_code == 302, edit.context and edit.context["form"].errors

    # when the detail page opens
    response = client.get(url(clinic_a, "detail", promo.pk))
    html = response.content.decode()

    # then the four metric cards show hand-worked figures: 2 uses, 1 customer, £40 off, (90 + 270) / 2
    metrics = response.context["metrics"]
    assert (metrics.uses, metrics.unique_customers) == (2, 1)
    assert "£40.00" in html and "£180.00" in html
    for label in ("Uses", "Unique patients", "Total discounted", "Avg order value", "Details", "Activity log",
                  "Applies to", "Audience", "Min order", "Max uses", "Per patient", "Window", "Banner",
                  "Auto-apply", "Marketing cost", "Budget"):
        assert label in html
    # and the log names who changed what, with the before → after of the edited field
    update = next(a for a in response.context["activity"] if a.action == "updated")
    assert update.actor_email == staff_a.email
    lines = {c.field: (c.before, c.after) for c in update.changes}
    assert lines["Max uses"] == ("50", "80")
    assert "data-testid=\"activity-diff\"" in html and "<del>50</del>" in html and "<ins>80</ins>" in html


def test_detail_query_count_does_not_grow_with_redemptions(clinic_a, in_clinic, staff_a, client_for):
    promo = seed(clinic_a, in_clinic, "Busy", code="BUSY", active=True)
    client = client_for(staff_a)

    def add_uses(n):
        with in_clinic(clinic_a):
            patients = [PatientFactory() for _ in range(3)]
            for i in range(n):
                order = OrderFactory(patient=patients[i % 3], discount_amount=Decimal("5.00"))
                Redemption.objects.create(promotion_key=promo.promotion_key, promotion_kind="promo",
                                          promotion_id=promo.pk, promotion_name=promo.name,
                                          patient=patients[i % 3], status="applied", discount_type="percent",
                                          discount_label="10% Off", order=order, discount_amount=Decimal("5.00"),
                                          order_total=order.total)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(clinic_a, "detail", promo.pk)).status_code == 200
        return len(captured)

    client.get(url(clinic_a, "detail", promo.pk))  # the first visit also remembers the clinic in the session
    add_uses(3)
    with_three = queries()
    add_uses(27)
    assert queries() == with_three


def test_pause_and_activate_from_the_list_return_to_it(clinic_a, in_clinic, staff_a, client_for):
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    client = client_for(staff_a)
    back = url(clinic_a, "list") + "?status=active"

    response = client.post(url(clinic_a, "pause", promo.pk), {"next": back}, follow=True)
    assert response.redirect_chain[-1][0] == back
    assert "is paused" in response.content.decode()
    assert status_of(clinic_a, in_clinic, promo) == "paused"
    paused = client.get(url(clinic_a, "list"), {"status": "paused"})
    assert [r.promo.name for r in paused.context["listing"].rows] == ["Spring"]

    client.post(url(clinic_a, "activate", promo.pk))
    assert status_of(clinic_a, in_clinic, promo) == "active"
    # an off-site "next" is ignored
    response = client.post(url(clinic_a, "pause", promo.pk), {"next": "https://evil.example/"})
    assert response.url == url(clinic_a, "detail", promo.pk)


def test_archive_asks_for_confirmation_and_is_final(clinic_a, in_clinic, staff_a, client_for):
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    client = client_for(staff_a)

    confirm = client.get(url(clinic_a, "archive", promo.pk))
    assert confirm.status_code == 200
    assert "cannot be activated again" in confirm.content.decode()
    assert status_of(clinic_a, in_clinic, promo) == "active"  # nothing happens until the POST

    client.post(url(clinic_a, "archive", promo.pk))
    assert status_of(clinic_a, in_clinic, promo) == "archived"

    again = client.post(url(clinic_a, "activate", promo.pk), follow=True)
    assert "This promo is archived and cannot be re-activated." in again.content.decode()
    assert status_of(clinic_a, in_clinic, promo) == "archived"


def test_viewer_can_read_every_page_but_not_write(clinic_a, in_clinic, viewer_a, client_for):
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    client = client_for(viewer_a)
    for name, args in (("list", ()), ("detail", (promo.pk,)), ("compare", ()), ("portfolio", ())):
        response = client.get(url(clinic_a, name, *args))
        assert response.status_code == 200
        page = response.content.decode()
        assert f'href="{url(clinic_a, "create")}"' not in page  # no working link to the form
        assert 'data-testid="pause-button"' not in page
    assert client.get(url(clinic_a, "create")).status_code == 403
    for name in ("pause", "archive", "activate"):
        assert client.post(url(clinic_a, name, promo.pk)).status_code == 403
    assert client.post(url(clinic_a, "create"), form_data()).status_code == 403
    assert status_of(clinic_a, in_clinic, promo) == "active"


def test_another_clinics_promo_is_not_found(clinic_a, clinic_b, in_clinic, owner_a, client_for):
    theirs = seed(clinic_b, in_clinic, "Theirs", code="THEIRS", active=True)
    client = client_for(owner_a)
    for name in ("detail", "edit", "archive", "codes_csv"):
        assert client.get(url(clinic_a, name, theirs.pk)).status_code == 404
    for name in ("pause", "activate", "archive", "generate_codes"):
        assert client.post(url(clinic_a, name, theirs.pk)).status_code == 404


def test_personal_codes_are_generated_for_chosen_patients_and_downloaded(clinic_a, in_clinic, staff_a, client_for):
    promo = seed(clinic_a, in_clinic, "VIP", kind="personalised")
    with in_clinic(clinic_a):
        ann, bob, _ = PatientFactory(last_name="Ann"), PatientFactory(last_name="Bob"), PatientFactory()
    client = client_for(staff_a)

    refused = client.post(url(clinic_a, "generate_codes", promo.pk), {})
    assert refused.status_code == 400
    assert "Choose patients" in refused.content.decode()

    client.post(url(clinic_a, "generate_codes", promo.pk), {"patients": [ann.pk, bob.pk], "prefix": "vip"})
    with in_clinic(clinic_a):
        codes = list(PromoCode.objects.filter(promo=promo).values_list("code", flat=True))
    assert len(codes) == 2 and all(c.startswith("VIP") for c in codes)

    csv = client.get(url(clinic_a, "codes_csv", promo.pk))
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    body = csv.content.decode()
    assert all(code in body for code in codes) and "Ann" in body

    everyone = client.post(url(clinic_a, "generate_codes", promo.pk), {"everyone": "on"}, follow=True)
    assert "1 personal code generated" in everyone.content.decode()


def test_compare_page_explains_formulas_and_sorts(clinic_a, in_clinic, viewer_a, client_for):
    seed(clinic_a, in_clinic, "Costed", code="COSTED", marketing_cost=Decimal("100"))
    seed(clinic_a, in_clinic, "Free", code="FREE")
    client = client_for(viewer_a)
    response = client.get(url(clinic_a, "compare"), {"sort": "-uses_per_cost"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "uses ÷ marketing cost" in html and "total discounted ÷ revenue" in html
    assert "uses ÷ unique patients" in html
    assert [r.promo.name for r in response.context["rows"]] == ["Costed", "Free"]
    assert client.get(url(clinic_a, "compare"), {"sort": "bogus"}).status_code == 200


@pytest.mark.parametrize("query", [{}, {"period": "7"}, {"period": "90", "metric": "revenue"},
                                   {"period": "custom", "start": "2026-01-01", "end": "2026-01-31"},
                                   {"period": "custom", "start": "2026-02-01", "end": "2026-01-01"},
                                   {"period": "custom", "start": "nonsense"}, {"metric": "bogus"}])
def test_portfolio_page_handles_every_range(clinic_a, in_clinic, viewer_a, client_for, query):
    seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    response = client_for(viewer_a).get(url(clinic_a, "portfolio"), query)
    assert response.status_code == 200
    if query.get("start") == "2026-02-01":
        assert "The start date must be on or before the end date." in response.content.decode()


def test_portfolio_draws_a_chart_when_promos_were_used(clinic_a, in_clinic, viewer_a, client_for):
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    with in_clinic(clinic_a):
        patient = PatientFactory()
        order = OrderFactory(patient=patient, discount_amount=Decimal("5.00"))
        Redemption.objects.create(promotion_key=promo.promotion_key, promotion_kind="promo", promotion_id=promo.pk,
                                  promotion_name=promo.name, patient=patient, status="applied",
                                  discount_type="percent", discount_label="10% Off", order=order,
                                  discount_amount=Decimal("5.00"), order_total=order.total)
    response = client_for(viewer_a).get(url(clinic_a, "portfolio"), {"period": "7", "metric": "discount"})
    html = response.content.decode()
    assert '<svg class="chart chart-line"' in html and "Spring" in html
    assert response.context["portfolio"].uses == 1
