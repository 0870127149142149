"""Reads for push notifications (OFF-5, OFF-6)."""

from django.db.models import Count, QuerySet, Sum

from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from notifications.backends import get_backend
from notifications.choices import PushStatus
from notifications.models import PushNotification


def count_pushes_about(*, source_key: str) -> tuple[int, int]:
    """How many pushes were sent about one promotion ("offer_12") and the devices they reached, in one query."""
    went = (PushStatus.SENT, PushStatus.PARTLY_SENT)
    row = (PushNotification.objects.filter(source_key=source_key, status__in=went).order_by()
           .aggregate(pushes=Count("id"), reached=Sum("sent_count")))
    return row["pushes"], row["reached"] or 0


def list_recent_pushes(*, limit: int = 10) -> QuerySet[PushNotification]:
    """The newest pushes of the clinic in scope, for the history table (OFF-6)."""
    return PushNotification.objects.order_by("-created_at", "-id")[:limit]


def list_push_recipients(*, external_ids: list[str] | None = None) -> QuerySet[Patient]:
    """Push-enabled patients of the clinic in scope, optionally only those external ids."""
    queryset = Patient.objects.filter(push_enabled=True).exclude(external_id="")
    if external_ids is not None:
        queryset = queryset.filter(external_id__in=external_ids)
    return queryset


def count_push_recipients(*, external_ids: list[str] | None = None) -> int:
    """How many patients a push would reach, as the confirmation step states it (OFF-5)."""
    return list_push_recipients(external_ids=external_ids).count()


def list_push_recipient_external_ids(*, external_ids: list[str] | None = None) -> list[str]:
    """External ids a push goes to, oldest patient first so batch boundaries hold between retries (OFF-5)."""
    return list(list_push_recipients(external_ids=external_ids).order_by("id").values_list("external_id", flat=True))


def get_push_setup_problem(*, clinic: Clinic) -> str:
    """Why a push from this clinic cannot be delivered at all right now, or "" when it can (OFF-5, OFF-6).

    Only OneSignal needs per-clinic credentials; the console and memory backends deliver anything.
    """
    return get_backend().setup_problem(clinic=clinic)
