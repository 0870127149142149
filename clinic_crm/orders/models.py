"""Orders and the discount applied to each, kept by id and by snapshot (CORE-4)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from clinic_crm.common.choices import DiscountSource, DiscountType
from clinic_crm.common.models import TimeStampedModel
from clinic_crm.tenancy.models import TenantModel

money = dict(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])


class Order(TenantModel, TimeStampedModel):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="orders")
    reference = models.CharField(max_length=64, help_text="The POS or booking system's order reference.")
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**money)
    discount_amount = models.DecimalField(default=Decimal("0.00"), **money)
    total = models.DecimalField(**money)
    # Where the discount came from. The source is kept by key ("promo_12") and id, and by a
    # snapshot of its name and label, so deleting or renaming an offer never rewrites history.
    discount_source = models.CharField(max_length=20, choices=DiscountSource.choices, default=DiscountSource.NONE)
    discount_type = models.CharField(max_length=20, choices=DiscountType.choices, blank=True)
    discount_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    source_key = models.CharField(max_length=40, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    source_name = models.CharField(max_length=200, blank=True)
    source_label = models.CharField(max_length=80, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "reference"], name="order_unique_reference"),
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") - models.F("discount_amount")),
                name="order_total_is_subtotal_minus_discount",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "-placed_at"], name="order_clinic_placed"),
            models.Index(fields=["clinic", "patient", "-placed_at"], name="order_clinic_patient"),
            models.Index(fields=["clinic", "discount_source", "-placed_at"], name="order_clinic_source"),
            models.Index(fields=["clinic", "source_key"], name="order_clinic_source_key"),
        ]

    def __str__(self):
        return self.reference

    @property
    def has_discount(self) -> bool:
        return self.discount_source != DiscountSource.NONE


class OrderLine(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=200)
    category = models.CharField(max_length=80, blank=True, help_text="The service's category, e.g. Whitening.")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(**money)

    class Meta(TenantModel.Meta):
        ordering = ["id"]
        indexes = [models.Index(fields=["clinic", "order"], name="orderline_clinic_order")]

    def __str__(self):
        return self.description

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
