"""Dashboard forms for one-time and automated offers, and the manual push (OFF-1, OFF-3, OFF-5)."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

from clinic_crm.common.choices import DiscountType
from offers.models import AutomatedOffer, Offer
from offers.push_text import unknown_placeholders

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def check_discount(form: forms.Form, data: dict) -> None:
    """The discount rules both offer kinds share: a value above zero unless free, a percentage of at most 100."""
    kind, value = data.get("discount_type"), data.get("discount_value")
    if "discount_value" in form.errors:
        return
    if kind == DiscountType.FREE_TREATMENT:
        data["discount_value"] = None
    elif value is None:
        form.add_error("discount_value", "Enter the discount's value.")
    elif kind == DiscountType.PERCENT and value > 100:
        form.add_error("discount_value", "A percentage cannot be more than 100.")
    elif value <= 0:
        form.add_error("discount_value", "Enter a value above zero.")


class FieldValidatorsOnly:
    """Run the model's field validators (caps, day ranges) but not its clean(), whose rules the form's
    clean() states itself: otherwise one mistake would be listed twice, or a value the form already
    refused would come back as "missing"."""

    def _post_clean(self):
        opts = self._meta
        exclude = self._get_validation_exclusions()
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)
        try:
            self.instance.clean_fields(exclude=exclude)
        except ValidationError as error:
            self._update_errors(error)


class DiscountWidgets:
    widgets = {
        "discount_type": forms.RadioSelect,
        "discount_value": forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal",
                                                  "aria-describedby": "id_discount_value_helptext"}),
    }


class OfferForm(FieldValidatorsOnly, forms.ModelForm):
    class Meta:
        model = Offer
        fields = ["name", "title", "description", "image_url", "discount_type", "discount_value", "valid_from",
                  "valid_until", "max_uses", "active", "clip_required", "ships_item", "allow_multiple_responses",
                  "certificate_codes"]
        labels = {
            "name": "Name", "title": "App title", "image_url": "Image URL", "discount_type": "Discount",
            "discount_value": "Value", "valid_from": "From", "valid_until": "Until", "max_uses": "Usage cap",
            "active": "Active", "clip_required": "Patients clip it first", "ships_item": "Ships a physical item",
            "allow_multiple_responses": "Several responses per patient", "certificate_codes": "Certificate codes",
        }
        help_texts = {
            "name": "Only staff see this.",
            "title": "The headline patients see on the offer card.",
            "image_url": "A picture for the offer card in the app.",
            "valid_from": "Leave empty to start as soon as it is published.",
            "valid_until": "The last day patients can redeem it.",
            "max_uses": "How many redemptions in total. Leave empty for no limit.",
            "active": "Off removes it from the app and stops new redemptions; ones already made stand.",
            "clip_required": "A claimed offer reaches the till only once the patient clips it in the app.",
            "ships_item": "Responses go Processing, then Shipping, before they are completed.",
            "allow_multiple_responses": "Each claim makes a new response; otherwise one per patient.",
            "certificate_codes": "Each response gets its own code to show at the desk.",
        }
        widgets = {
            **DiscountWidgets.widgets, "valid_from": DATE, "valid_until": DATE,
            "description": forms.Textarea(attrs={"rows": 3}),
            "image_url": forms.URLInput(attrs={"placeholder": "https://"}),
            "max_uses": forms.NumberInput(attrs={"min": "1", "placeholder": "No limit"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["discount_value"].required = False

    def clean(self):
        data = super().clean()
        check_discount(self, data)
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", "“Until” must be on or after “From”.")
        cap = data.get("max_uses")
        if cap is not None and self.instance.pk and cap < self.instance.current_uses:
            self.add_error("max_uses", f"It has already been used {self.instance.current_uses} times; "
                                       "the cap cannot be lower.")
        return data


class AutomatedOfferForm(FieldValidatorsOnly, forms.ModelForm):
    class Meta:
        model = AutomatedOffer
        fields = ["discount_type", "discount_value", "push_title", "push_message", "validity_days", "app_lead_days",
                  "active", "published"]
        labels = {
            "discount_type": "Discount", "discount_value": "Value", "push_title": "Push title",
            "push_message": "Push message", "validity_days": "Redeemable for (days)",
            "app_lead_days": "Show in the app (days before)", "active": "Active",
            "published": "Published",
        }
        help_texts = {
            "push_title": "The headline of the notification patients receive on the day. {discount} and "
                          "{clinic} are filled in when it is sent.",
            "push_message": "{discount} says the offer's discount (“15% off”) and {clinic} the clinic's name, "
                            "always up to date; {first_name} greets each patient by name (“there” if the app "
                            "has not told OneSignal their name).",
            "validity_days": "How many days patients have to redeem it after it fires (1–90).",
            "app_lead_days": "0 shows it from the day it fires; up to 30 shows a “coming soon” card before.",
            "active": "The automation sends its push and opens the offer when the occasion arrives.",
            "published": "Patients can see the offer in the app. Active without Published sends a push "
                         "patients can't act on.",
        }
        widgets = {
            **DiscountWidgets.widgets,
            "push_message": forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
            "validity_days": forms.NumberInput(attrs={"min": "1", "max": "90"}),
            "app_lead_days": forms.NumberInput(attrs={"min": "0", "max": "30"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["discount_value"].required = False
        self.fields["app_lead_days"].required = False  # left empty: from the day it fires
        self.fields["push_title"].required = True
        self.fields["push_message"].required = True

    def clean_app_lead_days(self):
        return self.cleaned_data.get("app_lead_days") or 0

    def _clean_push_text(self, name):
        text = self.cleaned_data.get(name) or ""
        unknown = unknown_placeholders(text)
        if unknown:
            raise forms.ValidationError(
                f"Unknown placeholder {', '.join(unknown)}: use {{discount}}, {{clinic}} or {{first_name}}, "
                "or write the words.")
        return text

    def clean_push_title(self):
        return self._clean_push_text("push_title")

    def clean_push_message(self):
        return self._clean_push_text("push_message")

    def clean(self):
        data = super().clean()
        check_discount(self, data)
        return data


class PushForm(forms.Form):
    title = forms.CharField(max_length=120, label="Title")
    message = forms.CharField(max_length=500, label="Message",
                              widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}))
