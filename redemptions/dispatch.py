"""Starting export runs, as views and the schedule do it: the run row now, the file by Celery after
commit (RED-5); and event imports, the file now, its events by Celery after commit (RED-6). Above both
`services` and `tasks`, so neither imports the other."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from clinic_crm.common.queueing import enqueue_on_commit
from clinic_crm.tenancy.models import Clinic
from redemptions.choices import ExportSchedule
from redemptions.models import EventImport, ExportDefinition, ExportRun
from redemptions.services.imports import receive_event_import
from redemptions.tasks import run_event_import_task, run_export_task


@transaction.atomic
def start_export(*, definition: ExportDefinition, created_by: str = "", scheduled: bool = False) -> ExportRun:
    """Queue a run of the definition; a Celery worker writes its file once this commits."""
    run = ExportRun.objects.create(clinic_id=definition.clinic_id, definition=definition, scheduled=scheduled,
                                   created_by=created_by[:150])
    enqueue_on_commit(run_export_task, definition.clinic_id, run.pk)
    return run


@transaction.atomic
def start_scheduled_exports(*, clinic: Clinic, now: datetime | None = None) -> list[ExportRun]:
    """Queue today's scheduled runs of the clinic (in scope): daily ones, and weekly ones on its Mondays.

    Once per clinic day: a definition the schedule already ran since the clinic's midnight is skipped, so
    a tick delivered again (a worker lost mid-task) queues nothing twice."""
    today = clinic.today(now)
    due = [ExportSchedule.DAILY] + ([ExportSchedule.WEEKLY] if today.weekday() == 0 else [])
    # Locked first, then asked about in a statement of its own: a second delivery running at the same
    # moment waits here, and then sees the runs the first one made.
    definitions = list(ExportDefinition.objects.select_for_update(of=("self",)).filter(schedule__in=due)
                       .order_by("id"))
    ran = set(ExportRun.objects.filter(definition__in=definitions, scheduled=True,
                                       created_at__gte=clinic.start_of(today)).values_list("definition_id", flat=True))
    return [start_export(definition=definition, created_by="Schedule", scheduled=True)
            for definition in definitions if definition.pk not in ran]


@transaction.atomic
def start_event_import(*, clinic: Clinic, stream, created_by: str = "") -> EventImport:
    """Store an uploaded file of events and queue its reading once this commits."""
    row = receive_event_import(clinic=clinic, stream=stream, created_by=created_by)
    enqueue_on_commit(run_event_import_task, clinic.pk, row.pk)
    return row
