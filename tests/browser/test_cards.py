"""Coupon cards in Chromium: a profile's redeem and linked card, the expiry pencil, and a phone's installation
(COU-2 … COU-6)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinic_crm.tenancy.context import clinic_scope
from coupons import services
from coupons.models import Card
from tests.browser.conftest import save_screenshot
from tests.coupons.factories import SAM, make_template
from tests.factories import OrderFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coupon_card(clinic_a):
    with clinic_scope(clinic_a.pk):
        ann = PatientFactory(first_name="Ann", last_name="Lee", email="ann@example.com")
        OrderFactory(patient=ann, subtotal=Decimal("120.00"), total=Decimal("120.00"))
        reward = make_template(clinic_a, kind="reward", name="Free polish", discount_type="free_treatment",
                               discount_value=None, colour="#b45309")
        stamp = make_template(clinic_a, kind="stamp", name="Smile stamps", stamps_required=5, reward_template=reward,
                              colour="#0369a1")
        coupon = make_template(clinic_a, name="Welcome £20", discount_type="amount", discount_value=Decimal("20"),
                               linked_template=stamp, validity_days=90, colour="#7c3aed",
                               custom_fields=[{"key": "favourite_treatment", "label": "Favourite treatment",
                                               "required": True}])
        return services.issue_card(template=coupon, patient=ann, actor=SAM, utm="instagram")


def test_redeem_from_the_profile_shows_redeemed_and_the_new_linked_card(clinic_a, owner_a, login, page: Page,
                                                                       live_server, coupon_card, screenshot):
    # given the owner on Ann's coupon profile
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/cards/c/{coupon_card.serial}/")
    expect(page.get_by_test_id("coupon-status")).to_contain_text("Active")
    screenshot("card-profile")
    # when they redeem it on an £85 purchase
    page.get_by_label("Purchase amount").fill("85.00")
    page.get_by_role("button", name="Redeem").click()
    # then Ann's new stamp card opens, and the coupon shows Redeemed with the purchase in its LTV
    expect(page.get_by_text("now holds the Smile stamps card")).to_be_visible()
    expect(page.get_by_test_id("coupon-status")).to_contain_text("0 / 5")
    page.get_by_role("link", name=coupon_card.serial).click()
    expect(page.get_by_test_id("coupon-status")).to_contain_text("Redeemed")
    expect(page.get_by_test_id("ltv")).to_have_text("£185.00")
    screenshot("card-profile-redeemed")


def test_the_expiration_date_is_changed_from_its_pencil(clinic_a, owner_a, login, page: Page, live_server,
                                                       coupon_card):
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/cards/c/{coupon_card.serial}/")
    page.get_by_label("Change the expiration date").click()
    page.get_by_label("New expiration date").fill("2027-08-31")
    page.get_by_role("button", name="Save date").click()
    expect(page.get_by_text("The card now expires on 31 August 2027.")).to_be_visible()
    expect(page.get_by_test_id("expires")).to_have_text("31 Aug 2027")
    expect(page.get_by_test_id("card-activity")).to_contain_text("Expiration date changed")


def test_a_customer_installs_their_card_on_a_phone(clinic_a, coupon_card, browser, live_server):
    # given Ann opens her installation link, shared on Instagram, on her phone
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    link = reverse("card_install", kwargs={"clinic_slug": clinic_a.slug, "token": coupon_card.install_token})
    phone.goto(f"{live_server.url}{link}?utm=instagram")
    expect(phone.get_by_test_id("serial-qr").locator("svg")).to_be_visible()
    expect(phone.locator("svg.card-face")).to_be_visible()
    save_screenshot(phone, "card-install-phone")
    # when she answers the question and installs it
    phone.get_by_label("Favourite treatment").fill("Whitening")
    phone.get_by_role("button", name="Add to my phone").click()
    # then the card says it is on her phone, installed as a PWA from Instagram
    expect(phone.get_by_test_id("installed")).to_contain_text("On your phone")
    with clinic_scope(clinic_a.pk):
        card = Card.objects.get(pk=coupon_card.pk)
    assert (card.status, card.installed_on, card.utm) == ("installed", "pwa", "instagram")
    assert card.custom_fields == {"favourite_treatment": "Whitening"}
    phone.context.close()


def test_a_push_is_scheduled_in_the_clinics_time_and_cancelled(clinic_a, owner_a, login, page: Page, live_server,
                                                               coupon_card, screenshot):
    with clinic_scope(clinic_a.pk):
        coupon_card.patient.push_enabled = True
        coupon_card.patient.save()
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/cards/c/{coupon_card.serial}/")
    page.get_by_role("link", name="Send Push").click()
    # the time field shows only once "Schedule for later" is chosen
    expect(page.get_by_label("Send at")).to_be_hidden()
    page.get_by_label("Message").fill("Your £20 welcome is waiting. See you soon!")
    page.get_by_label("Schedule for later").check()
    when = clinic_a.today() + timedelta(days=30)
    page.get_by_label("Send at").fill(f"{when:%Y-%m-%d}T09:30")
    screenshot("card-push-form")
    page.get_by_test_id("push-submit").click()
    expect(page.get_by_text(f"Push scheduled for {when.day} {when:%B %Y} at 09:30.")).to_be_visible()
    row = page.get_by_test_id("scheduled").locator("tbody tr")
    expect(row).to_contain_text(f"{when.day} {when:%b %Y}, 09:30")
    expect(row).to_contain_text("Scheduled")
    screenshot("card-push-scheduled")
    # when the owner cancels it (confirming in the product's dialog)
    row.get_by_role("button", name="Cancel").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Cancel push").click()
    expect(page.get_by_text("Scheduled push cancelled")).to_be_visible()
    expect(row).to_contain_text("Cancelled")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)


def test_the_information_and_feedback_tabs(clinic_a, owner_a, login, page: Page, live_server, coupon_card, screenshot):
    with clinic_scope(clinic_a.pk):
        services.leave_feedback(patient=coupon_card.patient, rating=5, comment="Lovely, gentle hygienist.",
                                card=coupon_card)
        services.leave_feedback(patient=coupon_card.patient, rating=3)
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/cards/c/{coupon_card.serial}/information/")
    page.get_by_label("Last name").fill("Carter")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("The card still shows the details it was issued with.")).to_be_visible()
    expect(page.get_by_test_id("holder")).to_contain_text("Ann Lee")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Carter")
    screenshot("card-information")
    page.get_by_role("link", name="Feedback").click()
    expect(page.get_by_test_id("feedback-rating")).to_contain_text("4.0")
    expect(page.get_by_test_id("feedback-rows").locator("li")).to_have_count(2)
    page.get_by_test_id("only-comments").check()
    expect(page.get_by_test_id("feedback-rows").locator("li")).to_have_count(1)
    expect(page.get_by_test_id("feedback-rows")).to_contain_text("Lovely, gentle hygienist.")
    screenshot("card-feedback")
