"""A text field encrypted at rest with Fernet (OneSignal REST API keys and similar secrets)."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    raw_keys = [k for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k] or [settings.SECRET_KEY]
    # Each configured key is stretched to Fernet's 32-byte form; the first encrypts, all decrypt (rotation).
    keys = [Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest())) for k in raw_keys]
    return MultiFernet(keys)


class EncryptedTextField(models.TextField):
    """Stored as a Fernet token; read back as plain text. Empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return _fernet().decrypt(value.encode()).decode()
        except InvalidToken:
            # A key rotated away: treat the secret as unset rather than crash a page.
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return _fernet().encrypt(value.encode()).decode()


def mask_secret(value: str) -> str:
    """Show just enough of a secret to recognise it: `••••••••1a2b`."""
    if not value:
        return ""
    return "••••••••" + value[-4:]
