from django.contrib import admin

from clinic_crm.common.admin import AppendOnlyAdmin
from redemptions.models import (
    Assignment,
    EventImport,
    ExportDefinition,
    ExportRun,
    OfferResponse,
    PromotionTally,
    Redemption,
    ResponseTransition,
)


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ["promotion_name", "promotion_key", "clinic", "patient", "status", "discount_label",
                    "discount_amount", "created_at", "applied_at"]
    list_filter = ["clinic", "status", "promotion_kind"]
    search_fields = ["promotion_name", "promotion_key", "patient__last_name", "patient__email"]
    list_select_related = ["clinic", "patient"]
    raw_id_fields = ["patient", "order"]


class ResponseTransitionInline(admin.TabularInline):
    model = ResponseTransition
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor_kind", "actor_name", "reason", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OfferResponse)
class OfferResponseAdmin(admin.ModelAdmin):
    """Status changes go through the dashboard or the API, where the lifecycle is enforced."""

    list_display = ["title", "promotion_key", "clinic", "patient", "status", "certificate_code", "usage_until",
                    "created_at"]
    list_filter = ["clinic", "status", "promotion_kind", "source"]
    search_fields = ["title", "promotion_name", "certificate_code", "patient__last_name", "patient__email"]
    list_select_related = ["clinic", "patient"]
    raw_id_fields = ["patient", "redemption"]
    readonly_fields = ["status", "status_changed_at", "redemption", "created_at"]
    inlines = [ResponseTransitionInline]


@admin.register(ResponseTransition)
class ResponseTransitionAdmin(AppendOnlyAdmin):
    list_display = ["response", "clinic", "from_status", "to_status", "actor_kind", "actor_name", "created_at"]
    list_filter = ["clinic", "to_status", "actor_kind"]
    search_fields = ["response__certificate_code", "actor_name", "reason"]


@admin.register(ExportDefinition)
class ExportDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "clinic", "format", "schedule", "keep_files", "created_by", "created_at"]
    list_filter = ["clinic", "format", "schedule"]
    search_fields = ["name", "created_by"]


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    """Files are downloaded from the clinic's dashboard, by its staff."""

    list_display = ["definition", "clinic", "status", "rows_done", "rows_total", "size", "created_at", "finished_at"]
    list_filter = ["clinic", "status", "scheduled"]
    search_fields = ["definition__name", "created_by"]
    list_select_related = ["definition", "clinic"]
    readonly_fields = [f.name for f in ExportRun._meta.fields if f.name != "id"]

    def has_add_permission(self, request):
        return False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    """Who holds which promotion (RED-7): kept by the services, read here."""

    list_display = ["promotion_key", "clinic", "patient", "source", "assigned_at", "redeemed_at", "redemptions"]
    list_filter = ["clinic", "source"]
    search_fields = ["promotion_key", "patient__last_name", "patient__email"]
    list_select_related = ["clinic", "patient"]
    raw_id_fields = ["patient"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Assignment._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PromotionTally)
class PromotionTallyAdmin(AppendOnlyAdmin):
    """The counts behind the Promotions page; folded by compaction, never edited by hand."""

    list_display = ["promotion_key", "clinic", "day", "channel", "segment", "tier", "assigned", "redeemed",
                    "redemptions", "revenue"]
    list_filter = ["clinic", "channel", "segment"]
    search_fields = ["promotion_key"]


@admin.register(EventImport)
class EventImportAdmin(admin.ModelAdmin):
    """Backfill files of redemption events and how their reading went; written by the worker only."""

    list_display = ["id", "clinic", "status", "size", "accepted", "duplicates", "rejected", "created_by", "created_at"]
    list_filter = ["clinic", "status"]
    search_fields = ["created_by", "error"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in EventImport._meta.fields]

    def has_add_permission(self, request):
        return False
