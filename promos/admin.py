from django.contrib import admin

from clinic_crm.common.admin import AppendOnlyAdmin
from clinic_crm.common.app_changes import InvalidatesAppConfigAdmin
from promos.models import Promo, PromoActivity, PromoAudienceMember, PromoCode, PromoCustomerUsage, PromoTier


class PromoTierInline(admin.TabularInline):
    model = PromoTier
    extra = 0
    fields = ["min_order", "discount_type", "discount_value", "clinic"]


@admin.register(Promo)
class PromoAdmin(InvalidatesAppConfigAdmin, admin.ModelAdmin):
    list_display = ["name", "clinic", "kind", "status", "discount_type", "discount_value", "uses", "max_uses",
                    "starts_at", "ends_at"]
    list_filter = ["clinic", "kind", "status"]
    search_fields = ["name", "codes__code"]
    list_select_related = ["clinic"]
    readonly_fields = ["uses", "discounted"]
    inlines = [PromoTierInline]

    def has_delete_permission(self, request, obj=None):
        return False  # archive instead: the activity log and redemptions keep pointing at it


@admin.register(PromoCode)
class PromoCodeAdmin(InvalidatesAppConfigAdmin, admin.ModelAdmin):
    list_display = ["code", "promo", "clinic", "patient", "created_at"]
    list_filter = ["clinic"]
    search_fields = ["code", "promo__name", "patient__email"]
    raw_id_fields = ["promo", "patient"]


@admin.register(PromoTier)
class PromoTierAdmin(InvalidatesAppConfigAdmin, admin.ModelAdmin):
    list_display = ["promo", "clinic", "min_order", "discount_type", "discount_value"]
    list_filter = ["clinic"]
    search_fields = ["promo__name"]


@admin.register(PromoAudienceMember)
class PromoAudienceMemberAdmin(admin.ModelAdmin):
    list_display = ["promo", "patient", "clinic"]
    list_filter = ["clinic"]
    search_fields = ["promo__name", "patient__email"]
    raw_id_fields = ["promo", "patient"]


@admin.register(PromoCustomerUsage)
class PromoCustomerUsageAdmin(admin.ModelAdmin):
    list_display = ["promo", "patient", "clinic", "uses"]
    list_filter = ["clinic"]
    search_fields = ["promo__name", "patient__email"]
    raw_id_fields = ["promo", "patient"]


@admin.register(PromoActivity)
class PromoActivityAdmin(AppendOnlyAdmin):
    list_display = ["promo", "clinic", "action", "actor_name", "actor_email", "created_at"]
    list_filter = ["clinic", "action"]
    search_fields = ["promo__name", "actor_email", "actor_name"]
