"""End-to-end journeys through the dashboard in a real Chromium (CORE-2, CORE-4, CORE-7, CORE-9)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from clinic_crm.common.choices import DiscountSource, DiscountType
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.models import ApiKey
from tests.conftest import make_staff
from tests.factories import OrderFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def main_menu(page: Page):
    return page.get_by_role("navigation", name="Main menu")


def seed_order(*, reference, patient, day, subtotal, currency, tz, source=DiscountSource.NONE, discount="0.00",
               label="", name="", key=""):
    placed_at = datetime(*day, 12, 0, tzinfo=ZoneInfo(tz))  # midday: the same date in every timezone we use
    subtotal, discount = Decimal(subtotal), Decimal(discount)
    extra = {}
    if source != DiscountSource.NONE:
        extra = dict(discount_type=DiscountType.PERCENT, discount_value=Decimal("10"), source_label=label,
                     source_name=name, source_key=key)
    return OrderFactory(reference=reference, patient=patient, placed_at=placed_at, currency=currency,
                        subtotal=subtotal, discount_amount=discount, total=subtotal - discount,
                        discount_source=source, **extra)


def table_references(page: Page) -> list[str]:
    rows = page.get_by_test_id("orders-table").locator("tbody tr")
    return sorted(re.search(r"\b[A-Z]{3}-\d+\b", text).group(0) for text in rows.all_inner_texts())


def test_a_two_clinic_user_switches_clinic_and_filters_revenue_down_to_the_expected_orders(
    clinic_a, clinic_b, in_clinic, login, page, screenshot,
):
    # given someone who owns Clinic A and manages Clinic B
    user = make_staff(clinic_a, Role.OWNER, email="sam@two-clinics.test")
    make_staff(clinic_b, Role.MANAGER, email="sam@two-clinics.test")
    # and, in Clinic B, promo orders inside and outside March, an offer order and an undiscounted one
    ny = "America/New_York"
    with in_clinic(clinic_b):
        dana = PatientFactory(first_name="Dana", last_name="Whitfield")
        eli = PatientFactory(first_name="Eli", last_name="Moreno")
        promo = dict(source=DiscountSource.PROMO, label="10% Off", name="SPRING10 welcome", key="promo_7")
        seed_order(reference="BRK-1001", patient=dana, day=(2025, 3, 3), subtotal="200.00", discount="20.00",
                   currency="USD", tz=ny, **promo)
        seed_order(reference="BRK-1002", patient=eli, day=(2025, 3, 10), subtotal="150.00", discount="15.00",
                   currency="USD", tz=ny, **promo)
        seed_order(reference="BRK-1003", patient=dana, day=(2025, 3, 5), subtotal="100.00", discount="25.00",
                   currency="USD", tz=ny, source=DiscountSource.OFFER, label="$25.00 Off", name="Spring whitening",
                   key="offer_3")
        seed_order(reference="BRK-1004", patient=eli, day=(2025, 4, 20), subtotal="300.00", discount="30.00",
                   currency="USD", tz=ny, **promo)
        seed_order(reference="BRK-1005", patient=dana, day=(2025, 3, 7), subtotal="90.00", currency="USD", tz=ny)
    # and a March promo order in Clinic A that must never show in Clinic B
    with in_clinic(clinic_a):
        seed_order(reference="HAR-2001", patient=PatientFactory(first_name="Hana", last_name="Ito"),
                   day=(2025, 3, 4), subtotal="500.00", discount="50.00", currency="GBP", tz="Europe/London",
                   source=DiscountSource.PROMO, label="10% Off", name="SMILE10", key="promo_1")

    # when they sign in through the form, they are asked which clinic to open
    login(user)
    expect(page.get_by_role("heading", name="Choose a clinic")).to_be_visible()
    page.get_by_role("link", name=re.compile("Clinic A")).click()
    switcher = page.locator("details[data-testid=clinic-switcher]")
    expect(switcher.locator("summary")).to_contain_text("Clinic A")

    # and they switch to Clinic B from the top bar
    switcher.locator("summary").click()
    switcher.get_by_role("link", name=re.compile("Clinic B")).click()
    expect(page).to_have_url(re.compile(r"/c/clinic-b/$"))
    expect(switcher.locator("summary")).to_contain_text("Clinic B")

    # and open Revenue from the left menu
    main_menu(page).get_by_role("link", name="Revenue").click()
    expect(page.get_by_role("heading", level=1, name="Revenue")).to_be_visible()

    # then only Clinic B's orders are listed, with Clinic B's totals
    expect(page.get_by_test_id("orders-count")).to_have_text("5")
    expect(page.get_by_test_id("orders-revenue")).to_have_text("$750.00")
    assert table_references(page) == ["BRK-1001", "BRK-1002", "BRK-1003", "BRK-1004", "BRK-1005"]
    expect(page.get_by_text("HAR-2001")).to_have_count(0)

    # when they filter to promo-code discounts in March 2025
    filters = page.get_by_test_id("order-filters")
    filters.get_by_label("Discount source", exact=True).select_option(label="Promo code")
    filters.get_by_label("From", exact=True).fill("2025-03-01")
    filters.get_by_label("To", exact=True).fill("2025-03-31")
    filters.get_by_role("button", name="Filter").click()

    # then exactly the two March promo orders remain, and the totals are theirs
    expect(page).to_have_url(re.compile(r"source=promo"))
    expect(page.get_by_test_id("orders-count")).to_have_text("2")
    expect(page.get_by_test_id("orders-revenue")).to_have_text("$315.00")
    expect(page.get_by_test_id("orders-discount")).to_have_text("$35.00")
    assert table_references(page) == ["BRK-1001", "BRK-1002"]
    rows = page.get_by_test_id("orders-table").locator("tbody tr")
    expect(rows.filter(has_text="BRK-1002")).to_contain_text("Eli Moreno")
    expect(rows.filter(has_text="BRK-1002")).to_contain_text("10% Off")
    expect(rows.filter(has_text="BRK-1002")).to_contain_text("$135.00")
    # and the filter form keeps what was chosen
    expect(filters.get_by_label("Discount source", exact=True)).to_have_value("promo")
    expect(filters.get_by_label("From", exact=True)).to_have_value("2025-03-01")
    screenshot("journey-revenue-filtered")

    # when they open one of those orders, its own page agrees with the row
    rows.filter(has_text="BRK-1001").get_by_role("link", name=re.compile("3 Mar 2025")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Order BRK-1001")
    expect(page.get_by_test_id("order-total")).to_have_text("$180.00")


def test_a_viewer_sees_no_write_actions_and_their_writes_are_refused(
    clinic_a, viewer_a, in_clinic, login, page, live_server,
):
    # given a viewer of Clinic A, which has two patients
    with in_clinic(clinic_a):
        patient = PatientFactory(first_name="Ruth", last_name="Okafor")
        PatientFactory(first_name="Tomasz", last_name="Nowak")

    # when the viewer looks at Patients, searches, and opens the patient's profile
    login(viewer_a)
    main_menu(page).get_by_role("link", name="Patients").click()
    expect(page.get_by_role("link", name="Tomasz Nowak")).to_be_visible()
    page.get_by_role("searchbox", name="Search patients").fill("okafor")
    expect(page.get_by_role("link", name="Tomasz Nowak")).to_have_count(0)  # the list narrows as they type
    expect(page.get_by_role("link", name="Ruth Okafor")).to_be_visible()

    # then there is no way to add or edit anyone
    expect(page.get_by_role("link", name="Add patient")).to_have_count(0)
    page.get_by_role("link", name="Ruth Okafor").click()
    expect(page.get_by_role("heading", level=1, name="Ruth Okafor")).to_be_visible()
    expect(page.get_by_role("link", name="Edit details")).to_have_count(0)
    # and Settings is not in their menu
    expect(main_menu(page).get_by_role("link", name="API keys")).to_have_count(0)

    # when they post to write URLs anyway, with a valid CSRF token so only their role can stop them
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    base = f"{live_server.url}/c/{clinic_a.slug}/patients"
    headers = {"X-CSRFToken": token}
    created = page.request.post(f"{base}/new/", headers=headers,
                                form={"first_name": "Mallory", "last_name": "Intruder", "external_id": "m-1"})
    edited = page.request.post(f"{base}/{patient.pk}/edit/", headers=headers, form={
        "first_name": "Changed", "last_name": "Okafor", "external_id": patient.external_id})

    # then both are refused and nothing changed
    assert created.status == 403
    assert edited.status == 403
    assert "You can't do that here" in created.text()
    with in_clinic(clinic_a):
        assert sorted(Patient.objects.values_list("first_name", flat=True)) == ["Ruth", "Tomasz"]

    # and opening the add form directly shows the refusal page, not the form
    page.goto(f"{base}/new/")
    expect(page.get_by_role("heading", name="You can't do that here")).to_be_visible()
    expect(page.get_by_label("First name", exact=True)).to_have_count(0)


def test_an_owner_creates_an_api_key_and_sees_it_exactly_once(clinic_a, owner_a, in_clinic, login, page, screenshot):
    # given an owner of Clinic A, signed in (one clinic, so straight to its dashboard)
    login(owner_a)
    expect(page).to_have_url(re.compile(r"/c/clinic-a/$"))

    # when they create a key in Settings → API keys
    main_menu(page).get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Front desk POS")
    page.get_by_label("Redemption events").check()
    page.get_by_role("button", name="Create key").click()

    # then the full key is shown once, in the new-key panel only
    panel = page.get_by_test_id("new-key")
    expect(panel).to_be_visible()
    full_key = panel.locator("#new-api-key").inner_text().strip()
    match = re.fullmatch(r"ck_([0-9a-f]{12})_\S{20,}", full_key)
    assert match, full_key
    prefix = match.group(1)
    assert page.content().count(full_key) == 1
    # and the list shows it masked, with its scopes
    row = page.get_by_role("row", name=re.compile("Front desk POS"))
    expect(row).to_contain_text(f"ck_{prefix}_••••")
    expect(row).to_contain_text("Point of sale")
    expect(row).to_contain_text("Redemption events")
    screenshot("journey-api-key-created")
    # and the database holds only a fingerprint
    stored = ApiKey.objects.get(clinic=clinic_a, name="Front desk POS")
    assert stored.prefix == prefix
    assert full_key not in {stored.key_hash, stored.prefix}

    # when the page is reloaded
    page.reload()

    # then the key is gone for good; only the masked form remains, and no second key was made
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert full_key not in page.content()
    expect(page.get_by_role("row", name=re.compile("Front desk POS"))).to_contain_text(f"ck_{prefix}_••••")
    assert ApiKey.objects.filter(clinic=clinic_a).count() == 1
