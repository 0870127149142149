from django.contrib import admin

from clinic_crm.patients.models import Patient, RfmScore, SignInCode


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["full_name", "clinic", "email", "phone", "external_id", "date_of_birth", "push_enabled", "last_visit_at"]
    list_filter = ["clinic", "push_enabled"]
    search_fields = ["first_name", "last_name", "email", "phone", "external_id"]
    list_select_related = ["clinic"]
    date_hierarchy = "created_at"


@admin.register(SignInCode)
class SignInCodeAdmin(admin.ModelAdmin):
    list_display = ["patient", "clinic", "created_at", "expires_at", "attempts", "used_at"]
    list_filter = ["clinic"]
    search_fields = ["patient__email"]
    exclude = ["code_hash"]
    readonly_fields = ["patient", "clinic", "expires_at", "attempts", "used_at", "created_at"]
    list_select_related = ["patient", "clinic"]

    def has_add_permission(self, request):
        return False


@admin.register(RfmScore)
class RfmScoreAdmin(admin.ModelAdmin):
    """Read-only: the rows are rewritten by the nightly recomputation (COU-9)."""

    list_display = ["patient", "clinic", "segment", "recency", "frequency", "monetary", "computed_at"]
    list_filter = ["clinic", "segment"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__email", "patient__external_id"]
    list_select_related = ["patient", "clinic"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
