from django.db import models


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    CANCELLED = "cancelled", "Cancelled"


class ResponseStatus(models.TextChoices):
    """An offer response's processing status (RED-2, seed 003)."""

    PENDING = "pending", "Pending"
    CLIPPED = "clipped", "Clipped"
    PROCESSING = "processing", "Processing"
    SHIPPING = "shipping", "Shipping"
    EXPIRED = "expired", "Expired"
    CANCELED = "canceled", "Canceled"
    COMPLETED = "completed", "Completed"


class RedemptionChannel(models.TextChoices):
    """Where a redemption was made or reported from (RED-7's breakdown by channel)."""

    APP = "app", "Patient app"
    POS = "pos", "Point of sale"
    STAFF = "staff", "Dashboard"
    EVENT = "event", "Reported event"


class AssignmentSource(models.TextChoices):
    """How a patient came to hold a promotion: the "assigned" of a redemption rate (RED-7)."""

    CLAIM = "claim", "Claimed in the app"
    OCCASION = "occasion", "Occasion offer"
    REWARD = "reward", "Reward earned"
    STAFF = "staff", "Given by staff"
    AUDIENCE = "audience", "Promo audience"
    CARD = "card", "Card issued"
    # Redeemed without having been given it first (a shared code, an offer seen in the app): the
    # redemption is the assignment, so a rate never passes 100%.
    REDEMPTION = "redemption", "Redeemed unprompted"


class ResponseSource(models.TextChoices):
    """How an offer response came to be (RED-1)."""

    CLAIM = "claim", "Claimed in the app"
    OCCASION = "occasion", "Occasion offer"
    REWARD = "reward", "Reward"
    STAFF = "staff", "Given by staff"


class ActorKind(models.TextChoices):
    """Who changed an offer response's status (RED-2)."""

    STAFF = "staff", "Staff"
    PATIENT = "patient", "Patient"
    POS = "pos", "Point of sale"
    SYSTEM = "system", "System"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSONL = "jsonl", "JSON lines"


class ExportSchedule(models.TextChoices):
    NONE = "none", "Only when run"
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every Monday"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
