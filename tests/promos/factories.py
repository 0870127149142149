"""Promos made through the services, uses written to the ledger, and the promo form's POST body, for the
promo page tests."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from clinic_crm.common.choices import DiscountSource
from promos.events import Actor
from promos.models import Promo
from promos.services import activate_promo, create_promo
from redemptions.models import Redemption
from tests.factories import OrderFactory

ACTOR = Actor(id=None, name="Setup", email="setup@example.com")


def url(clinic, name, *args):
    return reverse(f"promos:{name}", args=[clinic.slug, *args])


def seed(clinic, in_clinic, name, *, code=None, kind="global", active=False, **data):
    """A promo created through the services (10% Off unless told), optionally activated."""
    data = {"name": name, "kind": kind, "discount_type": "percent", "discount_value": Decimal("10"), **data}
    if kind != "personalised":
        data["code"] = code or name.upper().replace(" ", "")[:12]
    if kind == "tiered":
        data.setdefault("tiers", [
            {"min_order": Decimal("100"), "discount_type": "percent", "discount_value": Decimal("10")},
            {"min_order": Decimal("300"), "discount_type": "amount", "discount_value": Decimal("50")}])
    with in_clinic(clinic):
        promo = create_promo(clinic=clinic, data=data, actor=ACTOR)
        if active:
            activate_promo(promo=promo, actor=ACTOR)
        return Promo.objects.get(pk=promo.pk)


def add_use(promo, patient, *, discount: str, order_total: str, status: str = "applied") -> Redemption:
    """One use of a promo in the ledger, as a redeem leaves it. Call inside the clinic's scope."""
    discount_amount = Decimal(discount)
    order = OrderFactory(patient=patient, subtotal=Decimal(order_total) + discount_amount,
                         discount_amount=discount_amount, discount_source=DiscountSource.PROMO,
                         source_key=promo.promotion_key)
    return Redemption.objects.create(
        promotion_key=promo.promotion_key, promotion_kind="promo", promotion_id=promo.pk,
        promotion_name=promo.name, patient=patient, status=status, discount_type=promo.discount_type,
        discount_label="Promo", order=order if status == "applied" else None,
        discount_amount=discount_amount if status == "applied" else None,
        order_total=order.total if status == "applied" else None)


def form_data(**overrides):
    """The promo form's POST body: a global 20% promo with four empty tier rows."""
    data = {
        "kind": "global", "name": "Spring whitening", "code": "spring20", "discount_type": "percent",
        "discount_value": "20", "applies_to": "all", "applies_to_items": "", "audience": "everyone",
        "audience_segment": "", "min_order": "", "max_uses": "100", "max_uses_per_customer": "1",
        "starts_at": "", "ends_at": "", "marketing_cost": "250", "budget": "",
        "tiers-TOTAL_FORMS": "4", "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "20",
    }
    for i in range(4):
        data.update({f"tiers-{i}-min_order": "", f"tiers-{i}-discount_type": "",
                     f"tiers-{i}-discount_value": ""})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
