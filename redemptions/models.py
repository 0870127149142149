"""The redemption ledger: every redemption of every promotion kind lands here (DESIGN, Architecture)."""

from django.db import models

from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.models import TenantModel
from redemptions.choices import RedemptionStatus


class Redemption(TenantModel):
    """A patient's redemption of one promotion, kept by key and by snapshot so history never changes."""

    promotion_key = models.CharField(max_length=40)  # "offer_12", "automated_offer_3", "promo_7"
    promotion_kind = models.CharField(max_length=20)
    promotion_id = models.BigIntegerField()
    promotion_name = models.CharField(max_length=200)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="redemptions")
    status = models.CharField(max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.PENDING)
    discount_type = models.CharField(max_length=20, choices=DiscountType.choices)
    discount_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    discount_label = models.CharField(max_length=80)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discount_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # The order's total as applied, kept on the row so per-promotion metrics never join orders.
    order_total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "promotion_key", "-created_at"], name="redemption_clinic_promotion"),
            # Covers the metrics aggregate of one promotion (PRO-4) without touching the table.
            models.Index(fields=["clinic", "promotion_key", "status", "patient"], name="redemption_clinic_metrics",
                         include=["discount_amount", "order_total"]),
            models.Index(fields=["clinic", "patient", "-created_at"], name="redemption_clinic_patient"),
            models.Index(fields=["clinic", "status", "-applied_at"], name="redemption_clinic_status"),
        ]

    def __str__(self):
        return f"{self.promotion_name} · {self.get_status_display()}"
