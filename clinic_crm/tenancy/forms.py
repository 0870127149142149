"""Settings and account forms: clinic profile, OneSignal, API keys, staff, joining, password reset (CORE-1, 2, 7, 9)."""

import hashlib

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.template.loader import render_to_string

from clinic_crm.common.emails import normalise_email
from clinic_crm.common.fields import mask_secret
from clinic_crm.tenancy.choices import ApiScope, Role
from clinic_crm.tenancy.models import Clinic

TIMEZONE_HINT = "A time zone such as Europe/London or America/New_York."


class ClinicForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = ["name", "timezone", "currency", "locale", "brand_color", "logo_url"]
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "timezone": TIMEZONE_HINT,
            "locale": "Decides the occasion calendar (Mother's Day is in March in the UK, May in the US).",
        }


class OneSignalForm(forms.Form):
    app_id = forms.UUIDField(
        label="OneSignal app id", required=False,
        help_text="Settings → Keys & IDs in OneSignal. Leave empty to turn push off.",
    )
    api_key = forms.CharField(
        label="REST API key", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current key.",
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        if clinic.onesignal_api_key:
            self.fields["api_key"].widget.attrs["placeholder"] = mask_secret(clinic.onesignal_api_key)

    def clean(self):
        data = super().clean()
        if data.get("app_id") and not (data.get("api_key") or self.clinic.onesignal_api_key):
            self.add_error("api_key", "Enter the REST API key that goes with this app id.")
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where the key is used, e.g. “Front desk POS”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, initial=[ApiScope.POS],
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail", help_text="They get a link to join with a password of their own.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class JoinForm(forms.Form):
    """A new login's own details and password, from the invitation's page (CORE-2)."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}), help_text="At least 8 characters, not only digits, not a common one.")
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "The two passwords differ.")
        return data


class StaffPasswordResetForm(PasswordResetForm):
    """Django's reset form: the e-mail goes out through Celery, at most a few an hour per address.

    The page after it says the same whether or not the address has a login (Django's view does),
    and so does the limit: a limited request simply sends nothing.
    """

    EMAILS_PER_HOUR = 3

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        from clinic_crm.tenancy.tasks import send_account_email

        key = f"password-reset:{hashlib.sha256(normalise_email(to_email).encode()).hexdigest()[:32]}"
        cache.add(key, 0, 3600)
        try:
            sent = cache.incr(key)
        except ValueError:
            sent = 1
        if sent > self.EMAILS_PER_HOUR:
            return
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        send_account_email.delay(subject=subject, body=body, to=to_email)
