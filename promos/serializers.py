"""Serializers for the promo APIs: the app's validate, the POS redeem and the staff Promo resource (API.md)."""

from __future__ import annotations

import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.serializers import (
    MAX_ID,
    PATIENT_EITHER_WAY,
    DiscountInput,
    DiscountOutput,
    DiscountPatchInput,
    IdInput,
    NotEditable,
    WholeObjectInput,
    discount_body,
    discount_fields,
    ensure_one_patient_reference,
    flatten_discount,
)
from clinic_crm.orders.serializers import TOTAL_OR_LINES, OrderLineInput
from promos.choices import AppliesTo, Audience, PromoKind, PromoStatus

MAX_INT = 2**31 - 1
MONEY = dict(max_digits=12, decimal_places=2, min_value=Decimal("0"))


# --- patient app -----------------------------------------------------------------------------------


class PromoValidateInput(serializers.Serializer):
    code = fields.CharField(max_length=60, trim_whitespace=True)
    order_total = fields.DecimalField(**MONEY)
    lines = OrderLineInput(many=True, required=False, max_length=500,
                           help_text="The cart's lines; needed for codes that apply to chosen services or categories.")

    class Meta:
        ref_name = "PromoValidateInput"


class PromoValidateOutput(serializers.Serializer):
    """Both answers are 200: `valid` true with the discount, or false with the domain code and message."""

    valid = fields.BooleanField()
    discount = fields.DecimalField(max_digits=12, decimal_places=2, required=False,
                                        help_text="The amount taken off this order (valid codes only).")
    discount_label = fields.CharField(required=False)
    currency = fields.CharField(required=False, help_text="The clinic's currency (ISO 4217) of the discount.")
    code = fields.CharField(required=False, help_text="Why the code was refused (invalid codes only).")
    message = fields.CharField(required=False)

    class Meta:
        ref_name = "PromoValidation"


# --- point of sale ---------------------------------------------------------------------------------


class PromoOrderInput(serializers.Serializer):
    reference = fields.CharField(max_length=64)
    total = fields.DecimalField(**MONEY, required=False)
    lines = OrderLineInput(many=True, required=False, max_length=500)

    schema_rules = TOTAL_OR_LINES

    class Meta:
        ref_name = "PromoRedeemOrderInput"

    def validate(self, data):
        if not data.get("lines") and data.get("total") is None:
            raise serializers.ValidationError({"total": ["Give the order's total or its lines."]})
        if not data["reference"].strip():
            raise serializers.ValidationError({"reference": ["Give the order's reference."]})
        return data


class PromoRedeemInput(serializers.Serializer):
    code = fields.CharField(max_length=60)
    patient_id = IdInput(required=False)
    external_id = fields.CharField(max_length=64, required=False)
    order = PromoOrderInput()

    schema_rules = PATIENT_EITHER_WAY

    class Meta:
        ref_name = "PromoRedeemInput"

    def validate(self, data):
        ensure_one_patient_reference(data)
        return data


class PromoRedemptionOutput(serializers.Serializer):
    id = fields.CharField()
    promo_id = fields.CharField(source="promotion_key", help_text='The promotion id, e.g. "promo_12".')
    discount = fields.DecimalField(source="discount_amount", max_digits=12, decimal_places=2,
                                        help_text="The amount taken off the order.")
    currency = fields.CharField(source="clinic.currency", help_text="The clinic's currency (ISO 4217).")
    discount_label = fields.CharField()
    order_id = fields.CharField(allow_null=True)

    class Meta:
        ref_name = "PromoRedemption"


# The till's redeem is the API's hottest write: its common, well-formed body is read without DRF's
# serializer machinery (its fields are deep-copied per request), and anything else is left to
# PromoRedeemInput, which gives the errors. Tests hold the two to the same values.
_ID = re.compile(r"[1-9][0-9]{0,17}")
_MONEY = re.compile(r"(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,2})?")
_CENT = Decimal("0.01")
_REDEEM_KEYS = frozenset({"code", "patient_id", "external_id", "order"})
_ORDER_KEYS = frozenset({"reference", "total"})


def _plain_text(value, max_length: int) -> bool:
    # What a CharField keeps as it is: a non-blank string with no surrounding space, nothing unprintable.
    return type(value) is str and 0 < len(value) <= max_length and value.isprintable() and value == value.strip()


