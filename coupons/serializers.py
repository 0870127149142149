"""Serializers for the card APIs: staff card templates and cards, the POS coupon redeem (API.md)."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.serializers import (
    PATIENT_EITHER_WAY,
    DiscountInput,
    DiscountOutput,
    DiscountPatchInput,
    IdInput,
    NotEditable,
    discount_body,
    ensure_one_patient_reference,
    flatten_discount,
)
from coupons.choices import CardKind, InstalledOn

MONEY = dict(max_digits=12, decimal_places=2, min_value=Decimal("0"))


class CustomFieldDefinition(serializers.Serializer):
    key = fields.RegexField(r"^[a-z][a-z0-9_]{0,39}$", help_text="e.g. favourite_treatment")
    label = fields.CharField(max_length=80)
    required = fields.BooleanField(required=False, default=False)

    class Meta:
        ref_name = "CardCustomField"


# --- templates ---------------------------------------------------------------------------------


class CardTemplateOutput(serializers.Serializer):
    id = fields.CharField()
    promotion_id = fields.CharField(source="promotion_key", help_text='The promotion id, e.g. "card_7".')
    kind = fields.ChoiceField(choices=CardKind.choices)
    name = fields.CharField()
    description = fields.CharField()
    colour = fields.CharField()
    logo_url = fields.CharField()
    discount = serializers.SerializerMethodField()
    discount_label = serializers.SerializerMethodField()
    linked_template_id = fields.CharField(allow_null=True)
    purchase_amount_required = fields.BooleanField()
    validity_days = fields.IntegerField(allow_null=True)
    valid_until = fields.DateField(allow_null=True)
    stamps_required = fields.IntegerField(allow_null=True)
    reward_template_id = fields.CharField(allow_null=True)
    custom_fields = CustomFieldDefinition(many=True)
    installed_users = fields.IntegerField(
        help_text="Customers who installed a card of this template themselves (not cards a linked coupon gave).")
    issued = fields.IntegerField(help_text="Cards issued and not deleted.")

    class Meta:
        ref_name = "CardTemplate"

    @extend_schema_field(DiscountOutput)
    def get_discount(self, template) -> dict:
        return discount_body(template.discount_type, template.discount_value)

    def get_discount_label(self, template) -> str:
        return template.discount_label_in(self.context["currency"])


class CardTemplateInput(serializers.Serializer):
    kind = fields.ChoiceField(choices=CardKind.choices, required=False, help_text="coupon (default), stamp or reward.")
    name = fields.CharField(max_length=120)
    description = fields.CharField(max_length=300, required=False, allow_blank=True)
    colour = fields.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, help_text="e.g. #0f766e")
    logo_url = fields.URLField(max_length=200, required=False, allow_blank=True)
    discount = DiscountInput(required=False, help_text="Coupon and reward cards; a stamp card's reward gives the discount.")
    linked_template_id = IdInput(required=False, allow_null=True,
                                 help_text="Coupons: the stamp or reward card it turns into once redeemed.")
    purchase_amount_required = fields.BooleanField(required=False)
    validity_days = fields.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)
    valid_until = fields.DateField(required=False, allow_null=True)
    stamps_required = fields.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)
    reward_template_id = IdInput(required=False, allow_null=True)
    custom_fields = CustomFieldDefinition(many=True, required=False, max_length=10)

    class Meta:
        ref_name = "CardTemplateInput"

    def validate(self, data):
        if not self.partial and data.get("kind", CardKind.COUPON) != CardKind.STAMP and "discount" not in data:
            raise serializers.ValidationError({"discount": ["Give the card's discount."]})
        return data

    def service_data(self, resolve_template) -> dict:
        """The services' shape; `resolve_template(id)` gives the clinic's template or raises 404."""
        data = flatten_discount(self.validated_data)
        for key in ("linked_template", "reward_template"):
            if f"{key}_id" in data:
                template_id = data.pop(f"{key}_id")
                data[key] = resolve_template(template_id) if template_id else None
        if "custom_fields" in data:
            data["custom_fields"] = [dict(item) for item in data["custom_fields"]]
        return data


class CardTemplatePatchInput(CardTemplateInput):
    kind = NotEditable(message="A card's kind cannot change; create a new card instead.")
    discount = DiscountPatchInput(required=False)

    schema_rules = {"not": {"required": ["kind"]}}

    class Meta:
        ref_name = "CardTemplatePatchInput"


# --- cards -------------------------------------------------------------------------------------


class CardOutput(serializers.Serializer):
    serial = fields.CharField()
    template_id = fields.CharField()
    template_name = fields.CharField(source="template.name")
    kind = fields.ChoiceField(source="template.kind", choices=CardKind.choices)
    patient_id = fields.CharField()
    status = fields.CharField(help_text="installed, not_installed or deleted.")
    installed_on = fields.CharField(help_text="pwa, google_wallet, apple_wallet, or empty when not installed.")
    utm = fields.CharField(help_text="The channel the card was installed through.")
    issued_at = fields.DateTimeField()
    expires_on = fields.DateField(allow_null=True)
    coupon_status = fields.CharField(help_text="active or redeemed.")
    redeemed_at = fields.DateTimeField(allow_null=True)
    stamps = fields.IntegerField()
    stamps_required = fields.IntegerField(source="template.stamps_required", allow_null=True)
    custom_fields = serializers.DictField()
    converted_from = fields.CharField(source="converted_from.serial", allow_null=True, default=None,
                                      help_text="The serial of the card this one was given for (a linked coupon).")
    installation_link = serializers.SerializerMethodField()
    referral_link = serializers.SerializerMethodField()

    class Meta:
        ref_name = "Card"

    def get_installation_link(self, card) -> str:
        return self._link("card_install", card, card.install_token)

    def get_referral_link(self, card) -> str:
        return self._link("card_refer", card, card.referral_token)

    def _link(self, name: str, card, token: str) -> str:
        path = reverse(name, kwargs={"clinic_slug": card.clinic.slug, "token": token})
        return self.context["request"].build_absolute_uri(path)


class CardIssueInput(serializers.Serializer):
    template_id = IdInput()
    patient_id = IdInput()
    utm = fields.CharField(max_length=80, required=False, allow_blank=True)
    installed_on = fields.ChoiceField(choices=InstalledOn.choices, required=False)
    custom_fields = serializers.DictField(child=fields.CharField(max_length=200, allow_blank=True), required=False)

    class Meta:
        ref_name = "CardIssueInput"


class CouponRedeemInput(serializers.Serializer):
    patient_id = IdInput(required=False)
    external_id = fields.CharField(max_length=64, required=False)
    purchase_amount = fields.DecimalField(**MONEY, required=False, allow_null=True,
                                          help_text="Needed where the card's template requires it.")
    order_reference = fields.CharField(max_length=64, required=False, allow_blank=True,
                                       help_text="The POS's order reference; made up when left out.")

    schema_rules = PATIENT_EITHER_WAY

    class Meta:
        ref_name = "CouponRedeemInput"

    def validate(self, data):
        ensure_one_patient_reference(data)
        return data


class CouponStampInput(serializers.Serializer):
    patient_id = IdInput(required=False)
    external_id = fields.CharField(max_length=64, required=False)

    schema_rules = PATIENT_EITHER_WAY

    class Meta:
        ref_name = "CouponStampInput"

    def validate(self, data):
        ensure_one_patient_reference(data)
        return data


class CouponRedemptionOutput(serializers.Serializer):
    id = fields.CharField()
    card_serial = fields.CharField()
    status = fields.CharField()
    discount = serializers.SerializerMethodField()
    discount_label = fields.CharField()
    discount_amount = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = fields.CharField()
    order_id = fields.CharField(allow_null=True)
    linked_card = fields.CharField(allow_null=True, help_text="The serial of the card a linked coupon turned into.")

    class Meta:
        ref_name = "CouponRedemption"

    @extend_schema_field(DiscountOutput)
    def get_discount(self, row) -> dict:
        return discount_body(row["discount_type"], row["discount_value"])


class FeedbackInput(serializers.Serializer):
    rating = fields.IntegerField(min_value=1, max_value=5, help_text="1 (poor) to 5 (excellent).")
    comment = fields.CharField(max_length=2000, required=False, allow_blank=True)
    card_serial = fields.RegexField(r"^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$", required=False,
                                    help_text="The card the feedback is about, one of the patient's own.")

    class Meta:
        ref_name = "FeedbackInput"


class FeedbackOutput(serializers.Serializer):
    id = fields.IntegerField()
    rating = fields.IntegerField()
    comment = fields.CharField()
    card_serial = fields.CharField(source="card.serial", allow_null=True)
    created_at = fields.DateTimeField()

    class Meta:
        ref_name = "FeedbackOutput"
