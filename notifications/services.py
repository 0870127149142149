"""Queue, deliver and record pushes; every push leaves a history row (OFF-5, OFF-6); schedule
and cancel pushes for later (COU-7)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from clinic_crm.common.errors import ApplicationError, Conflict
from clinic_crm.tenancy.models import Clinic
from notifications.backends import get_backend
from notifications.backends.base import PushError, PushMessage, PushResult
from notifications.choices import PushStatus, ScheduledPushStatus
from notifications.models import HISTORY_LIMIT, PushNotification, ScheduledPush
from notifications.selectors import count_push_recipients, list_push_recipient_external_ids


def trim_push_history() -> int:
    """Keep only the newest HISTORY_LIMIT rows of the clinic in scope (called where rows are inserted)."""
    stale = list(PushNotification.objects.order_by("-created_at", "-id").values_list("id", flat=True)[HISTORY_LIMIT:])
    if not stale:
        return 0
    deleted, _ = PushNotification.objects.filter(id__in=stale).delete()
    return deleted


@transaction.atomic
def record_push(*, clinic: Clinic, title: str, message: str, external_ids: list[str] | None = None,
                source_key: str = "", occurrence: str = "") -> PushNotification:
    """Record a push in the clinic's history, queued; with nobody to reach it ends as "no recipients" (OFF-5).

    Other apps call `notifications.dispatch.queue_push`, which also has it delivered.
    """
    targeted = count_push_recipients(external_ids=external_ids)
    push = PushNotification(
        clinic=clinic, title=title.strip(), message=message.strip(),
        audience="all" if external_ids is None else "patients", external_ids=sorted(external_ids or []),
        source_key=source_key, occurrence=occurrence, targeted_count=targeted,
    )
    if targeted == 0:
        push.status = PushStatus.NO_RECIPIENTS
        push.failure_reason = "No patient has push notifications turned on."
    push.full_clean()
    push.save()
    # Trimmed in the same transaction as the insert, so the log never holds more than the limit.
    trim_push_history()
    return push


def idempotency_seed(push: PushNotification) -> str:
    # An occasion's push is the same push however often it is attempted; a manual push is its row.
    if push.occurrence:
        return f"{push.clinic_id}:{push.source_key}:{push.occurrence}"
    # The creation time keeps a reused primary key (a restored or rebuilt database sending through
    # the same OneSignal app) from matching an earlier push's key, which OneSignal would drop.
    return f"{push.clinic_id}:push:{push.pk}:{push.created_at.isoformat()}"


@dataclass(frozen=True)
class PreparedPush:
    """What a delivery attempt sends, read in the clinic's scope; the send itself runs outside it."""

    clinic: Clinic
    message: PushMessage


def prepare_push_delivery(*, push: PushNotification) -> PreparedPush | None:
    """Count an attempt at a queued push and say what to send; None when it is already settled (OFF-5).

    Runs in the clinic's scope and commits before the send, so no transaction stays open while
    the provider is called (`send_prepared_push`) and the attempt count survives a crash mid-send.
    """
    if push.status != PushStatus.QUEUED:
        return None  # already settled: a redelivered task must not send twice
    clinic = Clinic.objects.get(pk=push.clinic_id)
    # Resolved here, in scope, so the send needs no database: every push-enabled patient of the
    # clinic for "all", else those of the named ones who still are.
    if push.attempts and push.recipients:
        # A retry: the audience of the first attempt, even if a patient turned pushes off since, so that
        # batch N is still batch N (the accepted ones are skipped, the others keep their keys).
        external_ids = tuple(push.recipients)
    else:
        named = None if push.audience == "all" else push.external_ids
        external_ids = tuple(list_push_recipient_external_ids(external_ids=named))
        push.recipients = list(external_ids)
    push.attempts += 1
    push.save(update_fields=["attempts", "recipients"])
    return PreparedPush(clinic=clinic, message=PushMessage(
        title=push.title, message=push.message, external_ids=external_ids, idempotency_seed=idempotency_seed(push),
        done_batches=frozenset(int(index) for index in push.batches)))


def send_prepared_push(prepared: PreparedPush) -> PushResult | PushError:
    """Call the push provider: the outcome, or the error it raised. Touches no database."""
    try:
        return get_backend().send(clinic=prepared.clinic, push=prepared.message)
    except PushError as error:
        return error


def record_push_outcome(*, push: PushNotification, outcome: PushResult | PushError) -> PushNotification:
    """Write what a send achieved on the push; transient errors are raised for a retry (OFF-5, OFF-6).

    `push` must be read with a row lock (the caller's select_for_update), so two deliveries of one
    push settle it once; a push another delivery settled already is returned as it is.
    """
    if push.status != PushStatus.QUEUED:
        return push
    if isinstance(outcome, PushError):
        if outcome.transient:
            raise outcome
        return give_up_push(push=push, reason=str(outcome))
    result = outcome
    if result.batches is not None:
        _keep_batches(push, result.batches)
    if result.transient:
        # Some batches went, a later one hit a transient error: what went is kept (above), so a
        # retry sends only the rest and giving up still reports it.
        raise PushError(result.error or "The push service asked to try again later.", transient=True,
                        retry_after=result.retry_after)
    if result.batches is not None and push.batches and result.not_sent:
        # Some batches were refused for good: the push reached only part of its audience.
        return give_up_push(push=push, reason=result.error or "The push service refused some batches.")
    if result.no_recipients and not push.batches:
        push.status = PushStatus.NO_RECIPIENTS
        push.failure_reason = (result.error or "None of the targeted patients has a subscribed device.")[:500]
        push.sent_count = 0
    elif result.sent or push.batches:
        push.status = PushStatus.SENT
        if result.batches is None:  # a backend that does not batch: its own figures
            push.sent_count = result.recipients if result.recipients is not None else push.targeted_count
            push.provider_ids = result.provider_ids
        push.failure_reason = result.error[:500]  # a success keeps the provider's note (ids it did not know)
    else:
        return give_up_push(push=push, reason=result.error or "The push service refused the notification.")
    push.sent_at = timezone.now()
    push.save(update_fields=["status", "sent_count", "provider_ids", "batches", "failure_reason", "sent_at"])
    return push


