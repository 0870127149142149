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


class StaffAction(models.TextChoices):
    """What a row of a clinic's staff log records (CORE-2)."""

    INVITED = "invited", "Invited"
    INVITATION_RESENT = "invitation_resent", "Invitation sent again"
    INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
    JOINED = "joined", "Joined"
    ADDED = "added", "Added by a platform operator"
    ROLE_CHANGED = "role_changed", "Role changed"
    REMOVED = "removed", "Removed"
    PASSWORD_RESET = "password_reset", "Password reset"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    TWO_FACTOR_ON = "two_factor_on", "Two-factor sign-in turned on"
    TWO_FACTOR_OFF = "two_factor_off", "Two-factor sign-in turned off"
    TWO_FACTOR_REQUIRED = "two_factor_required", "Two-factor sign-in required"
    TWO_FACTOR_OPTIONAL = "two_factor_optional", "Two-factor sign-in made optional"
