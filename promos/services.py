"""Writes on promos: create, edit and lifecycle, personalised codes, and validate/redeem (PRO-1, PRO-2, PRO-3, PRO-5).

Decisions kept here because tests and API clients rely on them:
- A draft promo's code is answered with `code_not_started` ("This code is not active yet.").
- An unknown code is `code_unknown`; the POS redeem answers it with 404 (a missing thing, and
  another clinic's code is indistinguishable from a missing one).
- A promo whose discount budget would be overrun by this order is refused with
  `usage_limit_reached` ("This promo's discount budget has been used up."): budget is a cap on
  money, reported like the cap on uses.
- Audience "new patients" means a patient with no order yet; audience "segment" matches the
  patient's `custom_fields["segment"]` case-insensitively (the clinic's booking system sets it).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource, DiscountType
from clinic_crm.common.errors import ApplicationError, Conflict, LimitReached, NotFound
from clinic_crm.common.models import discount_label
from clinic_crm.common.money import format_money, quantize
from clinic_crm.orders.models import Order
from clinic_crm.orders.services import AppliedDiscount, LineInput, compute_discount_amount, create_order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from offers.config_cache import invalidate_app_config
from promos.choices import AppliesTo, Audience, PromoAction, PromoKind, PromoStatus
from promos.events import Actor, jsonable, record_promo_event
from promos.locks import lock_promo
from promos.models import Promo, PromoAudienceMember, PromoCode, PromoCustomerUsage, PromoTier
from redemptions.models import Redemption
from redemptions.services import PromotionSnapshot, apply_redemption

PROMO_FIELDS = ("name", "kind", "discount_type", "discount_value", "applies_to", "applies_to_items", "audience",
                "audience_segment", "min_order", "max_uses", "max_uses_per_customer", "starts_at", "ends_at",
                "show_banner", "auto_apply", "marketing_cost", "budget")
EDITABLE_FIELDS = tuple(f for f in PROMO_FIELDS if f != "kind")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
# Personal codes avoid letters and digits that read alike (0/O, 1/I/L) when typed from a message.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PERSONAL_CODE_LENGTH = 8

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


# --- create, edit, lifecycle -----------------------------------------------------------------------


def _normalise_code(code: str) -> str:
    return (code or "").strip()


def _ensure_code_free(*, code: str, exclude_promo_id: int | None = None) -> None:
    if not CODE_PATTERN.match(code):
        raise ValidationError({"code": "Use 3 to 40 letters, digits, dashes or underscores."})
    taken = PromoCode.objects.filter(code__iexact=code)
    if exclude_promo_id is not None:
        taken = taken.exclude(promo_id=exclude_promo_id)
    if taken.exists():
        raise ValidationError({"code": "Another promo already uses this code."})


def _tier_rows(tiers) -> list[dict]:
    rows = []
    for tier in tiers or []:
        row = {"min_order": quantize(Decimal(tier["min_order"])), "discount_type": tier.get("discount_type")
               or DiscountType.PERCENT, "discount_value": tier.get("discount_value")}
        if row["discount_type"] == DiscountType.FREE_TREATMENT:
            row["discount_value"] = None
        rows.append(row)
    rows.sort(key=lambda r: r["min_order"])
    if len({r["min_order"] for r in rows}) != len(rows):
        raise ValidationError({"tiers": "Each tier needs its own minimum order."})
    return rows


def _save_tiers(promo: Promo, rows: list[dict]) -> None:
    PromoTier.objects.filter(promo=promo).delete()
    tiers = [PromoTier(clinic_id=promo.clinic_id, promo=promo, **row) for row in rows]
    for tier in tiers:
        tier.full_clean(exclude=["promo", "clinic"], validate_constraints=False)
        # The tier's discount follows the same rules as a promo's own discount.
        probe = Promo(discount_type=tier.discount_type, discount_value=tier.discount_value)
        try:
            probe.clean()
        except ValidationError as exc:
            raise ValidationError({"tiers": exc.messages})
    PromoTier.objects.bulk_create(tiers)


def _tier_snapshot(promo: Promo) -> list[dict]:
    return [{"min_order": t.min_order, "discount_type": t.discount_type, "discount_value": t.discount_value}
            for t in PromoTier.objects.filter(promo=promo).order_by("min_order")]


def _audience_patients(patient_ids) -> list[int]:
    ids = sorted({int(pk) for pk in patient_ids or []})
    # Scoped manager: another clinic's patient ids are simply not found.
    found = set(Patient.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"audience_patient_ids": f"No such patients in this clinic: {missing[:10]}."})
    return ids


def _save_audience(promo: Promo, patient_ids: list[int]) -> None:
    PromoAudienceMember.objects.filter(promo=promo).delete()
    PromoAudienceMember.objects.bulk_create(
        [PromoAudienceMember(clinic_id=promo.clinic_id, promo=promo, patient_id=pk) for pk in patient_ids])


def _audience_snapshot(promo: Promo) -> list[int]:
    return list(PromoAudienceMember.objects.filter(promo=promo).order_by("patient_id")
                .values_list("patient_id", flat=True))


def _shared_code(promo: Promo) -> PromoCode | None:
    if promo.kind == PromoKind.PERSONALISED:
        return None
    return PromoCode.objects.filter(promo=promo, patient__isnull=True).order_by("id").first()


def _check_promo(promo: Promo) -> None:
    if promo.kind == PromoKind.TIERED and promo.discount_value is None \
            and promo.discount_type != DiscountType.FREE_TREATMENT:
        raise ValidationError({"tiers": "A tiered promo needs at least one tier."})
    if promo.starts_at and promo.ends_at and promo.ends_at <= promo.starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    if promo.max_uses is not None and promo.max_uses < promo.uses:
        raise ValidationError({"max_uses": f"The promo has already been used {promo.uses} times."})
    if promo.audience == Audience.SEGMENT and not promo.audience_segment.strip():
        raise ValidationError({"audience_segment": "Name the segment the promo is for."})
    if promo.applies_to != "all" and not promo.applies_to_items:
        raise ValidationError({"applies_to_items": "Name the services or categories the promo applies to."})
    promo.full_clean(exclude=["clinic"])


def _apply_first_tier(promo: Promo, tiers: list[dict]) -> None:
    # The promo's own discount is the entry tier's, so lists and labels have something to show.
    if promo.kind == PromoKind.TIERED and tiers:
        promo.discount_type = tiers[0]["discount_type"]
        promo.discount_value = tiers[0]["discount_value"]


# Settings a kind has no use for, cleared on every create and edit (from the dashboard or the API),
# so a value left over from another kind, or sent anyway, never takes effect.
UNUSED_BY_KIND = {
    PromoKind.PERSONALISED: {"show_banner": False, "auto_apply": False},  # each code is private
    PromoKind.TIERED: {"min_order": None},  # the lowest tier is the minimum order
}


def _clear_unused_settings(promo: Promo) -> None:
    for field, value in UNUSED_BY_KIND.get(promo.kind, {}).items():
        setattr(promo, field, value)


@transaction.atomic
def create_promo(*, clinic: Clinic, data: dict, actor: Actor | None) -> Promo:
    """Create a promo with its code, tiers and audience, and log it (PRO-1, PRO-5)."""
    promo = Promo(clinic=clinic)
    for field in PROMO_FIELDS:
        if field in data:
            setattr(promo, field, data[field])
    status = data.get("status", PromoStatus.DRAFT)
    if status not in (PromoStatus.DRAFT, PromoStatus.ACTIVE):
        raise ValidationError({"status": "A new promo starts as a draft or active."})
    promo.status = status
    if promo.discount_type == DiscountType.FREE_TREATMENT:
        promo.discount_value = None
    _clear_unused_settings(promo)
    tiers = _tier_rows(data.get("tiers")) if promo.kind == PromoKind.TIERED else []
    if promo.kind != PromoKind.TIERED and data.get("tiers"):
        raise ValidationError({"tiers": "Only tiered promos have tiers."})
    _apply_first_tier(promo, tiers)
    code = _normalise_code(data.get("code", ""))
    if promo.kind == PromoKind.PERSONALISED:
        if code:
            raise ValidationError({"code": "Personalised promos get one generated code per patient."})
    elif not code:
        raise ValidationError({"code": "Enter the code customers type."})
    else:
        _ensure_code_free(code=code)
    audience = _audience_patients(data.get("audience_patient_ids"))
    _check_promo(promo)
    promo.save()
    if code:
        try:
            with transaction.atomic():
                PromoCode.objects.create(clinic=clinic, promo=promo, code=code)
        except IntegrityError:  # taken by a concurrent create since the check
            raise ValidationError({"code": "Another promo already uses this code."})
    _save_tiers(promo, tiers)
    _save_audience(promo, audience)
    record_promo_event(promo=promo, actor=actor, action=PromoAction.CREATED,
                       diff={"created": _snapshot(promo, code=code or None, tiers=tiers, audience=audience)})
    _changed(promo)
    return promo


def _snapshot(promo: Promo, *, code, tiers, audience) -> dict:
    values = {field: getattr(promo, field) for field in PROMO_FIELDS}
    values.update(status=promo.status, code=code, tiers=tiers, audience_patient_ids=audience)
    return jsonable(values)


@transaction.atomic
def update_promo(*, promo: Promo, data: dict, actor: Actor | None) -> Promo:
    """Edit a promo; one log row with the before/after of every changed field, none if nothing changed (PRO-5)."""
    promo = lock_promo(promo_id=promo.pk)
    if promo.status == PromoStatus.ARCHIVED:
        raise Conflict("This promo is archived and cannot be edited.", code="code_archived")
    if "kind" in data and data["kind"] != promo.kind:
        raise ValidationError({"kind": "A promo's kind cannot change; create a new promo instead."})
    if "status" in data and data["status"] != promo.status:
        raise ValidationError({"status": "Use pause, activate or archive to change the status."})
    before = {field: getattr(promo, field) for field in EDITABLE_FIELDS}
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(promo, field, data[field])
    if promo.discount_type == DiscountType.FREE_TREATMENT:
        promo.discount_value = None
    _clear_unused_settings(promo)

    diff: dict = {}
    tiers_before = _tier_snapshot(promo) if promo.kind == PromoKind.TIERED else []
    tiers_after = tiers_before
    if "tiers" in data and data["tiers"] is not None:
        if promo.kind != PromoKind.TIERED:
            raise ValidationError({"tiers": "Only tiered promos have tiers."})
        tiers_after = _tier_rows(data["tiers"])
        if not tiers_after:
            raise ValidationError({"tiers": "A tiered promo needs at least one tier."})
        _apply_first_tier(promo, tiers_after)

    shared = _shared_code(promo)
    code_before = shared.code if shared else None
    code_after = code_before
    if "code" in data and promo.kind != PromoKind.PERSONALISED:
        code_after = _normalise_code(data["code"])
        if code_after != code_before:
            _ensure_code_free(code=code_after, exclude_promo_id=promo.pk)

    audience_before = _audience_snapshot(promo)
    audience_after = audience_before
    if "audience_patient_ids" in data and data["audience_patient_ids"] is not None:
        audience_after = _audience_patients(data["audience_patient_ids"])

    _check_promo(promo)
    changed = [field for field in EDITABLE_FIELDS if getattr(promo, field) != before[field]]
    for field in changed:
        diff[field] = {"before": before[field], "after": getattr(promo, field)}
    if changed:
        # Named fields only: the counters belong to redeems, never to an edit.
        promo.save(update_fields=[*changed, "updated_at"])
    if tiers_after != tiers_before:
        _save_tiers(promo, tiers_after)
        diff["tiers"] = {"before": tiers_before, "after": tiers_after}
    if code_after != code_before:
        try:
            with transaction.atomic():
                PromoCode.objects.filter(pk=shared.pk).update(code=code_after)
        except IntegrityError:
            raise ValidationError({"code": "Another promo already uses this code."})
        diff["code"] = {"before": code_before, "after": code_after}
    if audience_after != audience_before:
        _save_audience(promo, audience_after)
        diff["audience_patient_ids"] = {"before": audience_before, "after": audience_after}
    if diff:
        record_promo_event(promo=promo, actor=actor, action=PromoAction.UPDATED, diff=diff)
        _changed(promo)
    return promo


# Legal moves of the stored status (PRO-2). Archived is final.
TRANSITIONS = {
    PromoAction.PAUSED: ({PromoStatus.ACTIVE}, PromoStatus.PAUSED),
    PromoAction.ACTIVATED: ({PromoStatus.DRAFT, PromoStatus.PAUSED}, PromoStatus.ACTIVE),
    PromoAction.ARCHIVED: ({PromoStatus.DRAFT, PromoStatus.ACTIVE, PromoStatus.PAUSED}, PromoStatus.ARCHIVED),
}


def _changed(promo: Promo) -> None:
    """The app's config lists live promos (banner, auto-apply): rebuild it after this commits."""
    clinic_id = promo.clinic_id
    transaction.on_commit(lambda: invalidate_app_config(clinic_id))


