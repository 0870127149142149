"""Dashboard forms for promos: every setting of a promo, its tiers, and personal code generation (PRO-1)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator

from clinic_crm.common.choices import DiscountType
from clinic_crm.patients.models import Patient
from promos.choices import AppliesTo, Audience, PromoKind
from promos.models import Promo, PromoCode
from promos.services import UNUSED_BY_KIND

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)
MONEY_ATTRS = {"step": "0.01", "min": "0", "inputmode": "decimal"}
TIER_ROWS = 4  # enough for the usual "spend 100 / 200 / 300" ladders; save and edit to add more


def _money_field(label: str, help_text: str = "", required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=required, max_digits=12, decimal_places=2,
                              validators=[MinValueValidator(Decimal("0"))], help_text=help_text,
                              widget=forms.NumberInput(attrs=MONEY_ATTRS))


def _patients():
    return Patient.objects.order_by("last_name", "first_name", "id")


class PatientChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name} · {obj.email}" if obj.email else obj.full_name


class PromoForm(forms.Form):
    kind = forms.ChoiceField(choices=PromoKind.choices, widget=forms.RadioSelect, label="Kind", help_text=(
        "Global: one code everyone shares. Tiered: one code, a bigger discount for bigger orders. "
        "Personalised: a unique code for each patient, generated after saving."))
    name = forms.CharField(max_length=120, label="Name", help_text="Only staff see this.")
    code = forms.CharField(max_length=40, label="Code", error_messages={"required": "Enter the code patients will type."},
                           help_text="What patients type, e.g. SPRING20. Case does not matter.",
                           widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false",
                                                         "class": "mono-input"}))
    discount_type = forms.ChoiceField(choices=DiscountType.choices, widget=forms.RadioSelect, label="Discount",
                                      initial=DiscountType.PERCENT)
    discount_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Value",
                                        widget=forms.NumberInput(attrs=MONEY_ATTRS))
    applies_to = forms.ChoiceField(choices=AppliesTo.choices, widget=forms.RadioSelect, label="Applies to",
                                   initial=AppliesTo.ALL)
    applies_to_items = forms.CharField(required=False, label="Services or categories", widget=forms.Textarea(
        attrs={"rows": 3}), help_text="One per line, as your POS names them.")
    audience = forms.ChoiceField(choices=Audience.choices, widget=forms.RadioSelect, label="Audience",
                                 initial=Audience.EVERYONE)
    audience_segment = forms.CharField(max_length=40, required=False, label="Segment",
                                       help_text="The RFM segment allowed to use it, e.g. “Champions”.")
    audience_patients = PatientChoiceField(queryset=None, required=False, label="Patients",
                                           widget=forms.SelectMultiple(attrs={"size": 8}),
                                           help_text="Hold Ctrl (⌘ on a Mac) to choose several.")
    min_order = _money_field("Minimum order", "Order total needed before the discount applies.")
    max_uses = forms.IntegerField(min_value=1, required=False, label="Max uses in total",
                                  widget=forms.NumberInput(attrs={"min": "1", "placeholder": "No limit"}))
    max_uses_per_customer = forms.IntegerField(min_value=1, required=False, label="Max uses per patient",
                                               widget=forms.NumberInput(attrs={"min": "1",
                                                                               "placeholder": "No limit"}))
    starts_at = forms.DateTimeField(required=False, label="Starts", widget=DATETIME,
                                    input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                    help_text="Leave empty to start as soon as it is active.")
    ends_at = forms.DateTimeField(required=False, label="Ends", widget=DATETIME,
                                  input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                  help_text="After this the promo shows as Expired.")
    show_banner = forms.BooleanField(required=False, label="Show a banner in the app",
                                     help_text="The app shows it on its home screen "
                                               "(promos for everyone with a shared code).")
    auto_apply = forms.BooleanField(required=False, label="Apply automatically",
                                    help_text="The app applies it at checkout without the code being typed "
                                              "(promos for everyone with a shared code).")
    marketing_cost = _money_field("Marketing cost", "What the campaign cost to send; used by Compare.")
    budget = _money_field("Discount budget", "The most discount to give in total. Empty for no limit.")

    # Settings a kind has no use for: the form hides them, and the services clear them.
    UNUSED_BY_KIND = UNUSED_BY_KIND

    def __init__(self, *args, promo: Promo | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.promo = promo
        # Set per form: patients can only be listed inside a clinic's scope.
        self.fields["audience_patients"].queryset = _patients()
        # Global and tiered promos need their shared code; personalised ones get codes per patient later.
        kind = promo.kind if promo is not None else (self.data.get("kind") if self.is_bound else None)
        self.fields["code"].required = kind != PromoKind.PERSONALISED
        if promo is not None:
            # The services refuse a change of kind: a different kind is a different promo.
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "A promo's kind cannot change; create a new promo instead."
        self.tiers = TierFormSet(*args[:1], prefix="tiers", initial=kwargs.get("initial", {}).get("tiers"))

    def is_valid(self):
        # Both run, so every mistake on the page is shown at once.
        form_ok = super().is_valid()
        tiers_ok = self.tiers.is_valid()
        return form_ok and tiers_ok and not self._tier_errors()

    def _tier_errors(self) -> bool:
        if self.cleaned_data.get("kind") != PromoKind.TIERED:
            return False
        if not self.tiers.is_valid():
            return True
        if not self.tier_rows():
            self.add_error(None, "A tiered promo needs at least one tier: an order total and its discount.")
            return True
        thresholds = [t["min_order"] for t in self.tier_rows()]
        if len(set(thresholds)) != len(thresholds):
            self.add_error(None, "Two tiers start at the same order total; give each its own.")
            return True
        return False

    def tier_rows(self) -> list[dict]:
        rows = [f.cleaned_data for f in self.tiers.forms if f.cleaned_data and f.cleaned_data.get("min_order")
                is not None]
        return sorted(rows, key=lambda r: r["min_order"])

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def clean_applies_to_items(self):
        text = self.cleaned_data["applies_to_items"]
        return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in (PromoKind.GLOBAL, PromoKind.TIERED) and not data.get("code") and "code" not in self.errors:
            self.add_error("code", "Enter the code patients will type.")
        # Found now, with every other error, not on a later submit: a code another promo uses, in any case.
        code = data.get("code")
        if code and kind != PromoKind.PERSONALISED and "code" not in self.errors:
            taken = PromoCode.objects.filter(code__iexact=code)
            if self.promo is not None:
                taken = taken.exclude(promo_id=self.promo.pk)
            other = taken.select_related("promo").first()
            if other is not None:
                self.add_error("code", f"“{other.promo.name}” already uses {other.code} (codes ignore case).")
        total, each = data.get("max_uses"), data.get("max_uses_per_customer")
        if total and each and each > total:
            self.add_error("max_uses_per_customer",
                           f"No patient can use it {each} times while the promo allows {total} uses in all.")
        if kind != PromoKind.TIERED:
            _check_discount(self, data)
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and start >= end:
            self.add_error("ends_at", "The end must be after the start.")
        applies = data.get("applies_to")
        if applies in (AppliesTo.SERVICES, AppliesTo.CATEGORIES) and not data.get("applies_to_items"):
            self.add_error("applies_to_items", "Name at least one service or category.")
        audience = data.get("audience")
        if audience == Audience.SEGMENT and not data.get("audience_segment", "").strip():
            self.add_error("audience_segment", "Name the segment.")
        if audience == Audience.PATIENTS and not data.get("audience_patients"):
            self.add_error("audience_patients", "Choose at least one patient.")
        return data

    def to_service_data(self) -> dict:
        """The cleaned form as the promo services take it: model field names plus code, tiers and patients."""
        d = self.cleaned_data
        kind = d["kind"]
        data = {name: d[name] for name in (
            "kind", "name", "applies_to", "audience", "min_order", "max_uses", "max_uses_per_customer",
            "starts_at", "ends_at", "show_banner", "auto_apply", "marketing_cost", "budget")}
        data["applies_to_items"] = d["applies_to_items"] if d["applies_to"] != AppliesTo.ALL else []
        data["audience_segment"] = d["audience_segment"].strip() if d["audience"] == Audience.SEGMENT else ""
        data["audience_patient_ids"] = ([p.pk for p in d["audience_patients"]]
                                        if d["audience"] == Audience.PATIENTS else [])
        if kind == PromoKind.TIERED:
            data["tiers"] = [{"min_order": t["min_order"], "discount_type": t["discount_type"],
                              "discount_value": t["discount_value"]} for t in self.tier_rows()]
            # The promo's own terms are unused for tiered promos; the first tier's stand in so the row is valid.
            first = data["tiers"][0]
            data["discount_type"], data["discount_value"] = first["discount_type"], first["discount_value"]
        else:
            # No "tiers" key at all: the services refuse tiers, even an empty list, on other kinds.
            data["discount_type"], data["discount_value"] = d["discount_type"], d["discount_value"]
        if kind != PromoKind.PERSONALISED:
            data["code"] = d["code"]
        data.update(self.UNUSED_BY_KIND.get(kind, {}))
        return data

    @classmethod
    def initial_for(cls, *, promo: Promo, code: str, tiers, patient_ids: list[int]) -> dict:
        """The form's starting values for editing an existing promo."""
        initial = {name: getattr(promo, name) for name in (
            "kind", "name", "discount_type", "discount_value", "applies_to", "audience", "audience_segment",
            "min_order", "max_uses", "max_uses_per_customer", "starts_at", "ends_at", "show_banner",
            "auto_apply", "marketing_cost", "budget")}
        initial["applies_to_items"] = "\n".join(promo.applies_to_items or [])
        initial["audience_patients"] = patient_ids
        initial["code"] = code
        initial["tiers"] = [{"min_order": t.min_order, "discount_type": t.discount_type,
                             "discount_value": t.discount_value} for t in tiers]
        return initial


