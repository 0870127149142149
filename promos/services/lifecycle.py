"""Writes on promos: create and edit with code, tiers and audience, the lifecycle (pause, activate,
archive), and personalised codes (PRO-1, PRO-2, PRO-5). Every write logs itself (PRO-5)."""

from __future__ import annotations

import csv
import io
import re
import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.errors import Conflict
from clinic_crm.common.app_changes import app_config_changed_on_commit
from clinic_crm.common.money import quantize
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from promos.choices import Audience, PromoAction, PromoKind, PromoStatus
from promos.events import Actor, jsonable, record_promo_event
from promos.locks import lock_promo
from promos.models import Promo, PromoAudienceMember, PromoCode, PromoTier
from redemptions.choices import AssignmentSource
from redemptions.services import record_assignments

PROMO_FIELDS = ("name", "kind", "discount_type", "discount_value", "applies_to", "applies_to_items", "audience",
                "audience_segment", "min_order", "max_uses", "max_uses_per_customer", "starts_at", "ends_at",
                "show_banner", "auto_apply", "marketing_cost", "budget")
EDITABLE_FIELDS = tuple(f for f in PROMO_FIELDS if f != "kind")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
# Personal codes avoid letters and digits that read alike (0/O, 1/I/L) when typed from a message.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PERSONAL_CODE_LENGTH = 8


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
    _assign_holders(promo)


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
        raise ValidationError({"code": "Enter the code patients type."})
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
    app_config_changed_on_commit(clinic_id)


def _assign_holders(promo: Promo) -> None:
    """A live promo's audience and personal-code holders hold it (RED-7's "assigned"); a draft or
    paused one's are assigned when it goes live. Patients already counted stay counted once."""
    if promo.status != PromoStatus.ACTIVE:
        return
    holders = set(PromoAudienceMember.objects.filter(promo=promo).values_list("patient_id", flat=True))
    holders.update(PromoCode.objects.filter(promo=promo, patient__isnull=False).values_list("patient_id", flat=True))
    if holders:
        record_assignments(clinic=promo.clinic, promotion_key=promo.promotion_key, patient_ids=holders,
                           source=AssignmentSource.AUDIENCE)


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
    _assign_holders(promo)
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
        _assign_holders(promo)
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
