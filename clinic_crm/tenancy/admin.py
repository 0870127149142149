"""Platform admin for clinics, memberships and keys (CORE-8). Secrets are masked, never shown whole."""

from django import forms
from django.contrib import admin

from clinic_crm.common.admin import AppendOnlyAdmin
from clinic_crm.common.fields import mask_secret
from clinic_crm.tenancy.auth import forget_app_key, forget_clinic_access
from clinic_crm.tenancy.context import on_commit
from clinic_crm.tenancy.models import ApiKey, Clinic, IdempotencyKey, Membership, StaffActivity, StaffInvitation

admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser


class ClinicAdminForm(forms.ModelForm):
    new_onesignal_api_key = forms.CharField(
        required=False, widget=forms.PasswordInput, label="New OneSignal REST API key",
        help_text="Leave empty to keep the stored key.",
    )

    class Meta:
        model = Clinic
        exclude = ["onesignal_api_key"]

    def save(self, commit=True):
        clinic = super().save(commit=False)
        if self.cleaned_data.get("new_onesignal_api_key"):
            clinic.onesignal_api_key = self.cleaned_data["new_onesignal_api_key"]
        if commit:
            clinic.save()
        return clinic


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ForgetsClinicAccessAdmin:
    """Saving or deleting a clinic or an API key here makes every process read its keys again.

    Platform admins edit outside the services (deactivating a clinic, changing a key's scopes),
    so the services' own `forget_clinic_access` does not run.
    """

    @staticmethod
    def _clinic_id(obj) -> int:
        return obj.pk if isinstance(obj, Clinic) else obj.clinic_id

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        forget_clinic_access(self._clinic_id(obj))
        if isinstance(obj, Clinic):
            on_commit(lambda: forget_app_key(obj.app_key))

    def delete_model(self, request, obj):
        clinic_id = self._clinic_id(obj)
        super().delete_model(request, obj)
        forget_clinic_access(clinic_id)

    def delete_queryset(self, request, queryset):
        clinic_ids = {self._clinic_id(obj) for obj in queryset}
        super().delete_queryset(request, queryset)
        for clinic_id in clinic_ids:
            forget_clinic_access(clinic_id)


@admin.register(Clinic)
class ClinicAdmin(ForgetsClinicAccessAdmin, admin.ModelAdmin):
    form = ClinicAdminForm
    list_display = ["name", "slug", "timezone", "currency", "locale", "onesignal_key_masked", "is_active", "created_at"]
    list_filter = ["is_active", "currency", "locale", "timezone"]
    search_fields = ["name", "slug"]
    readonly_fields = ["app_key", "onesignal_key_masked", "created_at", "updated_at"]
    inlines = [MembershipInline]

    @admin.display(description="OneSignal key")
    def onesignal_key_masked(self, obj):
        return mask_secret(obj.onesignal_api_key) or "—"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role", "created_at"]
    list_filter = ["role", "clinic"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "clinic__name"]
    autocomplete_fields = ["user", "clinic"]


@admin.register(ApiKey)
class ApiKeyAdmin(ForgetsClinicAccessAdmin, admin.ModelAdmin):
    list_display = ["name", "clinic", "masked_key", "scopes", "last_used_at", "revoked_at", "created_at"]
    list_filter = ["clinic", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "clinic__name"]
    readonly_fields = ["prefix", "masked_key", "created_by", "last_used_at", "created_at", "updated_at"]
    exclude = ["key_hash"]

    @admin.display(description="Key")
    def masked_key(self, obj):
        return f"ck_{obj.prefix}_••••"

    def has_add_permission(self, request):
        return False  # keys are created from Settings or `create_api_key`, which show the key once

    def get_readonly_fields(self, request, obj=None):
        # A key belongs to the clinic it was made for: moving it would hand one clinic's till to another.
        return [*super().get_readonly_fields(request, obj), "clinic"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "clinic", "principal", "method", "path", "response_status", "created_at"]
    list_filter = ["clinic", "method", "response_status"]
    search_fields = ["key", "principal", "path"]
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    """Read only: invitations are sent, resent and revoked by the clinic's owners (the token is never shown)."""

    list_display = ["email", "clinic", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["clinic", "role"]
    search_fields = ["email", "clinic__name"]
    readonly_fields = [f.name for f in StaffInvitation._meta.fields if f.name != "token_hash"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StaffActivity)
class StaffActivityAdmin(AppendOnlyAdmin):
    """The staff log, read only: the table refuses UPDATE and DELETE."""

    list_display = ["created_at", "clinic", "action", "subject_email", "actor_name", "actor_email"]
    list_filter = ["clinic", "action"]
    search_fields = ["subject_email", "actor_email", "actor_name"]