def _check_discount(form: forms.Form, data: dict) -> None:
    kind, value = data.get("discount_type"), data.get("discount_value")
    if "discount_value" in form.errors or kind is None:
        return
    if kind == DiscountType.FREE_TREATMENT:
        data["discount_value"] = None
    elif value is None:
        form.add_error("discount_value", "Enter the discount's value.")
    elif value <= 0:
        form.add_error("discount_value", "Enter a value above zero.")
    elif kind == DiscountType.PERCENT and value > 100:
        form.add_error("discount_value", "A percentage cannot be more than 100.")


class TierForm(forms.Form):
    min_order = _money_field("From an order of")
    # Blank until chosen, so an unused row reads as empty rather than as a "Percent" tier.
    discount_type = forms.ChoiceField(
        choices=[("", "Choose…"), *(c for c in DiscountType.choices if c[0] != DiscountType.FREE_TREATMENT)],
        label="Discount type", required=False)
    discount_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Value",
                                        widget=forms.NumberInput(attrs=MONEY_ATTRS))

    def clean(self):
        data = super().clean()
        if data.get("min_order") is None:
            if data.get("discount_value") is not None:
                self.add_error("min_order", "Enter the order total this tier starts at.")
            return data
        if not data.get("discount_type") and "discount_type" not in self.errors:
            self.add_error("discount_type", "Choose Percent or Fixed amount.")
            return data
        _check_discount(self, data)
        return data


