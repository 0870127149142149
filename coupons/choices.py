from django.db import models


class CardKind(models.TextChoices):
    """The three card templates of seed 002 (COU-1)."""

    COUPON = "coupon", "Coupon"
    STAMP = "stamp", "Stamp"
    REWARD = "reward", "Reward"


class CardStatus(models.TextChoices):
    """Whether the card is on the customer's device (COU-2, COU-6)."""

    INSTALLED = "installed", "Installed"
    NOT_INSTALLED = "not_installed", "Not installed"
    DELETED = "deleted", "Deleted"


class InstalledOn(models.TextChoices):
    PWA = "pwa", "PWA"
    GOOGLE_WALLET = "google_wallet", "Google Wallet"
    APPLE_WALLET = "apple_wallet", "Apple Wallet"


class CouponStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REDEEMED = "redeemed", "Redeemed"


class CardAction(models.TextChoices):
    """What a row of a card's activity log records (COU-6, COU-7)."""

    ISSUED = "issued", "Issued"
    INSTALLED = "installed", "Installed"
    REDEEMED = "redeemed", "Redeemed"
    STAMPED = "stamped", "Stamp added"
    REWARDED = "rewarded", "Reward assigned"
    CONVERTED = "converted", "Converted to the linked card"
    EXPIRATION_CHANGED = "expiration_changed", "Expiration date changed"
    DELETED = "deleted", "Deleted"
    PUSH_SENT = "push_sent", "Push sent"
    PUSH_SCHEDULED = "push_scheduled", "Push scheduled"
    PUSH_CANCELLED = "push_cancelled", "Scheduled push cancelled"
