from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "clinic_crm.tenancy"
    label = "tenancy"

    def ready(self):
        from clinic_crm.tenancy import checks, schema  # noqa: F401  (the role check; OpenAPI security schemes)
        from clinic_crm.tenancy.grants import grant_app_roles

        post_migrate.connect(grant_app_roles, sender=self, dispatch_uid="tenancy.grant_app_roles")
