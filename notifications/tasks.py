"""Delivery runs in Celery: transient errors retry with backoff, then the push is marked failed."""

from __future__ import annotations

import random

from celery import shared_task

from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic
from notifications import services
from notifications.backends.base import PushError
from notifications.choices import PushStatus
from notifications.models import PushNotification

MAX_RETRIES = 5
# A provider's Retry-After is honoured up to this; it stays well under the broker's visibility
# timeout (4 h) so a waiting retry is never redelivered as a duplicate.
MAX_RETRY_DELAY = 60 * 60
# OneSignal's view endpoint allows about one request a second per app; read figures later, once.
DELIVERY_FIGURE_DELAY = 15 * 60
# Waits for a free second of OneSignal's view limit (shared by every worker) before giving up
# and leaving the targeted count.
DELIVERY_FIGURE_RETRIES = 20


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deliver_push_task(self, clinic_id: int, push_id: int) -> str:
    last_attempt = self.request.retries >= self.max_retries
    outcome = _attempt_delivery(clinic_id, push_id, last_attempt=last_attempt)
    # The retry is raised only here, after the clinic scope (and its transaction) has closed:
    # raised inside, it would roll back the attempt count and the batches already sent.
    if isinstance(outcome, PushError):
        # Retry-After when the provider gives one; otherwise 30 s, 60 s, … up to 10 min.
        countdown = min(outcome.retry_after or min(600, 30 * 2 ** self.request.retries), MAX_RETRY_DELAY)
        raise self.retry(countdown=countdown, exc=outcome)
    if outcome is None:
        return "gone"
    if outcome.status == PushStatus.SENT and outcome.provider_ids:
        fetch_delivered_count_task.apply_async((clinic_id, outcome.pk), countdown=DELIVERY_FIGURE_DELAY)
    return outcome.status


def _attempt_delivery(clinic_id: int, push_id: int, *, last_attempt: bool) -> PushNotification | PushError | None:
    """Read and count the attempt, send with no transaction open, then record the outcome.

    Each database step is its own short transaction in the clinic's scope: the provider call
    (up to its timeouts) never holds a connection in a transaction or a row lock.
    """
    with clinic_scope(clinic_id):
        push = PushNotification.objects.filter(pk=push_id).first()
        if push is None:
            return None
        prepared = services.prepare_push_delivery(push=push)
        if prepared is None:
            return push
    outcome = services.send_prepared_push(prepared)
    with clinic_scope(clinic_id):
        push = PushNotification.objects.select_for_update().filter(pk=push_id).first()
        if push is None:
            return None
        try:
            return services.record_push_outcome(push=push, outcome=outcome)
        except PushError as error:
            if last_attempt:
                return services.give_up_push(push=push, reason=f"Gave up after {push.attempts} attempts: {error}")
            return error


@shared_task(bind=True, max_retries=DELIVERY_FIGURE_RETRIES, acks_late=True)
def fetch_delivered_count_task(self, clinic_id: int, push_id: int) -> int | None:
    try:
        return _read_delivery_figure(clinic_id, push_id)
    except PushError as error:  # OneSignal's per-app view limit: try again in a moment
        if not error.transient or self.request.retries >= self.max_retries:
            return None
        raise self.retry(countdown=(error.retry_after or 1) + random.uniform(0, 2), exc=error)


def _read_delivery_figure(clinic_id: int, push_id: int) -> int | None:
    with clinic_scope(clinic_id):
        push = PushNotification.objects.filter(pk=push_id).first()
        if push is None or push.status != PushStatus.SENT or not push.provider_ids:
            return push.sent_count if push else None
        clinic = Clinic.objects.get(pk=clinic_id)
        provider_ids = list(push.provider_ids)
    counts = services.read_delivered_counts(clinic=clinic, provider_ids=provider_ids)  # no transaction open
    with clinic_scope(clinic_id):
        push = PushNotification.objects.select_for_update().filter(pk=push_id).first()
        if push is None:
            return None
        return services.record_delivered_count(push=push, counts=counts).sent_count
