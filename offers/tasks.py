"""Beat work for offers: the occasion check, fanned out per clinic (OFF-4)."""

from celery import shared_task
from django.utils import timezone

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic
from offers.services import fire_due_occasions


@shared_task
def check_occasions_for_all_clinics() -> int:
    """One beat entry for every clinic: each clinic is checked in its own task and scope."""
    return fan_out_per_clinic(check_occasions_for_clinic)


@shared_task(acks_late=True)
@with_clinic_scope
def check_occasions_for_clinic(clinic_id: int) -> int:
    """Fire the clinic's due occasions; safe to retry or run twice (the firing row is unique)."""
    clinic = Clinic.objects.get(pk=clinic_id)
    return len(fire_due_occasions(clinic=clinic, now=timezone.now()))
