"""Platform admins read and fix every clinic's rows in Django admin, and only there (CORE-8)."""

import logging

from django.http import HttpResponse
from django.urls import reverse

from clinic_crm.tenancy.context import platform_db_missing, unscoped

logger = logging.getLogger(__name__)


class AdminUnscopedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def __call__(self, request):
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        if request.path.startswith(self._admin_prefix) and user is not None and user.is_active and user.is_superuser:
            missing = platform_db_missing()
            if missing:
                logger.error("Django admin refused: %s", missing)
                return HttpResponse(f"Django admin is not available here. {missing}\n", status=503,
                                    content_type="text/plain; charset=utf-8")
            # Safe: only superusers reach this branch, and only for the admin's own URLs.
            with unscoped():
                return self.get_response(request)
        return self.get_response(request)
