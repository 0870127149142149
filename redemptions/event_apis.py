"""Redemption events from a clinic's own systems, one at a time or in batches (API.md, RED-6)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clinic_crm.common.api import ROW_ID, ClinicApi, row_id_parameter
from clinic_crm.common.errors import ApplicationError, Conflict, NotFound
from clinic_crm.common.schema import ErrorSerializer
from clinic_crm.tenancy.auth import ApiKeyAuthentication
from clinic_crm.tenancy.permissions import HasApiScope
from redemptions import dispatch
from redemptions.models import EventImport
from redemptions.serializers import (
    EventImportOutput,
    RedemptionEventBatchInput,
    RedemptionEventBatchOutput,
    RedemptionEventInput,
    RedemptionEventOutput,
)
from redemptions.services.events import MAX_BATCH, REJECTED, ingest_redemption_events

REFUSALS = {"validation_error": ApplicationError, "unknown_promotion": NotFound, "unknown_patient": NotFound,
            "before_reporting_start": Conflict}


class _EventsApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("events")]


class EventRedemptionApi(_EventsApi):
    @extend_schema(
        request=RedemptionEventInput, tags=["events"], summary="Report one redemption",
        responses={202: RedemptionEventOutput,
                   409: OpenApiResponse(ErrorSerializer, description="before_reporting_start: redeemed before the "
                                                                     "promotion's reporting start.")},
    )
    def post(self, request):
        """Stored and counted at once: the Promotions page shows it on its next load. An `event_id`
        already stored is `duplicate` and changes nothing. An unknown promotion or patient is 404
        (`unknown_promotion`, `unknown_patient`)."""
        result = ingest_redemption_events(clinic=self.clinic, events=[request.data]).results[0]
        if result.status == REJECTED:
            extra = None
            if result.code == "validation_error":  # the message starts with the field it is about
                field, _, _ = result.message.partition(":")
                extra = {"fields": {field if field in request.data else "non_field_errors": [result.message]}} \
                    if isinstance(request.data, dict) else {"fields": {"non_field_errors": [result.message]}}
            raise REFUSALS[result.code](result.message, code=result.code, extra=extra)
        return Response({"status": result.status}, status=status.HTTP_202_ACCEPTED)


class EventRedemptionBatchApi(_EventsApi):
    @extend_schema(request=RedemptionEventBatchInput, responses={200: RedemptionEventBatchOutput}, tags=["events"],
                   summary="Report up to 10,000 redemptions")
    def post(self, request):
        """Each event is checked on its own: the valid, new ones are stored (all together, or none if
        the batch fails), the rest come back in `results` as `duplicate`, or `rejected` with a `code`
        (`validation_error`, `unknown_promotion`, `unknown_patient`, `before_reporting_start`) and a
        message. Sending the same batch again stores nothing twice."""
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if type(events) is not list or not events or len(events) > MAX_BATCH:
            raise ValidationError({"events": [f"Give a list of 1 to {MAX_BATCH:,} events."]})
        if any(type(event) is not dict for event in events):
            raise ValidationError({"events": ["Each event is a JSON object."]})
        outcome = ingest_redemption_events(clinic=self.clinic, events=events)
        return Response({"accepted": outcome.accepted, "duplicates": outcome.duplicates, "rejected": outcome.rejected,
                         "results": [result.as_dict() for result in outcome.results]})


IMPORT_ID = row_id_parameter("import_id", "event import")


def _import_body(row) -> dict:
    return EventImportOutput(row).data


class EventImportApi(_EventsApi):
    @extend_schema(
        request={"application/x-ndjson": {
            # The file's lines, as a list; a file of one line is one object.
            "oneOf": [{"type": "array", "items": {"type": "object"}, "minItems": 1}, {"type": "object"}],
            "description": "One RedemptionEvent as a JSON object per line; each line is checked on its own."}},
        responses={202: EventImportOutput}, tags=["events"], summary="Send a file of redemptions (a backfill)",
    )
    def post(self, request):
        """For a backfill larger than a batch: the file is stored as it arrives (up to 512 MB) and read
        by a worker 10,000 events at a time, each line checked as in a batch. Poll the import for its
        progress, counts and the first 1,000 rejected lines."""
        who = f"API key “{request.user.api_key.name}”"
        row = dispatch.start_event_import(clinic=self.clinic, stream=request._request, created_by=who)
        row.refresh_from_db()  # read already, where the worker runs in the request (tests, eager Celery)
        return Response(_import_body(row), status=status.HTTP_202_ACCEPTED)


class EventImportDetailApi(_EventsApi):
    @extend_schema(parameters=[IMPORT_ID], responses={200: EventImportOutput}, tags=["events"],
                   summary="An import's progress and outcome")
    def get(self, request, import_id):
        row = EventImport.objects.filter(pk=int(import_id)).first() if ROW_ID.match(import_id) else None
        if row is None:
            raise NotFound("No such import.")
        return Response(_import_body(row))
