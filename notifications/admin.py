from django.contrib import admin

from notifications.models import PushNotification, ScheduledPush


@admin.register(PushNotification)
class PushNotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "clinic", "status", "sent_count", "targeted_count", "source_key", "occurrence",
                    "created_at"]
    list_filter = ["clinic", "status"]
    search_fields = ["title", "message", "source_key", "failure_reason"]
    list_select_related = ["clinic"]
    readonly_fields = ["provider_ids", "attempts", "created_at", "sent_at"]


@admin.register(ScheduledPush)
class ScheduledPushAdmin(admin.ModelAdmin):
    list_display = ["title", "clinic", "status", "send_at", "source_key", "created_by", "sent_at", "cancelled_at"]
    list_filter = ["clinic", "status"]
    search_fields = ["title", "message", "source_key", "created_by"]
    list_select_related = ["clinic"]
    readonly_fields = ["push", "created_at", "sent_at", "cancelled_at", "cancelled_by"]
