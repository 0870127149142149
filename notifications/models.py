"""The Push Notification History (OFF-6): one row per push, the last 50 kept per clinic; and
pushes scheduled for a later time (COU-7)."""

from django.db import models

from clinic_crm.tenancy.models import TenantModel
from notifications.choices import PushStatus, ScheduledPushStatus

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
    # The batches the provider accepted, by index: {"3": ["<notification id>", reached, size]}. A retry sends
    # only the others, and the Sent count is their sum, however many attempts it took.
    batches = models.JSONField(default=dict, blank=True)
    # The audience as the first attempt resolved it (external ids, oldest patient first): every later attempt
    # sends to exactly these, so its batches, their keys and the ones already accepted stay the same.
    recipients = models.JSONField(default=list, blank=True)
    # Recipients the push did not reach because their batch was never accepted ("partly sent").
    not_reached = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at", "-id"], name="push_clinic_recent")]

    def __str__(self):
        return f"{self.title} ({self.get_status_display()})"


class ScheduledPush(TenantModel):
    """A push to send at `send_at` (COU-7): cancellable until a periodic task sends it, once.

    Sending records an ordinary push (`push`) in the history; the scheduled row stays as the record
    of when it was asked for and by whom, also once the capped history has dropped that push.
    """

    title = models.CharField(max_length=120)
    message = models.CharField(max_length=500)
    external_ids = models.JSONField(default=list, help_text="The patients it goes to, by external id.")
    source_key = models.CharField(max_length=40, blank=True, help_text='What it is about, e.g. "card_12".')
    send_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=ScheduledPushStatus.choices, default=ScheduledPushStatus.SCHEDULED)
    push = models.ForeignKey(PushNotification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["send_at", "id"]
        verbose_name_plural = "scheduled pushes"
        indexes = [
            models.Index(fields=["clinic", "source_key", "send_at"], name="schedpush_clinic_source"),
            # The periodic task's scan for what is still waiting, across clinics and in each one.
            models.Index(fields=["clinic", "send_at"], condition=models.Q(status="scheduled"), name="schedpush_due"),
        ]

    def __str__(self):
        return f"{self.title} at {self.send_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"
