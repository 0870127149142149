"""The daily beat task that starts scheduled exports (RED-5). Registered by the app's `ready()`,
since it sits above `tasks` (it starts runs through `dispatch`)."""

from __future__ import annotations

from celery import shared_task

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic
from redemptions.dispatch import start_scheduled_exports


@shared_task
def run_scheduled_exports_for_all_clinics() -> int:
    """One beat entry a day: each clinic queues its daily (and, on Mondays, weekly) exports."""
    return fan_out_per_clinic(run_scheduled_exports_for_clinic)


@shared_task(acks_late=True)
@with_clinic_scope
def run_scheduled_exports_for_clinic(clinic_id: int) -> int:
    return len(start_scheduled_exports(clinic=Clinic.objects.get(pk=clinic_id)))
