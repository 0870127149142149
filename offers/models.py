"""One-time offers, the automated occasion offers of each clinic, and their firings (OFF-1 … OFF-4)."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic_crm.common.models import DiscountTerms, TimeStampedModel
from clinic_crm.tenancy.models import TenantModel
from offers.choices import Occasion
from offers.push_text import render_push_text


class Offer(TenantModel, DiscountTerms, TimeStampedModel):
    """A one-time offer (OFF-1): shown in the app while published, active and inside its dates."""

    name = models.CharField(max_length=120, help_text="Internal name, shown in the dashboard.")
    title = models.CharField(max_length=120, help_text="The headline patients see in the app.")
    description = models.TextField(blank=True)
    image_url = models.URLField(blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True, help_text="Off stops new redemptions; ones already made stand.")
    published = models.BooleanField(default=False, help_text="Visible in the patient app.")
    max_uses = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    current_uses = models.PositiveIntegerField(default=0)
    # How responses to it behave (RED-1, RED-2): the clip opt-in, the shipping flow, several per patient.
    clip_required = models.BooleanField(default=False, help_text="Patients clip it in the app before it can be used.")
    ships_item = models.BooleanField(default=False, help_text="A physical item is shipped: Processing, then Shipping.")
    allow_multiple_responses = models.BooleanField(default=False, help_text="A patient may claim it more than once.")
    certificate_codes = models.BooleanField(default=True, help_text="Each response gets its own certificate code.")

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "published", "active"], name="offer_clinic_visible")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(current_uses__lte=models.F("max_uses")),
                name="offer_uses_within_cap",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def promotion_key(self) -> str:
        return f"offer_{self.pk}"

    def clean(self):
        super().clean()  # the discount's own rules (DiscountTerms)
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError({"valid_until": "“Until” must be on or after “From”."})


class AutomatedOffer(TenantModel, DiscountTerms, TimeStampedModel):
    """One per clinic and occasion; configured and toggled, never deleted (OFF-3)."""

    occasion = models.CharField(max_length=20, choices=Occasion.choices)
    push_title = models.CharField(max_length=120, blank=True)
    push_message = models.CharField(max_length=500, blank=True)
    validity_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="How long the offer can be redeemed after the occasion fires.",
    )
    active = models.BooleanField(default=False, help_text="The automation fires on the occasion.")
    published = models.BooleanField(default=False, help_text="Visible in the patient app.")
    # The app shows an occasion offer only once it fires (until it can no longer be redeemed), or
    # this many days before, as a "coming soon" card; never months ahead.
    app_lead_days = models.PositiveSmallIntegerField(
        default=0, db_default=0, validators=[MaxValueValidator(30)],
        help_text="Show it in the app this many days before it fires (0: from the day it fires).")
    # Set when the occasion fires: the last day the offer can be redeemed for that occurrence.
    redeemable_until = models.DateField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["clinic_id", "occasion"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "occasion"], name="automatedoffer_one_per_occasion"),
        ]

    def __str__(self):
        return self.get_occasion_display()

    @property
    def promotion_key(self) -> str:
        return f"automated_offer_{self.pk}"

    def push_texts(self, *, currency: str, clinic_name: str) -> tuple[str, str]:
        """Its push title and message as patients read them, placeholders filled in."""
        label = self.discount_label_in(currency)
        return (render_push_text(self.push_title or self.get_occasion_display(), discount_label=label,
                                 clinic_name=clinic_name),
                render_push_text(self.push_message, discount_label=label, clinic_name=clinic_name))


class OccasionFiring(TenantModel):
    """That an automated offer fired for one occurrence. The unique constraint is what makes a
    retried task, a second worker or a second beat unable to fire it twice (OFF-4)."""

    automated_offer = models.ForeignKey(AutomatedOffer, on_delete=models.CASCADE, related_name="firings")
    occurrence = models.DateField()
    fired_at = models.DateTimeField(auto_now_add=True)
    push = models.ForeignKey("notifications.PushNotification", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-fired_at"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "automated_offer", "occurrence"], name="firing_once_per_occurrence"),
        ]
