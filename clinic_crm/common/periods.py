"""The period control shared by dashboards: 7/30/90 days or a custom range, in the clinic's dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms

PERIODS = {"7": 7, "30": 30, "90": 90}
DEFAULT_PERIOD = "30"


class RangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["start"] > data["end"]:
                raise forms.ValidationError("The start date must be on or before the end date.")
            if (data["end"] - data["start"]).days > 366:
                raise forms.ValidationError("Choose a range of at most a year.")
        return data


@dataclass(frozen=True)
class Period:
    key: str  # "7", "30", "90" or "custom"
    start: date
    end: date
    form: RangeForm


def resolve_period(params, *, today: date) -> Period:
    """Read ?period= (and ?start=&end= for custom) from a query; anything unusable falls back to 30 days."""
    key = params.get("period", DEFAULT_PERIOD)
    form = RangeForm(params or None)
    if key == "custom" and form.is_valid() and form.cleaned_data.get("start") and form.cleaned_data.get("end"):
        return Period("custom", form.cleaned_data["start"], form.cleaned_data["end"], form)
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    return Period(key, today - timedelta(days=PERIODS[key] - 1), today, form)
