"""The promo list's filters: the segmented status filter, search by name or code, and sorting (PRO-6)."""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from promos.choices import PromoStatus
from promos.models import Promo, PromoCode

# The segments in the order the list shows them. "" is All.
SEGMENTS = [("", "All"), ("active", "Active"), ("scheduled", "Scheduled"), ("draft", "Draft"), ("paused", "Paused"),
            ("expired", "Expired")]

SORTS = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-uses", "Most used"),
    ("uses", "Least used"),
    ("ends", "Ending soonest"),
    ("-discounted", "Most discount given"),
]


def expired_q(now) -> Q:
    """Expired is derived, never stored: archived, or past its end (PRO-2)."""
    return Q(status=PromoStatus.ARCHIVED) | Q(ends_at__lte=now)


def scheduled_q(now) -> Q:
    """Scheduled is derived too: active, with a start still ahead."""
    return Q(status=PromoStatus.ACTIVE, starts_at__gt=now)


def segment_q(segment: str, now) -> Q:
    """The rows of one segment. Segments do not overlap: a paused promo whose end date has passed
    is Expired, not Paused; an active one before its start is Scheduled, not Active; and an
    archived promo (badged Archived) is counted under Expired."""
    if segment == "expired":
        return expired_q(now)
    if segment == "scheduled":
        return scheduled_q(now) & ~expired_q(now)
    if segment == PromoStatus.ACTIVE:
        return Q(status=segment) & ~expired_q(now) & ~scheduled_q(now)
    if segment in (PromoStatus.DRAFT, PromoStatus.PAUSED):
        return Q(status=segment) & ~expired_q(now)
    return Q()


class PromoFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SEGMENTS[1:], method="filter_status", empty_label="All")
    q = django_filters.CharFilter(method="filter_search", label="Search")
    sort = django_filters.OrderingFilter(
        fields=(("name", "name"), ("created_at", "created"), ("uses", "uses"), ("ends_at", "ends"),
                ("discounted", "discounted")),
        choices=SORTS, empty_label=None, label="Sort",
    )

    class Meta:
        model = Promo
        fields = []

    def __init__(self, *args, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def filter_status(self, queryset, name, value):
        return queryset.filter(segment_q(value, self.now))

    def filter_search(self, queryset, name, value):
        term = value.strip()
        if not term:
            return queryset
        # EXISTS rather than a join: a personalised promo has many codes and must still appear once.
        code_matches = PromoCode.objects.filter(promo=OuterRef("pk"), code__icontains=term)
        return queryset.filter(Q(name__icontains=term) | Exists(code_matches))
