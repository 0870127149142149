"""The beat task that starts scheduled exports in each clinic's night (RED-5). Registered by the app's `ready()`,
since it sits above `tasks` (it starts runs through `dispatch`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from celery import shared_task
from django.utils import timezone

from clinic_crm.common.queueing import enqueue_again
from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.selectors import active_clinic_ids_having
from redemptions.choices import ExportStatus, ImportStatus
from redemptions.dispatch import start_scheduled_exports
from redemptions.models import EventImport, ExportRun
from redemptions.tasks import run_event_import_task, run_export_task

# Queued this long ago and never started: its task was not published (the broker was down).
STRANDED_AFTER = timedelta(minutes=2)


# Scheduled exports start in the clinic's night, at the first hourly tick from 03:00 on its own clock.
SCHEDULED_EXPORT_TIME = time(3, 0)
TICK_MINUTE = 20  # the beat entry's minute (settings.CELERY_BEAT_SCHEDULE["scheduled-exports"])


def export_due(clinic: Clinic, tick: datetime) -> bool:
    """Whether the clinic's export time fell in the hour this tick closes: exactly one tick a day does,
    whatever the clinic's offset, and on the day its clocks skip 03:00 (the time then reads as the
    moment of the jump)."""
    day = tick.astimezone(clinic.tzinfo).date()
    starts = datetime.combine(day, SCHEDULED_EXPORT_TIME, tzinfo=clinic.tzinfo)
    return tick - timedelta(hours=1) < starts <= tick


@shared_task
def run_scheduled_exports_for_all_clinics() -> int:
    """Hourly: each clinic whose export time came in the last hour queues its daily (and, on Mondays,
    weekly) exports; returns how many clinics."""
    now = timezone.now()
    # The tick this run stands for, even when it runs late: the hours then cover the day with no gap.
    tick = now.replace(minute=TICK_MINUTE, second=0, microsecond=0)
    if tick > now:
        tick -= timedelta(hours=1)
    clinics = Clinic.objects.filter(is_active=True).only("pk", "timezone").order_by("pk")
    return fan_out_per_clinic(run_scheduled_exports_for_clinic,
                              [clinic.pk for clinic in clinics if export_due(clinic, tick)])


@shared_task(acks_late=True)
@with_clinic_scope
def run_scheduled_exports_for_clinic(clinic_id: int) -> int:
    return len(start_scheduled_exports(clinic=Clinic.objects.get(pk=clinic_id)))


@shared_task
def requeue_stranded_runs() -> int:
    """Publish again, per clinic, the export runs and event imports recorded while the broker was down.

    Both are safe to run twice: an export claims its run (queued to running) before writing, and an import
    skips the batches already read, under a row lock."""
    cutoff = timezone.now() - STRANDED_AFTER
    clinic_ids = sorted(set(active_clinic_ids_having(ExportRun, status=ExportStatus.QUEUED, created_at__lte=cutoff))
                        | set(active_clinic_ids_having(EventImport, status=ImportStatus.QUEUED,
                                                       created_at__lte=cutoff)))
    return fan_out_per_clinic(requeue_stranded_runs_for_clinic, clinic_ids)


@shared_task(acks_late=True)
@with_clinic_scope
def requeue_stranded_runs_for_clinic(clinic_id: int) -> int:
    cutoff = timezone.now() - STRANDED_AFTER
    runs = ExportRun.objects.filter(status=ExportStatus.QUEUED, created_at__lte=cutoff).values_list("id", flat=True)
    imports = EventImport.objects.filter(status=ImportStatus.QUEUED, created_at__lte=cutoff).values_list("id",
                                                                                                          flat=True)
    return (sum(enqueue_again(run_export_task, clinic_id, pk, key=f"export:{pk}") for pk in runs)
            + sum(enqueue_again(run_event_import_task, clinic_id, pk, key=f"import:{pk}") for pk in imports))
