from django import forms

from clinic_crm.patients.models import Patient


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["first_name", "last_name", "email", "phone", "date_of_birth", "external_id", "push_enabled"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        help_texts = {"external_id": "Leave empty to generate one. Your booking system and the app use it."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "external_id" in self.fields:
            self.fields["external_id"].required = False

    def clean_external_id(self):
        value = (self.cleaned_data.get("external_id") or "").strip()
        if value and Patient.objects.filter(external_id=value).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another patient already has this external id.")
        return value or (self.instance.external_id if self.instance.pk else "")

    def validate_unique(self):
        # Uniqueness per clinic is checked in clean_external_id, inside the clinic's scope.
        pass


class PersonalDetailsForm(PatientForm):
    """A customer's personal details, as the card profile's Information tab edits them (COU-8).

    The external id is left out: it is the booking system's and the app's key for the patient.
    """

    class Meta(PatientForm.Meta):
        fields = ["first_name", "last_name", "email", "phone", "date_of_birth", "push_enabled"]
