"""Who is calling: staff by session or JWT, patients by app key and token, integrations by API key (API.md)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from clinic_crm.common.tracked_cache import bump_tracked_int, get_tracked_int
from clinic_crm.tenancy import lockout, two_factor
from clinic_crm.tenancy.choices import role_at_least
from clinic_crm.tenancy.context import on_commit
from clinic_crm.tenancy.models import ApiKey, Clinic, Membership

logger = logging.getLogger(__name__)


class EmailBackend(ModelBackend):
    """Staff sign in with their e-mail address, matched case-insensitively; repeated failures lock
    the account and the client out for a while (lockout.py).

    A locked-out attempt raises PermissionDenied, which stops `authenticate()`, and leaves the
    wait in `request.sign_in_locked_for` (seconds) for the view to say so, with Retry-After.
    """

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        # NFKC, as Django's login form does: a full-width or compatibility spelling is the address.
        login = unicodedata.normalize("NFKC", email or username or "").strip()
        if not login or password is None:
            return None
        User = get_user_model()
        user = User.objects.filter(email__iexact=login).order_by("id").first()
        account = lockout.account_key(user=user, login=login)
        wait = lockout.seconds_locked(request=request, account=account)
        if wait:
            if request is not None:
                request.sign_in_locked_for = wait
            raise PermissionDenied(lockout.LOCKED_MESSAGE.format(wait=lockout.wait_text(wait)))
        if user is None:
            User().set_password(password)  # equalise timing with the found-user path
        elif user.check_password(password) and self.user_can_authenticate(user):
            # With a second factor to come, the count starts again only once that is given too:
            # otherwise the right password would let its holder guess codes without end.
            if not two_factor.needs_second_factor(user):
                lockout.record_success(account=account)
            return user
        lockout.record_failure(request=request, account=account)
        return None


@dataclass
class Principal:
    """The authenticated caller of an API request, always bound to one clinic."""

    kind: str  # "app" | "patient" | "api_key" | "staff"
    clinic: Clinic
    patient_id: int | None = None
    api_key: ApiKey | None = None
    user: object | None = None
    role: str | None = None
    name: str = ""
    email: str = ""
    scopes: list[str] = field(default_factory=list)

    is_authenticated = True
    is_anonymous = False

    @property
    def principal_id(self) -> str:
        if self.kind == "patient":
            return f"patient:{self.patient_id}"
        if self.kind == "api_key":
            return f"apikey:{self.api_key.pk}"
        if self.kind == "staff":
            return f"user:{self.user.pk}"
        return "app"

    def has_role(self, required: str) -> bool:
        return self.kind == "staff" and role_at_least(self.role, required)


# --- patient tokens ------------------------------------------------------------------------------

PATIENT_TOKEN_TYPE = "patient"


def _patient_signing_key() -> str:
    return hashlib.sha256(f"patient-token:{settings.SECRET_KEY}".encode()).hexdigest()


def mint_patient_token(*, clinic: Clinic, patient_id: int) -> str:
    """Sign a token that lets one patient of one clinic act on their own data."""
    now = timezone.now()
    claims = {
        "typ": PATIENT_TOKEN_TYPE,
        "clinic": clinic.pk,
        "sub": str(patient_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=settings.PATIENT_TOKEN_DAYS)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _patient_signing_key(), algorithm="HS256")


def read_patient_token(token: str, *, clinic: Clinic) -> int:
    try:
        claims = jwt.decode(token, _patient_signing_key(), algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise exceptions.AuthenticationFailed("Your session has expired. Sign in again.")
    except jwt.PyJWTError:
        raise exceptions.AuthenticationFailed("The patient token is not valid.")
    if claims.get("typ") != PATIENT_TOKEN_TYPE or claims.get("clinic") != clinic.pk:
        raise exceptions.AuthenticationFailed("The patient token is not valid for this app.")
    return int(claims["sub"])


def _bearer(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# Every app request names its clinic by key, so the lookup is cached briefly. Secrets are left
# out of the cached row: the instance loads them from the database if anything reads them.
APP_KEY_CACHE_SECONDS = 60
APP_KEY_LOCAL_SECONDS = 5  # how long another process may still see a replaced key
APP_KEY_FIELDS = [f.attname for f in Clinic._meta.concrete_fields if f.attname != "onesignal_api_key"]


def _app_key_cache_key(app_key: str) -> str:
    return "tenancy:app-key:" + hashlib.sha256(app_key.encode()).hexdigest()


# A plain dict, not the "local" cache: a hit is one dict read, with no pickling and no lock, and
# the same row object comes back while the copy is fresh (app_key_row). Only keys of active
# clinics are kept, so unknown keys cannot grow it.
_local_rows: dict[str, tuple[float, tuple]] = {}
_LOCAL_ROWS_MAX = 10_000


def app_key_row(app_key: str) -> tuple | None:
    """The cached row (fields `APP_KEY_FIELDS`) of the active clinic an app key names, or None.

    While this process's copy is fresh, every call returns the very same tuple, so a per-process
    answer derived from it can be checked with `is`: a forgotten or expired key gives a new one.
    """
    hit = _local_rows.get(app_key)
    now = time.time()
    if hit is not None and hit[0] > now:
        return hit[1]
    cache_key = _app_key_cache_key(app_key)
    row = cache.get(cache_key)
    if row is None:
        row = Clinic.objects.filter(app_key=app_key, is_active=True).values_list(*APP_KEY_FIELDS).first()
        if row is None:
            _local_rows.pop(app_key, None)
            return None
        cache.set(cache_key, row, APP_KEY_CACHE_SECONDS)
    if not settings.CACHE_IN_PROCESS:
        return row
    if len(_local_rows) >= _LOCAL_ROWS_MAX:  # replaced keys seen by other processes linger until then
        _local_rows.clear()
    _local_rows[app_key] = (now + APP_KEY_LOCAL_SECONDS, row)
    return row


def clinic_from_row(row: tuple) -> Clinic:
    """A Clinic instance of a row from app_key_row (without the secrets, loaded if read)."""
    return Clinic.from_db("default", APP_KEY_FIELDS, row)


def clinic_for_app_key(app_key: str) -> Clinic | None:
    """The active clinic an app key names, from the cache when possible."""
    row = app_key_row(app_key)
    return None if row is None else clinic_from_row(row)


def forget_app_key(app_key: str) -> None:
    """Drop a cached clinic lookup: its key was replaced, or the clinic changed."""
    cache.delete(_app_key_cache_key(app_key))
    _local_rows.pop(app_key, None)


def forget_local_app_keys() -> None:
    """Drop this process's copies of every lookup (tests start from an empty cache)."""
    _local_rows.clear()


