"""Abstract building blocks shared by every app."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.money import format_money


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DiscountTerms(models.Model):
    """A discount as offers, promos and coupons describe it: percent, fixed amount or free treatment."""

    discount_type = models.CharField(max_length=20, choices=DiscountType.choices, default=DiscountType.PERCENT)
    discount_value = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        abstract = True

    def clean(self):
        from django.core.exceptions import ValidationError

        super().clean()
        problem = discount_value_problem(self.discount_type, self.discount_value)
        if problem:
            raise ValidationError({"discount_value": problem})

    def discount_label_in(self, currency: str) -> str:
        return discount_label(self.discount_type, self.discount_value, currency)


def discount_value_problem(discount_type: str, value: Decimal | None) -> str:
    """What is wrong with a discount's value for its type, or "" (a free treatment has no value)."""
    if discount_type == DiscountType.FREE_TREATMENT:
        return ""
    if value is None:
        return "Enter the discount's value."
    if value <= 0:
        return "The discount must be more than zero."
    if discount_type == DiscountType.PERCENT and value > 100:
        return "A percentage cannot be more than 100."
    return ""


def discount_label(discount_type: str, value: Decimal | None, currency: str) -> str:
    """Render a discount the way the app and dashboard show it: "20% Off", "£25.00 Off", "Free Treatment"."""
    if discount_type == DiscountType.FREE_TREATMENT:
        return "Free Treatment"
    if value is None:
        return ""
    if discount_type == DiscountType.PERCENT:
        return f"{value.normalize():f}% Off"
    return f"{format_money(value, currency)} Off"