def _transition(*, promo: Promo, actor: Actor | None, action: str) -> Promo:
    promo = lock_promo(promo_id=promo.pk)
    allowed_from, target = TRANSITIONS[action]
    if promo.status not in allowed_from:
        if action == PromoAction.ACTIVATED and promo.status == PromoStatus.ARCHIVED:
            raise Conflict("This promo is archived and cannot be re-activated.", code="code_archived")
        raise Conflict(f"A promo that is {promo.get_status_display().lower()} cannot be {action}.",
                       code="illegal_transition", extra={"status": promo.status})
    before = promo.status
    promo.status = target
    promo.save(update_fields=["status", "updated_at"])
    record_promo_event(promo=promo, actor=actor, action=action,
                       diff={"status": {"before": before, "after": target}})
    _changed(promo)
    return promo


@transaction.atomic
def pause_promo(*, promo: Promo, actor: Actor | None) -> Promo:
    """Pause an active promo; its code answers "This code is paused." until re-activated (PRO-2)."""
    return _transition(promo=promo, actor=actor, action=PromoAction.PAUSED)


@transaction.atomic
def activate_promo(*, promo: Promo, actor: Actor | None) -> Promo:
    """Activate a draft or paused promo; an archived one stays archived (PRO-2)."""
    return _transition(promo=promo, actor=actor, action=PromoAction.ACTIVATED)


