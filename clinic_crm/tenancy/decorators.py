"""`clinic_view`: the dashboard's entry into a clinic's scope (CORE-1, CORE-2)."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils import timezone

from clinic_crm.tenancy.choices import Role, role_at_least
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.selectors import get_membership
from clinic_crm.tenancy.two_factor import has_two_factor

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LAST_CLINIC_SESSION_KEY = "last_clinic"


def clinic_view(required_role: str = Role.VIEWER, write_role: str = Role.STAFF):
    """Resolve `/c/<slug>/`, check membership and role, then run the view inside the clinic's scope.

    Someone who is not a member gets 404, the same as a clinic that does not exist. Reads need
    `required_role`; any other method also needs `write_role`, so viewers can look but not change.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, clinic_slug, *args, **kwargs):
            clinic = Clinic.objects.filter(slug=clinic_slug, is_active=True).first()
            membership = get_membership(user=request.user, clinic=clinic) if clinic else None
            if membership is None:
                raise Http404("No such clinic")
            needed = required_role
            if request.method not in SAFE_METHODS and role_at_least(write_role, required_role):
                needed = write_role
            if not role_at_least(membership.role, needed):
                raise PermissionDenied(f"This needs the {Role(needed).label.lower()} role or above.")
            if not request.user.is_verified() and (clinic.require_two_factor or has_two_factor(request.user)):
                # A session from before the clinic required it, or from before its login turned it on.
                step = "two_factor_verify" if has_two_factor(request.user) else "two_factor_setup"
                return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
            request.clinic = clinic
            request.membership = membership
            with clinic_scope(clinic.pk), timezone.override(clinic.tzinfo):
                response = view(request, *args, **kwargs)
                # Templates must render inside the scope: lazy querysets are evaluated there.
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
            if request.session.get(LAST_CLINIC_SESSION_KEY) != clinic.slug:
                request.session[LAST_CLINIC_SESSION_KEY] = clinic.slug
            return response

        wrapper = login_required(wrapper)
        wrapper.required_role = required_role
        wrapper.write_role = write_role
        return wrapper

    return decorator


def can_write(request, role: str = Role.STAFF) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_at_least(membership.role, role)
