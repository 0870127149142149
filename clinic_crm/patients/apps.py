from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "clinic_crm.patients"
    label = "patients"
