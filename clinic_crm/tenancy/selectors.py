"""Reads on the tenancy registry. Memberships and keys are filtered by clinic explicitly here."""

from django.db.models import QuerySet

from django.utils import timezone

from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import ApiKey, Clinic, Membership, StaffActivity, StaffInvitation


def list_memberships_of_user(*, user) -> QuerySet[Membership]:
    """The clinics a login may switch between (CORE-2)."""
    return Membership.objects.filter(user=user, clinic__is_active=True).select_related("clinic").order_by("clinic__name")


def get_membership(*, user, clinic: Clinic) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, clinic=clinic).first()


def list_staff(*, clinic: Clinic) -> QuerySet[Membership]:
    return Membership.objects.filter(clinic=clinic).select_related("user").order_by("user__email")


def list_api_keys(*, clinic: Clinic) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(clinic=clinic).select_related("created_by").order_by("revoked_at", "-created_at")


def list_owner_names(*, clinic: Clinic, limit: int = 3) -> list[str]:
    """Who to ask for a change: the clinic's owners by name (or e-mail), a few at most."""
    owners = (Membership.objects.filter(clinic=clinic, role=Role.OWNER).select_related("user")
              .order_by("user__first_name", "user__email")[:limit])
    return [m.user.get_full_name() or m.user.email for m in owners]


def count_owners(*, clinic: Clinic) -> int:
    return Membership.objects.filter(clinic=clinic, role=Role.OWNER).count()


def list_open_invitations(*, clinic: Clinic) -> list[StaffInvitation]:
    """Invitations not yet accepted or revoked, newest first, each marked `lapsed` past its expiry (CORE-2)."""
    now = timezone.now()
    invitations = list(StaffInvitation.objects.filter(clinic=clinic, accepted_at__isnull=True, revoked_at__isnull=True)
                       .select_related("invited_by").order_by("-created_at"))
    for invitation in invitations:
        invitation.lapsed = invitation.expires_at <= now
    return invitations


def list_staff_activity(*, clinic: Clinic, limit: int = 50) -> list[StaffActivity]:
    """The newest rows of the clinic's staff log, in the clinic's scope (CORE-2)."""
    return list(StaffActivity.objects.order_by("-created_at", "-id")[:limit])


def active_clinic_ids_having(model, **filters) -> list[int]:
    """The active clinics with at least one row of the tenant `model` matching `filters`, in id order.

    For a beat task that fans out to per-clinic tasks only where there is work (COU-7's scheduled
    pushes, the stranded-task sweeps). The worker's role sees one clinic at a time, so each clinic is
    asked in its own scope: one round trip each.
    """
    clinic_ids = Clinic.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    having = []
    for clinic_id in clinic_ids:
        with clinic_scope(clinic_id):
            if model.objects.filter(**filters).exists():
                having.append(clinic_id)
    return having
