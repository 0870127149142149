from django.contrib import admin

from clinic_crm.common.app_changes import InvalidatesAppConfigAdmin
from offers.models import AutomatedOffer, OccasionFiring, Offer


@admin.register(Offer)
class OfferAdmin(InvalidatesAppConfigAdmin, admin.ModelAdmin):
    list_display = ["name", "clinic", "discount_type", "discount_value", "published", "active", "valid_from",
                    "valid_until", "current_uses", "max_uses"]
    list_filter = ["clinic", "published", "active", "discount_type"]
    search_fields = ["name", "title"]
    list_select_related = ["clinic"]


@admin.register(AutomatedOffer)
class AutomatedOfferAdmin(InvalidatesAppConfigAdmin, admin.ModelAdmin):
    list_display = ["occasion", "clinic", "discount_type", "discount_value", "active", "published", "validity_days",
                    "redeemable_until"]
    list_filter = ["clinic", "occasion", "active", "published"]
    search_fields = ["occasion", "push_title"]
    list_select_related = ["clinic"]

    def has_delete_permission(self, request, obj=None):
        return False  # the catalogue is fixed: one per clinic and occasion


@admin.register(OccasionFiring)
class OccasionFiringAdmin(admin.ModelAdmin):
    list_display = ["automated_offer", "clinic", "occurrence", "fired_at", "push"]
    list_filter = ["clinic", "occurrence"]
    search_fields = ["automated_offer__occasion"]
    list_select_related = ["clinic", "automated_offer", "push"]
    raw_id_fields = ["push"]
