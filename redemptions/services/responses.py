"""Offer responses: assign one to a patient, move it through its lifecycle, expire the overdue (RED-1, RED-2).

A response's row is locked for every move, so two tills completing it at the same moment get one
completion and one clear refusal. Completing records a ledger redemption with the response's
snapshot, so Rewards Unlocked and the redemption counts include it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource
from clinic_crm.common.errors import ApplicationError, Conflict
from clinic_crm.orders.models import Order
from clinic_crm.orders.services import AppliedDiscount, create_order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from redemptions.choices import ActorKind, RedemptionChannel, ResponseSource, ResponseStatus
from redemptions.lifecycle import ACTOR_MAY, TERMINAL, is_ready, next_statuses
from redemptions.models import OfferResponse, Redemption, ResponseTransition
from redemptions.registry import kind_key_of, response_completed
from redemptions.services.counts import record_assignments
from redemptions.services.ledger import PromotionSnapshot, apply_redemption

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class ResponseTerms:
    """What a promotion app says of one of its offers when a response to it is made (RED-1)."""

    promotion: PromotionSnapshot
    title: str
    description: str = ""
    clip_required: bool = False
    ships: bool = False
    allow_multiple: bool = False
    uses_certificate_code: bool = True
    usage_from: date | None = None
    usage_until: date | None = None
    expires_at: datetime | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Actor:
    """Who moves a response: staff (their user), the patient, a POS key, or the system."""

    kind: str
    name: str
    id: int | None = None


SYSTEM = Actor(kind=ActorKind.SYSTEM, name="Clinic CRM")


def new_certificate_code() -> str:
    """12 characters from 32 (60 bits), shown in groups: "K7QM-3XCA-9PLD"."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def _record(response: OfferResponse, *, before: str, actor: Actor, reason: str = "") -> ResponseTransition:
    return ResponseTransition.objects.create(
        clinic_id=response.clinic_id, response=response, from_status=before, to_status=response.status,
        actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name[:150], reason=reason.strip()[:300])


def _new_response(*, clinic: Clinic, patient_id: int, terms: ResponseTerms, source: str, now,
                  certificate_code: str = "") -> OfferResponse:
    """An unsaved response holding the offer as it is now (its name, words, discount and flow)."""
    promotion = terms.promotion
    return OfferResponse(
        clinic=clinic, patient_id=patient_id, promotion_key=promotion.key, promotion_kind=promotion.kind,
        promotion_id=promotion.id, promotion_name=promotion.name[:200], title=terms.title[:200],
        description=terms.description, discount_type=promotion.discount_type,
        discount_value=promotion.discount_value, discount_label=promotion.discount_label[:80],
        details=terms.details, clip_required=terms.clip_required, ships=terms.ships,
        usage_from=terms.usage_from, usage_until=terms.usage_until, expires_at=terms.expires_at, source=source,
        status_changed_at=now, certificate_code=certificate_code)


@transaction.atomic
def assign_response(*, clinic: Clinic, patient: Patient, terms: ResponseTerms, source: str,
                    actor: Actor = SYSTEM) -> OfferResponse:
    """Give a patient a response to an offer: claimed, or assigned by an occasion or a reward (RED-1).

    An offer that allows one response per patient refuses a second one, whatever became of the first.
    """
    ResponseSource(source)
    if patient.clinic_id != clinic.pk:
        raise ApplicationError("That patient belongs to another clinic.", code="not_found")
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()
    promotion = terms.promotion
    if not terms.allow_multiple and OfferResponse.objects.filter(
            patient=patient, promotion_key=promotion.key).exists():
        raise Conflict(f"{patient.first_name or 'This patient'} already has a response to this offer.",
                       code="already_claimed")
    response = _new_response(clinic=clinic, patient_id=patient.pk, terms=terms, source=source, now=timezone.now())
    for _ in range(3):
        response.certificate_code = new_certificate_code() if terms.uses_certificate_code else ""
        try:
            with transaction.atomic():
                response.save()
            break
        except IntegrityError:  # a code already taken: 60 bits make this all but impossible
            response.pk = None
            continue
    else:
        raise Conflict("Could not make a unique certificate code; try again.", code="conflict")
    _record(response, before="", actor=actor)
    record_assignments(clinic=clinic, promotion_key=promotion.key, patient_ids=[patient.pk], source=source,
                       at=response.created_at)
    return response


