"""Django admin for platform admins, with the staff sign-in lockout on its login page (CORE-8)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic CRM · platform admin"
    site_title = "Clinic CRM admin"

    def login(self, request, extra_context=None):
        from clinic_crm.tenancy.views import refuse_locked_sign_in

        return refuse_locked_sign_in(request, super().login(request, extra_context))


class ClinicAdminConfig(AdminConfig):
    default_site = "clinic_crm.admin_site.ClinicAdminSite"
