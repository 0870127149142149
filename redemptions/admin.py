from django.contrib import admin

from redemptions.models import Redemption


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ["promotion_name", "promotion_key", "clinic", "patient", "status", "discount_label",
                    "discount_amount", "created_at", "applied_at"]
    list_filter = ["clinic", "status", "promotion_kind"]
    search_fields = ["promotion_name", "promotion_key", "patient__last_name", "patient__email"]
    list_select_related = ["clinic", "patient"]
    raw_id_fields = ["patient", "order"]
