from datetime import datetime

from celery import shared_task
from django.core.mail import send_mail

from clinic_crm.tenancy.context import with_clinic_scope
from clinic_crm.tenancy.fan_out import fan_out_per_clinic
from clinic_crm.tenancy.idempotency import purge_idempotency_keys


@shared_task
def purge_idempotency_keys_for_all_clinics() -> int:
    """Fan the hourly purge out per clinic, so each runs in its own scope."""
    return fan_out_per_clinic(purge_idempotency_keys_for_clinic)


@shared_task
@with_clinic_scope
def purge_idempotency_keys_for_clinic(clinic_id: int) -> int:
    return purge_idempotency_keys()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_staff_invitation_email(*, email: str, clinic_name: str, role: str, inviter: str, link: str,
                                expires_at: str) -> None:
    """E-mail an invitation to join a clinic's staff (CORE-2). It carries the only copy of the link."""
    expires = datetime.fromisoformat(expires_at).strftime("%-d %B %Y")
    send_mail(
        subject=f"{inviter} invited you to {clinic_name}",
        message=f"Hello,\n\n{inviter} invited you to join {clinic_name} on Clinic CRM as {role}.\n\n"
        f"Open this link to accept. You will choose your own password, or sign in with the one you\n"
        f"already use on Clinic CRM:\n\n{link}\n\nThe link works once, until {expires}.\n\n"
        "If you did not expect this invitation, ignore this e-mail: nothing happens until the link is used.",
        from_email=None,
        recipient_list=[email],
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_account_email(*, subject: str, body: str, to: str) -> None:
    """E-mail a staff login about its account (a password reset link)."""
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[to])
