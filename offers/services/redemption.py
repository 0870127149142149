"""Redeeming offers: in the app (a pending redemption) and at the till (applied to an order) (OFF-8)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from clinic_crm.common.app_changes import app_config_changed_on_commit
from clinic_crm.common.choices import DiscountSource
from clinic_crm.common.errors import Conflict, LimitReached, NotFound
from clinic_crm.orders.models import Order
from clinic_crm.orders.services import AppliedDiscount, create_order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer, OccasionFiring
from redemptions.choices import ActorKind, ResponseStatus
from redemptions.models import Redemption
from redemptions.services import (
    PromotionSnapshot,
    ResponseTerms,
    apply_redemption,
    Actor,
    lock_held_response,
    lock_pending_redemption,
    record_pending_redemption,
    transition_response,
)

# Who completes a held response when the caller names no one (seeded data, a terminal).
TILL = Actor(kind=ActorKind.POS, name="Point of sale")

# One id space for both kinds in the app and POS APIs: the promotion key ("offer_12").
PROMOTION_KEY = re.compile(r"^(offer|automated_offer)_([1-9][0-9]{0,17})$")

AnyOffer = Offer | AutomatedOffer


@dataclass(frozen=True)
class TillRedemption:
    redemption: Redemption
    order: Order | None


def get_offer_by_promotion_key(*, promotion_key: str) -> AnyOffer:
    """Resolve "offer_12" / "automated_offer_3" in the clinic in scope; anything else is 404."""
    match = PROMOTION_KEY.match(promotion_key or "")
    if match is None:
        raise NotFound("No such offer.")
    model = Offer if match.group(1) == "offer" else AutomatedOffer
    offer = model.objects.filter(pk=int(match.group(2))).first()
    if offer is None:
        raise NotFound("No such offer.")
    return offer


def offer_name(offer: AnyOffer) -> str:
    return offer.name if isinstance(offer, Offer) else offer.get_occasion_display()


def snapshot_of(*, offer: AnyOffer, currency: str) -> PromotionSnapshot:
    return PromotionSnapshot(
        key=offer.promotion_key, kind="offer" if isinstance(offer, Offer) else "automated_offer", id=offer.pk,
        name=offer_name(offer), discount_type=offer.discount_type, discount_value=offer.discount_value,
        discount_label=offer.discount_label_in(currency),
    )


def response_terms_of(*, offer: AnyOffer, currency: str, occurrence: date | None = None) -> ResponseTerms:
    """How a response to the offer behaves (RED-1): a one-time offer's settings and dates, or an
    occasion offer's window from its occurrence."""
    promotion = snapshot_of(offer=offer, currency=currency)
    if isinstance(offer, Offer):
        return ResponseTerms(
            promotion=promotion, title=offer.title, description=offer.description,
            clip_required=offer.clip_required, ships=offer.ships_item,
            allow_multiple=offer.allow_multiple_responses, uses_certificate_code=offer.certificate_codes,
            usage_from=offer.valid_from, usage_until=offer.valid_until,
            details={"image_url": offer.image_url} if offer.image_url else {},
        )
    start = occurrence or offer.redeemable_until
    title, description = offer.push_texts(currency=currency, clinic_name=offer.clinic.name)
    return ResponseTerms(
        promotion=promotion, title=title, description=description,
        allow_multiple=True, usage_from=start,
        usage_until=start + timedelta(days=offer.validity_days - 1) if occurrence else offer.redeemable_until,
        details={"occasion": offer.occasion, "occurrence": start.isoformat() if start else None},
    )


def claimable_offer_terms(*, promotion_id: int, today: date) -> ResponseTerms | None:
    """A one-time offer a patient can claim today, as the promotion registry asks for it (RED-1)."""
    offer = Offer.objects.select_related("clinic").filter(pk=promotion_id).first()
    if offer is None or not is_offer_redeemable(offer=offer, today=today):
        return None
    return response_terms_of(offer=offer, currency=offer.clinic.currency)


def take_use_for_response(*, response) -> None:
    """A response to a one-time offer was completed at the till: like any redemption at the till it
    takes one use of the offer's cap, so the offer's "used" count and its ledger agree (registry hook).
    A cap already reached refuses the completion (409 usage_limit_reached) and nothing is kept."""
    offer = Offer.objects.filter(pk=response.promotion_id).first()
    if offer is not None and offer.promotion_key == response.promotion_key:
        _consume_use(offer)


def is_offer_redeemable(*, offer: AnyOffer, today: date) -> bool:
    """Whether the app may redeem the offer today, for any patient (OFF-7, OFF-8)."""
    if isinstance(offer, Offer):
        return (offer.published and offer.active
                and (offer.valid_from is None or offer.valid_from <= today)
                and (offer.valid_until is None or today <= offer.valid_until)
                and (offer.max_uses is None or offer.current_uses < offer.max_uses))
    # An automated offer opens when its occasion fires and stays open until redeemable_until.
    return offer.published and offer.redeemable_until is not None and today <= offer.redeemable_until


