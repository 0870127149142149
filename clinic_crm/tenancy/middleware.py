"""Platform admins read and fix every clinic's rows in Django admin, and only there (CORE-8)."""

from django.urls import reverse

from clinic_crm.tenancy.context import unscoped


class AdminUnscopedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        if request.path.startswith(self._admin_prefix) and user is not None and user.is_active and user.is_superuser:
            # Safe: only superusers reach this branch, and only for the admin's own URLs.
            with unscoped():
                return self.get_response(request)
        return self.get_response(request)
