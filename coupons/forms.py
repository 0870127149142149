"""Dashboard forms for cards: a template's settings, issuing a card, redeeming, expiry, pushes and
the feedback filters (COU-1 … COU-8)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator

from clinic_crm.common.choices import DiscountType
from coupons.choices import CardKind
from coupons.models import CardTemplate

MONEY_ATTRS = {"step": "0.01", "min": "0", "inputmode": "decimal"}


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.get_kind_display().lower()} card)"


class CardTemplateForm(forms.Form):
    kind = forms.ChoiceField(choices=CardKind.choices, widget=forms.RadioSelect, initial=CardKind.COUPON, help_text=(
        "Coupon: one discount, used once. Stamp: a stamp per visit, and a reward card when full. "
        "Reward: a gift earned, used once."))
    name = forms.CharField(max_length=120, help_text="Shown on the card, e.g. “Welcome 20%”.")
    description = forms.CharField(max_length=300, required=False, help_text="A line under the card, e.g. its terms.")
    colour = forms.CharField(max_length=7, initial="#0f766e", widget=forms.TextInput(attrs={"type": "color"}),
                             label="Card colour")
    logo_url = forms.URLField(required=False, label="Logo URL")
    discount_type = forms.ChoiceField(choices=DiscountType.choices, widget=forms.RadioSelect, label="Discount",
                                      initial=DiscountType.PERCENT)
    discount_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Value",
                                        widget=forms.NumberInput(attrs=MONEY_ATTRS))
    validity_days = forms.IntegerField(min_value=1, max_value=3650, required=False, label="Valid for (days)",
                                       help_text="Counted from the day each card is issued. Empty: no limit.")
    valid_until = forms.DateField(required=False, label="Or valid until", widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="One date for every card of this template.")
    purchase_amount_required = forms.BooleanField(required=False, label="Purchase amount required",
                                                  help_text="Staff and tills must enter it to redeem (for ROI).")
    linked_template = TemplateChoiceField(queryset=None, required=False, label="Turns into",
                                          help_text="Coupons: the stamp or reward card the patient gets once it is "
                                                    "redeemed.")
    stamps_required = forms.IntegerField(min_value=1, max_value=50, required=False, label="Stamps to fill the card")
    reward_template = TemplateChoiceField(queryset=None, required=False, label="Reward",
                                          help_text="Stamp cards: the reward card a full card earns.")
    custom_fields = forms.CharField(required=False, label="Questions at installation", widget=forms.Textarea(
        attrs={"rows": 3}), help_text="One per line, e.g. “Favourite treatment”. End a line with * to make it "
                                      "required.")

    def __init__(self, *args, template: CardTemplate | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        others = CardTemplate.objects.order_by("name")
        if template is not None:
            others = others.exclude(pk=template.pk)
            self.fields["kind"].disabled = True
        self.fields["linked_template"].queryset = others.filter(kind__in=[CardKind.STAMP, CardKind.REWARD])
        self.fields["reward_template"].queryset = others.filter(kind=CardKind.REWARD)

    @staticmethod
    def initial_for(template: CardTemplate) -> dict:
        lines = [f"{item['label']}{' *' if item.get('required') else ''}" for item in template.custom_fields]
        return {**{f: getattr(template, f) for f in ("kind", "name", "description", "colour", "logo_url",
                                                      "discount_type", "discount_value", "validity_days",
                                                      "valid_until", "purchase_amount_required", "linked_template",
                                                      "stamps_required", "reward_template")},
                "custom_fields": "\n".join(lines)}

    def clean_custom_fields(self):
        definitions = []
        for line in self.cleaned_data["custom_fields"].splitlines():
            label = line.strip()
            if not label:
                continue
            required = label.endswith("*")
            label = label.rstrip("*").strip()[:80]
            key = "_".join("".join(ch if ch.isalnum() else " " for ch in label.lower()).split())[:40] or "field"
            if not key[0].isalpha():
                key = f"f_{key}"[:40]
            definitions.append({"key": key, "label": label, "required": required})
        return definitions

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if data["discount_type"] == DiscountType.FREE_TREATMENT:
            data["discount_value"] = None
        return data


class IssueCardForm(forms.Form):
    patient = forms.CharField(max_length=254, label="Patient", help_text="Their e-mail or the booking system's id.")
    utm = forms.CharField(max_length=80, required=False, label="Channel (UTM)", help_text="e.g. front-desk, instagram")


class RedeemForm(forms.Form):
    purchase_amount = forms.DecimalField(max_digits=12, decimal_places=2, required=False, label="Purchase amount",
                                         validators=[MinValueValidator(Decimal("0"))],
                                         widget=forms.NumberInput(attrs=MONEY_ATTRS))

    def __init__(self, *args, required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purchase_amount"].required = required
        self.fields["purchase_amount"].error_messages["required"] = "Enter the purchase amount: this card needs it."


class ExpirationForm(forms.Form):
    expires_on = forms.DateField(required=False, label="Expiration date",
                                 widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Empty: the card never expires.")


class CardPushForm(forms.Form):
    """The Send Push tab (COU-7): which card, the words, now or at a time in the clinic's timezone."""

    card = forms.ModelChoiceField(queryset=None, empty_label=None, label="Card")
    title = forms.CharField(max_length=120, help_text="The notification's first line.")
    message = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    when = forms.ChoiceField(choices=[("now", "Send now"), ("later", "Schedule for later")], initial="now",
                             widget=forms.RadioSelect)
    # Required when scheduling (so the page does not call it optional); ignored when sending now.
    send_at = forms.DateTimeField(label="Send at", input_formats=["%Y-%m-%dT%H:%M"],
                                  error_messages={"required": "Choose the date and time to send it."},
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))

    def __init__(self, *args, cards, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["card"].queryset = cards
        self.fields["card"].label_from_instance = lambda card: f"{card.template.name} · {card.serial}"

    def clean(self):
        data = super().clean()
        if data.get("when") != "later":
            self.errors.pop("send_at", None)
            data["send_at"] = None
        else:
            send_at = data.get("send_at")
            if send_at is not None and send_at <= self.now:
                self.add_error("send_at", "Choose a time in the future.")
            elif send_at is not None and send_at > self.now + timedelta(days=366):
                self.add_error("send_at", "Choose a time within the next year.")
        return data


FEEDBACK_RANGES = {"day": ("Day", 1), "week": ("Week", 7), "month": ("Month", 30), "year": ("Year", 365),
                   "all": ("All time", None)}


class FeedbackFilterForm(forms.Form):
    """The Feedback tab's filters (COU-8): a range of the clinic's days and "only comments".

    Day is today; week, month and year are the last 7, 30 and 365 days up to today; custom is
    from one date to another, both included.
    """

    range = forms.ChoiceField(choices=[*((k, v[0]) for k, v in FEEDBACK_RANGES.items()), ("custom", "Custom")],
                              required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
    comments = forms.BooleanField(required=False, label="Only comments")

    def clean(self):
        data = super().clean()
        data["range"] = data.get("range") or "all"
        if data["range"] == "custom":
            if not data.get("start") or not data.get("end"):
                raise forms.ValidationError("Choose both dates of the custom range.")
            if data["start"] > data["end"]:
                raise forms.ValidationError("The start date must be on or before the end date.")
        return data

    def days(self, today: date) -> tuple[date | None, date | None]:
        """The first and last day (the clinic's dates, both included) the filter shows; None for no bound."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {"range": "all"}
        if data["range"] == "custom":
            return data["start"], data["end"]
        length = FEEDBACK_RANGES[data["range"]][1]
        return (today - timedelta(days=length - 1), today) if length else (None, None)


class WalletPassForm(forms.Form):
    """Settings for Apple Wallet passes: the clinic's Pass Type ID certificate from its Apple developer account."""

    pass_type_identifier = forms.CharField(max_length=128, label="Pass Type ID",
                                           help_text="e.g. pass.com.yourclinic.cards")
    team_identifier = forms.CharField(max_length=10, label="Team ID", help_text="10 letters and digits.")
    certificate_pem = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
                                      label="Pass certificate (PEM)")
    private_key_pem = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false",
                                                                                   "autocomplete": "off"}),
                                      label="Private key (PEM)",
                                      help_text="Unencrypted PEM. Kept encrypted and never shown again; leave empty "
                                                "to keep the stored key.")
    wwdr_certificate_pem = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
                                           label="Apple WWDR certificate (PEM)",
                                           help_text="Apple's intermediate certificate that issued yours.")

    def __init__(self, *args, key_stored: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["private_key_pem"].required = not key_stored
