"""The redemption ledger: every assignment and redemption of every promotion kind lands here
(DESIGN, Architecture): redemptions, and offer responses with their status history (RED-1, RED-2)."""

from django.db import models

from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.models import TenantModel
from redemptions.choices import (
    ActorKind,
    AssignmentSource,
    ExportFormat,
    ExportSchedule,
    ExportStatus,
    ImportStatus,
    RedemptionChannel,
    RedemptionStatus,
    ResponseSource,
    ResponseStatus,
)


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
    channel = models.CharField(max_length=8, choices=RedemptionChannel.choices, default=RedemptionChannel.POS)
    tier = models.CharField(max_length=40, blank=True)  # the tier applied, for tiered promotions
    # A reported redemption's own id (RED-6): a replay of the same id is a duplicate, not a second row.
    event_id = models.CharField(max_length=100, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "event_id"], condition=~models.Q(event_id=""),
                                    name="redemption_unique_event"),
        ]
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


class Assignment(TenantModel):
    """That a patient holds a promotion: given (claimed, an occasion, an audience, a card) or, for one
    redeemed unprompted, by that redemption. One row per patient and promotion (RED-7).

    A redemption rate is redeemed ÷ assigned over these rows: patients, not redemptions, so a patient
    who uses a code three times counts once on each side.
    """

    promotion_key = models.CharField(max_length=40)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=AssignmentSource.choices)
    assigned_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)  # the first redemption
    redemptions = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        ordering = ["-assigned_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "promotion_key", "patient"], name="assignment_once_per_patient"),
        ]
        indexes = [models.Index(fields=["clinic", "patient"], name="assignment_clinic_patient")]

    def __str__(self):
        return f"{self.promotion_key} → patient {self.patient_id}"


class PromotionTally(TenantModel):
    """Counts of one promotion on one day (the clinic's date), by channel, RFM segment and tier (RED-7).

    Written as one row per change, never updated, so no redemption waits on another's counter; a
    periodic task folds each clinic's rows into one per day and dimension (`compact_tallies`). The
    Promotions page, a breakdown and Rewards Unlocked sum these rows, a few hundred per promotion
    however long the ledger grows.
    """

    promotion_key = models.CharField(max_length=40)
    day = models.DateField()
    channel = models.CharField(max_length=8, blank=True)  # blank on rows that only count assignments
    segment = models.CharField(max_length=24, blank=True)  # the patient's RFM segment at the time
    tier = models.CharField(max_length=40, blank=True)
    assigned = models.IntegerField(default=0)  # patients newly holding the promotion
    redeemed = models.IntegerField(default=0)  # patients redeeming it for the first time
    redemptions = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta(TenantModel.Meta):
        ordering = ["day", "id"]
        indexes = [
            models.Index(fields=["clinic", "promotion_key", "day"], name="tally_clinic_promotion_day"),
            models.Index(fields=["clinic", "day"], name="tally_clinic_day"),
        ]

    def __str__(self):
        return f"{self.promotion_key} {self.day}"


class OfferResponse(TenantModel):
    """An offer assigned to one patient, claimed or given automatically, used once (RED-1).

    It keeps the offer as it was at assignment (name, words, discount, flow) so later edits of the
    offer never change what the patient holds. Completing it is a ledger redemption (`redemption`).
    """

    promotion_key = models.CharField(max_length=40)  # "offer_12", "automated_offer_3", "promo_7", "card_4"
    promotion_kind = models.CharField(max_length=20)
    promotion_id = models.BigIntegerField()
    promotion_name = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    discount_type = models.CharField(max_length=20, choices=DiscountType.choices)
    discount_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    discount_label = models.CharField(max_length=80)
    details = models.JSONField(default=dict, blank=True, help_text="The offer's other metadata at assignment.")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="offer_responses")
    certificate_code = models.CharField(max_length=24, blank=True)
    status = models.CharField(max_length=12, choices=ResponseStatus.choices, default=ResponseStatus.PENDING)
    # The offer's flow at assignment: clip before use (opt-in), and shipping for physical items.
    clip_required = models.BooleanField(default=False)
    ships = models.BooleanField(default=False)
    usage_from = models.DateField(null=True, blank=True)
    usage_until = models.DateField(null=True, blank=True)  # both empty: usable always
    expires_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=ResponseSource.choices)
    redemption = models.OneToOneField(Redemption, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="offer_response")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "certificate_code"], condition=~models.Q(certificate_code=""),
                                    name="offerresponse_unique_code"),
        ]
        indexes = [
            models.Index(fields=["clinic", "-created_at", "-id"], name="offerresponse_clinic_recent"),
            models.Index(fields=["clinic", "patient", "status"], name="offerresponse_clinic_patient"),
            models.Index(fields=["clinic", "promotion_key", "-created_at"], name="offerresponse_clinic_offer"),
            models.Index(fields=["clinic", "status", "expires_at"], name="offerresponse_clinic_status"),
        ]

    def __str__(self):
        return f"{self.title} · {self.get_status_display()}"

    def in_usage_period(self, today) -> bool:
        """Whether `today` (the clinic's date) is inside the usage period; "always" when it has none."""
        return (self.usage_from is None or self.usage_from <= today) and (
            self.usage_until is None or today <= self.usage_until)


class ResponseTransition(TenantModel):
    """One status change of an offer response: from, to, who and why (RED-2). Append-only in PostgreSQL."""

    response = models.ForeignKey(OfferResponse, on_delete=models.DO_NOTHING, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=ResponseStatus.choices, blank=True)  # blank: created
    to_status = models.CharField(max_length=12, choices=ResponseStatus.choices)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["clinic", "response", "created_at"], name="responsetransition_clinic_resp")]

    def __str__(self):
        return f"{self.from_status or 'new'} → {self.to_status}"


class ExportDefinition(TenantModel):
    """Which fields of the offer responses, filtered how, in which format, and when to run (RED-5)."""

    name = models.CharField(max_length=120)
    fields = models.JSONField(help_text="Field keys, in column order (redemptions.exports.FIELDS).")
    filters = models.JSONField(default=dict, blank=True, help_text="status, offer, kind, usage, created_from/to.")
    format = models.CharField(max_length=5, choices=ExportFormat.choices, default=ExportFormat.CSV)
    schedule = models.CharField(max_length=6, choices=ExportSchedule.choices, default=ExportSchedule.NONE)
    keep_files = models.PositiveSmallIntegerField(default=5, help_text="How many recent files are kept.")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["clinic", "schedule"], name="exportdefinition_clinic_sched")]

    def __str__(self):
        return self.name


class ExportRun(TenantModel):
    """One run of an export definition: its progress while it runs, then its file (RED-5)."""

    definition = models.ForeignKey(ExportDefinition, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    scheduled = models.BooleanField(default=False)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "definition", "-created_at"], name="exportrun_clinic_definition")]

    def __str__(self):
        return f"{self.definition} · {self.get_status_display()}"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0


class EventImport(TenantModel):
    """A file of redemption events (one JSON object a line) sent for a backfill, stored, then read
    by a Celery worker 10,000 events at a time (RED-6)."""

    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    file_name = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField(default=0)
    lines_done = models.PositiveIntegerField(default=0)  # where a redelivered task picks up
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejections = models.JSONField(default=list, blank=True, help_text="The first 1,000 rejected lines and why.")
    error = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="eventimport_clinic_recent")]

    def __str__(self):
        return f"Import {self.pk} · {self.get_status_display()}"