@transaction.atomic
def assign_responses(*, clinic: Clinic, patients, terms: ResponseTerms, source: str) -> int:
    """Give each of `patients` (a queryset of the clinic in scope) a response at once, e.g. when an
    occasion offer fires (RED-1): two statements per thousand patients, not two per patient."""
    ResponseSource(source)
    promotion, now = terms.promotion, timezone.now()
    created = 0
    batch_size = 1000
    patient_ids = list(patients.order_by("id").values_list("id", flat=True))
    for start in range(0, len(patient_ids), batch_size):
        rows = [_new_response(clinic=clinic, patient_id=patient_id, terms=terms, source=source, now=now,
                              certificate_code=new_certificate_code() if terms.uses_certificate_code else "")
                for patient_id in patient_ids[start:start + batch_size]]
        OfferResponse.objects.bulk_create(rows)
        ResponseTransition.objects.bulk_create([
            ResponseTransition(clinic_id=clinic.pk, response=row, from_status="", to_status=row.status,
                               actor_kind=SYSTEM.kind, actor_name=SYSTEM.name) for row in rows])
        record_assignments(clinic=clinic, promotion_key=promotion.key, patient_ids=[row.patient_id for row in rows],
                           source=source, at=now)
        created += len(rows)
    return created


def lock_response(response: OfferResponse) -> OfferResponse:
    # The response's row only (`of`), not its patient's: a till holding the patient would otherwise deadlock
    # with one that holds the patient's assignment (the ledger insert takes the patient, then the assignment).
    return OfferResponse.objects.select_for_update(of=("self",)).select_related("patient").get(pk=response.pk)


def _refuse(response: OfferResponse, to: str) -> Conflict:
    current = response.get_status_display()
    target = ResponseStatus(to).label
    if response.status in TERMINAL:
        return Conflict(f"This response is {current.lower()}; it cannot change any more.", code="illegal_transition",
                        extra={"status": response.status, "to": to})
    if to == ResponseStatus.COMPLETED and response.clip_required and response.status == ResponseStatus.PENDING:
        return Conflict("The patient has to clip this offer in the app before it can be used.", code="not_clipped",
                        extra={"status": response.status, "to": to})
    return Conflict(f"A {current.lower()} response cannot become {target.lower()}.", code="illegal_transition",
                    extra={"status": response.status, "to": to,
                           "allowed": sorted(next_statuses(response.status, clip_required=response.clip_required,
                                                           ships=response.ships))})


@transaction.atomic
def transition_response(*, response: OfferResponse, to: str, actor: Actor, reason: str = "",
                        order: Order | None = None, redemption: Redemption | None = None) -> OfferResponse:
    """Move a response to `to` when its lifecycle and the actor allow it; record who, when and why (RED-2).

    Anything else is refused with a Conflict naming the status, and changes nothing. Completing it
    records a ledger redemption, or takes `redemption` when the promotion's own app recorded it
    (a reward card redeemed at the till), and tells that app through the registry.
    """
    if to not in ResponseStatus.values:
        raise ApplicationError(f"Unknown status {to!r}.", code="validation_error",
                               extra={"fields": {"to": [f"Choose one of: {', '.join(ResponseStatus.values)}."]}})
    response = lock_response(response)
    allowed = next_statuses(response.status, clip_required=response.clip_required, ships=response.ships)
    if to not in allowed or to not in ACTOR_MAY[actor.kind]:
        raise _refuse(response, to)
    before = response.status
    response.status = to
    response.status_changed_at = timezone.now()
    fields = ["status", "status_changed_at"]
    if to == ResponseStatus.COMPLETED:
        response.redemption = redemption or apply_redemption(
            clinic=response.clinic, patient=response.patient, promotion=snapshot_of(response), order=order,
            channel=CHANNEL_OF_ACTOR[actor.kind])
        fields.append("redemption")
    response.save(update_fields=fields)
    _record(response, before=before, actor=actor, reason=reason)
    if to == ResponseStatus.COMPLETED and redemption is None:
        response_completed(response)
    return response


def snapshot_of(response: OfferResponse) -> PromotionSnapshot:
    """The promotion as the response keeps it, for the ledger."""
    return PromotionSnapshot(key=response.promotion_key, kind=response.promotion_kind, id=response.promotion_id,
                             name=response.promotion_name, discount_type=response.discount_type,
                             discount_value=response.discount_value, discount_label=response.discount_label)


