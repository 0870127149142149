from django.db import models


class PushStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    PARTLY_SENT = "partly_sent", "Partly sent"
    FAILED = "failed", "Failed"
    NO_RECIPIENTS = "no_recipients", "No recipients"


class ScheduledPushStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"
