"""The status change form of an offer response (RED-2, RED-3)."""

from __future__ import annotations

from django import forms

from redemptions.choices import ResponseStatus
from redemptions.lifecycle import next_statuses


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
