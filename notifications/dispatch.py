"""Sending a push, as other apps do it: the history row now, delivery by Celery after commit (OFF-5).

This sits above both `services` (every write, delivery included) and `tasks` (which load a push
and call those services), so neither of them imports the other.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from clinic_crm.common.queueing import enqueue_on_commit
from clinic_crm.tenancy.models import Clinic
from notifications.choices import PushStatus, ScheduledPushStatus
from notifications.models import PushNotification, ScheduledPush
from notifications.services import record_push
from notifications.tasks import deliver_push_task


@transaction.atomic
def queue_push(*, clinic: Clinic, title: str, message: str, external_ids: list[str] | None = None,
               source_key: str = "", occurrence: str = "") -> PushNotification:
    """Record a push and deliver it once this commits: to every push-enabled patient, or only to
    those of `external_ids` (OFF-5); with nobody to reach it ends as "no recipients" unsent."""
    push = record_push(clinic=clinic, title=title, message=message, external_ids=external_ids,
                       source_key=source_key, occurrence=occurrence)
    if push.status == PushStatus.QUEUED:
        # After the commit, so the worker finds the row; a rolled-back push is never sent. With the broker
        # down it stays queued, and the sweep (`requeue_stranded_pushes`) sends it when the broker is back.
        enqueue_on_commit(deliver_push_task, clinic.pk, push.pk)
    return push


@transaction.atomic
def send_due_scheduled_pushes(*, clinic: Clinic, now: datetime) -> list[PushNotification]:
    """Queue every scheduled push of the clinic (in scope) whose time has come, each exactly once (COU-7).

    The due rows are locked and marked sent in the transaction that records their pushes, so a
    second run at the same moment skips them (SKIP LOCKED) and a later one finds them sent; the
    push's idempotency key names the scheduled row, so the provider drops a repeat as well.
    """
    due = list(ScheduledPush.objects.select_for_update(skip_locked=True)
               .filter(status=ScheduledPushStatus.SCHEDULED, send_at__lte=now).order_by("send_at", "id"))
    pushes = []
    for scheduled in due:
        push = queue_push(clinic=clinic, title=scheduled.title, message=scheduled.message,
                          external_ids=scheduled.external_ids, source_key=scheduled.source_key,
                          occurrence=f"scheduled-{scheduled.pk}")
        scheduled.status, scheduled.push, scheduled.sent_at = ScheduledPushStatus.SENT, push, now
        scheduled.save(update_fields=["status", "push", "sent_at"])
        pushes.append(push)
    return pushes
