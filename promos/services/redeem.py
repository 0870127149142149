"""Validate and redeem a promo code: is it live, may this patient use it, what does it take off, and
caps held by conditional writes under concurrency (PRO-3).

Decisions kept here because tests and API clients rely on them:
- A draft promo's code is answered with `code_not_started` ("This code is not active yet.").
- An unknown code is `code_unknown`, refused like any other code (API.md: the redeem answers 409
  with the domain code when refused); another clinic's code is indistinguishable from a missing one.
- A promo whose discount budget would be overrun by this order is refused with
  `usage_limit_reached` ("This promo's discount budget has been used up."): budget is a cap on
  money, reported like the cap on uses.
- Audience "new patients" means a patient with no order yet; audience "segment" matches the
  patient's `custom_fields["segment"]` case-insensitively (the clinic's booking system sets it).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource
from clinic_crm.common.errors import ApplicationError, Conflict, LimitReached
from clinic_crm.common.models import discount_label
from clinic_crm.common.money import format_money, quantize
from clinic_crm.orders.models import Order
from clinic_crm.orders.services import AppliedDiscount, LineInput, compute_discount_amount, create_order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from clinic_crm.common.transactions import commit_with_next_statement, refusal, savepoint, sent_with_next_statement
from clinic_crm.tenancy.rows import adapt_params, execute_prepared, get_scoped_row, scoped_clinic_id
from promos.choices import AppliesTo, Audience, PromoKind, PromoStatus
from promos.events import Actor
from promos.models import Promo, PromoAudienceMember, PromoCode, PromoCustomerUsage, PromoTier
from promos.services.lifecycle import _normalise_code
from redemptions.models import Redemption
from redemptions.services import PromotionSnapshot, apply_redemption

MESSAGES = {
    "code_unknown": "We don't recognise this code.",
    "code_paused": "This code is paused.",
    "code_draft": "This code is not active yet.",
    "code_expired": "This code has expired.",
    "code_archived": "This code is no longer available.",
    "usage_limit_reached": "This code has reached its usage limit.",
    "budget_exhausted": "This promo's discount budget has been used up.",
    "customer_limit_reached": "You have already used this code the maximum number of times.",
    "not_eligible": "This code is not available for your account.",
    "new_patients_only": "This code is for new patients only.",
}


# --- validate and redeem ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PromoCheck:
    """The answer to "may this patient use this code on this order?" (PRO-3)."""

    valid: bool
    discount: Decimal = Decimal("0.00")
    discount_label: str = ""
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class _Quote:
    promo: Promo
    promo_code: PromoCode
    discount_type: str
    discount_value: Decimal | None
    amount: Decimal
    label: str
    tier: str = ""  # the tier reached, by its minimum order ("100.00"), for tiered promos


def _refuse(code: str, message_key: str | None = None, *, message: str | None = None):
    text = message or MESSAGES[message_key or code]
    if code in ("usage_limit_reached", "customer_limit_reached"):
        raise LimitReached(text, code=code)
    raise Conflict(text, code=code)


def _find_code(code: str) -> PromoCode:
    code = _normalise_code(code)
    if not code or len(code) > 60:
        _refuse("code_unknown")
    # lower(code) is what the per-clinic unique index holds, so this is one index lookup.
    found = get_scoped_row(PromoCode, where="lower(t.code) = lower(%s)", params=[code], related="promo")
    if found is None:
        _refuse("code_unknown")
    return found


def _ensure_live(promo: Promo, clinic: Clinic, now: datetime) -> None:
    if promo.status == PromoStatus.ARCHIVED:
        _refuse("code_archived")
    if promo.status == PromoStatus.PAUSED:
        _refuse("code_paused")
    if promo.status == PromoStatus.DRAFT:
        _refuse("code_not_started", "code_draft")
    if promo.starts_at is not None and now < promo.starts_at:
        local = promo.starts_at.astimezone(clinic.tzinfo)
        _refuse("code_not_started", message=f"This code is valid from {local.day} {local:%B %Y}.")
    if promo.ends_at is not None and now >= promo.ends_at:
        _refuse("code_expired")


def _ensure_eligible(promo: Promo, promo_code: PromoCode, patient: Patient) -> None:
    if promo_code.patient_id is not None and promo_code.patient_id != patient.pk:
        _refuse("not_eligible")
    if promo.audience == Audience.PATIENTS:
        if not PromoAudienceMember.objects.filter(promo=promo, patient=patient).exists():
            _refuse("not_eligible")
    elif promo.audience == Audience.NEW_PATIENTS:
        if Order.objects.filter(patient=patient).exists():
            _refuse("not_eligible", "new_patients_only")
    elif promo.audience == Audience.SEGMENT:
        segment = str((patient.custom_fields or {}).get("segment", "")).strip().lower()
        if segment != promo.audience_segment.strip().lower():
            _refuse("not_eligible")


def _eligible_amount(promo: Promo, lines: list[LineInput] | None, total: Decimal) -> Decimal:
    """The part of the order the promo applies to: everything, or the lines of its services or categories."""
    if promo.applies_to == AppliesTo.ALL:
        return total
    wanted = {str(item).strip().lower() for item in promo.applies_to_items or []}
    names = ", ".join(promo.applies_to_items or [])
    if not lines:
        _refuse("not_eligible", message=f"This code applies only to {names}; the order's lines are needed to "
                                        "check it.")
    if promo.applies_to == AppliesTo.SERVICES:
        matching = [line for line in lines if line.description.strip().lower() in wanted]
    else:
        matching = [line for line in lines if line.category.strip().lower() in wanted]
    if not matching:
        _refuse("not_eligible", message=f"This code applies only to {names}.")
    return quantize(sum((line.amount for line in matching), Decimal("0")))


def _quote(*, promo_code: PromoCode, patient: Patient, order_total: Decimal, now: datetime,
           lines: list[LineInput] | None = None) -> _Quote:
    promo = promo_code.promo
    clinic = patient.clinic
    _ensure_live(promo, clinic, now)
    _ensure_eligible(promo, promo_code, patient)
    total = quantize(order_total)
    if promo.min_order is not None and total < promo.min_order:
        _refuse("minimum_order_not_met",
                message=f"This code needs a minimum order of {format_money(promo.min_order, clinic.currency)}.")
    discount_type, discount_value = promo.discount_type, promo.discount_value
    tier = ""
    if promo.kind == PromoKind.TIERED:
        reached = (PromoTier.objects.filter(promo=promo, min_order__lte=total).order_by("-min_order").first())
        if reached is None:
            lowest = PromoTier.objects.filter(promo=promo).order_by("min_order").first()
            floor = lowest.min_order if lowest else Decimal("0")
            _refuse("minimum_order_not_met",
                    message=f"This code needs a minimum order of {format_money(floor, clinic.currency)}.")
        discount_type, discount_value = reached.discount_type, reached.discount_value
        tier = f"{reached.min_order:.2f}"
    # Minimum order and tiers look at the whole order; the discount only at what the promo applies to.
    amount = compute_discount_amount(
        discount=AppliedDiscount(source=DiscountSource.PROMO, discount_type=discount_type, value=discount_value),
        subtotal=_eligible_amount(promo, lines, total))
    return _Quote(promo=promo, promo_code=promo_code, discount_type=discount_type, discount_value=discount_value,
                  amount=amount, label=discount_label(discount_type, discount_value, clinic.currency), tier=tier)


def _ensure_promo_caps_left(quote: _Quote) -> None:
    """The promo's total caps as its row was read: uses and the discount given only ever grow, so
    a cap this row shows as reached is reached for good."""
    promo = quote.promo
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        _refuse("usage_limit_reached")
    if promo.budget is not None and promo.discounted + quote.amount > promo.budget:
        _refuse("usage_limit_reached", "budget_exhausted")


def _ensure_caps_left(quote: _Quote, patient: Patient) -> None:
    """A read-only look at the caps, for validate; redeem enforces them with conditional writes."""
    _ensure_promo_caps_left(quote)
    promo = quote.promo
    if promo.max_uses_per_customer is not None:
        used = (PromoCustomerUsage.objects.filter(promo=promo, patient=patient)
                .values_list("uses", flat=True).first() or 0)
        if used >= promo.max_uses_per_customer:
            _refuse("customer_limit_reached")


def validate_promo_code(*, code: str, patient: Patient, order_total: Decimal,
                        now: datetime | None = None, lines: list[LineInput] | None = None) -> PromoCheck:
    """Tell the app whether a code applies to this patient's order, and the discount it gives (PRO-3)."""
    try:
        quote = _quote(promo_code=_find_code(code), patient=patient, order_total=order_total,
                       now=now or timezone.now(), lines=lines)
        _ensure_caps_left(quote, patient)
    except ApplicationError as refusal:
        return PromoCheck(valid=False, code=refusal.code, message=refusal.message)
    return PromoCheck(valid=True, discount=quote.amount, discount_label=quote.label)


