"""The clinic's Apple Wallet pass certificate: set, replace or remove it (COU-2)."""

from __future__ import annotations

from django.db import transaction

from clinic_crm.tenancy.models import Clinic
from coupons.models import WalletPassConfig
from coupons.wallet import load_signer


@transaction.atomic
def configure_wallet_pass(*, clinic: Clinic, pass_type_identifier: str, team_identifier: str, certificate_pem: str,
                          wwdr_certificate_pem: str, private_key_pem: str = "") -> WalletPassConfig:
    """Keep the certificate cards are signed with, once it is shown to sign; an empty key keeps the stored one."""
    config = WalletPassConfig.objects.select_for_update().filter(clinic=clinic).first() or WalletPassConfig(clinic=clinic)
    config.pass_type_identifier = pass_type_identifier.strip()
    config.team_identifier = team_identifier.strip().upper()
    config.certificate_pem = certificate_pem.strip()
    config.wwdr_certificate_pem = wwdr_certificate_pem.strip()
    if private_key_pem.strip():
        config.private_key_pem = private_key_pem.strip()
    config.full_clean(validate_constraints=False)
    load_signer(certificate_pem=config.certificate_pem, private_key_pem=config.private_key_pem or "",
                wwdr_certificate_pem=config.wwdr_certificate_pem)
    config.save()
    return config


@transaction.atomic
def remove_wallet_pass(*, clinic: Clinic) -> None:
    """Forget the certificate: cards install on the home screen only until a new one is set."""
    WalletPassConfig.objects.filter(clinic=clinic).delete()
