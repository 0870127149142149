"""The Revenue section's filters: date range in the clinic's timezone, source, offer/promo, patient (CORE-4)."""

import django_filters
from django import forms
from django.db.models import Q

from clinic_crm.common.choices import DiscountSource
from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient


def _patients(request):
    return Patient.objects.all()


class OrderFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data


class OrderFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(
        field_name="placed_at", lookup_expr="date__gte", label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="placed_at", lookup_expr="date__lte", label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    source = django_filters.ChoiceFilter(
        field_name="discount_source", choices=DiscountSource.choices, label="Discount source",
        empty_label="Any source",
    )
    promotion = django_filters.CharFilter(field_name="source_key", label="Offer / promo id")
    patient = django_filters.ModelChoiceFilter(queryset=_patients, label="Patient", widget=forms.HiddenInput)
    q = django_filters.CharFilter(method="filter_search", label="Search")
    # The list's column headings sort by these; newest first otherwise.
    sort = django_filters.OrderingFilter(fields=(("placed_at", "date"), ("total", "total"),
                                                 ("discount_amount", "saved"), ("patient__last_name", "patient")))

    class Meta:
        model = Order
        fields = []
        form = OrderFilterForm

    def filter_search(self, queryset, name, value):
        term = value.strip()
        return queryset.filter(
            Q(reference__icontains=term) | Q(patient__last_name__icontains=term)
            | Q(patient__first_name__icontains=term) | Q(source_name__icontains=term)
        )
