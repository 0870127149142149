"""Reads on the tenancy registry. Memberships and keys are filtered by clinic explicitly here."""

from django.db.models import QuerySet

from clinic_crm.tenancy.models import ApiKey, Clinic, Membership


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
