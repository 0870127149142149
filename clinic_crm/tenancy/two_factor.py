"""Two-factor sign-in for staff: a TOTP authenticator app, with one-time recovery codes (CORE-2, CORE-7).

A login that has turned it on, or that belongs to a clinic whose owner requires it, signs in
with a password and then a code: the dashboard grants no session until the code is given
(`clinic_crm.tenancy.views`), and the staff token endpoint wants it as `otp`. Devices are
django-otp's (`TOTPDevice`, and `StaticDevice` for the recovery codes); every turn on or off is
in the staff log of each of the login's clinics.
"""

from __future__ import annotations

from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_crm.common.errors import Conflict
from clinic_crm.tenancy.choices import StaffAction
from clinic_crm.tenancy.events import StaffActor, record_staff_event
from clinic_crm.tenancy.models import Clinic, Membership

RECOVERY_CODES = 10
APP_DEVICE = "Authenticator app"
RECOVERY_DEVICE = "Recovery codes"


def has_two_factor(user) -> bool:
    """Whether the login signs in with an authenticator app (a confirmed TOTP device)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def clinics_requiring(user) -> list[Clinic]:
    return [m.clinic for m in Membership.objects.filter(user=user, clinic__require_two_factor=True,
                                                        clinic__is_active=True).select_related("clinic")]


def needs_second_factor(user) -> bool:
    """Whether a password alone is not enough for this login: it has an app, or a clinic requires one."""
    return has_two_factor(user) or bool(clinics_requiring(user))


def start_setup(user) -> TOTPDevice:
    """A new, unconfirmed authenticator device for the login (an earlier unconfirmed one is replaced)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)


def pending_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


@transaction.atomic
def confirm_setup(*, user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the device with a code from the app; return the new recovery codes, or None if wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token(token.strip().replace(" ", "")):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    _log(user, StaffAction.TWO_FACTOR_ON)
    return codes


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def verify(user, token: str):
    """The device (authenticator or recovery code) that accepts the code, or None; a recovery code
    works once. django-otp's own throttling slows repeated wrong codes per device."""
    token = (token or "").strip().replace(" ", "").lower()
    if not token or len(token) > 16:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if device.verify_token(token):
                return device
    return None


@transaction.atomic
def replace_recovery_codes(*, user, token: str) -> list[str] | None:
    """New recovery codes (the old ones stop working), with a code from the app as proof."""
    device = verify(user, token)
    if not isinstance(device, TOTPDevice):
        return None
    return _new_recovery_codes(user)


@transaction.atomic
def turn_off(*, user, token: str) -> bool:
    """Remove the login's authenticator and recovery codes, with a current code as proof."""
    required = clinics_requiring(user)
    if required:
        raise Conflict(f"{required[0].name} requires two-factor sign-in, so it stays on.",
                       code="two_factor_required")
    if verify(user, token) is None:
        return False
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _log(user, StaffAction.TWO_FACTOR_OFF)
    return True


@transaction.atomic
def set_clinic_requirement(*, clinic: Clinic, required: bool, actor_user) -> Clinic:
    """An owner requires two-factor sign-in of the clinic's staff, or makes it optional again."""
    if required and not has_two_factor(actor_user):
        raise Conflict("Turn on two-factor sign-in for your own login first, so you are not locked out.",
                       code="two_factor_not_set_up")
    if clinic.require_two_factor != required:
        clinic.require_two_factor = required
        clinic.save(update_fields=["require_two_factor", "updated_at"])
        record_staff_event(clinic=clinic, actor=StaffActor.of(actor_user),
                           action=StaffAction.TWO_FACTOR_REQUIRED if required else StaffAction.TWO_FACTOR_OPTIONAL,
                           subject_email="")
    return clinic


def _log(user, action: str) -> None:
    for membership in Membership.objects.filter(user=user).select_related("clinic"):
        record_staff_event(clinic=membership.clinic, actor=StaffActor.of(user), action=action,
                           subject_email=user.email)


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code, for the authenticator app to scan."""
    import segno

    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, dark="#0f172a")


def secret_for_typing(device: TOTPDevice) -> str:
    """The device's key in base32, in groups of four, for an app that cannot scan."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))
