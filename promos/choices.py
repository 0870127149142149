from django.db import models


class PromoKind(models.TextChoices):
    GLOBAL = "global", "Global"
    TIERED = "tiered", "Tiered"
    PERSONALISED = "personalised", "Personalised"


class PromoStatus(models.TextChoices):
    """Stored statuses (PRO-2). "Expired" is derived: past the end date, or archived."""

    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


class PromoAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    PAUSED = "paused", "Paused"
    ACTIVATED = "activated", "Activated"
    ARCHIVED = "archived", "Archived"


class AppliesTo(models.TextChoices):
    ALL = "all", "All services"
    SERVICES = "services", "Chosen services"
    CATEGORIES = "categories", "Chosen categories"


class Audience(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    NEW_PATIENTS = "new_patients", "New patients"
    SEGMENT = "segment", "A segment"
    PATIENTS = "patients", "Named patients"
