from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    STAFF = "staff", "Staff"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.STAFF: 1, Role.MANAGER: 2, Role.OWNER: 3}


def role_at_least(role: str, required: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class Locale(models.TextChoices):
    """The occasion calendar a clinic follows (Mother's Day differs between the UK and the US)."""

    UK = "uk", "United Kingdom"
    US = "us", "United States"


class ApiScope(models.TextChoices):
    POS = "pos", "Point of sale"
    EVENTS = "events", "Redemption events"
