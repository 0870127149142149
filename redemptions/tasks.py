"""Expiring offer responses at the end of their validity, per clinic (RED-2)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic
from redemptions.services import expire_due_responses


@shared_task
def expire_responses_for_all_clinics() -> int:
    """One beat entry for every clinic: each clinic's overdue responses expire in its own task and scope."""
    return fan_out_per_clinic(expire_responses_for_clinic)


@shared_task(acks_late=True)
@with_clinic_scope
def expire_responses_for_clinic(clinic_id: int) -> int:
    """Expire the clinic's pending and clipped responses whose time is up; a second run finds none."""
    return expire_due_responses(clinic=Clinic.objects.get(pk=clinic_id), now=timezone.now())
