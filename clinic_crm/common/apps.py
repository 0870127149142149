from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "clinic_crm.common"
    label = "common"