class BaseTierFormSet(forms.BaseFormSet):
    def __init__(self, *args, initial=None, **kwargs):
        initial = list(initial or [])
        self.extra = max(1, TIER_ROWS - len(initial))
        super().__init__(*args, initial=initial, **kwargs)


TierFormSet = forms.formset_factory(TierForm, formset=BaseTierFormSet, extra=TIER_ROWS, max_num=20,
                                    validate_max=True)


class GenerateCodesForm(forms.Form):
    everyone = forms.BooleanField(required=False, label="Every patient of the clinic",
                                  help_text="Patients who already have a code keep it.")
    # Rendered as a searchable checkbox list of a few patients at a time (partials/_personal_codes.html).
    patients = PatientChoiceField(queryset=None, required=False, label="Or choose patients",
                                  widget=forms.CheckboxSelectMultiple)
    prefix = forms.CharField(max_length=20, required=False, label="Prefix",
                             help_text="Letters in front of each code, e.g. VIP → VIP-7KQ2M9.",
                             widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patients"].queryset = _patients()

    def clean_prefix(self):
        prefix = self.cleaned_data["prefix"].strip().upper()
        if prefix and not prefix.replace("-", "").isalnum():
            raise forms.ValidationError("Use letters and digits only.")
        return prefix

    def clean(self):
        data = super().clean()
        if not data.get("everyone") and not data.get("patients"):
            raise forms.ValidationError("Choose patients, or tick “Every patient of the clinic”.")
        return data

    def chosen_patients(self):
        return list(_patients()) if self.cleaned_data["everyone"] else list(self.cleaned_data["patients"])
