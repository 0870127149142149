"""Writes on the redemption ledger. Promotion apps describe what is redeemed; the ledger records it (OFF-8)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from redemptions.choices import RedemptionChannel, RedemptionStatus
from redemptions.models import Redemption
from redemptions.services.counts import count_redemption, insert_counted_redemption


@dataclass(frozen=True)
class PromotionSnapshot:
    """What the ledger keeps of a promotion at the moment of redemption, so later edits never rewrite it."""

    key: str  # "offer_12"
    kind: str  # "offer", "automated_offer", …
    id: int
    name: str
    discount_type: str
    discount_value: Decimal | None
    discount_label: str


def _lock_patient(patient: Patient) -> None:
    # Serialises one patient's redemptions (two taps, two tills) without touching the promotion's
    # row, which every other patient's redemption also needs.
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()


def _new_redemption(*, clinic: Clinic, patient: Patient, promotion: PromotionSnapshot, status: str) -> Redemption:
    return Redemption(
        clinic=clinic, patient=patient, status=status, promotion_key=promotion.key, promotion_kind=promotion.kind,
        promotion_id=promotion.id, promotion_name=promotion.name[:200], discount_type=promotion.discount_type,
        discount_value=promotion.discount_value, discount_label=promotion.discount_label[:80],
    )


@transaction.atomic
def record_pending_redemption(*, clinic: Clinic, patient: Patient, promotion: PromotionSnapshot) -> Redemption:
    """Record that a patient redeemed a promotion in the app; a second tap returns the pending one (OFF-8)."""
    _lock_patient(patient)
    existing = (Redemption.objects.filter(promotion_key=promotion.key, patient=patient,
                                          status=RedemptionStatus.PENDING)
                .order_by("created_at", "id").first())
    if existing is not None:
        return existing
    redemption = _new_redemption(clinic=clinic, patient=patient, promotion=promotion, status=RedemptionStatus.PENDING)
    redemption.save()
    return redemption


def lock_pending_redemption(*, patient: Patient, promotion_key: str) -> Redemption | None:
    """Lock the patient's oldest pending redemption of a promotion for checkout, if there is one (OFF-8).

    Two tills applying the same pending redemption at once: the second waits for the first, then
    finds it applied and gets None.
    """
    return (Redemption.objects.select_for_update()
            .filter(promotion_key=promotion_key, patient=patient, status=RedemptionStatus.PENDING)
            .order_by("created_at", "id").first())


# Always called inside a redeem service's own transaction, so no savepoint of its own (two round
# trips fewer on the hot path); a failure here rolls back that caller's savepoint.
@transaction.atomic(savepoint=False)
def apply_redemption(*, clinic: Clinic, patient: Patient, promotion: PromotionSnapshot,
                     pending: Redemption | None = None, order: Order | None = None,
                     channel: str = RedemptionChannel.POS, tier: str = "") -> Redemption:
    """Mark a pending redemption applied at checkout, or record an applied one when there is none (OFF-8).

    A pending redemption keeps the snapshot it was made with: the promotion may have been edited
    or deactivated since, and a redemption already made stands. Either way it is counted for the
    promotion's redemption rate (RED-7) in the same transaction.
    """
    redemption = pending or _new_redemption(clinic=clinic, patient=patient, promotion=promotion,
                                            status=RedemptionStatus.APPLIED)
    redemption.status = RedemptionStatus.APPLIED
    redemption.applied_at = timezone.now()
    redemption.order = order
    redemption.discount_amount = order.discount_amount if order is not None else None
    redemption.order_total = order.total if order is not None else None
    redemption.channel = channel
    redemption.tier = tier[:40]
    if redemption._state.adding:
        insert_counted_redemption(clinic=clinic, redemption=redemption)  # one statement: every POS redeem
    else:
        redemption.save()
        count_redemption(clinic=clinic, redemption=redemption)
    return redemption
