from django.contrib import admin

from clinic_crm.common.admin import AppendOnlyAdmin
from clinic_crm.common.app_changes import InvalidatesAppConfigAdmin

from coupons.models import Card, CardActivity, CardTemplate, Feedback, WalletPassConfig


@admin.register(CardTemplate)
class CardTemplateAdmin(InvalidatesAppConfigAdmin, admin.ModelAdmin):
    list_display = ["name", "clinic", "kind", "discount_type", "discount_value", "validity_days", "valid_until",
                    "purchase_amount_required", "created_at"]
    list_filter = ["clinic", "kind"]
    search_fields = ["name"]
    raw_id_fields = ["linked_template", "reward_template"]


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    """Tokens are never shown: the installation and referral links are secrets of the customer's."""

    list_display = ["serial", "clinic", "template", "patient", "status", "coupon_status", "installed_on",
                    "expires_on", "issued_at"]
    list_filter = ["clinic", "status", "coupon_status", "installed_on"]
    search_fields = ["serial", "patient__email", "patient__external_id"]
    raw_id_fields = ["template", "patient", "referred_by", "converted_from"]
    exclude = ["install_token", "referral_token"]


@admin.register(CardActivity)
class CardActivityAdmin(AppendOnlyAdmin):
    list_display = ["card", "clinic", "action", "actor_name", "created_at"]
    list_filter = ["clinic", "action"]
    search_fields = ["card__serial", "actor_name", "actor_email"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["patient", "clinic", "rating", "card", "created_at"]
    list_filter = ["clinic", "rating"]
    search_fields = ["comment", "patient__email", "patient__external_id", "card__serial"]
    raw_id_fields = ["patient", "card"]
    readonly_fields = ["created_at"]


@admin.register(WalletPassConfig)
class WalletPassConfigAdmin(admin.ModelAdmin):
    """The private key is never shown or edited here: the clinic's owner sets it in the dashboard."""

    list_display = ["pass_type_identifier", "clinic", "team_identifier", "updated_at"]
    list_filter = ["clinic"]
    search_fields = ["pass_type_identifier", "team_identifier"]
    exclude = ["private_key_pem"]
    readonly_fields = ["pass_type_identifier", "team_identifier", "certificate_pem", "wwdr_certificate_pem"]

    def has_add_permission(self, request):
        return False