def birthday_in(year: int, born: date) -> date:
    # 29 February birthdays are kept on 28 February in common years.
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _birthday_occurrence_covering(*, offer: AutomatedOffer, patient: Patient, today: date) -> date | None:
    """The patient's birthday whose redemption window contains today, if it fired for them."""
    if patient.date_of_birth is None:
        return None
    for year in (today.year, today.year - 1):  # a window may run over New Year
        birthday = birthday_in(year, patient.date_of_birth)
        if birthday <= today <= birthday + timedelta(days=offer.validity_days - 1):
            fired = OccasionFiring.objects.filter(automated_offer=offer, occurrence=birthday).exists()
            return birthday if fired else None
    return None


def ensure_offer_redeemable(*, offer: AnyOffer, patient: Patient, today: date) -> None:
    """Refuse with 409 offer_inactive unless the patient may redeem the offer today (OFF-8)."""
    if not is_offer_redeemable(offer=offer, today=today):
        raise Conflict("This offer is not available right now.", code="offer_inactive")
    if isinstance(offer, AutomatedOffer) and offer.occasion == Occasion.BIRTHDAY:
        if _birthday_occurrence_covering(offer=offer, patient=patient, today=today) is None:
            raise Conflict("The birthday offer is for patients celebrating their birthday.", code="not_eligible")


@transaction.atomic
def redeem_offer_in_app(*, clinic: Clinic, patient: Patient, promotion_key: str,
                        now: datetime | None = None) -> Redemption:
    """A patient taps Redeem Offer: a pending redemption with the discount as it stands now (OFF-8)."""
    offer = get_offer_by_promotion_key(promotion_key=promotion_key)
    ensure_offer_redeemable(offer=offer, patient=patient, today=clinic.today(now))
    return record_pending_redemption(clinic=clinic, patient=patient,
                                     promotion=snapshot_of(offer=offer, currency=clinic.currency))


def _consume_use(offer: AnyOffer) -> None:
    """Take one use of a capped offer with one conditional UPDATE; zero rows means the cap is reached."""
    if not isinstance(offer, Offer):
        return  # automated offers have no cap
    # Never read-modify-write: the WHERE clause is re-checked against the row each concurrent
    # transaction finds after waiting for the previous one's lock.
    table = connection.ops.quote_name(Offer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_USE_SQL.format(table=table), [offer.pk, offer.clinic_id])
        row = cursor.fetchone()
    if row is None:
        raise LimitReached("This offer has reached its usage limit.", code="usage_limit_reached")
    uses, max_uses = row
    if max_uses is not None and uses >= max_uses:
        # The app lists the offer as redeemable until its config is rebuilt (OFF-7). Dropped
        # with the rest if this redeem rolls back, so the use it gave back stays open.
        clinic_id = offer.clinic_id
        app_config_changed_on_commit(clinic_id)


_TAKE_USE_SQL = """
    UPDATE {table} SET current_uses = current_uses + 1
    WHERE id = %s AND clinic_id = %s AND (max_uses IS NULL OR current_uses < max_uses)
    RETURNING current_uses, max_uses
"""


@transaction.atomic
def redeem_offer_at_till(*, clinic: Clinic, patient: Patient, promotion_key: str,
                         purchase_amount: Decimal | None = None, order_reference: str = "",
                         now: datetime | None = None, actor: Actor = TILL) -> TillRedemption:
    """Apply an offer at checkout: its pending redemption (or a new one), the cap, and the order (OFF-8).

    A pending redemption made in the app stands even if the offer was deactivated or unpublished
    since, and keeps the discount it was made with; without one the offer must be redeemable now.
    A response the patient holds to the offer (claimed, or given when its occasion fired) is completed
    with the same ledger row, by `actor`.
    """
    offer = get_offer_by_promotion_key(promotion_key=promotion_key)
    held = lock_held_response(clinic=clinic, patient=patient, promotion_key=offer.promotion_key, now=now)
    pending = lock_pending_redemption(patient=patient, promotion_key=offer.promotion_key)
    if pending is None:
        ensure_offer_redeemable(offer=offer, patient=patient, today=clinic.today(now))
    _consume_use(offer)
    promotion = snapshot_of(offer=offer, currency=clinic.currency)
    order = None
    if purchase_amount is not None:
        # The pending redemption's snapshot, when there is one, is what the patient was promised.
        discount_type = pending.discount_type if pending else promotion.discount_type
        discount_value = pending.discount_value if pending else promotion.discount_value
        source_name = pending.promotion_name if pending else promotion.name
        order = create_order(
            clinic=clinic, patient=patient,
            reference=order_reference or f"{offer.promotion_key}-{uuid.uuid4().hex[:16]}",
            total=purchase_amount,
            discount=AppliedDiscount(
                source=DiscountSource.OFFER if isinstance(offer, Offer) else DiscountSource.AUTOMATED_OFFER,
                discount_type=discount_type, value=discount_value, source_key=offer.promotion_key,
                source_id=offer.pk, source_name=source_name,
            ),
        )
    redemption = apply_redemption(clinic=clinic, patient=patient, promotion=promotion, pending=pending, order=order)
    if held is not None:
        transition_response(response=held, to=ResponseStatus.COMPLETED, actor=actor, order=order,
                            redemption=redemption)
    return TillRedemption(redemption=redemption, order=order)
