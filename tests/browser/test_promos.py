"""Marketing → Promos in a real Chromium: create through the form, pause, the app's "This code is paused.",
the Paused segment and the Activity log's diff after an edit (PRO-1, PRO-2, PRO-3, PRO-4, PRO-5, PRO-6)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from clinic_crm.tenancy.choices import Role
from tests.conftest import make_staff
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def promo_row(page: Page, name: str):
    return page.get_by_test_id("promo-row").filter(has_text=name)


def validate(app, code: str) -> dict:
    response = app.post("/api/v1/app/promos/validate", {"code": code, "order_total": "120.00"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_staff_create_pause_and_edit_a_promo_and_the_app_sees_it_paused(
    clinic_a, in_clinic, login, page, live_server, app_client_for, screenshot,
):
    # given a staff member and a signed-in patient of the app
    staff = make_staff(clinic_a, Role.STAFF)
    with in_clinic(clinic_a):
        patient = PatientFactory()
    app = app_client_for(clinic_a, patient)

    # when they open Marketing → Promos and create a promo through the form
    login(staff)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Promos").click()
    expect(page.get_by_role("heading", name="Promos", exact=True)).to_be_visible()
    page.get_by_role("link", name="New promo").first.click()
    # the tiers only show for a tiered promo, which has no separate minimum order
    expect(page.get_by_test_id("tiers")).to_be_hidden()
    expect(page.get_by_label("Minimum order")).to_be_visible()
    page.get_by_label("Tiered").check()
    expect(page.get_by_test_id("tiers")).to_be_visible()
    expect(page.get_by_label("Minimum order")).to_be_hidden()
    # and a personalised promo has no banner or auto-apply: its codes are private
    page.get_by_label("Personalised").check()
    expect(page.get_by_label("Show a banner in the app")).to_be_hidden()
    expect(page.get_by_label("Apply automatically")).to_be_hidden()
    expect(page.get_by_test_id("app-flags-note")).to_be_visible()
    page.get_by_label("Global").check()
    expect(page.get_by_label("Show a banner in the app")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Spring whitening")
    page.get_by_label("Code", exact=True).fill("spring20")
    page.get_by_label("Percent").check()
    page.locator("#id_discount_value").fill("20")
    page.get_by_label("Max uses in total").fill("100")
    page.get_by_label("Marketing cost").fill("250")
    screenshot("promo-form-filled")
    page.get_by_role("button", name="Create promo").click()

    # then its page shows the draft with its code, metrics and the "created" log entry
    expect(page.get_by_role("status")).to_contain_text("“Spring whitening” was created as a draft")
    expect(page.get_by_test_id("status-badge").first).to_have_text("Draft")
    expect(page.get_by_test_id("metric-uses")).to_have_text("0")
    expect(page.get_by_test_id("activity-row")).to_have_count(1)
    assert validate(app, "SPRING20")["valid"] is False  # a draft is not redeemable yet

    # when they activate it, the app accepts the code
    page.get_by_test_id("activate-button").click()
    expect(page.get_by_test_id("status-badge").first).to_have_text("Active")
    assert validate(app, "spring20")["valid"] is True

    # and when they pause it from the list, the app says exactly "This code is paused."
    page.get_by_role("link", name="Promos", exact=True).first.click()
    row = promo_row(page, "Spring whitening")
    expect(row.get_by_test_id("promo-code")).to_have_text("SPRING20")
    expect(row.get_by_test_id("discount-label")).to_have_text("20% Off")
    row.get_by_test_id("pause-button").click()
    expect(page.get_by_role("status")).to_contain_text("is paused")
    expect(promo_row(page, "Spring whitening").get_by_test_id("status-badge")).to_have_text("Paused")
    answer = validate(app, "SPRING20")
    assert answer == {"valid": False, "code": "code_paused", "message": "This code is paused."}

    # and the Paused segment lists it with its count
    page.get_by_test_id("status-filter").locator("[data-segment=paused]").click()
    expect(page.get_by_test_id("status-filter").locator("a.on")).to_contain_text("Paused 1")
    expect(page.get_by_test_id("promo-row")).to_have_count(1)
    screenshot("promo-list-paused")
    page.get_by_test_id("status-filter").locator("[data-segment=active]").click()
    expect(page.get_by_test_id("promo-row")).to_have_count(0)

    # when they edit the cap, the Activity log shows who changed it and the before → after
    page.get_by_test_id("status-filter").locator("[data-segment=all]").click()
    promo_row(page, "Spring whitening").get_by_role("link", name="Spring whitening", exact=True).click()
    page.get_by_role("link", name="Edit", exact=True).first.click()
    expect(page.get_by_label("Code", exact=True)).to_have_value("SPRING20")
    page.get_by_label("Max uses in total").fill("150")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("was saved")
    update = page.get_by_test_id("activity-row").filter(has=page.get_by_test_id("activity-diff")).first
    expect(update).to_contain_text("Updated")
    expect(update).to_contain_text(staff.email)
    diff = update.get_by_test_id("activity-diff").locator("tbody tr").filter(has_text="Max uses")
    expect(diff.locator("del")).to_have_text("100")
    expect(diff.locator("ins")).to_have_text("150")
    expect(page.get_by_test_id("activity-row")).to_have_count(4)  # created, activated, paused, updated
    screenshot("promo-detail-after-edit")


def test_archive_needs_confirmation_and_then_activate_is_gone(clinic_a, in_clinic, login, page, live_server):
    from decimal import Decimal

    from promos.events import Actor
    from promos.services import create_promo

    staff = make_staff(clinic_a, Role.STAFF)
    with in_clinic(clinic_a):
        promo = create_promo(clinic=clinic_a, data={
            "name": "Old promo", "kind": "global", "code": "OLDONE", "discount_type": "percent",
            "discount_value": Decimal("5")}, actor=Actor(id=None, name="Setup", email="setup@example.com"))
    login(staff)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/promos/{promo.pk}/")
    page.get_by_test_id("archive-link").click()
    expect(page.get_by_role("heading", name="Archive “Old promo”?")).to_be_visible()
    expect(page.get_by_test_id("archive-confirm")).to_contain_text("cannot be activated again")
    page.get_by_test_id("archive-submit").click()
    expect(page.get_by_role("status")).to_contain_text("is archived")
    # badged Archived (not Expired), so staff can tell it can never come back
    expect(page.get_by_test_id("status-badge").first).to_have_text("Archived")
    expect(page.get_by_test_id("activate-button")).to_have_count(0)
    expect(page.get_by_test_id("archive-link")).to_have_count(0)
