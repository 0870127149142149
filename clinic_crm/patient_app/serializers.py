"""The config body's shape, for the OpenAPI schema; the body itself is built by patient_app.config (OFF-7)."""

from rest_framework import serializers

from clinic_crm.common import json_fields as fields


class AppConfigOffer(serializers.Serializer):
    """An offer the app shows now: a one-time offer, or an automated occasion offer."""

    id = fields.CharField(help_text='A promotion id: "offer_12" (one-time) or "automated_offer_3".')
    kind = fields.ChoiceField(choices=["one_time", "automated"])
    occasion = fields.CharField(allow_null=True, help_text="Automated offers only.")
    title = fields.CharField()
    description = fields.CharField()
    discount_label = fields.CharField()
    valid_from = fields.DateField(allow_null=True)
    valid_until = fields.DateField(allow_null=True)
    redeemable = fields.BooleanField()

    class Meta:
        ref_name = "AppConfigOffer"


class AppConfigPromoTier(serializers.Serializer):
    min_order = fields.DecimalField(max_digits=12, decimal_places=2)
    discount_label = fields.CharField()

    class Meta:
        ref_name = "AppConfigPromoTier"


class AppConfigPromo(serializers.Serializer):
    """A promo the app shows as a banner (`show_banner`) or applies at checkout by itself (`auto_apply`)."""

    id = fields.CharField(help_text='A promotion id, e.g. "promo_7".')
    code = fields.CharField(help_text="The code to show, or to send to validate and redeem.")
    name = fields.CharField()
    kind = fields.ChoiceField(choices=["global", "tiered"])
    discount_label = fields.CharField(help_text='Empty for tiered promos: see "tiers".')
    tiers = AppConfigPromoTier(many=True, help_text="Tiered promos: from this order total up, this discount.")
    min_order = fields.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    starts_at = fields.DateTimeField(allow_null=True, help_text="Show it from this moment.")
    ends_at = fields.DateTimeField(allow_null=True, help_text="Hide it from this moment.")
    show_banner = fields.BooleanField()
    auto_apply = fields.BooleanField()

    class Meta:
        ref_name = "AppConfigPromo"


class AppConfigCard(serializers.Serializer):
    """A coupon, stamp or reward card design of the clinic (COU-1): a patient's own cards carry its id."""

    id = fields.CharField(help_text='A promotion id, e.g. "card_7".')
    kind = fields.ChoiceField(choices=["coupon", "stamp", "reward"])
    name = fields.CharField()
    description = fields.CharField()
    colour = fields.CharField(help_text='e.g. "#0f766e".')
    logo_url = fields.CharField()
    discount_label = fields.CharField()
    stamps_required = fields.IntegerField(allow_null=True, help_text="Stamp cards only.")
    valid_until = fields.DateField(allow_null=True, help_text="Cards of this design stop working after this date.")

    class Meta:
        ref_name = "AppConfigCard"


class AppConfigClinic(serializers.Serializer):
    name = fields.CharField()
    slug = fields.CharField()
    currency = fields.CharField()
    timezone = fields.CharField()
    branding = serializers.DictField()

    class Meta:
        ref_name = "AppConfigClinic"


class AppConfigOutput(serializers.Serializer):
    clinic = AppConfigClinic()
    offers = AppConfigOffer(many=True)
    promos = AppConfigPromo(many=True, help_text="Live promos for everyone with a shared code, flagged banner or "
                                                 "auto-apply. Usage caps are not reflected: validate says so.")
    cards = AppConfigCard(many=True, help_text="The clinic's card designs that are still valid.")
    generated_at = fields.DateTimeField()

    class Meta:
        ref_name = "AppConfig"
