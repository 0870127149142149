"""Writes on a clinic's integration keys (CORE-7)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clinic_crm.tenancy.auth import forget_clinic_access, generate_api_key
from clinic_crm.tenancy.models import ApiKey, Clinic


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
