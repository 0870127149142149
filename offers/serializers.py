"""Serializers for the offer APIs: staff resources, the app's redeem and the POS redeem (API.md)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common.serializers import DiscountInput, DiscountOutput, IdInput, discount_body, flatten_discount


class _DiscountFields(serializers.Serializer):
    discount = serializers.SerializerMethodField()
    discount_label = serializers.SerializerMethodField()

    @extend_schema_field(DiscountOutput)
    def get_discount(self, obj) -> dict:
        return discount_body(obj.discount_type, obj.discount_value)

    def get_discount_label(self, obj) -> str:
        return obj.discount_label_in(self.context["currency"])


class OfferOutput(_DiscountFields):
    id = serializers.CharField()
    promotion_id = serializers.CharField(source="promotion_key", help_text="The id the app and POS APIs use.")
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField()
    active = serializers.BooleanField()
    published = serializers.BooleanField()
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    max_uses = serializers.IntegerField(allow_null=True)
    current_uses = serializers.IntegerField()

    class Meta:
        ref_name = "OneTimeOffer"


class AutomatedOfferOutput(_DiscountFields):
    id = serializers.CharField()
    promotion_id = serializers.CharField(source="promotion_key", help_text="The id the app and POS APIs use.")
    occasion = serializers.CharField()
    occasion_label = serializers.CharField(source="get_occasion_display")
    push_title = serializers.CharField()
    push_message = serializers.CharField()
    active = serializers.BooleanField()
    published = serializers.BooleanField()
    validity_days = serializers.IntegerField()
    redeemable_until = serializers.DateField(allow_null=True,
                                             help_text="Last day of the window its latest firing opened.")

    class Meta:
        ref_name = "AutomatedOffer"


class OfferInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(allow_blank=True, required=False)
    image_url = serializers.URLField(max_length=200, allow_blank=True, required=False)
    discount = DiscountInput()
    valid_from = serializers.DateField(allow_null=True, required=False)
    valid_until = serializers.DateField(allow_null=True, required=False)
    active = serializers.BooleanField(required=False)
    published = serializers.BooleanField(required=False)
    max_uses = serializers.IntegerField(min_value=1, max_value=2**31 - 1, allow_null=True, required=False)

    class Meta:
        ref_name = "OneTimeOfferInput"

    def service_data(self) -> dict:
        return flatten_discount(self.validated_data)


class AutomatedOfferInput(serializers.Serializer):
    discount = DiscountInput(required=False)
    push_title = serializers.CharField(max_length=120, allow_blank=True, required=False)
    push_message = serializers.CharField(max_length=500, allow_blank=True, required=False)
    validity_days = serializers.IntegerField(min_value=1, max_value=90, required=False)
    active = serializers.BooleanField(required=False)
    published = serializers.BooleanField(required=False)

    class Meta:
        ref_name = "AutomatedOfferInput"

    def service_data(self) -> dict:
        return flatten_discount(self.validated_data)


class AppRedemptionOutput(serializers.Serializer):
    id = serializers.CharField()
    offer_id = serializers.CharField(source="promotion_key")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AppOfferRedemption"


class PosRedeemInput(serializers.Serializer):
    patient_id = IdInput(required=False)
    external_id = serializers.CharField(max_length=64, required=False)
    purchase_amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"),
                                               required=False, allow_null=True)
    order_reference = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                            help_text="The POS's order reference; made up when left out.")

    class Meta:
        ref_name = "PosOfferRedeemInput"

    def validate(self, data):
        if bool(data.get("patient_id")) == bool(data.get("external_id")):
            raise serializers.ValidationError({"patient_id": ["Give exactly one of patient_id or external_id."]})
        if data.get("order_reference", "").strip() and data.get("purchase_amount") is None:
            raise serializers.ValidationError(
                {"purchase_amount": ["Give the purchase amount to record the order it was applied to."]})
        return data


class PosRedemptionOutput(serializers.Serializer):
    id = serializers.CharField()
    offer_id = serializers.CharField(source="promotion_key")
    status = serializers.CharField()
    discount = serializers.SerializerMethodField()
    discount_label = serializers.CharField()
    discount_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField(source="clinic.currency", help_text="The clinic's currency (ISO 4217).")
    order_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField()

    class Meta:
        ref_name = "PosOfferRedemption"

    @extend_schema_field(DiscountOutput)
    def get_discount(self, redemption) -> dict:
        return discount_body(redemption.discount_type, redemption.discount_value)
