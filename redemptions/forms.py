"""The status change form of an offer response (RED-2, RED-3) and the export definition form (RED-5)."""

from __future__ import annotations

from django import forms

from redemptions.choices import ExportFormat, ExportSchedule, ResponseStatus
from redemptions.lifecycle import next_statuses
from redemptions.services.exports import FIELDS


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label="New status")
    reason = forms.CharField(max_length=300, required=False, label="Reason",
                             help_text="Kept in the response's history, e.g. “Asked by phone to cancel”.")

    def __init__(self, *args, response, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = next_statuses(response.status, clip_required=response.clip_required, ships=response.ships)
        self.fields["to"].choices = [("", "Choose a status…")] + [
            (value, label) for value, label in ResponseStatus.choices if value in allowed]
        self.allowed = allowed


class ExportDefinitionForm(forms.Form):
    """An export definition (RED-5): its columns, the responses it takes, its format and schedule."""

    name = forms.CharField(max_length=120, help_text="e.g. “Completed responses, weekly”.")
    columns = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Columns",
                                       help_text="In this order in the file.")
    status = forms.ChoiceField(required=False, label="Status")
    offer = forms.ChoiceField(required=False, label="Offer")
    kind = forms.ChoiceField(required=False, label="Type")
    usage = forms.ChoiceField(required=False, label="Usage period",
                              choices=[("", "Any"), ("current", "Inside the usage period"),
                                       ("passed", "Usage period passed")])
    created_from = forms.DateField(required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"}))
    format = forms.ChoiceField(choices=ExportFormat.choices, widget=forms.RadioSelect, initial=ExportFormat.CSV)
    schedule = forms.ChoiceField(choices=ExportSchedule.choices, initial=ExportSchedule.NONE, label="Runs",
                                 help_text="Scheduled runs start in the night, between 03:00 and 04:00 clinic time.")
    keep_files = forms.IntegerField(min_value=1, max_value=50, initial=5, label="Files kept",
                                    help_text="Older files are deleted after each run.")

    def __init__(self, *args, offers, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = [(key, field.label) for key, field in FIELDS.items()]
        self.fields["status"].choices = [("", "Any status"), *ResponseStatus.choices]
        self.fields["offer"].choices = [("", "Any offer"), *offers]
        self.fields["kind"].choices = [("", "Any type"), *kinds]

    def clean(self):
        data = super().clean()
        if data.get("created_from") and data.get("created_to") and data["created_from"] > data["created_to"]:
            self.add_error("created_to", "Choose a date on or after the start.")
        return data

    def service_data(self) -> dict:
        data = self.cleaned_data
        order = list(FIELDS)
        return {
            "name": data["name"], "fields": sorted(data["columns"], key=order.index), "format": data["format"],
            "schedule": data["schedule"], "keep_files": data["keep_files"],
            "filters": {"status": data["status"], "offer": data["offer"], "kind": data["kind"], "usage": data["usage"],
                        "created_from": data["created_from"].isoformat() if data["created_from"] else "",
                        "created_to": data["created_to"].isoformat() if data["created_to"] else ""},
        }

    @classmethod
    def initial_of(cls, definition) -> dict:
        return {"name": definition.name, "columns": definition.fields, "format": definition.format,
                "schedule": definition.schedule, "keep_files": definition.keep_files, **definition.filters}
