"""Promo codes (PRO-1, PRO-2), their tiers and codes, per-customer counters and the activity log (PRO-5)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from clinic_crm.common.choices import DiscountType
from clinic_crm.common.models import DiscountTerms, TimeStampedModel
from clinic_crm.tenancy.models import TenantModel
from promos.choices import AppliesTo, Audience, PromoAction, PromoKind, PromoStatus

money = dict(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])


class Promo(TenantModel, DiscountTerms, TimeStampedModel):
    """A promo campaign. Global and tiered promos have one shared code; personalised ones one per patient."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=PromoKind.choices, default=PromoKind.GLOBAL)
    status = models.CharField(max_length=10, choices=PromoStatus.choices, default=PromoStatus.DRAFT)
    applies_to = models.CharField(max_length=20, choices=AppliesTo.choices, default=AppliesTo.ALL)
    applies_to_items = models.JSONField(default=list, blank=True, help_text="Service or category names.")
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.EVERYONE)
    audience_segment = models.CharField(max_length=40, blank=True)
    min_order = models.DecimalField(null=True, blank=True, **money)
    max_uses = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    show_banner = models.BooleanField(default=False)
    auto_apply = models.BooleanField(default=False)
    marketing_cost = models.DecimalField(null=True, blank=True, **money)
    budget = models.DecimalField(null=True, blank=True, help_text="Most discount to give in total.", **money)
    # Counters changed only by conditional UPDATEs in services (never read-modify-write).
    uses = models.PositiveIntegerField(default=0)
    discounted = models.DecimalField(default=Decimal("0.00"), **money)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "status", "-created_at"], name="promo_clinic_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(uses__lte=models.F("max_uses")),
                name="promo_uses_within_cap",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def promotion_key(self) -> str:
        return f"promo_{self.pk}"

    def is_scheduled(self, now=None) -> bool:
        """Active, but before its start: customers are told when it starts, not that it works."""
        now = now or timezone.now()
        return (self.status == PromoStatus.ACTIVE and self.starts_at is not None and self.starts_at > now
                and not self.is_expired(now))

    def is_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == PromoStatus.ARCHIVED or (self.ends_at is not None and self.ends_at <= now)


class PromoTier(TenantModel):
    """For tiered promos: from this order total up, this discount (the highest tier reached wins)."""

    promo = models.ForeignKey(Promo, on_delete=models.CASCADE, related_name="tiers")
    min_order = models.DecimalField(**money)
    discount_type = models.CharField(max_length=20, choices=DiscountType.choices, default=DiscountType.PERCENT)
    discount_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["promo_id", "min_order"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "promo", "min_order"], name="promotier_unique_threshold"),
        ]


class PromoCode(TenantModel):
    """A code customers type. Unique per clinic, whatever the case; bound to a patient when personalised."""

    promo = models.ForeignKey(Promo, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=40)
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="promo_codes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["promo_id", "code"]
        constraints = [
            models.UniqueConstraint("clinic", Lower("code"), name="promocode_unique_per_clinic_ci"),
        ]
        indexes = [models.Index(fields=["clinic", "promo"], name="promocode_clinic_promo")]

    def __str__(self):
        return self.code


class PromoAudienceMember(TenantModel):
    """A patient named in a promo's audience (audience "Named patients")."""

    promo = models.ForeignKey(Promo, on_delete=models.CASCADE, related_name="audience_members")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["promo_id", "patient_id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "promo", "patient"], name="promoaudience_unique_patient"),
        ]


class PromoCustomerUsage(TenantModel):
    """How often one patient used one promo: the per-customer cap is a conditional upsert on this row."""

    promo = models.ForeignKey(Promo, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    uses = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        ordering = ["promo_id", "patient_id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "promo", "patient"], name="promousage_unique_patient"),
        ]


class PromoActivity(TenantModel):
    """One row per change (PRO-5). Append-only in PostgreSQL itself: a trigger refuses UPDATE and DELETE.

    The actor's name and e-mail are copied as they were at the time, so renaming a user later
    never rewrites the log.
    """

    promo = models.ForeignKey(Promo, on_delete=models.DO_NOTHING, related_name="activity", db_constraint=True)
    action = models.CharField(max_length=20, choices=PromoAction.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    actor_email = models.EmailField()
    diff = models.JSONField(default=dict, blank=True)  # {"field": {"before": …, "after": …}}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "promo", "-created_at"], name="promoactivity_clinic_promo")]
        verbose_name_plural = "promo activity"
