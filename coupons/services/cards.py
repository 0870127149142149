"""Writes on coupon, stamp and reward cards (COU-2 … COU-6).

A redeemed coupon or reward lands in the redemption ledger like every promotion kind, and its
purchase becomes an order of the patient, so LTV, visits and Revenue by source count it. A card
is redeemed once: its row is locked for the redeem, so two staff or two tills pressing Redeem at
the same moment get one redemption and one clear refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource
from clinic_crm.common.errors import ApplicationError, Conflict
from clinic_crm.orders.models import Order
from clinic_crm.orders.services import AppliedDiscount, create_order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.events import StaffActor
from coupons.choices import CardAction, CardKind, CardStatus, CouponStatus, InstalledOn
from coupons.events import SYSTEM, record_card_event
from coupons.models import Card, CardTemplate
from redemptions.choices import ActorKind, AssignmentSource, RedemptionChannel, ResponseSource, ResponseStatus
from redemptions.models import OfferResponse, Redemption
from redemptions.services import Actor as ResponseActor
from redemptions.services import (
    PromotionSnapshot,
    ResponseTerms,
    apply_redemption,
    assign_response,
    record_assignments,
    transition_response,
)

# --- cards (COU-2) ---------------------------------------------------------------------------------


def expiry_for(template: CardTemplate, issued_on: date) -> date | None:
    """When a card of the template issued on `issued_on` stops working (the clinic's date)."""
    if template.valid_until:
        return template.valid_until
    if template.validity_days:
        return issued_on + timedelta(days=template.validity_days)
    return None


@transaction.atomic
def issue_card(*, template: CardTemplate, patient: Patient, actor: StaffActor = SYSTEM, utm: str = "",
               installed_on: str = "", custom_fields: dict | None = None, referred_by: Card | None = None,
               converted_from: Card | None = None) -> Card:
    """Give a patient a card of the template, with its own serial and links (COU-2)."""
    if patient.clinic_id != template.clinic_id:
        raise ApplicationError("That patient belongs to another clinic.", code="not_found")
    if installed_on:
        InstalledOn(installed_on)
    card = Card(clinic_id=template.clinic_id, template=template, patient=patient, utm=utm.strip()[:80],
                installed_on=installed_on, custom_fields=custom_fields or {}, referred_by=referred_by,
                converted_from=converted_from, holder_name=patient.full_name, holder_email=patient.email,
                holder_phone=patient.phone,
                status=CardStatus.INSTALLED if installed_on else CardStatus.NOT_INSTALLED)
    if installed_on:
        card.installed_at = timezone.now()
    card.expires_on = expiry_for(template, template.clinic.today())
    card.save()
    details = {"template": template.name}
    if referred_by is not None:
        details["referred_by"] = referred_by.serial
    if converted_from is not None:
        details["converted_from"] = converted_from.serial
    record_card_event(card=card, actor=actor, action=CardAction.ISSUED, details=details)
    record_assignments(clinic=template.clinic, promotion_key=template.promotion_key, patient_ids=[patient.pk],
                       source=AssignmentSource.CARD, at=card.created_at)
    return card


def _lock(card: Card) -> Card:
    # The card's row only (`of`): locking the joined patient and clinic rows too made two tills of one clinic
    # wait on each other's clinic row, and deadlock with any insert checking its key to that clinic.
    return (Card.objects.select_for_update(of=("self",)).select_related("template", "patient", "clinic")
            .get(pk=card.pk))


def ensure_card_usable(card: Card, today: date) -> None:
    """Refuse a deleted or expired card with the domain code API.md gives (COU-6)."""
    if card.is_deleted:
        raise Conflict("This card was deleted and no longer works.", code="card_deleted")
    if card.is_expired(today):
        raise Conflict(f"This card expired on {card.expires_on:%-d %B %Y}.", code="card_expired")


@dataclass(frozen=True)
class CardRedemption:
    card: Card
    redemption: Redemption
    order: Order | None
    linked_card: Card | None


def _snapshot(template: CardTemplate, currency: str) -> PromotionSnapshot:
    return PromotionSnapshot(key=template.promotion_key, kind=f"card_{template.kind}", id=template.pk,
                             name=template.name, discount_type=template.discount_type,
                             discount_value=template.discount_value,
                             discount_label=template.discount_label_in(currency))


@transaction.atomic
def redeem_card(*, card: Card, actor: StaffActor, purchase_amount: Decimal | None = None,
                order_reference: str = "", channel: str = RedemptionChannel.POS) -> CardRedemption:
    """Redeem a coupon or reward card once, with the purchase it was used on (COU-3, COU-4).

    The purchase becomes an order of the patient with the card's discount; the redemption goes
    into the ledger; a coupon linked to a stamp or reward card gives the patient that card.
    """
    card = _lock(card)
    template = card.template
    ensure_card_usable(card, card.clinic.today())
    if template.kind == CardKind.STAMP:
        raise Conflict("A stamp card collects stamps; its reward card is what is redeemed.", code="not_redeemable")
    if card.coupon_status == CouponStatus.REDEEMED:
        raise Conflict(f"This card was already redeemed on {timezone.localtime(card.redeemed_at):%-d %B %Y}.",
                       code="already_redeemed")
    if purchase_amount is None and template.purchase_amount_required:
        raise ApplicationError("Enter the purchase amount: this card needs it to be redeemed.",
                               code="validation_error",
                               extra={"fields": {"purchase_amount": ["This card needs the purchase amount."]}})
    promotion = _snapshot(template, card.clinic.currency)
    order = None
    if purchase_amount is not None:
        source = DiscountSource.COUPON if template.kind == CardKind.COUPON else DiscountSource.REWARD
        order = create_order(
            clinic=card.clinic, patient=card.patient, total=purchase_amount,
            reference=order_reference.strip() or f"CARD-{card.serial}",
            discount=AppliedDiscount(source=source, discount_type=template.discount_type,
                                     value=template.discount_value, source_key=template.promotion_key,
                                     source_id=template.pk, source_name=template.name),
        )
    redemption = apply_redemption(clinic=card.clinic, patient=card.patient, promotion=promotion, order=order,
                                  channel=channel)
    card.coupon_status = CouponStatus.REDEEMED
    card.redeemed_at = timezone.now()
    card.save(update_fields=["coupon_status", "redeemed_at", "updated_at"])
    _complete_reward_response(card, actor=actor, redemption=redemption)
    record_card_event(card=card, actor=actor, action=CardAction.REDEEMED, details={
        "purchase_amount": None if purchase_amount is None else f"{purchase_amount:.2f}",
        "order": order.reference if order else None})
    linked = None
    if template.linked_template_id is not None:
        linked = issue_card(template=template.linked_template, patient=card.patient, actor=actor, converted_from=card)
        record_card_event(card=card, actor=actor, action=CardAction.CONVERTED,
                          details={"to": linked.serial, "template": template.linked_template.name})
    return CardRedemption(card=card, redemption=redemption, order=order, linked_card=linked)


def reward_response_terms(card: Card) -> ResponseTerms:
    """A reward card as an offer response: its serial is the code the till scans, usable until it expires."""
    template = card.template
    return ResponseTerms(
        promotion=_snapshot(template, card.clinic.currency), title=template.name, description=template.description,
        allow_multiple=True, uses_certificate_code=False, usage_until=card.expires_on,
        details={"card_serial": card.serial},
    )


def _reward_response(card: Card) -> OfferResponse | None:
    return (OfferResponse.objects.select_for_update()
            .filter(promotion_key=card.template.promotion_key, details__card_serial=card.serial).first())


def _complete_reward_response(card: Card, *, actor: StaffActor, redemption: Redemption) -> None:
    """A reward card redeemed at the desk completes its offer response too, with the same ledger row."""
    response = _reward_response(card) if card.template.kind == CardKind.REWARD else None
    if response is not None and response.status in (ResponseStatus.PENDING, ResponseStatus.CLIPPED):
        transition_response(response=response, to=ResponseStatus.COMPLETED, redemption=redemption,
                            actor=ResponseActor(kind=ActorKind.STAFF, name=actor.name, id=actor.id))


def settle_completed_reward(*, response: OfferResponse) -> None:
    """The till completed a reward's offer response: its card is redeemed as well, once (registry hook)."""
    serial = (response.details or {}).get("card_serial")
    card = Card.objects.select_for_update().filter(serial=serial).first() if serial else None
    if card is None or card.coupon_status == CouponStatus.REDEEMED:
        return
    card.coupon_status, card.redeemed_at = CouponStatus.REDEEMED, timezone.now()
    card.save(update_fields=["coupon_status", "redeemed_at", "updated_at"])
    record_card_event(card=card, actor=SYSTEM, action=CardAction.REDEEMED,
                      details={"response": response.pk, "order": None, "purchase_amount": None})


@dataclass(frozen=True)
class Stamping:
    card: Card
    reward_card: Card | None


@transaction.atomic
def add_stamp(*, card: Card, actor: StaffActor) -> Stamping:
    """One visit's stamp; a full card gives its reward card and starts again (COU-1)."""
    card = _lock(card)
    ensure_card_usable(card, card.clinic.today())
    template = card.template
    if template.kind != CardKind.STAMP:
        raise Conflict("Only stamp cards collect stamps.", code="not_a_stamp_card")
    Card.objects.filter(pk=card.pk).update(stamps=F("stamps") + 1, updated_at=timezone.now())
    card.refresh_from_db(fields=["stamps"])
    record_card_event(card=card, actor=actor, action=CardAction.STAMPED,
                      details={"stamps": card.stamps, "of": template.stamps_required})
    reward = None
    if card.stamps >= template.stamps_required:
        reward = issue_card(template=template.reward_template, patient=card.patient, actor=actor,
                            converted_from=card)
        # The reward is also an offer response of the patient, so the till sees it (RED-1).
        assign_response(clinic=card.clinic, patient=card.patient, source=ResponseSource.REWARD,
                        terms=reward_response_terms(reward))
        Card.objects.filter(pk=card.pk).update(stamps=0)
        card.stamps = 0
        record_card_event(card=card, actor=actor, action=CardAction.REWARDED, details={"reward": reward.serial})
    return Stamping(card=card, reward_card=reward)


@transaction.atomic
def delete_card(*, card: Card, actor: StaffActor) -> Card:
    """The card stops working; it stays on the customer's phone until they remove it (COU-6)."""
    card = _lock(card)
    if not card.is_deleted:
        before = card.status
        card.status = CardStatus.DELETED
        card.deleted_at = timezone.now()
        card.save(update_fields=["status", "deleted_at", "updated_at"])
        record_card_event(card=card, actor=actor, action=CardAction.DELETED, details={"before": before})
    return card


@transaction.atomic
def change_card_expiration(*, card: Card, expires_on: date | None, actor: StaffActor) -> Card:
    """Set the date a card stops working (none: it never expires) (COU-6)."""
    card = _lock(card)
    if card.is_deleted:
        raise Conflict("This card was deleted and no longer works.", code="card_deleted")
    if card.expires_on != expires_on:
        before = card.expires_on
        card.expires_on = expires_on
        card.save(update_fields=["expires_on", "updated_at"])
        record_card_event(card=card, actor=actor, action=CardAction.EXPIRATION_CHANGED, details={
            "before": before.isoformat() if before else None, "after": expires_on.isoformat() if expires_on else None})
    return card


# --- installation and referral (COU-2) ------------------------------------------------------------


def custom_field_errors(template: CardTemplate, values: dict) -> dict[str, str]:
    """What is missing or too long among the answers to the template's custom fields."""
    errors = {}
    for item in template.custom_fields:
        value = str(values.get(item["key"], "")).strip()
        if item.get("required") and not value:
            errors[item["key"]] = f"Enter your {item['label'].lower()}."
        elif len(value) > 200:
            errors[item["key"]] = "Use at most 200 characters."
    return errors


@transaction.atomic
def install_card(*, card: Card, installed_on: str, utm: str = "", custom_fields: dict | None = None) -> Card:
    """The customer installs their card from its installation link (COU-2): how, through which
    channel, and the template's custom fields they filled in."""
    card = _lock(card)
    ensure_card_usable(card, card.clinic.today())
    InstalledOn(installed_on)
    answers = {item["key"]: str((custom_fields or {}).get(item["key"], "")).strip()
               for item in card.template.custom_fields}
    errors = custom_field_errors(card.template, answers)
    if errors:
        raise ValidationError(errors)
    card.status = CardStatus.INSTALLED
    card.installed_on = installed_on
    card.installed_at = card.installed_at or timezone.now()
    card.utm = card.utm or utm.strip()[:80]
    card.custom_fields = {**card.custom_fields, **{k: v for k, v in answers.items() if v}}
    card.save(update_fields=["status", "installed_on", "installed_at", "utm", "custom_fields", "updated_at"])
    record_card_event(card=card, actor=StaffActor(id=None, name=card.patient.full_name or "Customer", email=""),
                      action=CardAction.INSTALLED, details={"on": installed_on, "utm": card.utm})
    return card


@transaction.atomic
def issue_referral_card(*, card: Card, first_name: str, last_name: str, email: str, utm: str = "") -> Card:
    """A friend opens a customer's referral link: a card of the same template for them, recorded as
    referred by that customer's card (COU-2). An address that is already a patient's is refused:
    a referral link never hands out an existing patient's card."""
    from clinic_crm.patients.services import create_patient, find_patient_by_email

    ensure_card_usable(card, card.clinic.today())
    if find_patient_by_email(email) is not None:
        raise Conflict(f"This address is already known to {card.clinic.name}: ask the clinic for your card.",
                       code="already_a_patient")
    friend = create_patient(data={"first_name": first_name.strip(), "last_name": last_name.strip(),
                                  "email": email.strip(), "custom_fields": {"referred_by": card.serial}})
    return issue_card(template=card.template, patient=friend, utm=utm or "referral", referred_by=card,
                      actor=StaffActor(id=None, name=card.patient.full_name or "Customer", email=""))
