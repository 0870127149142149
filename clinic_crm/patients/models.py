"""Patients of a clinic (CORE-3) and their app sign-in codes."""

from django.db import models
from django.db.models.functions import Lower

from clinic_crm.common.models import TimeStampedModel
from clinic_crm.patients.choices import RfmSegment
from clinic_crm.tenancy.models import TenantModel


class Patient(TenantModel, TimeStampedModel):
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    external_id = models.CharField(
        max_length=64,
        help_text="The id the clinic's booking system and the app use for this patient; push targeting uses it.",
    )
    push_enabled = models.BooleanField(default=False)
    custom_fields = models.JSONField(default=dict, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "external_id"], name="patient_unique_external_id"),
        ]
        indexes = [
            models.Index("clinic", Lower("email"), name="patient_clinic_email"),
            models.Index(fields=["clinic", "last_name", "first_name"], name="patient_clinic_name"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def initials(self) -> str:
        return (self.first_name[:1] + self.last_name[:1]).upper()


class SignInCode(TenantModel):
    """A one-time code e-mailed to a patient for the app's sign-in. Only its hash is kept."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="sign_in_codes")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "patient", "-created_at"], name="signincode_clinic_patient")]


class RfmScore(TenantModel):
    """A patient's RFM scores (quintiles 1–5 within the clinic) and named segment (COU-9).

    Rewritten for a whole clinic at once by `recompute_rfm` (one set-based statement); patients
    with no order have no row. Kept beside the patient, not on it, so the patient's own row (read
    on every till redeem) stays as narrow as it is.
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="rfm")
    recency = models.PositiveSmallIntegerField()
    frequency = models.PositiveSmallIntegerField()
    monetary = models.PositiveSmallIntegerField()
    segment = models.CharField(max_length=24, choices=RfmSegment.choices)
    computed_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        ordering = ["patient_id"]
        indexes = [models.Index(fields=["clinic", "segment"], name="rfmscore_clinic_segment")]

    def __str__(self):
        return f"{self.get_segment_display()} (R{self.recency} F{self.frequency} M{self.monetary})"
