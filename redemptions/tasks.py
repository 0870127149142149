"""Expiring offer responses at the end of their validity (RED-2), running exports (RED-5), and folding the
redemption tallies (RED-7), per clinic."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic
from redemptions.services import compact_tallies, expire_due_responses
from redemptions.services.exports import execute_export
from redemptions.services.imports import run_event_import


@shared_task
def expire_responses_for_all_clinics() -> int:
    """One beat entry for every clinic: each clinic's overdue responses expire in its own task and scope."""
    return fan_out_per_clinic(expire_responses_for_clinic)


@shared_task(acks_late=True)
@with_clinic_scope
def expire_responses_for_clinic(clinic_id: int) -> int:
    """Expire the clinic's pending and clipped responses whose time is up; a second run finds none."""
    return expire_due_responses(clinic=Clinic.objects.get(pk=clinic_id), now=timezone.now())


@shared_task(acks_late=True)
def run_export_task(clinic_id: int, run_id: int) -> str:
    """Write one export run's file; it enters the clinic's scope chunk by chunk (RED-5)."""
    return execute_export(clinic_id=clinic_id, run_id=run_id).status


@shared_task
def compact_tallies_for_all_clinics() -> int:
    """One beat entry for every clinic: each clinic's new tally rows are folded in its own task and scope."""
    return fan_out_per_clinic(compact_tallies_for_clinic)


@shared_task(acks_late=True)
@with_clinic_scope
def compact_tallies_for_clinic(clinic_id: int) -> int:
    """Fold the clinic's tally rows into one per promotion, day and dimension; safe to run twice at once."""
    return compact_tallies(clinic=Clinic.objects.get(pk=clinic_id))


@shared_task(acks_late=True)
def run_event_import_task(clinic_id: int, import_id: int) -> str:
    """Read one backfill file of redemption events into the ledger, a batch at a time (RED-6)."""
    return run_event_import(clinic_id=clinic_id, import_id=import_id).status
