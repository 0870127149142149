"""The tenant (Clinic), staff memberships, integration API keys and the TenantModel base (CORE-1, 2, 7)."""

import secrets
import zoneinfo
from datetime import date, datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.functional import cached_property
from django.utils.timezone import now as utc_now

from clinic_crm.common.fields import EncryptedTextField
from clinic_crm.common.models import TimeStampedModel
from clinic_crm.common.money import CURRENCY_CHOICES
from clinic_crm.tenancy.choices import ApiScope, Locale, Role, StaffAction
from clinic_crm.tenancy.context import TenantScopeError, current_clinic_id, is_unscoped
from clinic_crm.tenancy.managers import ClinicScopedManager


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (for example Europe/London).")


def generate_app_key() -> str:
    return "app_" + secrets.token_urlsafe(24)


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #0f766e.")


class Clinic(TimeStampedModel):
    """The tenant. Not itself behind row-level security: requests must find it to enter its scope."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="Europe/London", validators=[validate_timezone])
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="GBP")
    locale = models.CharField(max_length=2, choices=Locale.choices, default=Locale.UK)
    brand_color = models.CharField("brand colour", max_length=7, default="#0f766e", validators=[hex_colour])
    logo_url = models.URLField(blank=True)
    app_key = models.CharField(max_length=64, unique=True, default=generate_app_key, editable=False)
    onesignal_app_id = models.CharField("OneSignal app id", max_length=64, blank=True)
    onesignal_api_key = EncryptedTextField("OneSignal REST API key", blank=True)
    is_active = models.BooleanField(default=True)
    require_two_factor = models.BooleanField(
        "require two-factor sign-in", default=False,
        help_text="Every member signs in with a code from an authenticator app, in the dashboard and the staff API.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @cached_property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self, now: datetime | None = None) -> date:
        """The clinic's own date: offer windows, occasions and "today" are judged in its time zone."""
        return (now or utc_now()).astimezone(self.tzinfo).date()

    def start_of(self, day: date) -> datetime:
        """The moment the clinic's `day` begins (its midnight, whatever the UTC offset that day)."""
        return datetime.combine(day, time.min, tzinfo=self.tzinfo)

    @property
    def onesignal_configured(self) -> bool:
        return bool(self.onesignal_app_id and self.onesignal_api_key)

    @property
    def branding(self) -> dict:
        return {"primary_color": self.brand_color, "logo_url": self.logo_url or None}


class Membership(TimeStampedModel):
    """A staff user's role in one clinic. Part of the tenancy registry: read before a scope exists."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)

    class Meta:
        ordering = ["clinic__name", "user__email"]
        constraints = [models.UniqueConstraint(fields=["clinic", "user"], name="membership_unique_clinic_user")]

    def __str__(self):
        return f"{self.user} · {self.clinic} ({self.get_role_display()})"


class StaffInvitation(TimeStampedModel):
    """An owner's invitation of an e-mail address to a role in the clinic (CORE-2).

    It grants nothing until the holder of the address opens the e-mailed link and accepts, with
    a password of their own or, for a login they already have, after signing in with it. Only a
    SHA-256 of the link's token is stored; the link works once and expires. Part of the tenancy
    registry (read by token, before a clinic is in scope), like Membership.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    email = models.EmailField()  # normalised (clinic_crm.tenancy.emails.normalise_email)
    role = models.CharField(max_length=10, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["clinic_id", "-created_at"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="invitation_clinic_created")]
        constraints = [models.UniqueConstraint(
            fields=["clinic", "email"], condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
            name="invitation_one_open_per_address")]

    def __str__(self):
        return f"{self.email} → {self.clinic} ({self.get_role_display()})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    def is_usable(self, now=None) -> bool:
        return self.is_open and (now or utc_now()) < self.expires_at


class ApiKey(TimeStampedModel):
    """A clinic's key for its POS or booking system. Only a SHA-256 of the secret is stored."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="api_keys", db_index=False)
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["clinic_id", "-created_at"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="apikey_clinic_created")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def clean(self):
        unknown = set(self.scopes) - set(ApiScope.values)
        if unknown or not self.scopes:
            raise ValidationError({"scopes": f"Choose scopes from: {', '.join(ApiScope.values)}."})


class TenantModel(models.Model):
    """Base of every clinic-owned model: non-null clinic, scoped `objects`, RLS in migrations."""

    # Declared first and named in Meta: Django internals (admin, related managers) use this one;
    # application code uses `objects`. RLS still applies to it on PostgreSQL.
    all_clinics = models.Manager()
    objects = ClinicScopedManager()

    # No index of its own: every tenant model has a composite index or unique constraint led by
    # clinic (tests/test_conventions.py), which serves the foreign key and the clinic's queries,
    # so a single-column one would only be one more index to write on every insert.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        abstract = True
        default_manager_name = "all_clinics"
        base_manager_name = "all_clinics"

    def save(self, *args, **kwargs):
        scope = current_clinic_id()
        if scope is None and not is_unscoped():
            raise TenantScopeError(f"{type(self).__name__}.save() with no clinic in scope")
        if self.clinic_id is None and scope is not None:
            self.clinic_id = scope
        if scope is not None and self.clinic_id != scope:
            raise TenantScopeError(
                f"{type(self).__name__} of clinic {self.clinic_id} saved in the scope of clinic {scope}"
            )
        super().save(*args, **kwargs)


class IdempotencyKey(TenantModel):
    """The first response to a POST made with an `Idempotency-Key` (API.md, Idempotency)."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "principal", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["clinic", "created_at"], name="idempotency_clinic_created")]


class StaffActivity(TenantModel):
    """One row per change to a clinic's staff (CORE-2). Append-only in PostgreSQL itself.

    Who did it and to whom are copied as they were at the time, so a renamed or deleted login
    never rewrites the log.
    """

    action = models.CharField(max_length=24, choices=StaffAction.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    actor_email = models.CharField(max_length=254, blank=True)
    subject_email = models.CharField(max_length=254, blank=True)
    details = models.JSONField(default=dict, blank=True)  # e.g. {"role": "manager"}, {"before": …, "after": …}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="staffactivity_clinic_created")]
        verbose_name_plural = "staff activity"

    def __str__(self):
        return f"{self.get_action_display()}: {self.subject_email}"
