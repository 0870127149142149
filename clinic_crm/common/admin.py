"""Django admin pieces every app's admin shares."""

from django.contrib import admin


class AppendOnlyAdmin(admin.ModelAdmin):
    """An activity log or transition record in Django admin: shown, never added, changed or deleted.

    The tables themselves refuse UPDATE and DELETE (a trigger in their migration); this keeps the
    admin from offering buttons that would only fail.
    """

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
