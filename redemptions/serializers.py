"""Serializers for offer responses: what the app, the point of sale and staff read and send (API.md, RED-1 … RED-4)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.serializers import PATIENT_EITHER_WAY, IdInput
from redemptions.choices import ResponseStatus


class UsagePeriodOutput(serializers.Serializer):
    from_ = fields.DateField(allow_null=True, source="usage_from")
    until = fields.DateField(allow_null=True, source="usage_until")
    current = serializers.SerializerMethodField()

    class Meta:
        ref_name = "ResponseUsagePeriod"

    def get_fields(self):
        result = super().get_fields()
        result["from"] = result.pop("from_")
        return result

    def get_current(self, response) -> bool:
        return response.in_usage_period(self.context["today"])


class TransitionOutput(serializers.Serializer):
    from_ = fields.CharField(source="from_status", help_text="Empty for the response's creation.")
    to = fields.CharField(source="to_status")
    by = serializers.SerializerMethodField(help_text='"staff", "patient", "pos" or "system", and a name.')
    reason = fields.CharField()
    at = fields.DateTimeField(source="created_at")

    class Meta:
        ref_name = "ResponseTransition"

    def get_fields(self):
        result = super().get_fields()
        result["from"] = result.pop("from_")
        return result

    def get_by(self, row) -> dict:
        return {"kind": row.actor_kind, "name": row.actor_name}


class OfferResponseOutput(serializers.Serializer):
    id = fields.CharField()
    offer_id = fields.CharField(source="promotion_key", help_text='A promotion id, e.g. "offer_12".')
    offer_kind = fields.CharField(source="promotion_kind")
    offer_name = fields.CharField(source="promotion_name")
    title = fields.CharField()
    description = fields.CharField()
    discount_label = fields.CharField()
    patient_id = fields.CharField()
    certificate_code = fields.CharField(allow_null=True)
    status = fields.ChoiceField(choices=ResponseStatus.choices)
    clip_required = fields.BooleanField()
    usage_period = serializers.SerializerMethodField()
    expires_at = fields.DateTimeField(allow_null=True)
    created_at = fields.DateTimeField()
    history = serializers.SerializerMethodField()

    class Meta:
        ref_name = "OfferResponse"

    def to_representation(self, response):
        body = super().to_representation(response)
        body["certificate_code"] = response.certificate_code or None
        return body

    @extend_schema_field(UsagePeriodOutput)
    def get_usage_period(self, response):
        return UsagePeriodOutput(response, context=self.context).data

    @extend_schema_field(TransitionOutput(many=True))
    def get_history(self, response):
        rows = self.context["history"].get(response.pk, [])
        return TransitionOutput(rows, many=True).data


class CompleteInput(serializers.Serializer):
    class OrderInput(serializers.Serializer):
        reference = fields.CharField(max_length=64)
        total = fields.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"),
                                    help_text="The order's amount before this offer's discount.")

        class Meta:
            ref_name = "ResponseCompleteOrder"

    order = OrderInput(required=False, help_text="The purchase it was used in; recorded as the patient's order.")

    class Meta:
        ref_name = "ResponseCompleteInput"


class CancelInput(serializers.Serializer):
    reason = fields.CharField(max_length=300, required=False, allow_blank=True)

    class Meta:
        ref_name = "ResponseCancelInput"


class TransitionInput(serializers.Serializer):
    to = fields.ChoiceField(choices=ResponseStatus.choices)
    reason = fields.CharField(max_length=300, required=False, allow_blank=True)

    class Meta:
        ref_name = "ResponseTransitionInput"


# --- redemption events (RED-6) -------------------------------------------------------------------------


class RedemptionEventInput(serializers.Serializer):
    """One redemption made in the clinic's own system (the schema; `services.events` reads it)."""

    event_id = fields.CharField(max_length=100, help_text="Your id for this event: sent again, it is a duplicate.")
    promotion_id = fields.CharField(max_length=40, help_text='As `GET /api/v1/staff/promotions` lists it, e.g. "promo_12".')
    patient_id = IdInput(required=False)
    external_id = fields.CharField(max_length=64, required=False, help_text="The patient's id in your system.")
    redeemed_at = fields.DateTimeField(help_text="When it was redeemed, with its offset; not before the "
                                                 "promotion's reporting start.")
    amount = fields.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False,
                                 allow_null=True, help_text="The purchase it was redeemed on.")
    tier = fields.CharField(max_length=40, required=False, help_text='For a tiered promo, the tier reached by its '
                                                                      'minimum order, e.g. "100.00".')

    schema_rules = PATIENT_EITHER_WAY

    class Meta:
        ref_name = "RedemptionEvent"


@extend_schema_field({"type": "object", "description": "A RedemptionEvent. Each is checked on its own: a wrong "
                      "one is rejected in `results` while the rest are stored."})
class _EventItem(serializers.JSONField):
    pass


class RedemptionEventBatchInput(serializers.Serializer):
    events = serializers.ListField(child=_EventItem(), min_length=1, max_length=10_000)

    class Meta:
        ref_name = "RedemptionEventBatch"


class RedemptionEventOutput(serializers.Serializer):
    status = fields.ChoiceField(choices=["accepted", "duplicate"])

    class Meta:
        ref_name = "RedemptionEventOutcome"


class RedemptionEventResultOutput(serializers.Serializer):
    event_id = fields.CharField(allow_null=True)
    status = fields.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    code = fields.ChoiceField(required=False, choices=["validation_error", "unknown_promotion", "unknown_patient",
                                                       "before_reporting_start"])
    message = fields.CharField(required=False)

    class Meta:
        ref_name = "RedemptionEventResult"


class RedemptionEventBatchOutput(serializers.Serializer):
    accepted = fields.IntegerField()
    duplicates = fields.IntegerField()
    rejected = fields.IntegerField()
    results = RedemptionEventResultOutput(many=True)

    class Meta:
        ref_name = "RedemptionEventBatchOutcome"


class EventImportRejectionOutput(serializers.Serializer):
    line = fields.IntegerField()
    event_id = fields.CharField(allow_null=True)
    status = fields.CharField()
    code = fields.CharField()
    message = fields.CharField()

    class Meta:
        ref_name = "EventImportRejection"


class EventImportOutput(serializers.Serializer):
    id = fields.CharField()
    status = fields.ChoiceField(choices=["queued", "running", "done", "failed"])
    size = fields.IntegerField(help_text="Bytes received.")
    lines_done = fields.IntegerField(help_text="Lines of the file read so far.")
    accepted = fields.IntegerField()
    duplicates = fields.IntegerField()
    rejected = fields.IntegerField()
    rejections = EventImportRejectionOutput(many=True, help_text="The first 1,000 rejected lines and why.")
    error = fields.CharField()
    created_at = fields.DateTimeField()
    started_at = fields.DateTimeField(allow_null=True)
    finished_at = fields.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "EventImport"
