from celery import shared_task

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.idempotency import purge_idempotency_keys
from clinic_crm.tenancy.models import Clinic


@shared_task
def purge_idempotency_keys_for_all_clinics() -> int:
    """Fan the hourly purge out per clinic, so each runs in its own scope."""
    clinic_ids = list(Clinic.objects.filter(is_active=True).values_list("id", flat=True))
    for clinic_id in clinic_ids:
        purge_idempotency_keys_for_clinic.delay(clinic_id)
    return len(clinic_ids)


@shared_task
@with_clinic_scope
def purge_idempotency_keys_for_clinic(clinic_id: int) -> int:
    return purge_idempotency_keys()