def ensure_usable_at_pos(response: OfferResponse, today: date) -> None:
    """Refuse a response the point of sale may not complete now, with the reason (RED-4)."""
    if response.status in TERMINAL:
        raise _refuse(response, ResponseStatus.COMPLETED)
    if not response.in_usage_period(today):
        raise Conflict("This offer is outside its usage period.", code="outside_usage_period",
                       extra={"usage_from": response.usage_from, "usage_until": response.usage_until})
    if response.ships or not is_ready(response.status, clip_required=response.clip_required):
        raise _refuse(response, ResponseStatus.COMPLETED)


# Where a completion was made, by who made it.
CHANNEL_OF_ACTOR = {ActorKind.POS: RedemptionChannel.POS, ActorKind.STAFF: RedemptionChannel.STAFF,
                    ActorKind.PATIENT: RedemptionChannel.APP, ActorKind.SYSTEM: RedemptionChannel.POS}

# Where an order's discount came from, by the kind of promotion the response is to.
DISCOUNT_SOURCES = {"offer": DiscountSource.OFFER, "automated_offer": DiscountSource.AUTOMATED_OFFER,
                    "promo": DiscountSource.PROMO, "card": DiscountSource.REWARD}


@transaction.atomic
def complete_response(*, response: OfferResponse, actor: Actor, order_reference: str = "",
                      order_total: Decimal | None = None) -> OfferResponse:
    """Use a response in a purchase at the point of sale: it becomes Completed, once (RED-4).

    With the order's amount, the purchase is recorded as an order of the patient with the
    response's discount, so LTV, visits and Revenue by source count it.
    """
    locked = lock_response(response)
    ensure_usable_at_pos(locked, locked.clinic.today())
    order = None
    if order_total is not None:
        order = create_order(
            clinic=locked.clinic, patient=locked.patient, total=order_total,
            reference=order_reference.strip() or f"RESP-{locked.pk}",
            discount=AppliedDiscount(source=DISCOUNT_SOURCES.get(kind_key_of(locked.promotion_key),
                                                                 DiscountSource.OFFER),
                                     discount_type=locked.discount_type, value=locked.discount_value,
                                     source_key=locked.promotion_key, source_id=locked.promotion_id,
                                     source_name=locked.promotion_name),
        )
    return transition_response(response=locked, to=ResponseStatus.COMPLETED, actor=actor, order=order)


def lock_held_response(*, clinic: Clinic, patient: Patient, promotion_key: str,
                       now: datetime | None = None) -> OfferResponse | None:
    """The patient's response to a promotion the till could complete now, locked, the one ending soonest
    first; None without one (RED-4).

    For a promotion redeemed at the till by its own path (an offer's redeem), which then completes it with
    `transition_response(..., redemption=)`: one use, one ledger row, and no response left open for an
    offer already redeemed. Taken before anything else of the redeem, as `complete_response` takes its
    response first: a till completing that response meanwhile is waited for, and then it is not open.
    """
    now = now or timezone.now()
    today = clinic.today(now)
    held = (OfferResponse.objects.select_for_update(of=("self",))
            .filter(patient=patient, promotion_key=promotion_key,
                    status__in=[ResponseStatus.PENDING, ResponseStatus.CLIPPED])
            .exclude(expires_at__lte=now).order_by(F("usage_until").asc(nulls_last=True), "id"))
    for response in held:
        try:
            ensure_usable_at_pos(response, today)
        except Conflict:
            continue
        return response
    return None


def overdue(*, now: datetime, today: date) -> Q:
    """Responses whose time is up: past their expiry moment, or past the last day of their usage period."""
    return Q(expires_at__lte=now) | Q(usage_until__lt=today)


@transaction.atomic
def expire_due_responses(*, clinic: Clinic, now: datetime) -> int:
    """End every pending or clipped response of the clinic (in scope) past its expiry or usage period (RED-2).

    Rows another run holds are skipped (SKIP LOCKED), so two runs never expire one response twice.
    """
    due = list(OfferResponse.objects.select_for_update(skip_locked=True)
               .filter(status__in=[ResponseStatus.PENDING, ResponseStatus.CLIPPED])
               .filter(overdue(now=now, today=clinic.today(now))).order_by("id"))
    transitions = [
        ResponseTransition(clinic_id=clinic.pk, response=response, from_status=response.status,
                           to_status=ResponseStatus.EXPIRED, actor_kind=SYSTEM.kind, actor_name=SYSTEM.name,
                           reason="Its validity ended before it was used.")
        for response in due
    ]
    for response in due:
        response.status, response.status_changed_at = ResponseStatus.EXPIRED, now
    OfferResponse.objects.bulk_update(due, ["status", "status_changed_at"])
    ResponseTransition.objects.bulk_create(transitions)
    return len(due)
