"""App Builder → Offers in a real Chromium: the ⋮ menu, delete confirmation, the manual push and the viewer's
read-only view (OFF-1, OFF-2, OFF-5, OFF-6, OFF-7, CORE-2)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.choices import Role
from notifications.models import PushNotification
from offers.models import Offer
from offers.services import create_offer, publish_offer
from redemptions.models import Redemption
from tests.conftest import make_staff
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_offer(clinic, in_clinic, name, *, published=True, **data):
    terms = {"discount_type": DiscountType.PERCENT, "discount_value": Decimal("20")}
    with in_clinic(clinic):
        offer = create_offer(clinic=clinic, data={"name": name, "title": f"{name} in the app", **terms, **data})
        if published:
            publish_offer(offer=offer)
    return offer


def offer_row(page: Page, name: str):
    return page.get_by_test_id("offer-row").filter(has_text=name)


def config_ids(app_client) -> list[str]:
    response = app_client.get("/api/v1/app/config")
    assert response.status_code == 200
    return [o["id"] for o in response.json()["offers"]]


def test_staff_unpublish_an_offer_from_its_menu_and_the_app_stops_listing_it(
    clinic_a, in_clinic, login, page, live_server, app_client_for, screenshot,
):
    # given a staff member and two published offers the patient app lists
    staff = make_staff(clinic_a, Role.STAFF)
    whitening = seed_offer(clinic_a, in_clinic, "Spring whitening", max_uses=50)
    seed_offer(clinic_a, in_clinic, "Free consultation", discount_type=DiscountType.FREE_TREATMENT)
    app = app_client_for(clinic_a)
    assert whitening.promotion_key in config_ids(app)

    # when they open Offers from the menu and choose ⋮ → Unpublish on one of them
    login(staff)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Offers").click()
    expect(page.get_by_role("heading", name="Offers", exact=True)).to_be_visible()
    row = offer_row(page, "Spring whitening")
    expect(row.get_by_test_id("published-badge")).to_have_text("Published")
    expect(row.get_by_test_id("push-button")).to_be_visible()
    expect(row.get_by_test_id("offer-usage")).to_contain_text("0 / 50 used")
    row.get_by_label("Actions for Spring whitening").click()
    screenshot("offers-menu-open", full_page=False)
    row.get_by_role("button", name="Unpublish").click()

    # then the page says so and the row shows a draft without a Push button
    expect(page.get_by_role("status")).to_contain_text("“Spring whitening” is unpublished")
    row = offer_row(page, "Spring whitening")
    expect(row.get_by_test_id("published-badge")).to_have_text("Draft")
    expect(row.get_by_test_id("push-button")).to_have_count(0)
    expect(offer_row(page, "Free consultation").get_by_test_id("published-badge")).to_have_text("Published")
    # and the app's next fetch no longer lists it
    assert whitening.promotion_key not in config_ids(app)

    # and Publish from the same menu brings it back
    row.get_by_label("Actions for Spring whitening").click()
    row.get_by_role("button", name="Publish").click()
    expect(offer_row(page, "Spring whitening").get_by_test_id("published-badge")).to_have_text("Published")
    assert whitening.promotion_key in config_ids(app)


def test_delete_asks_for_confirmation_before_anything_is_removed(clinic_a, in_clinic, login, page, live_server):
    # given an offer a patient has redeemed but not yet used at checkout
    staff = make_staff(clinic_a, Role.STAFF)
    offer = seed_offer(clinic_a, in_clinic, "Autumn peel")
    with in_clinic(clinic_a):
        Redemption.objects.create(
            clinic=clinic_a, promotion_key=offer.promotion_key, promotion_kind="offer", promotion_id=offer.pk,
            promotion_name=offer.name, patient=PatientFactory(), discount_type=offer.discount_type,
            discount_value=offer.discount_value, discount_label="20% Off")

    # when they choose ⋮ → Delete
    login(staff)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")
    row = offer_row(page, "Autumn peel")
    row.get_by_label("Actions for Autumn peel").click()
    delete = row.get_by_role("link", name="Delete")
    expect(delete).to_have_class(re.compile(r"\bdanger\b"))
    delete.click()

    # then a confirmation says what will happen, and the offer is still there
    expect(page.get_by_role("heading", name="Delete “Autumn peel”?")).to_be_visible()
    expect(page.get_by_test_id("pending-count")).to_contain_text("1 pending redemption will be removed")
    with in_clinic(clinic_a):
        assert Offer.objects.filter(pk=offer.pk).exists()

    # and backing out keeps it; confirming removes it
    page.get_by_role("link", name="Keep it").click()
    expect(offer_row(page, "Autumn peel")).to_have_count(1)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/offers/{offer.pk}/delete/")
    page.get_by_role("button", name="Delete offer").click()
    expect(page.get_by_role("status")).to_contain_text("“Autumn peel” was deleted. 1 pending redemption removed.")
    expect(offer_row(page, "Autumn peel")).to_have_count(0)
    with in_clinic(clinic_a):
        assert not Offer.objects.filter(pk=offer.pk).exists()


def test_a_viewer_sees_offers_without_any_actions(clinic_a, in_clinic, login, page, live_server):
    viewer = make_staff(clinic_a, Role.VIEWER)
    seed_offer(clinic_a, in_clinic, "Spring whitening")

    login(viewer)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")

    row = offer_row(page, "Spring whitening")
    expect(row).to_contain_text("20% Off")
    expect(row.get_by_test_id("published-badge")).to_have_text("Published")
    expect(page.locator("details.row-menu")).to_have_count(0)
    expect(page.get_by_test_id("push-button")).to_have_count(0)
    expect(page.get_by_role("link", name="New offer")).to_have_count(0)
    # the redemptions stay one click away for them too
    expect(row.get_by_role("link", name="See redemptions")).to_be_visible()

    page.get_by_role("link", name="Automated Offers").click()
    expect(page.get_by_test_id("automated-row")).to_have_count(10)
    expect(page.locator("details.row-menu")).to_have_count(0)


def test_only_a_live_offer_can_be_pushed_and_the_push_is_reported_as_queued(
    clinic_a, in_clinic, login, page, live_server, screenshot,
):
    # given a live offer, one that ended five days ago but is still published, and two patients with push on
    staff = make_staff(clinic_a, Role.STAFF)
    today = clinic_a.today()
    seed_offer(clinic_a, in_clinic, "Spring whitening")
    seed_offer(clinic_a, in_clinic, "Hygienist visit", valid_from=today - timedelta(days=30),
               valid_until=today - timedelta(days=5))
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2)

    # when staff open Offers
    login(staff)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")

    # then the ended offer says so, with no Push button and no green badge; the live one can be pushed
    ended = offer_row(page, "Hygienist visit")
    expect(ended.get_by_test_id("published-badge")).to_have_text("Published")
    expect(ended.get_by_test_id("state-badge")).to_contain_text("Ended")
    expect(ended.locator(".badge-green")).to_have_count(0)
    expect(ended.get_by_test_id("push-button")).to_have_count(0)
    live = offer_row(page, "Spring whitening")
    expect(live.get_by_test_id("state-badge")).to_have_text("Live")
    screenshot("offers-states", full_page=False)

    # and sending a push from the live offer reports it as queued, with its offer named in the history
    live.get_by_test_id("push-button").click()
    page.get_by_role("button", name="Send to 2 patients").click()
    expect(page.get_by_role("status")).to_contain_text(
        "queued for 2 patients; the history below shows when it's sent")
    history_row = page.get_by_test_id("push-row").first
    expect(history_row.get_by_test_id("push-source")).to_have_text("From Spring whitening")
    history_row.get_by_role("link", name="Spring whitening").click()
    expect(page.get_by_role("heading", name="Spring whitening")).to_be_visible()


def test_without_onesignal_credentials_the_push_cannot_be_sent_and_points_to_the_settings(
    clinic_a, in_clinic, login, page, live_server, settings, owner_a, screenshot,
):
    # given OneSignal as the backend, a clinic without credentials, and a live offer
    settings.PUSH_BACKEND = "onesignal"
    seed_offer(clinic_a, in_clinic, "Spring whitening")
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2)

    # when the owner opens its push page
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")
    offer_row(page, "Spring whitening").get_by_test_id("push-button").click()

    # then the send button is disabled and the page says why, linking to where the credentials go
    expect(page.get_by_test_id("push-blocked")).to_contain_text("Push notifications are not set up for Clinic A")
    expect(page.get_by_role("button", name="Send to 2 patients")).to_be_disabled()
    screenshot("offer-push-onesignal-missing", full_page=False)
    page.get_by_role("link", name="Enter the OneSignal credentials in Settings › OneSignal").click()
    expect(page.get_by_role("heading", name="OneSignal push notifications")).to_be_visible()
    with in_clinic(clinic_a):
        assert not PushNotification.objects.exists()
