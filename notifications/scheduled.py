"""The periodic task that sends scheduled pushes when their time comes (COU-7).

Beat runs `send_scheduled_pushes` every minute; it finds the clinics with a push due and sends
each clinic's in its own task and scope. Registered by the app's `ready()`, since it sits above
`tasks` (it sends through `dispatch`, which queues `tasks.deliver_push_task`).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from clinic_crm.common.queueing import enqueue_again

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.selectors import active_clinic_ids_having
from notifications.choices import PushStatus, ScheduledPushStatus
from notifications.dispatch import send_due_scheduled_pushes
from notifications.models import PushNotification, ScheduledPush
from notifications.tasks import deliver_push_task

# A push recorded this long ago and never attempted was not published: the broker was down when it was
# recorded. (A published one is attempted within seconds, or its worker is far behind.)
STRANDED_AFTER = timedelta(minutes=2)


@shared_task
def send_scheduled_pushes() -> int:
    """Queue one task per clinic with a scheduled push due; returns how many clinics."""
    clinic_ids = active_clinic_ids_having(ScheduledPush, status=ScheduledPushStatus.SCHEDULED,
                                          send_at__lte=timezone.now())
    return fan_out_per_clinic(send_scheduled_pushes_for_clinic, clinic_ids)


@shared_task(acks_late=True)
@with_clinic_scope
def send_scheduled_pushes_for_clinic(clinic_id: int) -> int:
    """Send the clinic's due scheduled pushes; a retry or a second run sends none twice."""
    clinic = Clinic.objects.get(pk=clinic_id)
    return len(send_due_scheduled_pushes(clinic=clinic, now=timezone.now()))


def _stranded(now) -> dict:
    return {"status": PushStatus.QUEUED, "attempts": 0, "created_at__lte": now - STRANDED_AFTER}


@shared_task
def requeue_stranded_pushes() -> int:
    """Publish again, per clinic, the pushes recorded while the broker was down; returns how many clinics.

    Delivering a push twice is harmless (a settled push is skipped, and every batch carries its idempotency
    key), so a push whose worker is merely slow may be published twice (once more per half hour at most),
    never sent twice.
    """
    clinic_ids = active_clinic_ids_having(PushNotification, **_stranded(timezone.now()))
    return fan_out_per_clinic(requeue_stranded_pushes_for_clinic, clinic_ids)


@shared_task(acks_late=True)
@with_clinic_scope
def requeue_stranded_pushes_for_clinic(clinic_id: int) -> int:
    push_ids = list(PushNotification.objects.filter(**_stranded(timezone.now())).order_by("id")
                    .values_list("id", flat=True))
    return sum(enqueue_again(deliver_push_task, clinic_id, push_id, key=f"push:{push_id}") for push_id in push_ids)
