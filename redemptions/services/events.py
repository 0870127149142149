"""Redemption events reported by a clinic's own systems (RED-6): one at a time or in batches.

Each event is checked on its own: a malformed one, an unknown promotion or patient, or one redeemed
before the promotion's reporting start is rejected with its reason while the batch's valid events
are stored. An event id already stored is a duplicate and changes nothing, so a system may send a
batch again after a timeout. A batch is stored whole or not at all (one transaction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.rows import insert_scoped_rows
from redemptions.choices import RedemptionChannel, RedemptionStatus
from redemptions.models import Redemption
from redemptions.registry import PromotionInfo, get_promotion
from redemptions.services.counts import CHUNK, count_reported_redemptions

MAX_BATCH = 10_000
EVENT_FIELDS = frozenset({"event_id", "promotion_id", "patient_id", "external_id", "redeemed_at", "amount", "tier"})
_ID = re.compile(r"^[1-9][0-9]{0,17}$")
_AMOUNT = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")
# The condition of the ledger's unique index on (clinic, event id), as its migration wrote it: SQLite takes
# an ON CONFLICT target on a partial index only when its WHERE reads like the index's own.
EVENT_ID_GIVEN = "NOT (\"event_id\" = '')"
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


@dataclass(frozen=True)
class EventResult:
    event_id: str | None
    status: str
    code: str = ""
    message: str = ""

    def as_dict(self) -> dict:
        body = {"event_id": self.event_id, "status": self.status}
        if self.code:
            body.update(code=self.code, message=self.message)
        return body


@dataclass(frozen=True)
class BatchOutcome:
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]


@dataclass(frozen=True)
class _Event:
    event_id: str
    promotion_id: str
    patient_id: int | None
    external_id: str | None
    redeemed_at: datetime
    amount: Decimal | None
    tier: str


class _Invalid(Exception):
    def __init__(self, message: str):
        self.message = message


def _text(data: dict, name: str, max_length: int, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if type(value) is not str or not value.strip():
        raise _Invalid(f"{name}: give a non-blank string.")
    if len(value) > max_length or not value.isprintable():
        raise _Invalid(f"{name}: give at most {max_length} printable characters.")
    return value


def _read(data) -> _Event:
    """One event's fields, checked; `_Invalid` names the first wrong one."""
    if type(data) is not dict:
        raise _Invalid("Each event is a JSON object.")
    event_id = _text(data, "event_id", 100)
    promotion_id = _text(data, "promotion_id", 40)
    if ("patient_id" in data) == ("external_id" in data):
        raise _Invalid("Give exactly one of patient_id or external_id.")
    patient_id = external_id = None
    if "patient_id" in data:
        raw = data["patient_id"]
        if type(raw) is int and 1 <= raw < 10**18:
            patient_id = raw
        elif type(raw) is str and _ID.match(raw):
            patient_id = int(raw)
        else:
            raise _Invalid('patient_id: give a patient\'s id, e.g. "12".')
    else:
        external_id = _text(data, "external_id", 64)
    raw_time = data.get("redeemed_at")
    moment = parse_datetime(raw_time) if type(raw_time) is str and _DATETIME.match(raw_time) else None
    if moment is None:
        raise _Invalid("redeemed_at: give a date-time with its offset, e.g. 2026-12-07T10:30:00Z.")
    if moment > timezone.now() + timedelta(minutes=5):
        raise _Invalid("redeemed_at: a redemption cannot be in the future.")
    amount = None
    if data.get("amount") is not None:
        raw_amount = data["amount"]
        if type(raw_amount) is not str or not _AMOUNT.match(raw_amount):
            raise _Invalid('amount: give the amount as a string of digits with up to two decimals, e.g. "120.50".')
        try:
            amount = Decimal(raw_amount)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise _Invalid("amount: give a decimal amount.") from None
    tier = _text(data, "tier", 40, required=False) or ""
    return _Event(event_id=event_id, promotion_id=promotion_id, patient_id=patient_id, external_id=external_id,
                  redeemed_at=moment, amount=amount, tier=tier)


def _patients(events: list[_Event]) -> tuple[dict[int, int], dict[str, int]]:
    """The clinic's patients the events name, by our id and by the clinic's external id (two queries)."""
    ids = {e.patient_id for e in events if e.patient_id is not None}
    external = {e.external_id for e in events if e.external_id is not None}
    by_id = {pk: pk for pk in Patient.objects.filter(pk__in=ids).values_list("pk", flat=True)} if ids else {}
    by_external = dict(Patient.objects.filter(external_id__in=external).values_list("external_id", "pk")) \
        if external else {}
    return by_id, by_external