class AppKeyAuthentication(authentication.BaseAuthentication):
    """`X-App-Key` names the clinic; an optional `Bearer` patient token names the patient."""

    def authenticate(self, request):
        app_key = request.META.get("HTTP_X_APP_KEY")
        if not app_key:
            return None
        clinic = clinic_for_app_key(app_key)
        if clinic is None:
            raise exceptions.AuthenticationFailed("The app key is not valid.")
        token = _bearer(request)
        if token is None:
            principal = Principal(kind="app", clinic=clinic)
        else:
            principal = Principal(kind="patient", clinic=clinic, patient_id=read_patient_token(token, clinic=clinic))
        return principal, principal

    def authenticate_header(self, request):
        return 'Bearer realm="app"'


# --- integration API keys ------------------------------------------------------------------------

API_KEY_SCHEME = "Api-Key"


def _hash_key(secret: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_api_key() -> tuple[str, str, str]:
    """Return (full key, prefix, hash). The full key is shown once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"ck_{prefix}_{secret}"
    return full, prefix, _hash_key(full)


# Every POS request names its key, so the key and its clinic are kept per process, as app-key rows
# are. A copy is used only while its clinic's access version (tracked in Redis, so reading it costs
# no round trip) is the one read before the row was: revoking a key, and any edit of a key or a
# clinic, bumps that version, and every process reads the key again on its next request. Only with
# Redis as the cache does a bump reach every process, so with any other cache keys are read from
# the database on every request, as before.
API_KEY_LOCAL_SECONDS = 60  # a copy is read again at least this often, whatever the version says
API_KEY_FIELDS = [f.attname for f in ApiKey._meta.concrete_fields]
_API_KEY_CLINIC = API_KEY_FIELDS.index("clinic_id")
ACCESS_VERSION_KEY = "tenancy:access-version:{clinic_id}"
_local_api_keys: dict[str, tuple[float, int, tuple, tuple]] = {}


def _keeps_api_keys() -> bool:
    return settings.CACHE_IN_PROCESS and isinstance(caches["default"], RedisCache)


def _access_version(clinic_id: int) -> int | None:
    """The clinic's access version, or None when Redis can't be asked (the caller then reads the row)."""
    key = ACCESS_VERSION_KEY.format(clinic_id=clinic_id)
    try:
        version = get_tracked_int(key)
        if version is None:  # never bumped: start it, so the value is kept (and tracked) from now on
            caches["default"].add(key, time.time_ns(), timeout=None)
            version = get_tracked_int(key)
    except Exception:  # noqa: BLE001 - a Redis outage must not stop the tills: the database answers
        logger.warning("The API-key access version could not be read; reading keys from the database.",
                       exc_info=True)
        return None
    return version


def forget_clinic_access(clinic_id: int) -> None:
    """Make every process read the clinic's API keys again: one was revoked or edited, or the clinic changed.

    Call it inside the transaction that makes the change: it bumps now and again on commit, so a
    copy read before the commit (of the old row) is dropped whatever the timing.
    """
    key = ACCESS_VERSION_KEY.format(clinic_id=clinic_id)
    bump_tracked_int(key, initial=time.time_ns())
    on_commit(lambda: bump_tracked_int(key, initial=time.time_ns()))


def forget_local_api_keys() -> None:
    """Drop this process's copies of every API key (tests start from an empty cache)."""
    _local_api_keys.clear()


def _read_api_key_rows(prefix: str) -> tuple[tuple, tuple] | None:
    """The key's row (`API_KEY_FIELDS`) and its clinic's (`APP_KEY_FIELDS`), from the database."""
    row = (ApiKey.objects.filter(prefix=prefix)
           .values_list(*API_KEY_FIELDS, *(f"clinic__{name}" for name in APP_KEY_FIELDS)).first())
    return None if row is None else (row[:len(API_KEY_FIELDS)], row[len(API_KEY_FIELDS):])


def _api_key_rows(prefix: str) -> tuple[tuple, tuple] | None:
    """The key's row and its clinic's, kept per process while the clinic's access version stands."""
    if not _keeps_api_keys():
        return _read_api_key_rows(prefix)
    hit = _local_api_keys.get(prefix)
    if hit is None:
        # First sight: only the row names the clinic whose version to check. The row is read again
        # after the version, below, so the copy kept is never older than the version kept with it.
        rows = _read_api_key_rows(prefix)
        if rows is None:
            return None
        clinic_id = rows[0][_API_KEY_CLINIC]
    else:
        clinic_id = hit[2][_API_KEY_CLINIC]
    version = _access_version(clinic_id)
    if hit is not None and hit[0] > time.time() and version is not None and version == hit[1]:
        return hit[2], hit[3]
    rows = _read_api_key_rows(prefix)
    if rows is None:
        _local_api_keys.pop(prefix, None)
        return None
    if version is not None and rows[0][_API_KEY_CLINIC] == clinic_id:
        if len(_local_api_keys) >= _LOCAL_ROWS_MAX:
            _local_api_keys.clear()
        _local_api_keys[prefix] = (time.time() + API_KEY_LOCAL_SECONDS, version, *rows)
    else:
        _local_api_keys.pop(prefix, None)
    return rows


def _note_key_used(api_key: ApiKey) -> None:
    """Record `last_used_at` at most every five minutes per process, not on every request."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at <= timedelta(minutes=5):
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    hit = _local_api_keys.get(api_key.prefix)
    if hit is not None:
        key_row = list(hit[2])
        key_row[API_KEY_FIELDS.index("last_used_at")] = now
        _local_api_keys[api_key.prefix] = (hit[0], hit[1], tuple(key_row), hit[3])


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>` for POS systems and integrations."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != API_KEY_SCHEME.lower():
            return None
        key = key.strip()
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "ck":
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        rows = _api_key_rows(parts[1])
        api_key = None if rows is None else ApiKey.from_db("default", API_KEY_FIELDS, rows[0])
        if api_key is None or not constant_time_compare(api_key.key_hash, _hash_key(key)):
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The API key has been revoked.")
        api_key.clinic = clinic_from_row(rows[1])
        if not api_key.clinic.is_active:
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        _note_key_used(api_key)
        principal = Principal(kind="api_key", clinic=api_key.clinic, api_key=api_key, scopes=list(api_key.scopes))
        return principal, principal

    def authenticate_header(self, request):
        return API_KEY_SCHEME


# --- staff JWT -----------------------------------------------------------------------------------


class StaffJWTAuthentication(JWTAuthentication):
    """`Authorization: Bearer <staff JWT>`; the role is read from the membership now, not the token."""

    def authenticate(self, request):
        try:
            result = super().authenticate(request)
        except (InvalidToken, TokenError) as exc:
            raise exceptions.AuthenticationFailed("The staff token is not valid or has expired.") from exc
        if result is None:
            return None
        user, token = result
        membership = (
            Membership.objects.select_related("clinic")
            .filter(user=user, clinic_id=token.get("clinic_id"), clinic__is_active=True)
            .first()
        )
        if membership is None:
            raise exceptions.AuthenticationFailed("This login no longer has access to the clinic.")
        principal = Principal(
            kind="staff",
            clinic=membership.clinic,
            user=user,
            role=membership.role,
            name=token.get("name", ""),
            email=token.get("email", ""),
        )
        return principal, principal

    def authenticate_header(self, request):
        return 'Bearer realm="staff"'
