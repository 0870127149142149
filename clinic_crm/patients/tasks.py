from celery import shared_task
from django.core.mail import send_mail

from clinic_crm.patients.models import Patient
from clinic_crm.patients.rfm import recompute_rfm
from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.models import Clinic


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
@with_clinic_scope
def send_sign_in_code_email(clinic_id: int, patient_id: int, code: str) -> None:
    """E-mail a patient their one-time sign-in code."""
    patient = Patient.objects.get(pk=patient_id)
    clinic = Clinic.objects.get(pk=clinic_id)
    send_mail(
        subject=f"Your {clinic.name} sign-in code: {code}",
        message=f"Hello {patient.first_name},\n\nYour sign-in code for the {clinic.name} app is {code}.\n"
        "It works once, for the next 10 minutes.\n\nIf you did not ask for it, ignore this e-mail.",
        from_email=None,
        recipient_list=[patient.email],
    )


@shared_task
def recompute_rfm_for_all_clinics() -> int:
    """One beat entry for every clinic: each clinic's segments are recomputed in its own task and scope."""
    return fan_out_per_clinic(recompute_rfm_for_clinic)


@shared_task(acks_late=True)
@with_clinic_scope
def recompute_rfm_for_clinic(clinic_id: int) -> int:
    """Rewrite the clinic's RFM scores (COU-9); a retry or a second run gives the same rows."""
    return recompute_rfm(clinic=Clinic.objects.get(pk=clinic_id))
