"""Create, edit, publish, activate and delete offers; configure automated ones (OFF-1, OFF-2, OFF-3)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils.formats import date_format

from clinic_crm.common.app_changes import app_config_changed_on_commit
from clinic_crm.common.errors import Conflict
from clinic_crm.tenancy.models import Clinic
from notifications.models import PushNotification
from notifications.selectors import get_push_setup_problem
from notifications.dispatch import queue_push
from offers.models import AutomatedOffer, Offer
from offers.services.redemption import is_offer_redeemable
from redemptions.choices import RedemptionStatus
from redemptions.models import Redemption

OFFER_FIELDS = ("name", "title", "description", "image_url", "discount_type", "discount_value", "valid_from",
                "valid_until", "active", "published", "max_uses", "clip_required", "ships_item",
                "allow_multiple_responses", "certificate_codes")
AUTOMATED_FIELDS = ("discount_type", "discount_value", "push_title", "push_message", "validity_days", "active",
                    "published", "app_lead_days")


def _changed(clinic_id: int) -> None:
    # The app must see the change on its very next fetch (OFF-7).
    app_config_changed_on_commit(clinic_id)


def _assign(obj, data: dict, fields) -> None:
    for field in fields:
        if field in data:
            setattr(obj, field, data[field])


@transaction.atomic
def create_offer(*, clinic: Clinic, data: dict, actor=None) -> Offer:
    """Create a one-time offer (OFF-1)."""
    offer = Offer(clinic=clinic)
    _assign(offer, data, OFFER_FIELDS)
    if offer.discount_type == "free_treatment":
        offer.discount_value = None
    offer.full_clean()
    offer.save()
    _changed(clinic.pk)
    return offer


@transaction.atomic
def update_offer(*, offer: Offer, data: dict, actor=None) -> Offer:
    """Edit a one-time offer; a cap below the uses already made is refused (OFF-1, OFF-2)."""
    _assign(offer, data, OFFER_FIELDS)
    if offer.discount_type == "free_treatment":
        offer.discount_value = None
    if offer.max_uses is not None and offer.max_uses < offer.current_uses:
        from django.core.exceptions import ValidationError

        raise ValidationError({"max_uses": f"The offer has already been used {offer.current_uses} times."})
    offer.full_clean()
    offer.save()
    _changed(offer.clinic_id)
    return offer


def _set_flag(obj, field: str, value: bool):
    setattr(obj, field, value)
    obj.save(update_fields=[field, "updated_at"])
    _changed(obj.clinic_id)
    return obj


@transaction.atomic
def publish_offer(*, offer: Offer, actor=None) -> Offer:
    """Show a one-time offer in the app (OFF-2)."""
    return _set_flag(offer, "published", True)


@transaction.atomic
def unpublish_offer(*, offer: Offer, actor=None) -> Offer:
    """Hide a one-time offer from the app, keeping it as a draft (OFF-2)."""
    return _set_flag(offer, "published", False)


@transaction.atomic
def activate_offer(*, offer: Offer, actor=None) -> Offer:
    """Allow new redemptions again (OFF-2)."""
    return _set_flag(offer, "active", True)


@transaction.atomic
def deactivate_offer(*, offer: Offer, actor=None) -> Offer:
    """Stop new redemptions; redemptions already made stand (OFF-2)."""
    return _set_flag(offer, "active", False)


@transaction.atomic
def delete_offer(*, offer: Offer, actor=None) -> int:
    """Delete a one-time offer and its pending redemptions; applied ones stay on their orders (OFF-2).

    Returns how many pending redemptions were removed.
    """
    removed, _ = Redemption.objects.filter(promotion_key=offer.promotion_key,
                                           status=RedemptionStatus.PENDING).delete()
    clinic_id = offer.clinic_id
    offer.delete()
    _changed(clinic_id)
    return removed


@transaction.atomic
def configure_automated_offer(*, automated_offer: AutomatedOffer, data: dict, actor=None) -> AutomatedOffer:
    """Set an automated offer's discount, push text and validity window (OFF-3)."""
    _assign(automated_offer, data, AUTOMATED_FIELDS)
    if automated_offer.discount_type == "free_treatment":
        automated_offer.discount_value = None
    automated_offer.full_clean()
    automated_offer.save()
    _changed(automated_offer.clinic_id)
    return automated_offer


@transaction.atomic
def activate_automated_offer(*, automated_offer: AutomatedOffer, actor=None) -> AutomatedOffer:
    """Let the automation fire on the next occurrence (OFF-3)."""
    return _set_flag(automated_offer, "active", True)


@transaction.atomic
def deactivate_automated_offer(*, automated_offer: AutomatedOffer, actor=None) -> AutomatedOffer:
    """Stop the automation from firing (OFF-3)."""
    return _set_flag(automated_offer, "active", False)


@transaction.atomic
def publish_automated_offer(*, automated_offer: AutomatedOffer, actor=None) -> AutomatedOffer:
    """Show the automated offer in the app (OFF-3)."""
    return _set_flag(automated_offer, "published", True)


@transaction.atomic
def unpublish_automated_offer(*, automated_offer: AutomatedOffer, actor=None) -> AutomatedOffer:
    """Hide the automated offer from the app; the automation still fires (OFF-3)."""
    return _set_flag(automated_offer, "published", False)


def _day(day: date, today: date) -> str:
    return date_format(day, "j M" if day.year == today.year else "j M Y")


def get_offer_push_refusal(*, offer: Offer, today: date) -> str:
    """Why a push about this offer would send patients to something they can't use today, or "" (OFF-5).

    The rule is the app's own (`is_offer_redeemable`, OFF-7/OFF-8); the rest only words the reason.
    """
    if is_offer_redeemable(offer=offer, today=today):
        return ""
    if offer.valid_until and offer.valid_until < today:
        return f"This offer ended on {_day(offer.valid_until, today)}; patients can't see it."
    if not offer.published:
        return "This offer is not published; patients can't see it. Publish it from its ⋮ menu first."
    if not offer.active:
        return "This offer is inactive; patients can't see it. Switch Active on in Edit first."
    if offer.valid_from and offer.valid_from > today:
        return (f"This offer starts on {_day(offer.valid_from, today)}; patients can't see it until then. "
                "Send the push on or after that day.")
    return (f"This offer has used all {offer.max_uses} of its uses; patients can't redeem it any more. "
            "Raise its usage cap in Edit first.")


def ensure_offer_pushable(*, clinic: Clinic, offer: Offer, today: date) -> None:
    """Refuse with 409 unless a manual push about the offer can reach patients who can use it (OFF-5).

    offer_not_live: patients can't see or redeem the offer today. push_not_configured: the push
    could not be delivered at all (OneSignal without the clinic's credentials). A manual push is a
    deliberate act, so it is stopped before anything is queued instead of ending as a failed row.
    """
    reason = get_offer_push_refusal(offer=offer, today=today)
    if reason:
        raise Conflict(reason, code="offer_not_live")
    problem = get_push_setup_problem(clinic=clinic)
    if problem:
        raise Conflict(problem, code="push_not_configured")


@transaction.atomic
def send_offer_push(*, clinic: Clinic, offer: Offer, title: str, message: str, today: date,
                    actor=None) -> PushNotification:
    """Queue a manual push about a live one-time offer to every push-enabled patient (OFF-5)."""
    ensure_offer_pushable(clinic=clinic, offer=offer, today=today)
    return queue_push(clinic=clinic, title=title, message=message, source_key=offer.promotion_key)


def refuse_automated_delete() -> None:
    raise Conflict("Automated offers cannot be deleted. Deactivate it to stop it firing.", code="not_deletable")
