"""Sign-in, clinic switching, and the owner's Settings area (CORE-2, CORE-7, CORE-9)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST

from clinic_crm.common.emails import normalise_email
from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy import selectors, services, two_factor
from clinic_crm.tenancy.choices import Role, StaffAction
from clinic_crm.tenancy.decorators import LAST_CLINIC_SESSION_KEY, clinic_view
from clinic_crm.tenancy.events import StaffActor
from clinic_crm.tenancy.lockout import LOCKED_MESSAGE, wait_text
from clinic_crm.tenancy.two_factor_views import begin_second_step
from clinic_crm.tenancy.forms import (
    ApiKeyForm,
    ClinicForm,
    InviteForm,
    JoinForm,
    OneSignalForm,
    RoleForm,
    StaffPasswordResetForm,
)
from clinic_crm.tenancy.models import ApiKey, Membership, StaffInvitation


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


def refuse_locked_sign_in(request, response):
    """A sign-in page answered while the account or client is locked out: 429, Retry-After, and why."""
    wait = getattr(request, "sign_in_locked_for", 0)
    if wait and hasattr(response, "context_data"):
        response.status_code = 429
        response["Retry-After"] = str(wait)
        form = response.context_data.get("form")
        if form is not None:
            form.errors.pop("__all__", None)
            form.add_error(None, LOCKED_MESSAGE.format(wait=wait_text(wait)))
        response.context_data["locked"] = True
    return response


class LoginView(auth_views.LoginView):
    template_name = "tenancy/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.needs_second_factor(user):
            # No session yet: the password was right, the second factor is still to come.
            return begin_second_step(self.request, user, self.get_success_url())
        return super().form_valid(form)

    def form_invalid(self, form):
        return refuse_locked_sign_in(self.request, super().form_invalid(form))


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "tenancy/password_change.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        services.record_password_change(user=form.user, action=StaffAction.PASSWORD_CHANGED)
        messages.success(self.request, "Your password has been changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "tenancy/password_reset_form.html"
    email_template_name = "tenancy/password_reset_email.txt"
    subject_template_name = "tenancy/password_reset_subject.txt"
    form_class = StaffPasswordResetForm
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "tenancy/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "tenancy/password_reset_confirm.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.record_password_change(user=form.user, action=StaffAction.PASSWORD_RESET)
        messages.success(self.request, "Your password is set. Sign in with it now.")
        return response

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


def _invitation_link(request) -> services.staff.LinkFor:
    return lambda token: request.build_absolute_uri(reverse("invitation", kwargs={"token": token}))


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff(request):
    clinic = request.clinic
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email, role = form.cleaned_data["email"], form.cleaned_data["role"]
        outcome = services.invite_staff(clinic=clinic, email=email, role=role, actor=StaffActor.of(request.user),
                                        link_for=_invitation_link(request))
        if outcome.status == "already_member":
            messages.info(request, f"{outcome.membership.user.email} is already a member "
                                   f"({outcome.membership.get_role_display()}). Nothing changed.")
        elif outcome.status == "already_invited":
            messages.info(request, f"{outcome.invitation.email} already has an open invitation. Nothing changed; "
                                   "use Resend to send its link again.")
        else:
            messages.success(request, f"Invitation sent to {outcome.invitation.email}. They join when they open "
                                      "the e-mailed link; until then it grants nothing.")
        return redirect("settings:staff", clinic_slug=clinic.slug)
    return render(request, "tenancy/settings_staff.html", _settings_context(
        request, tab="staff", form=form, members=selectors.list_staff(clinic=clinic),
        invitations=selectors.list_open_invitations(clinic=clinic), activity=selectors.list_staff_activity(clinic=clinic),
        owners=selectors.count_owners(clinic=clinic), roles=Role.choices,
        own_two_factor=two_factor.has_two_factor(request.user),
    ))


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_two_factor(request):
    """Require two-factor sign-in of the clinic's staff, or make it optional again (CORE-2)."""
    required = request.POST.get("required") == "on"
    try:
        two_factor.set_clinic_requirement(clinic=request.clinic, required=required, actor_user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Everyone at this clinic now signs in with a code from an authenticator app."
                         if required else "Two-factor sign-in is optional again at this clinic.")
    return redirect("settings:staff", clinic_slug=request.clinic.slug)


def _membership(request, membership_id) -> Membership:
    return get_object_or_404(Membership.objects.filter(clinic=request.clinic).select_related("user"), pk=membership_id)


def _invitation(request, invitation_id) -> StaffInvitation:
    return get_object_or_404(StaffInvitation.objects.filter(clinic=request.clinic), pk=invitation_id)


