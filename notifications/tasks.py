"""Delivery runs in Celery: transient errors retry with backoff, then the push is marked failed."""

from __future__ import annotations

import logging
import random

from celery import shared_task

from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic
from notifications import services
from notifications.backends.base import PushError
from notifications.choices import PushStatus
from notifications.models import PushNotification

logger = logging.getLogger(__name__)

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
    outcome, settled_here = _attempt_delivery(clinic_id, push_id, last_attempt=last_attempt)
    # The retry is raised only here, after the clinic scope (and its transaction) has closed:
    # raised inside, it would roll back the attempt count and the batches already sent.
    if isinstance(outcome, PushError):
        # Retry-After when the provider gives one; otherwise 30 s, 60 s, … up to 10 min.
        countdown = min(outcome.retry_after or min(600, 30 * 2 ** self.request.retries), MAX_RETRY_DELAY)
        raise self.retry(countdown=countdown, exc=outcome)
    if outcome is None:
        return "gone"
    # Only the attempt that sent it asks for the figure: a redelivered task must not ask again.
    if settled_here and outcome.status in (PushStatus.SENT, PushStatus.PARTLY_SENT) and outcome.provider_ids:
        fetch_delivered_count_task.apply_async((clinic_id, outcome.pk), countdown=DELIVERY_FIGURE_DELAY)
    return outcome.status


def _attempt_delivery(clinic_id: int, push_id: int, *,
                      last_attempt: bool) -> tuple[PushNotification | PushError | None, bool]:
    """Read and count the attempt, send with no transaction open, then record the outcome.

    Each database step is its own short transaction in the clinic's scope: the provider call
    (up to its timeouts) never holds a connection in a transaction or a row lock. Returns the
    push (or the transient error to retry on, or None when the push is gone) and whether this
    attempt is the one that settled it.
    """
    with clinic_scope(clinic_id):
        push = PushNotification.objects.select_for_update().filter(pk=push_id).first()
        if push is None:
            return None, False
        prepared = services.prepare_push_delivery(push=push)
        if prepared is None:
            return push, False
    outcome = services.send_prepared_push(prepared)
    with clinic_scope(clinic_id):
        push = PushNotification.objects.select_for_update().filter(pk=push_id).first()
        if push is None:
            return None, False
        if push.status != PushStatus.QUEUED:
            return push, False  # a concurrent delivery settled it while this one was sending
        try:
            push = services.record_push_outcome(push=push, outcome=outcome)
        except PushError as error:
            if not last_attempt:
                return error, False
            push = services.give_up_push(push=push, reason=f"Gave up after {push.attempts} attempts: {error}")
        return push, True


@shared_task(bind=True, max_retries=DELIVERY_FIGURE_RETRIES, acks_late=True)
def fetch_delivered_count_task(self, clinic_id: int, push_id: int, known: dict[str, int | None] | None = None):
    """Replace a sent push's targeted count with OneSignal's delivery figure (OFF-6).

    Figures already read are carried into a retry (`known`), so waiting for OneSignal's per-app
    view limit never spends a request twice.
    """
    known = dict(known or {})
    try:
        return _read_delivery_figure(clinic_id, push_id, known)
    except PushError as error:
        if not error.transient or self.request.retries >= self.max_retries:
            logger.warning("Gave up reading OneSignal's delivery figure for push %s: %s", push_id, error)
            return None
        countdown = min(error.retry_after or 1, MAX_RETRY_DELAY) + random.uniform(0, 2)
        raise self.retry(countdown=countdown, exc=error, kwargs={**self.request.kwargs, "known": known})


def _read_delivery_figure(clinic_id: int, push_id: int, known: dict[str, int | None]) -> int | None:
    with clinic_scope(clinic_id):
        push = PushNotification.objects.filter(pk=push_id).first()
        if push is None or push.status != PushStatus.SENT or not push.provider_ids:
            return push.sent_count if push else None
        clinic = Clinic.objects.get(pk=clinic_id)
        provider_ids = list(push.provider_ids)
    # No transaction open while OneSignal is asked; `known` keeps what was read if a later id must wait.
    services.read_delivered_counts(clinic=clinic, provider_ids=provider_ids, known=known)
    with clinic_scope(clinic_id):
        push = PushNotification.objects.select_for_update().filter(pk=push_id).first()
        if push is None:
            return None
        counts = [known.get(pid) for pid in push.provider_ids]
        return services.record_delivered_count(push=push, counts=counts).sent_count