# A use of the promo: a compare-and-set on its row (caps, status and window as they are now).
_TAKE_PROMO_USE_SQL = """
    UPDATE {promo} SET uses = uses + 1, discounted = discounted + %s, updated_at = %s
    WHERE clinic_id = %s AND id = %s AND status = %s
        AND (max_uses IS NULL OR uses < max_uses)
        AND (budget IS NULL OR budget >= discounted + %s)
        AND (ends_at IS NULL OR ends_at > %s)
    RETURNING clinic_id, id
"""
# The patient's use: an upsert that, under a per-customer cap, only counts below it.
_COUNT_CUSTOMER_USE_SQL = """
    INSERT INTO {usage} (clinic_id, promo_id, patient_id, uses) {source}
    ON CONFLICT (clinic_id, promo_id, patient_id) DO UPDATE SET uses = {usage}.uses + 1 {guard}
    RETURNING uses
"""
# On PostgreSQL both in one statement: the patient's use is counted only if the promo's was taken,
# and the statement raises unless both were (so it can carry the commit: see redeem_promo_code).
_TAKE_USES_SQL = """
    WITH taken AS ({take}), counted AS ({count}),
        outcome AS (SELECT (SELECT count(*) FROM taken) AS taken, (SELECT count(*) FROM counted) AS counted)
    SELECT crm_refuse(CASE WHEN taken = 0 THEN 'promo_use_not_taken' ELSE 'customer_use_not_counted' END)
    FROM outcome WHERE taken = 0 OR counted = 0
"""


