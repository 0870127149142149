"""Serializers for the offer APIs: staff resources, the app's redeem and the POS redeem (API.md)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.serializers import (
    PATIENT_EITHER_WAY,
    DiscountInput,
    DiscountOutput,
    DiscountPatchInput,
    IdInput,
    discount_body,
    ensure_one_patient_reference,
    flatten_discount,
)


class _DiscountFields(serializers.Serializer):
    discount = serializers.SerializerMethodField()
    discount_label = serializers.SerializerMethodField()

    @extend_schema_field(DiscountOutput)
    def get_discount(self, obj) -> dict:
        return discount_body(obj.discount_type, obj.discount_value)

    def get_discount_label(self, obj) -> str:
        return obj.discount_label_in(self.context["currency"])


class OfferOutput(_DiscountFields):
    id = fields.CharField()
    promotion_id = fields.CharField(source="promotion_key", help_text="The id the app and POS APIs use.")
    name = fields.CharField()
    title = fields.CharField()
    description = fields.CharField()
    image_url = fields.CharField()
    active = fields.BooleanField()
    published = fields.BooleanField()
    valid_from = fields.DateField(allow_null=True)
    valid_until = fields.DateField(allow_null=True)
    max_uses = fields.IntegerField(allow_null=True)
    current_uses = fields.IntegerField()
    clip_required = fields.BooleanField(help_text="A claimed response reaches the till only once clipped.")
    ships_item = fields.BooleanField(help_text="Responses go Processing, then Shipping, before Completed.")
    allow_multiple_responses = fields.BooleanField(help_text="Each claim makes a new response.")
    certificate_codes = fields.BooleanField(help_text="Each response gets its own certificate code.")

    class Meta:
        ref_name = "OneTimeOffer"


class AutomatedOfferOutput(_DiscountFields):
    id = fields.CharField()
    promotion_id = fields.CharField(source="promotion_key", help_text="The id the app and POS APIs use.")
    occasion = fields.CharField()
    occasion_label = fields.CharField(source="get_occasion_display")
    push_title = fields.CharField()
    push_message = fields.CharField()
    active = fields.BooleanField()
    published = fields.BooleanField()
    validity_days = fields.IntegerField()
    app_lead_days = fields.IntegerField(help_text="Days before it fires that the app shows it (0: from the day).")
    redeemable_until = fields.DateField(allow_null=True,
                                             help_text="Last day of the window its latest firing opened.")

    class Meta:
        ref_name = "AutomatedOffer"


class OfferInput(serializers.Serializer):
    name = fields.CharField(max_length=120)
    title = fields.CharField(max_length=120)
    description = fields.CharField(allow_blank=True, required=False)
    image_url = fields.URLField(max_length=200, allow_blank=True, required=False)
    discount = DiscountInput()
    valid_from = fields.DateField(allow_null=True, required=False)
    valid_until = fields.DateField(allow_null=True, required=False)
    active = fields.BooleanField(required=False)
    published = fields.BooleanField(required=False)
    max_uses = fields.IntegerField(min_value=1, max_value=2**31 - 1, allow_null=True, required=False)
    clip_required = fields.BooleanField(required=False)
    ships_item = fields.BooleanField(required=False)
    allow_multiple_responses = fields.BooleanField(required=False)
    certificate_codes = fields.BooleanField(required=False)

    class Meta:
        ref_name = "OneTimeOfferInput"

    def service_data(self) -> dict:
        return flatten_discount(self.validated_data)


class OfferPatchInput(OfferInput):
    """A one-time offer's edit: any field may be left out, and a discount's parts too (API.md)."""

    discount = DiscountPatchInput(required=False)

    class Meta:
        ref_name = "OneTimeOfferPatchInput"


class AutomatedOfferInput(serializers.Serializer):
    """An automated offer's configuration, always an edit: any field may be left out."""

    discount = DiscountPatchInput(required=False)
    push_title = fields.CharField(max_length=120, allow_blank=True, required=False)
    push_message = fields.CharField(max_length=500, allow_blank=True, required=False)
    validity_days = fields.IntegerField(min_value=1, max_value=90, required=False)
    app_lead_days = fields.IntegerField(min_value=0, max_value=30, required=False)
    active = fields.BooleanField(required=False)
    published = fields.BooleanField(required=False)

    class Meta:
        ref_name = "AutomatedOfferInput"

    def service_data(self) -> dict:
        return flatten_discount(self.validated_data)


class AppRedemptionOutput(serializers.Serializer):
    id = fields.CharField()
    offer_id = fields.CharField(source="promotion_key")
    status = fields.CharField()
    created_at = fields.DateTimeField()

    class Meta:
        ref_name = "AppOfferRedemption"


class PosRedeemInput(serializers.Serializer):
    patient_id = IdInput(required=False)
    external_id = fields.CharField(max_length=64, required=False)
    purchase_amount = fields.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"),
                                          required=False, allow_null=True)
    order_reference = fields.CharField(max_length=64, required=False, allow_blank=True,
                                       help_text="The POS's order reference; made up when left out. "
                                                 "Needs the purchase amount.")

    # An order reference (not blank) records an order, which needs its amount.
    schema_rules = {"allOf": [PATIENT_EITHER_WAY, {"anyOf": [
        {"not": {"required": ["order_reference"], "properties": {"order_reference": {"pattern": r"\S"}}}},
        {"required": ["purchase_amount"], "properties": {"purchase_amount": {"type": "string"}}},
    ]}]}

    class Meta:
        ref_name = "PosOfferRedeemInput"

    def validate(self, data):
        ensure_one_patient_reference(data)
        if data.get("order_reference", "").strip() and data.get("purchase_amount") is None:
            raise serializers.ValidationError(
                {"purchase_amount": ["Give the purchase amount to record the order it was applied to."]})
        return data


class PosRedemptionOutput(serializers.Serializer):
    id = fields.CharField()
    offer_id = fields.CharField(source="promotion_key")
    status = fields.CharField()
    discount = serializers.SerializerMethodField()
    discount_label = fields.CharField()
    discount_amount = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = fields.CharField(source="clinic.currency", help_text="The clinic's currency (ISO 4217).")
    order_id = fields.CharField(allow_null=True)
    created_at = fields.DateTimeField()
    applied_at = fields.DateTimeField()

    class Meta:
        ref_name = "PosOfferRedemption"

    @extend_schema_field(DiscountOutput)
    def get_discount(self, redemption) -> dict:
        return discount_body(redemption.discount_type, redemption.discount_value)
