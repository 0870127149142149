from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "clinic_crm.dashboard"
    label = "dashboard"