class _UseNotTaken(Exception):
    """The promo's use, or the patient's, was not there to take any more when the redeem took it."""

    def __init__(self, promo_id: int, by_customer_cap: bool):
        super().__init__(promo_id, by_customer_cap)
        self.promo_id = promo_id
        self.by_customer_cap = by_customer_cap


def _take_uses(quote: _Quote, patient: Patient, now: datetime) -> None:
    """Take one use of the promo and one of the patient's, both or neither (one statement on
    PostgreSQL, where data-modifying WITH runs them together), or raise `_UseNotTaken`."""
    promo = quote.promo
    quote_name = connection.ops.quote_name
    usage = quote_name(PromoCustomerUsage._meta.db_table)
    guard, guard_params = "", []
    if promo.max_uses_per_customer is not None:
        guard, guard_params = f"WHERE {usage}.uses < %s", [promo.max_uses_per_customer]
    take = _TAKE_PROMO_USE_SQL.format(promo=quote_name(Promo._meta.db_table))
    take_params = adapt_params([quote.amount, timezone.now(), scoped_clinic_id(), promo.pk, PromoStatus.ACTIVE,
                                quote.amount, now])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            count = _COUNT_CUSTOMER_USE_SQL.format(usage=usage, guard=guard,
                                                   source="SELECT clinic_id, id, %s, 1 FROM taken")
            try:
                execute_prepared(cursor, _TAKE_USES_SQL.format(take=take, count=count),
                                 [*take_params, patient.pk, *guard_params])
            except DatabaseError as error:
                reason = refusal(error)
                if reason is None:
                    raise
                raise _UseNotTaken(promo.pk, by_customer_cap=reason == "customer_use_not_counted") from None
            return
        execute_prepared(cursor, take, take_params)
        if not cursor.fetchall():
            raise _UseNotTaken(promo.pk, by_customer_cap=False)
        count = _COUNT_CUSTOMER_USE_SQL.format(usage=usage, guard=guard, source="VALUES (%s, %s, %s, 1)")
        execute_prepared(cursor, count, [promo.clinic_id, promo.pk, patient.pk, *guard_params])
        if not cursor.fetchall():
            raise _UseNotTaken(promo.pk, by_customer_cap=True)