def _plain_id(value) -> bool:
    if type(value) is int:
        return 1 <= value <= MAX_ID
    return type(value) is str and _ID.fullmatch(value) is not None and int(value) <= MAX_ID


def read_plain_redeem_input(data) -> dict | None:
    """PromoRedeemInput's validated data for a body in the form tills send, or None for anything else.

    The form: a JSON object with `code`, exactly one of `patient_id` and `external_id`, and an
    `order` with `reference` and `total` (a string of digits with up to two decimals), no lines
    and nothing more. None is not a refusal: PromoRedeemInput decides.
    """
    if type(data) is not dict or not data.keys() <= _REDEEM_KEYS or ("patient_id" in data) == ("external_id" in data):
        return None
    order = data.get("order")
    if type(order) is not dict or order.keys() != _ORDER_KEYS:
        return None
    code, reference, total = data.get("code"), order["reference"], order["total"]
    if not (_plain_text(code, 60) and _plain_text(reference, 64)):
        return None
    if type(total) is str and _MONEY.fullmatch(total):
        total = Decimal(total).quantize(_CENT)
    else:
        return None
    if "patient_id" in data:
        if not _plain_id(data["patient_id"]):
            return None
        who = {"patient_id": int(data["patient_id"])}
    elif _plain_text(data["external_id"], 64):
        who = {"external_id": data["external_id"]}
    else:
        return None
    return {"code": code, **who, "order": {"reference": reference, "total": total}}


def redemption_output(redemption) -> dict:
    """PromoRedemptionOutput's data for a redemption, built directly (the redeem's answer)."""
    discount = redemption.discount_amount
    return {
        "id": _text(redemption.id),
        "promo_id": _text(redemption.promotion_key),
        "discount": None if discount is None else f"{Decimal(discount).quantize(_CENT):f}",
        "currency": _text(redemption.clinic.currency),
        "discount_label": _text(redemption.discount_label),
        "order_id": _text(redemption.order_id),
    }


def _text(value) -> str | None:
    return None if value is None else str(value)


# --- staff -----------------------------------------------------------------------------------------


class PromoTierInput(WholeObjectInput):
    min_order = fields.DecimalField(**MONEY)
    discount = DiscountInput()

    class Meta:
        ref_name = "PromoTierInput"


class PromoInput(serializers.Serializer):
    name = fields.CharField(max_length=120)
    kind = fields.ChoiceField(choices=PromoKind.choices, required=False)
    status = fields.ChoiceField(choices=[PromoStatus.DRAFT, PromoStatus.ACTIVE], required=False,
                                     help_text="On create only: start as a draft (default) or active.")
    code = fields.CharField(max_length=40, required=False, allow_blank=True,
                                 help_text="Global and tiered promos: the shared code (case-insensitive).")
    discount = DiscountInput(required=False)
    tiers = PromoTierInput(many=True, required=False, max_length=20)
    applies_to = fields.ChoiceField(choices=AppliesTo.choices, required=False)
    applies_to_items = serializers.ListField(child=fields.CharField(max_length=120), max_length=100,
                                             required=False)
    audience = fields.ChoiceField(choices=Audience.choices, required=False)
    audience_segment = fields.CharField(max_length=40, allow_blank=True, required=False)
    audience_patient_ids = serializers.ListField(
        child=IdInput(), max_length=10000, required=False,
        help_text='Audience "patients": the named patients.')
    min_order = fields.DecimalField(**MONEY, allow_null=True, required=False)
    max_uses = fields.IntegerField(min_value=1, max_value=MAX_INT, allow_null=True, required=False)
    max_uses_per_customer = fields.IntegerField(min_value=1, max_value=MAX_INT, allow_null=True,
                                                     required=False)
    starts_at = fields.DateTimeField(allow_null=True, required=False)
    ends_at = fields.DateTimeField(allow_null=True, required=False)
    show_banner = fields.BooleanField(required=False)
    auto_apply = fields.BooleanField(required=False)
    marketing_cost = fields.DecimalField(**MONEY, allow_null=True, required=False)
    budget = fields.DecimalField(**MONEY, allow_null=True, required=False)

    class Meta:
        ref_name = "PromoInput"

    def validate(self, data):
        if not self.partial and data.get("kind", PromoKind.GLOBAL) != PromoKind.TIERED and "discount" not in data:
            raise serializers.ValidationError({"discount": ["Give the promo's discount."]})
        return data

    def service_data(self) -> dict:
        """The services' shape: discount flattened into discount_type/discount_value, tiers likewise."""
        data = flatten_discount(self.validated_data)
        if "tiers" in data:
            data["tiers"] = [{"min_order": t["min_order"], **discount_fields(t["discount"])} for t in data["tiers"]]
        return data


