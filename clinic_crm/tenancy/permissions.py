"""DRF permissions over the Principal that authentication produced."""

from rest_framework.permissions import BasePermission


class IsAppCaller(BasePermission):
    """Any caller holding the clinic's app key (signed in or not)."""

    message = "This endpoint is for the clinic's patient app."

    def has_permission(self, request, view):
        return request.user is not None and request.user.kind in ("app", "patient")


class IsSignedInPatient(BasePermission):
    message = "Sign in to do this."
    code = "not_signed_in"  # ClinicApi answers 401, not 403: the patient credential is missing

    def has_permission(self, request, view):
        return request.user is not None and request.user.kind == "patient"


def HasApiScope(scope: str):  # noqa: N802 — reads like a permission class
    class _HasApiScope(BasePermission):
        message = f"This API key lacks the “{scope}” scope."

        def has_permission(self, request, view):
            return request.user is not None and request.user.kind == "api_key" and scope in request.user.scopes

    _HasApiScope.__name__ = f"HasApiScope_{scope}"
    return _HasApiScope


def HasStaffRole(role: str):  # noqa: N802
    """Staff JWT with at least `role` for writes; any member may read."""

    class _HasStaffRole(BasePermission):
        message = "Your role in this clinic does not allow this."

        def has_permission(self, request, view):
            principal = request.user
            if principal is None or principal.kind != "staff":
                return False
            if request.method in ("GET", "HEAD", "OPTIONS"):
                return True
            return principal.has_role(role)

    _HasStaffRole.__name__ = f"HasStaffRole_{role}"
    return _HasStaffRole
