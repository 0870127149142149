"""The Push Notification History (OFF-6): one row per push, the last 50 kept per clinic."""

from django.db import models

from clinic_crm.tenancy.models import TenantModel
from notifications.choices import PushStatus

HISTORY_LIMIT = 50


class PushNotification(TenantModel):
    title = models.CharField(max_length=120)
    message = models.CharField(max_length=500)
    # Who it was for: "all" (every push-enabled patient) or the external ids it targeted.
    audience = models.CharField(max_length=20, default="all")
    external_ids = models.JSONField(default=list, blank=True)
    # What sent it ("offer_12", "automated_offer_3") and, for occasions, which occurrence.
    source_key = models.CharField(max_length=40, blank=True)
    occurrence = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20, choices=PushStatus.choices, default=PushStatus.QUEUED)
    # Devices reached: the targeted count at send time, then the provider's own delivery figure.
    sent_count = models.PositiveIntegerField(default=0)
    targeted_count = models.PositiveIntegerField(default=0)
    delivery_confirmed = models.BooleanField(default=False)
    provider_ids = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at", "-id"], name="push_clinic_recent")]

    def __str__(self):
        return f"{self.title} ({self.get_status_display()})"
