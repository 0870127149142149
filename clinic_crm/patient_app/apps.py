from django.apps import AppConfig


class PatientAppConfig(AppConfig):
    """The patient app's configuration: every promotion kind the app shows, composed (OFF-7)."""

    name = "clinic_crm.patient_app"
    label = "patient_app"
