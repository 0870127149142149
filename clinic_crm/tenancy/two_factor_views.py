"""The second step of a staff sign-in, and a login's own two-factor settings (CORE-2, CORE-7).

After a right password, a login that needs a second factor has no session yet: only a pending
sign-in (its id, for ten minutes) in the browser's session. The code from the authenticator
app, or a recovery code, signs it in; a login whose clinic requires two-factor sign-in and that
has no app yet sets one up first.
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy import lockout, two_factor

PENDING = "two_factor_pending"
PENDING_SECONDS = 10 * 60
WRONG_CODE = "That code is not right. Enter the six digits the app shows now, or a recovery code."


def begin_second_step(request, user, next_url: str):
    """Hold a sign-in whose password was right until its second factor is given (no session yet)."""
    request.session[PENDING] = {"user": user.pk, "backend": user.backend, "at": time.time(), "next": next_url}
    return redirect("two_factor_verify" if two_factor.has_two_factor(user) else "two_factor_setup")


def _signing_in(request):
    """The login being verified: the signed-in one (an unverified session), or a pending sign-in."""
    if request.user.is_authenticated:
        return request.user, None
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return "/"


def _complete(request, user, pending, device):
    """Sign the login in (if it was pending) and mark the session as having passed its second factor."""
    next_url = _safe_next(request, pending["next"] if pending else request.GET.get("next"))
    if pending is not None:
        login(request, user, backend=pending["backend"])
    otp_login(request, device)
    request.session.pop(PENDING, None)
    return next_url


def two_factor_verify(request):
    user, pending = _signing_in(request)
    if user is None:
        messages.info(request, "Sign in again: the sign-in waited too long for its code.")
        return redirect("login")
    if not two_factor.has_two_factor(user):
        return redirect("two_factor_setup")
    error, status, headers = None, 200, {}
    if request.method == "POST":
        account = lockout.account_key(user=user, login=user.email)
        wait = lockout.seconds_locked(request=request, account=account)
        if wait:
            error, status = lockout.LOCKED_MESSAGE.format(wait=lockout.wait_text(wait)), 429
            headers["Retry-After"] = str(wait)
        else:
            device = two_factor.verify(user, request.POST.get("code", ""))
            if device is not None:
                lockout.record_success(account=account)
                return redirect(_complete(request, user, pending, device))
            lockout.record_failure(request=request, account=account)
            error = WRONG_CODE
    response = render(request, "tenancy/two_factor_verify.html", {"error": error, "email": user.email}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def two_factor_setup(request):
    user, pending = _signing_in(request)
    if user is None:
        return redirect("login")
    if two_factor.has_two_factor(user):
        return redirect("two_factor_manage" if pending is None else "two_factor_verify")
    device = two_factor.pending_device(user) or two_factor.start_setup(user)
    error = None
    if request.method == "POST":
        codes = two_factor.confirm_setup(user=user, device=device, token=request.POST.get("code", ""))
        if codes is not None:
            next_url = _complete(request, user, pending, device)
            return render(request, "tenancy/two_factor_codes.html", {"codes": codes, "next": next_url, "new": True})
        error = "That code is not right. Scan the QR code again if needed, then enter the six digits the app shows."
    required = [clinic.name for clinic in two_factor.clinics_requiring(user)]
    return render(request, "tenancy/two_factor_setup.html", {
        "qr": two_factor.qr_code_svg(device), "secret": two_factor.secret_for_typing(device), "error": error,
        "required_by": required, "signing_in": pending is not None, "email": user.email,
    })


@login_required
def two_factor_manage(request):
    return render(request, "tenancy/two_factor_manage.html", {
        "enabled": two_factor.has_two_factor(request.user),
        "required_by": [clinic.name for clinic in two_factor.clinics_requiring(request.user)],
    })


@require_POST
@login_required
def two_factor_turn_off(request):
    try:
        done = two_factor.turn_off(user=request.user, token=request.POST.get("code", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("two_factor_manage")
    if done:
        messages.success(request, "Two-factor sign-in is off. Your password alone signs you in now.")
    else:
        messages.error(request, WRONG_CODE)
    return redirect("two_factor_manage")


@require_POST
@login_required
def two_factor_new_codes(request):
    codes = two_factor.replace_recovery_codes(user=request.user, token=request.POST.get("code", ""))
    if codes is None:
        messages.error(request, "Enter the six digits your authenticator app shows now to make new recovery codes.")
        return redirect("two_factor_manage")
    return render(request, "tenancy/two_factor_codes.html", {"codes": codes, "next": "/", "new": False})
