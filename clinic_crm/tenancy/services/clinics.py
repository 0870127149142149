"""Writes on clinics: create, profile, OneSignal credentials, the app key (CORE-1)."""

from __future__ import annotations

from django.db import transaction

from clinic_crm.tenancy.auth import forget_app_key, forget_clinic_access
from clinic_crm.tenancy.models import Clinic

clinic_created_hooks: list = []  # apps append callables(clinic) run in the same transaction


@transaction.atomic
def create_clinic(*, name: str, slug: str, timezone_name: str = "Europe/London", currency: str = "GBP",
                  locale: str = "uk") -> Clinic:
    """Create a clinic (the tenant) and let apps seed their per-clinic rows (CORE-1)."""
    clinic = Clinic(name=name, slug=slug, timezone=timezone_name, currency=currency, locale=locale)
    clinic.full_clean()
    clinic.save()
    for hook in clinic_created_hooks:
        hook(clinic)
    return clinic


@transaction.atomic
def update_clinic(*, clinic: Clinic, data: dict) -> Clinic:
    """Change a clinic's profile and branding (CORE-1)."""
    for field in ("name", "timezone", "currency", "locale", "brand_color", "logo_url"):
        if field in data:
            setattr(clinic, field, data[field])
    clinic.full_clean()
    clinic.save()
    old_key = clinic.app_key
    transaction.on_commit(lambda: forget_app_key(old_key))
    forget_clinic_access(clinic.pk)  # kept API keys carry the clinic's row
    return clinic


@transaction.atomic
def set_onesignal_credentials(*, clinic: Clinic, app_id: str, api_key: str | None) -> Clinic:
    """Store the clinic's OneSignal app id and, when given, a new REST API key (encrypted at rest)."""
    clinic.onesignal_app_id = app_id.strip()
    if api_key:
        clinic.onesignal_api_key = api_key.strip()
    if not clinic.onesignal_app_id:
        clinic.onesignal_api_key = ""
    clinic.full_clean()
    clinic.save(update_fields=["onesignal_app_id", "onesignal_api_key", "updated_at"])
    old_key = clinic.app_key
    transaction.on_commit(lambda: forget_app_key(old_key))
    forget_clinic_access(clinic.pk)
    return clinic


def regenerate_app_key(*, clinic: Clinic) -> Clinic:
    """Issue a new app key; the old one stops working at once."""
    from clinic_crm.tenancy.models import generate_app_key

    old_key = clinic.app_key
    clinic.app_key = generate_app_key()
    clinic.save(update_fields=["app_key", "updated_at"])
    transaction.on_commit(lambda: forget_app_key(old_key))
    forget_clinic_access(clinic.pk)
    return clinic