@transaction.atomic
def archive_promo(*, promo: Promo, actor: Actor | None) -> Promo:
    """Archive a promo for good: kept for the audit trail, never redeemable again (PRO-2)."""
    return _transition(promo=promo, actor=actor, action=PromoAction.ARCHIVED)


# --- personalised codes ----------------------------------------------------------------------------


def _random_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(PERSONAL_CODE_LENGTH))


@transaction.atomic
def generate_personal_codes(*, promo: Promo, patients, actor: Actor | None, prefix: str = "") -> list[PromoCode]:
    """Give each patient one unique code of a personalised promo, in bulk; existing ones are kept (PRO-1)."""
    promo = lock_promo(promo_id=promo.pk)
    if promo.kind != PromoKind.PERSONALISED:
        raise Conflict("Only personalised promos have codes per patient.", code="illegal_transition")
    if promo.status == PromoStatus.ARCHIVED:
        raise Conflict("This promo is archived.", code="code_archived")
    prefix = (prefix or "").strip().upper()
    if prefix and not re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{0,19}", prefix):
        raise ValidationError({"prefix": "Use up to 20 letters, digits, dashes or underscores."})
    patient_ids = sorted({p.pk if isinstance(p, Patient) else int(p) for p in patients})
    known = set(Patient.objects.filter(pk__in=patient_ids).values_list("pk", flat=True))
    if len(known) != len(patient_ids):
        raise ValidationError({"patients": "Some patients are not in this clinic."})
    have = set(PromoCode.objects.filter(promo=promo, patient_id__in=patient_ids).values_list("patient_id", flat=True))
    wanted = [pk for pk in patient_ids if pk not in have]
    for _attempt in range(5):
        if not wanted:
            break
        candidates: dict[int, str] = {}
        seen: set[str] = set()
        for pk in wanted:
            code = _random_code(prefix)
            while code.lower() in seen:
                code = _random_code(prefix)
            seen.add(code.lower())
            candidates[pk] = code
        clashes = {c.lower() for c in PromoCode.objects.filter(code__in=list(candidates.values()))
                   .values_list("code", flat=True)}
        rows = [PromoCode(clinic_id=promo.clinic_id, promo=promo, patient_id=pk, code=code)
                for pk, code in candidates.items() if code.lower() not in clashes]
        try:
            with transaction.atomic():
                PromoCode.objects.bulk_create(rows)
        except IntegrityError:
            continue  # a concurrent writer took one of the codes; draw again
        done = {row.patient_id for row in rows}
        wanted = [pk for pk in wanted if pk not in done]
    if wanted:
        raise Conflict("Could not draw unique codes; try again or use a longer prefix.", code="conflict")
    created = len(patient_ids) - len(have)
    if created:
        record_promo_event(promo=promo, actor=actor, action=PromoAction.UPDATED,
                           diff={"personal_codes": {"before": len(have), "after": len(have) + created}})
    return list(PromoCode.objects.filter(promo=promo, patient_id__in=patient_ids).order_by("patient_id"))


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # A leading =, +, - or @ would be run as a formula by spreadsheet programs.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_personal_codes_csv(*, promo: Promo) -> str:
    """The personalised promo's codes with their patients, as CSV for a mail merge (PRO-1)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "patient_id", "external_id", "first_name", "last_name", "email"])
    codes = (PromoCode.objects.filter(promo=promo, patient__isnull=False).select_related("patient")
             .order_by("patient__last_name", "patient__first_name", "patient_id"))
    for code in codes:
        p = code.patient
        writer.writerow([_csv_cell(v) for v in (code.code, p.pk, p.external_id, p.first_name, p.last_name,
                                                 p.email)])
    return out.getvalue()


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


def _refuse(code: str, message_key: str | None = None, *, message: str | None = None):
    text = message or MESSAGES[message_key or code]
    if code in ("usage_limit_reached", "customer_limit_reached"):
        raise LimitReached(text, code=code)
    raise Conflict(text, code=code)


def _find_code(code: str) -> PromoCode:
    code = _normalise_code(code)
    if not code or len(code) > 60:
        raise NotFound(MESSAGES["code_unknown"], code="code_unknown")
    found = PromoCode.objects.select_related("promo").filter(code__iexact=code).first()
    if found is None:
        raise NotFound(MESSAGES["code_unknown"], code="code_unknown")
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
    if promo.kind == PromoKind.TIERED:
        reached = (PromoTier.objects.filter(promo=promo, min_order__lte=total).order_by("-min_order").first())
        if reached is None:
            lowest = PromoTier.objects.filter(promo=promo).order_by("min_order").first()
            floor = lowest.min_order if lowest else Decimal("0")
            _refuse("minimum_order_not_met",
                    message=f"This code needs a minimum order of {format_money(floor, clinic.currency)}.")
        discount_type, discount_value = reached.discount_type, reached.discount_value
    # Minimum order and tiers look at the whole order; the discount only at what the promo applies to.
    amount = compute_discount_amount(
        discount=AppliedDiscount(source=DiscountSource.PROMO, discount_type=discount_type, value=discount_value),
        subtotal=_eligible_amount(promo, lines, total))
    return _Quote(promo=promo, promo_code=promo_code, discount_type=discount_type, discount_value=discount_value,
                  amount=amount, label=discount_label(discount_type, discount_value, clinic.currency))


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


def _take_promo_use(quote: _Quote, now: datetime) -> None:
    """One compare-and-set on the promo row: a use and the discount, only while caps and status allow."""
    promo = quote.promo
    taken = (Promo.objects.filter(pk=promo.pk, status=PromoStatus.ACTIVE)
             .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
             .filter(Q(budget__isnull=True) | Q(budget__gte=F("discounted") + quote.amount))
             .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
             .update(uses=F("uses") + 1, discounted=F("discounted") + quote.amount, updated_at=timezone.now()))
    if taken:
        return
    # Zero rows: something changed since the checks (a concurrent redeem took the last use, or
    # staff paused the promo). The row as it is now says which.
    current = Promo.objects.get(pk=promo.pk)
    _ensure_live(current, current.clinic, now)
    if current.max_uses is not None and current.uses >= current.max_uses:
        _refuse("usage_limit_reached")
    _refuse("usage_limit_reached", "budget_exhausted")


_USAGE_SQL = """
    INSERT INTO {table} (clinic_id, promo_id, patient_id, uses) VALUES (%s, %s, %s, 1)
    ON CONFLICT (clinic_id, promo_id, patient_id) DO UPDATE SET uses = {table}.uses + 1
    {guard}
    RETURNING uses