class PromoPatchInput(PromoInput):
    """A promo's edit: any field may be left out, and a discount's parts too; `tiers`, when sent,
    replace the stored ones whole. The status changes through pause, activate and archive."""

    kind = NotEditable(message="A promo's kind cannot change; create a new promo instead.")
    status = NotEditable(message="Use pause, activate or archive to change a promo's status.")
    discount = DiscountPatchInput(required=False)

    schema_rules = {"not": {"anyOf": [{"required": ["kind"]}, {"required": ["status"]}]}}

    class Meta:
        ref_name = "PromoPatchInput"


class PromoTierOutput(serializers.Serializer):
    min_order = fields.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.SerializerMethodField()
    discount_label = serializers.SerializerMethodField()

    class Meta:
        ref_name = "PromoTier"

    @extend_schema_field(DiscountOutput)
    def get_discount(self, tier) -> dict:
        return discount_body(tier.discount_type, tier.discount_value)

    def get_discount_label(self, tier) -> str:
        from clinic_crm.common.models import discount_label

        return discount_label(tier.discount_type, tier.discount_value, self.context["currency"])


class PromoMetricsOutput(serializers.Serializer):
    uses = fields.IntegerField()
    unique_customers = fields.IntegerField()
    total_discounted = fields.DecimalField(max_digits=12, decimal_places=2)
    avg_order_value = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)

    class Meta:
        ref_name = "PromoMetrics"


class PromoOutput(serializers.Serializer):
    id = fields.CharField()
    promotion_id = fields.CharField(source="promotion_key", help_text='One id space across kinds: "promo_12".')
    code = serializers.SerializerMethodField(help_text="The shared code; null for personalised promos.")
    name = fields.CharField()
    kind = fields.ChoiceField(choices=PromoKind.choices)
    status = fields.ChoiceField(choices=PromoStatus.choices)
    is_expired = serializers.SerializerMethodField()
    discount = serializers.SerializerMethodField()
    discount_label = serializers.SerializerMethodField()
    tiers = serializers.SerializerMethodField()
    min_order = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    max_uses = fields.IntegerField(allow_null=True)
    max_uses_per_customer = fields.IntegerField(allow_null=True)
    starts_at = fields.DateTimeField(allow_null=True)
    ends_at = fields.DateTimeField(allow_null=True)
    applies_to = fields.CharField()
    applies_to_items = serializers.ListField(child=fields.CharField())
    audience = fields.CharField()
    audience_segment = fields.CharField()
    show_banner = fields.BooleanField()
    auto_apply = fields.BooleanField()
    marketing_cost = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    budget = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.SerializerMethodField(help_text="The clinic's currency (ISO 4217) of every amount here.")
    metrics = serializers.SerializerMethodField()
    created_at = fields.DateTimeField()
    updated_at = fields.DateTimeField()

    class Meta:
        ref_name = "Promo"

    def get_code(self, promo) -> str | None:
        if promo.kind == PromoKind.PERSONALISED:
            return None
        shared = [c for c in promo.codes.all() if c.patient_id is None]
        return shared[0].code if shared else None

    def get_currency(self, promo) -> str:
        return self.context["currency"]

    def get_is_expired(self, promo) -> bool:
        return promo.is_expired()

    @extend_schema_field(DiscountOutput)
    def get_discount(self, promo) -> dict:
        return discount_body(promo.discount_type, promo.discount_value)

    def get_discount_label(self, promo) -> str:
        return promo.discount_label_in(self.context["currency"])

    @extend_schema_field(PromoTierOutput(many=True))
    def get_tiers(self, promo) -> list:
        if promo.kind != PromoKind.TIERED:
            return []
        return PromoTierOutput(sorted(promo.tiers.all(), key=lambda t: t.min_order), many=True,
                               context=self.context).data

    @extend_schema_field(PromoMetricsOutput)
    def get_metrics(self, promo) -> dict:
        found = self.context.get("metrics", {}).get(promo.pk, {})
        return PromoMetricsOutput({
            "uses": promo.uses, "total_discounted": promo.discounted,
            "unique_customers": found.get("unique_customers", 0), "avg_order_value": found.get("avg_order_value"),
        }).data

