"""Talking with a card's holder: pushes now or later (COU-7) and the feedback they leave (COU-8)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from clinic_crm.common.errors import ApplicationError, NotFound
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.events import StaffActor
from coupons.choices import CardAction
from coupons.events import record_card_event
from coupons.models import Card, Feedback
from notifications.dispatch import queue_push
from notifications.models import PushNotification, ScheduledPush
from notifications.services import cancel_scheduled_push, schedule_push


def _holder_external_id(card: Card) -> list[str]:
    external_id = card.patient.external_id
    if not external_id:
        raise ApplicationError("This patient has no app id, so no push can reach them.", code="no_recipients")
    return [external_id]


@transaction.atomic
def send_card_push(*, card: Card, title: str, message: str, actor: StaffActor) -> PushNotification:
    """Push to this card's holder only, now; it shows in the push history (COU-7)."""
    if not card.patient.push_enabled:
        raise ApplicationError(f"{card.patient.first_name} has push notifications turned off in the app, "
                               "so this push would reach nobody.", code="no_recipients")
    push = queue_push(clinic=card.clinic, title=title, message=message, external_ids=_holder_external_id(card),
                      source_key=card.push_key)
    record_card_event(card=card, actor=actor, action=CardAction.PUSH_SENT, details={"title": push.title})
    return push


@transaction.atomic
def schedule_card_push(*, card: Card, title: str, message: str, send_at: datetime, actor: StaffActor) -> ScheduledPush:
    """Keep a push to this card's holder for `send_at`; a periodic task sends it, once (COU-7)."""
    scheduled = schedule_push(clinic=card.clinic, title=title, message=message,
                              external_ids=_holder_external_id(card), send_at=send_at,
                              source_key=card.push_key, created_by=actor.name)
    record_card_event(card=card, actor=actor, action=CardAction.PUSH_SCHEDULED,
                      details={"title": scheduled.title, "send_at": send_at.isoformat()})
    return scheduled


@transaction.atomic
def cancel_card_push(*, card: Card, scheduled: ScheduledPush, actor: StaffActor) -> ScheduledPush:
    """Cancel a push scheduled for this card, until it is sent (COU-7)."""
    if scheduled.source_key != card.push_key:
        raise NotFound("No such scheduled push for this card.", code="not_found")
    was = scheduled.status
    scheduled = cancel_scheduled_push(scheduled=scheduled, cancelled_by=actor.name)
    if scheduled.status != was:
        record_card_event(card=card, actor=actor, action=CardAction.PUSH_CANCELLED,
                          details={"title": scheduled.title, "send_at": scheduled.send_at.isoformat()})
    return scheduled


@transaction.atomic
def leave_feedback(*, patient: Patient, rating: int, comment: str = "", card: Card | None = None) -> Feedback:
    """Keep a rating (1–5) and optional comment a patient left in the app, about one of their cards or not (COU-8)."""
    if card is not None and card.patient_id != patient.pk:
        raise NotFound("No such card.", code="unknown_card")
    feedback = Feedback(clinic_id=patient.clinic_id, patient=patient, card=card, rating=rating,
                        comment=comment.strip())
    feedback.full_clean()
    feedback.save()
    return feedback