"""


def _take_customer_use(quote: _Quote, patient: Patient) -> None:
    """Count the patient's use with one atomic upsert; under a per-customer cap it only counts below it."""
    promo = quote.promo
    table = connection.ops.quote_name(PromoCustomerUsage._meta.db_table)
    params = [promo.clinic_id, promo.pk, patient.pk]
    guard = ""
    if promo.max_uses_per_customer is not None:
        guard = f"WHERE {table}.uses < %s"
        params.append(promo.max_uses_per_customer)
    with connection.cursor() as cursor:
        cursor.execute(_USAGE_SQL.format(table=table, guard=guard), params)
        row = cursor.fetchone()
    if row is None:
        _refuse("customer_limit_reached")


@transaction.atomic
def redeem_promo_code(*, code: str, patient: Patient, order_reference: str, order_total: Decimal,
                      actor: Actor | None = None, now: datetime | None = None,
                      lines: list[LineInput] | None = None) -> Redemption:
    """Redeem a code on one order: caps by conditional writes, the order, and the ledger row (PRO-3).

    With lines, the order's total is their sum, as the order flow computes it.
    """
    now = now or timezone.now()
    if lines:
        order_total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    quote = _quote(promo_code=_find_code(code), patient=patient, order_total=order_total, now=now, lines=lines)
    promo = quote.promo
    # A promo that has run out is refused before anything is written (a POS retrying against it
    # costs two reads); one that has a use left is still held to its caps by _take_promo_use.
    _ensure_promo_caps_left(quote)
    _take_customer_use(quote, patient)
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
    redemption = apply_redemption(clinic=clinic, patient=patient, promotion=snapshot, order=order)
    # The promo row is taken last: its row lock (which serialises every redeem of a hot code) is
    # then held only until commit. A refusal here still rolls the whole redeem back, so the cap
    # stays exact.
    _take_promo_use(quote, now)
    return redemption