def _keep_batches(push: PushNotification, accepted: dict[int, tuple[str, int, int]]) -> None:
    """Add the batches the provider accepted in this attempt; the Sent count and ids are those of all of them."""
    for index, (provider_id, reached, size) in accepted.items():
        push.batches[str(index)] = [provider_id, reached, size]
    ordered = [push.batches[key] for key in sorted(push.batches, key=int)]
    push.provider_ids = [provider_id for provider_id, _, _ in ordered]
    push.sent_count = sum(reached for _, reached, _ in ordered)
    push.save(update_fields=["batches", "provider_ids", "sent_count"])


def mark_push_failed(*, push: PushNotification, reason: str) -> PushNotification:
    """End a push as failed with a reason a clinic can act on (OFF-6)."""
    push.status = PushStatus.FAILED
    push.failure_reason = reason[:500]
    push.save(update_fields=["status", "failure_reason", "attempts"])
    return push


def give_up_push(*, push: PushNotification, reason: str) -> PushNotification:
    """End a push that cannot go further: partly sent if some batches went, else failed (OFF-6).

    "Partly sent" keeps the Sent count of the batches the provider accepted, says how many patients
    were not reached, and why.
    """
    if push.status != PushStatus.QUEUED:
        return push
    if not push.provider_ids:
        return mark_push_failed(push=push, reason=reason)
    accepted = sum(size for _, _, size in push.batches.values()) if push.batches else push.sent_count
    push.not_reached = max(push.targeted_count - accepted, 0)
    push.status = PushStatus.PARTLY_SENT if push.not_reached else PushStatus.SENT
    missed = f"{push.not_reached:,} patient{'s' if push.not_reached != 1 else ''} not reached. " if push.not_reached else ""
    push.failure_reason = (missed + reason)[:500]
    push.sent_at = timezone.now()
    push.save(update_fields=["status", "failure_reason", "attempts", "sent_at", "not_reached"])
    return push


def read_delivered_counts(*, clinic: Clinic, provider_ids: list[str], known: dict[str, int | None]) -> None:
    """Fill `known` with the provider's delivery figure of each notification not in it yet.

    Touches no database. A transient PushError (the provider's rate limit) leaves the figures
    read so far in `known`, for the retry.
    """
    backend = get_backend()
    for pid in provider_ids:
        if pid not in known:
            known[pid] = backend.delivered_count(clinic=clinic, provider_id=pid)


def record_delivered_count(*, push: PushNotification, counts: list[int | None]) -> PushNotification:
    """Replace the targeted count with the provider's own delivery figure, when it has them all (OFF-6)."""
    if push.status != PushStatus.SENT or not push.provider_ids or len(counts) != len(push.provider_ids):
        return push
    if any(c is None for c in counts):
        return push
    push.sent_count = sum(counts)
    push.delivery_confirmed = True
    push.save(update_fields=["sent_count", "delivery_confirmed"])
    return push


# --- scheduled pushes (COU-7) ----------------------------------------------------------------------


@transaction.atomic
def schedule_push(*, clinic: Clinic, title: str, message: str, external_ids: list[str], send_at,
                  source_key: str = "", created_by: str = "") -> ScheduledPush:
    """Keep a push to send at `send_at` to the patients of `external_ids`; a periodic task sends it."""
    if send_at <= timezone.now():
        raise ApplicationError("Choose a time in the future to schedule the push.", code="validation_error",
                               extra={"fields": {"send_at": ["Choose a time in the future."]}})
    scheduled = ScheduledPush(clinic=clinic, title=title.strip(), message=message.strip(),
                              external_ids=sorted(external_ids), send_at=send_at, source_key=source_key,
                              created_by=created_by[:150])
    scheduled.full_clean()
    scheduled.save()
    return scheduled


@transaction.atomic
def cancel_scheduled_push(*, scheduled: ScheduledPush, cancelled_by: str = "") -> ScheduledPush:
    """Stop a scheduled push from going; refused once the periodic task has sent it (COU-7)."""
    scheduled = ScheduledPush.objects.select_for_update().get(pk=scheduled.pk)
    if scheduled.status == ScheduledPushStatus.SENT:
        raise Conflict("This push was already sent; it can no longer be cancelled.", code="already_sent")
    if scheduled.status == ScheduledPushStatus.SCHEDULED:
        scheduled.status = ScheduledPushStatus.CANCELLED
        scheduled.cancelled_by = cancelled_by[:150]
        scheduled.cancelled_at = timezone.now()
        scheduled.save(update_fields=["status", "cancelled_by", "cancelled_at"])
    return scheduled
