from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "clinic_crm.common"
    label = "common"

    def ready(self):
        from clinic_crm.common import checks  # noqa: F401 - registers the deployment checks