def _refuse_not_taken(not_taken: _UseNotTaken, now: datetime) -> None:
    """Say why a use was not there to take: something changed since the checks (a concurrent
    redeem took the last use, or staff paused the promo), and the row as it is now says which."""
    if not_taken.by_customer_cap:
        _refuse("customer_limit_reached")
    current = Promo.objects.get(pk=not_taken.promo_id)
    _ensure_live(current, current.clinic, now)
    if current.max_uses is not None and current.uses >= current.max_uses:
        _refuse("usage_limit_reached")
    _refuse("usage_limit_reached", "budget_exhausted")


def redeem_promo_code(*, code: str, patient: Patient, order_reference: str, order_total: Decimal,
                      actor: Actor | None = None, now: datetime | None = None,
                      lines: list[LineInput] | None = None,
                      commit_with: Callable[[Redemption], Sequence[str]] | None = None) -> Redemption:
    """Redeem a code on one order: caps by conditional writes, the order, and the ledger row (PRO-3).

    With lines, the order's total is their sum, as the order flow computes it. Atomic: a refusal
    after a write (a use taken by a concurrent redeem) undoes the redeem's writes and leaves the
    caller's transaction usable, so the POS's idempotency record of the refusal is kept. Inside a
    transaction that is a savepoint that costs no round trip of its own (this is the hot path).

    With `commit_with`, the caller's transaction is committed in the same round trip as the
    redeem's last write, the promo's use (`commit_with_next_statement`, where the transaction
    allows it): every redeem of a code waits for that row's lock, which is then held for no round
    trip at all. `commit_with(redemption)` is called just before, and the literal statements it
    returns (the POS's idempotent response) are sent and committed with that write, or rolled
    back with it on a refusal. The caller's transaction goes on after the commit.
    """
    now = now or timezone.now()
    try:
        with savepoint() if connection.in_atomic_block else transaction.atomic():
            return _redeem(code=code, patient=patient, order_reference=order_reference, order_total=order_total,
                           now=now, lines=lines, commit_with=commit_with)
    except _UseNotTaken as not_taken:
        _refuse_not_taken(not_taken, now)


def _redeem(*, code: str, patient: Patient, order_reference: str, order_total: Decimal, now: datetime,
            lines: list[LineInput] | None, commit_with: Callable[[Redemption], Sequence[str]] | None) -> Redemption:
    if lines:
        order_total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    quote = _quote(promo_code=_find_code(code), patient=patient, order_total=order_total, now=now, lines=lines)
    promo = quote.promo
    # A promo that has run out is refused before anything is written (a POS retrying against it
    # costs two reads); one that has a use left is still held to its caps by _take_uses.
    _ensure_promo_caps_left(quote)
    clinic = patient.clinic
    reference = (order_reference or "").strip() or f"{promo.promotion_key}-{uuid.uuid4().hex[:16]}"
    order = create_order(
        clinic=clinic, patient=patient, reference=reference, total=quantize(order_total), lines=lines,
        placed_at=now,
        discount=AppliedDiscount(source=DiscountSource.PROMO, discount_type=quote.discount_type,
                                 value=quote.discount_value, source_key=promo.promotion_key, source_id=promo.pk,
                                 source_name=promo.name, amount=quote.amount),
    )
    snapshot = PromotionSnapshot(key=promo.promotion_key, kind="promo", id=promo.pk, name=promo.name,
                                 discount_type=quote.discount_type, discount_value=quote.discount_value,
                                 discount_label=quote.label)
    redemption = apply_redemption(clinic=clinic, patient=patient, promotion=snapshot, order=order, tier=quote.tier)
    # The promo row is taken last: its row lock (which serialises every redeem of a hot code) is
    # then held only until commit, which can come with it. A refusal here still rolls the whole
    # redeem back, so the caps stay exact.
    with contextlib.ExitStack() as stack:
        if commit_with is not None:
            statements = commit_with(redemption)
            if statements:
                stack.enter_context(sent_with_next_statement("; ".join(statements)))
            stack.enter_context(commit_with_next_statement())
        _take_uses(quote, patient, now)
    return redemption
