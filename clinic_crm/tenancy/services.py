"""Writes on clinics, staff and API keys (CORE-1, CORE-2, CORE-7, CORE-10)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from clinic_crm.common.errors import Conflict
from clinic_crm.tenancy.auth import forget_app_key, forget_clinic_access, generate_api_key
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.models import ApiKey, Clinic, Membership

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


@transaction.atomic
def create_staff(*, clinic: Clinic, email: str, role: str, first_name: str = "", last_name: str = "",
                 password: str | None = None) -> tuple[Membership, str | None]:
    """Give a login a role in the clinic, creating the login if needed (CORE-2).

    Returns the membership and, when a new login was made without a password, the generated one.
    """
    User = get_user_model()
    email = email.strip().lower()
    Role(role)  # ValueError on an unknown role
    user = User.objects.filter(email__iexact=email).first()
    generated = None
    if user is None:
        generated = None if password else get_random_string(14)
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_password(password or generated)
        user.full_clean()
        user.save()
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership, created = Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    return membership, generated


@transaction.atomic
def change_staff_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; a clinic always keeps at least one owner (CORE-2)."""
    Role(role)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def remove_staff(*, membership: Membership) -> None:
    """Take a login's access to this clinic away; its other clinics are untouched."""
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    membership.delete()


def _ensure_another_owner(membership: Membership) -> None:
    owners = Membership.objects.select_for_update().filter(clinic_id=membership.clinic_id, role=Role.OWNER)
    if not owners.exclude(pk=membership.pk).exists():
        raise Conflict("A clinic needs at least one owner. Make someone else owner first.", code="last_owner")


@transaction.atomic
def create_api_key(*, clinic: Clinic, name: str, scopes: list[str], created_by=None) -> tuple[ApiKey, str]:
    """Create an integration key; the full key is returned once and only its hash is stored (CORE-7)."""
    full, prefix, key_hash = generate_api_key()
    api_key = ApiKey(clinic=clinic, name=name, prefix=prefix, key_hash=key_hash, scopes=sorted(set(scopes)),
                     created_by=created_by)
    api_key.full_clean()
    api_key.save()
    return api_key, full


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key; requests using it are refused from now on (CORE-7)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        forget_clinic_access(api_key.clinic_id)
    return api_key
