"""The Offer Responses screen's filters and sorting (RED-3)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from clinic_crm.common.sorting import column_order
from redemptions.choices import ResponseStatus
from redemptions.models import OfferResponse
from redemptions.registry import promotion_kinds

USAGE_CHOICES = [("current", "Inside the usage period"), ("passed", "Usage period passed")]
# A column's order, ascending; "-patient" is the same column descending. Empty dates come last either way.
SORT_FIELDS = {"created": ("created_at", "id"), "offer": ("promotion_name", "id"), "status": ("status", "id"),
               "usage": ("usage_until", "id"), "patient": ("patient__last_name", "patient__first_name", "id")}
SORT_LABELS = {"-created": "Newest first", "created": "Oldest first", "offer": "Offer A–Z", "-offer": "Offer Z–A",
               "patient": "Patient A–Z", "-patient": "Patient Z–A", "status": "Status A–Z", "-status": "Status Z–A",
               "usage": "Usage period ends soonest", "-usage": "Usage period ends latest"}
DEFAULT_SORT = "-created"


def sort_order(sort: str) -> list:
    """The ORDER BY of a sort key ("usage", "-usage")."""
    return column_order(sort, SORT_FIELDS)


def offer_choices():
    rows = (OfferResponse.objects.order_by().values_list("promotion_key", "promotion_name").distinct())
    return sorted({(key, name) for key, name in rows}, key=lambda row: row[1].lower())


class ResponseFilter(django_filters.FilterSet):
    offer = django_filters.ChoiceFilter(field_name="promotion_key", label="Offer", empty_label="Any offer")
    kind = django_filters.ChoiceFilter(method="filter_kind", label="Type", empty_label="Any type")
    status = django_filters.ChoiceFilter(choices=ResponseStatus.choices, label="Status", empty_label="Any status")
    usage = django_filters.ChoiceFilter(choices=USAGE_CHOICES, method="filter_usage", label="Usage period",
                                        empty_label="Any")
    code = django_filters.CharFilter(field_name="certificate_code", lookup_expr="iexact", label="Certificate code")
    q = django_filters.CharFilter(method="filter_patient", label="Patient")
    patient = django_filters.NumberFilter(field_name="patient_id", widget=forms.HiddenInput)
    sort = django_filters.ChoiceFilter(choices=list(SORT_LABELS.items()), method="filter_sort", label="Sort",
                                       empty_label=None)

    class Meta:
        model = OfferResponse
        fields = []

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.filters["offer"].extra["choices"] = offer_choices
        self.filters["kind"].extra["choices"] = [(k.key, k.label) for k in promotion_kinds()]

    def filter_kind(self, queryset, name, value):
        # By the promotion id's kind ("offer_12" is "offer", "automated_offer_3" is not): `value` is a
        # registered kind's key, one of this filter's choices.
        return queryset.filter(promotion_key__regex=rf"^{value}_[0-9]+$")

    def filter_usage(self, queryset, name, value):
        today = self.today
        if value == "passed":
            return queryset.filter(usage_until__lt=today)
        return queryset.filter((Q(usage_from__isnull=True) | Q(usage_from__lte=today))
                               & (Q(usage_until__isnull=True) | Q(usage_until__gte=today)))

    def filter_patient(self, queryset, name, value):
        for term in value.split()[:4]:
            queryset = queryset.filter(Q(patient__first_name__icontains=term) | Q(patient__last_name__icontains=term)
                                       | Q(patient__email__icontains=term) | Q(patient__external_id__iexact=term))
        return queryset

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*sort_order(value))

    @property
    def qs(self):
        queryset = super().qs
        if not (self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("sort")):
            queryset = queryset.order_by(*sort_order(DEFAULT_SORT))
        return queryset