def ingest_redemption_events(*, clinic: Clinic, events: list) -> BatchOutcome:
    """Store the valid, new events of a batch as ledger redemptions and count them; report every event."""
    if len(events) > MAX_BATCH:
        raise ValueError(f"At most {MAX_BATCH} events per batch")
    results: list[EventResult | None] = [None] * len(events)
    read: list[tuple[int, _Event]] = []
    for index, data in enumerate(events):
        try:
            read.append((index, _read(data)))
        except _Invalid as invalid:
            event_id = data.get("event_id") if type(data) is dict and type(data.get("event_id")) is str else None
            results[index] = EventResult(event_id, REJECTED, "validation_error", invalid.message)

    promotions: dict[str, PromotionInfo | None] = {}
    for _, event in read:
        if event.promotion_id not in promotions:
            promotions[event.promotion_id] = get_promotion(clinic=clinic, promotion_key=event.promotion_id)
    by_id, by_external = _patients([event for _, event in read])

    candidates: list[tuple[int, _Event, Redemption]] = []
    seen: set[str] = set()
    for index, event in read:
        promotion = promotions[event.promotion_id]
        patient_id = by_id.get(event.patient_id) if event.patient_id is not None else by_external.get(event.external_id)
        if promotion is None:
            results[index] = EventResult(event.event_id, REJECTED, "unknown_promotion",
                                         f"No promotion {event.promotion_id} in this clinic.")
        elif patient_id is None:
            results[index] = EventResult(event.event_id, REJECTED, "unknown_patient", "No such patient in this clinic.")
        elif event.redeemed_at < promotion.reporting_start:
            start = timezone.localtime(promotion.reporting_start).isoformat(timespec="minutes")
            results[index] = EventResult(
                event.event_id, REJECTED, "before_reporting_start",
                f"Redeemed before the promotion's reporting start ({start}); earlier redemptions are not taken.")
        elif event.event_id in seen:
            results[index] = EventResult(event.event_id, DUPLICATE)
        else:
            seen.add(event.event_id)
            candidates.append((index, event, _redemption(clinic, promotion, patient_id, event)))

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Check the ledger rows' foreign keys as they are inserted, not at COMMIT: the batch then takes
            # its patients' key-share locks before it locks their assignments, the order a till's single
            # redemption takes them in (the patient, then the assignment). Checked at COMMIT, a batch
            # holding assignments waited there for a till holding the patient: a deadlock.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        stored: set[str] = set()
        for start in range(0, len(candidates), CHUNK):
            rows = {redemption.event_id: redemption for _, _, redemption in candidates[start:start + CHUNK]}
            for event_id, pk in insert_scoped_rows(list(rows.values()), unless_conflict=("clinic", "event_id"),
                                                   conflict_where=EVENT_ID_GIVEN, returning=("event_id", "id")):
                stored.add(event_id)
                rows[event_id].pk = pk
        new = [redemption for _, event, redemption in candidates if event.event_id in stored]
        count_reported_redemptions(clinic=clinic, redemptions=new)
    for index, event, _ in candidates:
        results[index] = EventResult(event.event_id, ACCEPTED if event.event_id in stored else DUPLICATE)
    final = [result for result in results if result is not None]
    return BatchOutcome(accepted=sum(r.status == ACCEPTED for r in final),
                        duplicates=sum(r.status == DUPLICATE for r in final),
                        rejected=sum(r.status == REJECTED for r in final), results=final)


def _redemption(clinic: Clinic, promotion: PromotionInfo, patient_id: int, event: _Event) -> Redemption:
    return Redemption(
        clinic_id=clinic.pk, patient_id=patient_id, status=RedemptionStatus.APPLIED, promotion_key=promotion.key,
        promotion_kind=promotion.kind, promotion_id=promotion.id, promotion_name=promotion.name[:200],
        discount_type=promotion.discount_type, discount_value=promotion.discount_value,
        discount_label=promotion.discount_label[:80], applied_at=event.redeemed_at, order_total=event.amount,
        channel=RedemptionChannel.EVENT, tier=event.tier, event_id=event.event_id)
