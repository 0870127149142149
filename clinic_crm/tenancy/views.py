"""Sign-in, clinic switching, and the owner's Settings area (CORE-2, CORE-7, CORE-9)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy import selectors, services
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import LAST_CLINIC_SESSION_KEY, clinic_view
from clinic_crm.tenancy.forms import ApiKeyForm, ClinicForm, OneSignalForm, RoleForm, StaffForm
from clinic_crm.tenancy.models import ApiKey, Membership


@login_required
def home(request):
    """Send a signed-in user to the clinic they used last, or let them pick one."""
    memberships = list(selectors.list_memberships_of_user(user=request.user))
    last = request.session.get(LAST_CLINIC_SESSION_KEY)
    chosen = next((m for m in memberships if m.clinic.slug == last), None)
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0]
    if chosen is not None:
        return redirect("dashboard:overview", clinic_slug=chosen.clinic.slug)
    return render(request, "tenancy/choose_clinic.html", {"memberships": memberships})


class LoginView(auth_views.LoginView):
    template_name = "tenancy/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "tenancy/password_change.html"

    def form_valid(self, form):
        messages.success(self.request, "Your password has been changed.")
        return super().form_valid(form)

    def get_success_url(self):
        return reverse("home")


def password_change_done(request):
    return redirect("home")


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        from clinic_crm.common.api import api_not_found

        return api_not_found(request)
    return render(request, "errors/404.html", status=404)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", {"reason": str(exception or "")}, status=403)


def server_error(request):
    if request.path.startswith("/api/"):
        from clinic_crm.common.api import api_server_error

        return api_server_error(request)
    return render(request, "errors/500.html", status=500)


# --- Settings (owners) ---------------------------------------------------------------------------


def _settings_context(request, **extra):
    return {"settings_tab": extra.pop("tab"), **extra}


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def clinic_settings(request):
    clinic = request.clinic
    form = ClinicForm(request.POST or None, instance=clinic)
    if request.method == "POST" and form.is_valid():
        services.update_clinic(clinic=clinic, data=form.cleaned_data)
        messages.success(request, "Clinic settings saved.")
        return redirect("settings:clinic", clinic_slug=clinic.slug)
    return render(request, "tenancy/settings_clinic.html", _settings_context(request, tab="clinic", form=form))


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def onesignal_settings(request):
    clinic = request.clinic
    initial = {"app_id": clinic.onesignal_app_id or None}
    form = OneSignalForm(request.POST or None, clinic=clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        app_id = str(form.cleaned_data["app_id"] or "")
        services.set_onesignal_credentials(clinic=clinic, app_id=app_id, api_key=form.cleaned_data["api_key"])
        messages.success(request, "OneSignal settings saved." if app_id else "Push notifications are turned off.")
        return redirect("settings:onesignal", clinic_slug=clinic.slug)
    return render(request, "tenancy/settings_onesignal.html", _settings_context(request, tab="onesignal", form=form))


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def app_key_regenerate(request):
    services.regenerate_app_key(clinic=request.clinic)
    messages.warning(request, "A new app key was issued. Apps using the old key must be updated.")
    return redirect("settings:api_keys", clinic_slug=request.clinic.slug)


NEW_KEY_SESSION_KEY = "new_api_key"


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def api_keys(request):
    clinic = request.clinic
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, full = services.create_api_key(
            clinic=clinic, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], created_by=request.user,
        )
        # Post/redirect/get: the key is handed to the next page once, so a reload neither shows
        # it again nor makes a second key.
        request.session[NEW_KEY_SESSION_KEY] = {"clinic": clinic.pk, "key": full}
        return redirect("settings:api_keys", clinic_slug=clinic.slug)
    handed_over = request.session.pop(NEW_KEY_SESSION_KEY, None)
    new_key = handed_over["key"] if handed_over and handed_over.get("clinic") == clinic.pk else None
    return render(request, "tenancy/settings_api_keys.html", _settings_context(
        request, tab="api_keys", form=form, new_key=new_key, keys=selectors.list_api_keys(clinic=clinic),
    ))


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def api_key_revoke(request, key_id):
    api_key = get_object_or_404(ApiKey.objects.filter(clinic=request.clinic), pk=key_id)
    services.revoke_api_key(api_key=api_key)
    messages.success(request, f"“{api_key.name}” is revoked. Requests with it are refused from now on.")
    return redirect("settings:api_keys", clinic_slug=request.clinic.slug)


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff(request):
    clinic = request.clinic
    form = StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership, password = services.create_staff(clinic=clinic, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if password:
                messages.success(request, f"{membership.user.email} can now sign in with the temporary password "
                                          f"{password} — share it privately; they can change it after signing in.")
            else:
                messages.success(request, f"{membership.user.email} now has access as {membership.get_role_display()}.")
            return redirect("settings:staff", clinic_slug=clinic.slug)
    return render(request, "tenancy/settings_staff.html", _settings_context(
        request, tab="staff", form=form, members=selectors.list_staff(clinic=clinic), roles=Role.choices,
    ))


def _membership(request, membership_id) -> Membership:
    return get_object_or_404(Membership.objects.filter(clinic=request.clinic).select_related("user"), pk=membership_id)


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_role(request, membership_id):
    membership = _membership(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
    else:
        try:
            services.change_staff_role(membership=membership, role=form.cleaned_data["role"])
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("settings:staff", clinic_slug=request.clinic.slug)


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_remove(request, membership_id):
    membership = _membership(request, membership_id)
    try:
        services.remove_staff(membership=membership)
        messages.success(request, f"{membership.user.email} no longer has access to {request.clinic.name}.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("settings:staff", clinic_slug=request.clinic.slug)


