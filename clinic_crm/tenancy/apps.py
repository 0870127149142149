from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "clinic_crm.tenancy"
    label = "tenancy"

    def ready(self):
        from clinic_crm.tenancy import schema  # noqa: F401  (OpenAPI security schemes)
