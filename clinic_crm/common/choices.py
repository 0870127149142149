from django.db import models


class DiscountType(models.TextChoices):
    PERCENT = "percent", "Percent"
    AMOUNT = "amount", "Fixed amount"
    FREE_TREATMENT = "free_treatment", "Free treatment"


class DiscountSource(models.TextChoices):
    """Where an order's discount came from (CORE-4)."""

    NONE = "none", "No discount"
    OFFER = "offer", "Offer"
    AUTOMATED_OFFER = "automated_offer", "Automated offer"
    PROMO = "promo", "Promo code"
    COUPON = "coupon", "Coupon card"
    REWARD = "reward", "Reward"
    MEMBERSHIP = "membership", "Membership"
