"""Serializers for the offer APIs: staff resources, the app's redeem and the POS redeem (API.md)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.serializers import IdInput
from clinic_crm.orders.serializers import DiscountOutput


def discount_body(discount_type: str, value: Decimal | None) -> dict:
    """The API's discount: a percent as "20", an amount with its pence "25.00", a free treatment null."""
    if discount_type == DiscountType.FREE_TREATMENT or value is None:
        return {"type": discount_type, "value": None}
    if discount_type == DiscountType.PERCENT:
        return {"type": discount_type, "value": f"{value.normalize():f}"}
    return {"type": discount_type, "value": f"{value.quantize(Decimal('0.01')):f}"}


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


class DiscountInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=DiscountType.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), allow_null=True,
                                     required=False)

    class Meta:
        ref_name = "DiscountInput"


def _discount_data(validated: dict) -> dict:
    """Flatten the API's discount object into the model's discount_type/discount_value."""
    data = dict(validated)
    discount = data.pop("discount", None)
    if discount is not None:
        data["discount_type"] = discount["type"]
        data["discount_value"] = discount.get("value")
    return data


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
        return _discount_data(self.validated_data)


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
        return _discount_data(self.validated_data)


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


class AppConfigOffer(serializers.Serializer):
    """Documents the config body's offers; the body itself is built and cached by offers.app_config."""

    id = serializers.CharField(help_text='A promotion id: "offer_12" (one-time) or "automated_offer_3".')
    kind = serializers.ChoiceField(choices=["one_time", "automated"])
    occasion = serializers.CharField(allow_null=True, help_text="Automated offers only.")
    title = serializers.CharField()
    description = serializers.CharField()
    discount_label = serializers.CharField()
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    redeemable = serializers.BooleanField()

    class Meta:
        ref_name = "AppConfigOffer"


class AppConfigPromoTier(serializers.Serializer):
    min_order = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_label = serializers.CharField()

    class Meta:
        ref_name = "AppConfigPromoTier"


class AppConfigPromo(serializers.Serializer):
    """A promo the app shows as a banner (`show_banner`) or applies at checkout by itself (`auto_apply`)."""

    id = serializers.CharField(help_text='A promotion id, e.g. "promo_7".')
    code = serializers.CharField(help_text="The code to show, or to send to validate and redeem.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["global", "tiered"])
    discount_label = serializers.CharField(help_text='Empty for tiered promos: see "tiers".')
    tiers = AppConfigPromoTier(many=True, help_text="Tiered promos: from this order total up, this discount.")
    min_order = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    starts_at = serializers.DateTimeField(allow_null=True, help_text="Show it from this moment.")
    ends_at = serializers.DateTimeField(allow_null=True, help_text="Hide it from this moment.")
    show_banner = serializers.BooleanField()
    auto_apply = serializers.BooleanField()

    class Meta:
        ref_name = "AppConfigPromo"


class AppConfigClinic(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField()
    branding = serializers.DictField()

    class Meta:
        ref_name = "AppConfigClinic"


class AppConfigOutput(serializers.Serializer):
    clinic = AppConfigClinic()
    offers = AppConfigOffer(many=True)
    promos = AppConfigPromo(many=True, help_text="Live promos for everyone with a shared code, flagged banner or "
                                                 "auto-apply. Usage caps are not reflected: validate says so.")
    generated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AppConfig"
