"""Redemption visibility in Chromium: a redemption rate opens its breakdown chart; from an offer, the
patients who redeemed it and the matching orders (RED-7)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinic_crm.tenancy.context import clinic_scope
from offers.models import Offer
from offers.services import create_offer
from offers.services.redemption import redeem_offer_at_till
from promos.events import Actor
from promos.models import Promo
from promos.services import create_promo, redeem_promo_code
from redemptions.services.events import ingest_redemption_events
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redeemed(clinic_a):
    """A promo redeemed at the till and reported by the booking system, and an offer redeemed twice."""
    with clinic_scope(clinic_a.pk):
        patients = [PatientFactory(first_name=name, last_name="Lee", external_id=f"bk-{name}")
                    for name in ("Ann", "Bob", "Cat", "Dan")]
        promo = create_promo(clinic=clinic_a, actor=Actor(id=None, name="Owner", email="o@example.com"), data={
            "name": "Spring clean", "code": "CLEAN10", "discount_type": "percent", "discount_value": Decimal("10"),
            "status": "active"})
        Promo.objects.filter(pk=promo.pk).update(created_at=timezone.now() - timedelta(days=10))
        redeem_promo_code(code="CLEAN10", patient=patients[0], order_reference="T-1", order_total=Decimal("90.00"))
        ingest_redemption_events(clinic=clinic_a, events=[
            {"event_id": f"bk-{n}", "promotion_id": promo.promotion_key, "external_id": f"bk-{name}",
             "redeemed_at": (timezone.now() - timedelta(days=n + 1)).isoformat(), "amount": "60.00"}
            for n, name in enumerate(("Bob", "Cat"))])
        offer = create_offer(clinic=clinic_a, data={"name": "Whitening", "title": "£25 off whitening",
                                                    "discount_type": "amount", "discount_value": "25.00",
                                                    "published": True, "max_uses": 10})
        for n, patient in enumerate(patients[2:]):
            redeem_offer_at_till(clinic=clinic_a, patient=patient, promotion_key=offer.promotion_key,
                                 purchase_amount=Decimal("300.00"), order_reference=f"W-{n}")
        return promo, Offer.objects.get(pk=offer.pk)


def test_a_rate_opens_its_breakdown_and_an_offer_leads_to_who_redeemed_it_and_their_orders(
        clinic_a, owner_a, login, page: Page, live_server, redeemed, screenshot):
    promo, offer = redeemed
    login(owner_a)
    # Marketing → Promotions: the promo's rate is three patients of three
    page.get_by_role("link", name="Promotions").click()
    row = page.locator(f'[data-promotion="{promo.promotion_key}"]')
    expect(row.get_by_test_id("rate")).to_have_text("100.0%")
    screenshot("promotions")
    # clicking the rate opens the breakdown with its chart, by channel too
    row.get_by_test_id("rate").click()
    expect(page.get_by_role("heading", name="Spring clean")).to_be_visible()
    expect(page.get_by_test_id("breakdown-chart").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("by-channel")).to_contain_text("Reported event")
    expect(page.get_by_test_id("by-channel")).to_contain_text("Point of sale")
    expect(page.get_by_test_id("redeemed")).to_have_text("3")
    screenshot("promotion-breakdown")

    # from the offer: who redeemed it, then the matching orders
    page.get_by_role("link", name="Offers").first.click()
    page.get_by_role("link", name="See redemptions").click()
    expect(page.get_by_role("cell", name="Cat Lee")).to_be_visible()
    expect(page.get_by_role("cell", name="Dan Lee")).to_be_visible()
    page.get_by_role("link", name="Orders in Revenue").click()
    expect(page.get_by_test_id("orders-count")).to_have_text("2")
    expect(page.get_by_test_id("orders-table")).to_contain_text("W-0")
    expect(page.get_by_test_id("orders-table")).to_contain_text("W-1")
    expect(page.get_by_test_id("promotion-filter")).to_have_value(offer.promotion_key)
    screenshot("revenue-filtered-by-offer")
