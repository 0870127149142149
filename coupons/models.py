"""Card templates, the cards customers hold, each card's activity log, and the feedback customers
leave (COU-1, COU-2, COU-6, COU-8)."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from clinic_crm.common.fields import EncryptedTextField
from clinic_crm.common.models import DiscountTerms, TimeStampedModel
from clinic_crm.tenancy.models import TenantModel
from coupons.choices import CardAction, CardKind, CardStatus, CouponStatus, InstalledOn

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #0f766e.")


def new_serial() -> str:
    """A card's serial: 16 characters from 32, 80 bits, shown in groups ("K7QM-3XCA-…")."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def new_link_token() -> str:
    return secrets.token_urlsafe(24)


class CardTemplate(TenantModel, DiscountTerms, TimeStampedModel):
    """A card design and its rules: coupon, stamp or reward (COU-1).

    A coupon may link to a stamp or reward template: redeeming it gives the customer that card
    (COU-4). A stamp card collects `stamps_required` stamps, then gives its reward template's card.
    """

    kind = models.CharField(max_length=10, choices=CardKind.choices, default=CardKind.COUPON)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    colour = models.CharField("card colour", max_length=7, default="#0f766e", validators=[hex_colour])
    logo_url = models.URLField(blank=True)
    validity_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Valid this many days after it is issued.")
    valid_until = models.DateField(null=True, blank=True, help_text="Or valid until this date, for every card.")
    purchase_amount_required = models.BooleanField(
        default=False, help_text="Staff and tills must enter the purchase amount to redeem.")
    linked_template = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", help_text="Coupons: the card it turns into once redeemed.")
    stamps_required = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Stamp cards: stamps that earn the reward.")
    reward_template = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                        help_text="Stamp cards: the reward card a full card earns.")
    # Asked on the installation page: [{"key": "favourite_treatment", "label": "Favourite treatment",
    # "required": false}, …]
    custom_fields = models.JSONField(default=list, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "kind", "-created_at"], name="cardtemplate_clinic_kind")]

    def __str__(self):
        return self.name

    @property
    def promotion_key(self) -> str:
        return f"card_{self.pk}"


class Card(TenantModel, TimeStampedModel):
    """A card held by one customer (COU-2): its serial, where it is installed, its state."""

    template = models.ForeignKey(CardTemplate, on_delete=models.PROTECT, related_name="cards")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="cards")
    serial = models.CharField(max_length=19, unique=True, default=new_serial, editable=False)
    install_token = models.CharField(max_length=40, unique=True, default=new_link_token, editable=False)
    referral_token = models.CharField(max_length=40, unique=True, default=new_link_token, editable=False)
    status = models.CharField(max_length=15, choices=CardStatus.choices, default=CardStatus.NOT_INSTALLED)
    installed_on = models.CharField(max_length=15, choices=InstalledOn.choices, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    utm = models.CharField("UTM channel", max_length=80, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField(null=True, blank=True)
    coupon_status = models.CharField(max_length=10, choices=CouponStatus.choices, default=CouponStatus.ACTIVE)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    stamps = models.PositiveSmallIntegerField(default=0)
    custom_fields = models.JSONField(default=dict, blank=True)
    # The holder as the card was issued to them, as the card shows them; editing the patient's
    # details later (the profile's Information tab) leaves these as they were (COU-8).
    holder_name = models.CharField(max_length=161, blank=True)
    holder_email = models.EmailField(blank=True)
    holder_phone = models.CharField(max_length=32, blank=True)
    referred_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals")
    converted_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="conversions")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "template", "status"], name="card_clinic_template_status"),
            models.Index(fields=["clinic", "patient", "-issued_at"], name="card_clinic_patient"),
        ]

    def __str__(self):
        return f"{self.template} · {self.serial}"

    @property
    def kind(self) -> str:
        return self.template.kind

    @property
    def push_key(self) -> str:
        """How the card's pushes are named in the push history and the schedule (COU-7); not a
        promotion id ("card_7" is its template's)."""
        return f"customer_card_{self.pk}"

    @property
    def is_deleted(self) -> bool:
        return self.status == CardStatus.DELETED

    def is_expired(self, today) -> bool:
        return self.expires_on is not None and self.expires_on < today


class CardActivity(TenantModel):
    """One row per change to a card (COU-6). Append-only in PostgreSQL itself, like the promos' log."""

    card = models.ForeignKey(Card, on_delete=models.DO_NOTHING, related_name="activity")
    action = models.CharField(max_length=20, choices=CardAction.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    actor_email = models.CharField(max_length=254, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "card", "-created_at"], name="cardactivity_clinic_card")]
        verbose_name_plural = "card activity"


class Feedback(TenantModel):
    """A rating from 1 to 5 and an optional comment a patient leaves in the app (COU-8)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="feedback")
    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback",
                             help_text="The card it was left about, when the app named one.")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5),
                                              name="feedback_rating_1_to_5")]
        indexes = [models.Index(fields=["clinic", "patient", "-created_at"], name="feedback_clinic_patient")]

    def __str__(self):
        return f"{self.rating}/5 from {self.patient_id}"


class WalletPassConfig(TenantModel, TimeStampedModel):
    """The clinic's Apple Wallet pass certificate: with it, cards install as signed `.pkpass` passes (COU-2).

    From the clinic's Apple developer account: a Pass Type ID certificate and its private key (kept
    encrypted at rest), and Apple's WWDR intermediate certificate that issued it.
    """

    pass_type_identifier = models.CharField(
        "Pass Type ID", max_length=128,
        validators=[RegexValidator(r"^pass\.[A-Za-z0-9][A-Za-z0-9.-]*$", "A Pass Type ID looks like pass.com.yourclinic.cards.")])
    team_identifier = models.CharField(
        "Team ID", max_length=10, validators=[RegexValidator(r"^[A-Z0-9]{10}$", "A Team ID is 10 letters and digits.")])
    certificate_pem = models.TextField("Pass certificate (PEM)")
    private_key_pem = EncryptedTextField("Private key (PEM)")
    wwdr_certificate_pem = models.TextField("Apple WWDR certificate (PEM)")

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["clinic"], name="walletpassconfig_one_per_clinic")]
        verbose_name = "Apple Wallet pass certificate"

    def __str__(self):
        return self.pass_type_identifier