ROLE_CONSEQUENCES = {
    Role.OWNER: "They will manage the clinic's settings, integrations and staff, like you.",
    Role.MANAGER: "They will work with patients, offers and promos, and see every report, but not settings or staff.",
    Role.STAFF: "They will work with patients, offers and promos.",
    Role.VIEWER: "They will be able to look at everything but change nothing.",
}


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_role(request, membership_id):
    """Change a member's role: a page that states what the new role means, then its own button."""
    membership = _membership(request, membership_id)
    form = RoleForm(request.POST or request.GET or None)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("settings:staff", clinic_slug=request.clinic.slug)
    role = form.cleaned_data["role"]
    if request.method == "POST":
        try:
            services.change_staff_role(membership=membership, role=role, actor=StaffActor.of(request.user))
            messages.success(request, f"{membership.user.email} is now {Role(role).label}.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("settings:staff", clinic_slug=request.clinic.slug)
    return render(request, "tenancy/staff_confirm.html", _settings_context(
        request, tab="staff", member=membership, action="role", role=role, role_label=Role(role).label,
        consequence=ROLE_CONSEQUENCES[Role(role)], unchanged=role == membership.role,
        last_owner=membership.role == Role.OWNER and role != Role.OWNER
        and selectors.count_owners(clinic=request.clinic) < 2,
    ))


@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_remove(request, membership_id):
    """Remove a member: a page that states what it means, then its own button."""
    membership = _membership(request, membership_id)
    if request.method == "POST":
        try:
            services.remove_staff(membership=membership, actor=StaffActor.of(request.user))
            messages.success(request, f"{membership.user.email} no longer has access to {request.clinic.name}.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("settings:staff", clinic_slug=request.clinic.slug)
    return render(request, "tenancy/staff_confirm.html", _settings_context(
        request, tab="staff", member=membership, action="remove",
        last_owner=membership.role == Role.OWNER and selectors.count_owners(clinic=request.clinic) < 2,
    ))


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_invitation_resend(request, invitation_id):
    invitation = _invitation(request, invitation_id)
    try:
        services.resend_invitation(invitation=invitation, actor=StaffActor.of(request.user),
                                   link_for=_invitation_link(request))
        messages.success(request, f"A new link was sent to {invitation.email}; the earlier one no longer works.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("settings:staff", clinic_slug=request.clinic.slug)


@require_POST
@clinic_view(required_role=Role.OWNER, write_role=Role.OWNER)
def staff_invitation_revoke(request, invitation_id):
    invitation = _invitation(request, invitation_id)
    services.revoke_invitation(invitation=invitation, actor=StaffActor.of(request.user))
    messages.success(request, f"The invitation to {invitation.email} is withdrawn; its link no longer works.")
    return redirect("settings:staff", clinic_slug=request.clinic.slug)


# --- Joining by invitation (public: the link is the credential) ----------------------------------


def invitation(request, token):
    """An invitation's page: join with a new login, or accept with the login one already has (CORE-2)."""
    found = services.get_invitation_by_token(token)
    if found is None:
        return render(request, "tenancy/invitation_closed.html",
                      {"message": "This link is not a valid invitation. Check that it was copied whole."}, status=404)
    try:
        services.staff.ensure_invitation_usable(found)
    except ApplicationError as exc:
        return render(request, "tenancy/invitation_closed.html", {"message": exc.message, "invitation": found},
                      status=410)
    signed_in = request.user.is_authenticated
    has_login = signed_in or services.staff.find_login(found.email) is not None
    form = JoinForm(request.POST or None) if not has_login else None
    error = None
    if request.method == "POST":
        try:
            if signed_in:
                membership = services.accept_invitation(invitation=found, user=request.user)
                return _joined(request, membership.clinic)
            if form is not None and form.is_valid():
                user = services.join_with_new_login(
                    invitation=found, password=form.cleaned_data["password1"],
                    first_name=form.cleaned_data["first_name"], last_name=form.cleaned_data["last_name"])
                login(request, user, backend="clinic_crm.tenancy.auth.EmailBackend")
                return _joined(request, found.clinic)
        except ValidationError as exc:
            form.add_error("password1", exc)
        except ApplicationError as exc:
            error = exc.message
    return render(request, "tenancy/invitation.html", {
        "invitation": found, "form": form, "signed_in": signed_in, "has_login": has_login, "error": error,
        "other_login": signed_in and normalise_email(request.user.email) != found.email,
        "login_url": f"{reverse('login')}?next={request.path}",
    })


def _joined(request, clinic):
    messages.success(request, f"Welcome to {clinic.name}.")
    return redirect("dashboard:overview", clinic_slug=clinic.slug)
