"""Who holds each promotion and who redeemed it, counted as it happens (RED-7).

Assignments are one row per patient and promotion. Every change also appends a `PromotionTally`
row (never an update, so a hot promo code's redeems never queue on a counter);
`compact_tallies` folds them later. The Promotions page, a breakdown and Rewards Unlocked then
sum a few rows per promotion and day, however long the ledger is.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic_crm.patients.models import RfmScore
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.rows import (
    execute_prepared,
    get_scoped_row,
    insert_scoped_row,
    insert_scoped_rows,
    inserted,
    scoped_insert,
    update_scoped_rows,
)
from redemptions.choices import AssignmentSource
from redemptions.models import Assignment, PromotionTally, Redemption

ASSIGNMENT_KEY = ("clinic", "promotion_key", "patient")
CHUNK = 500


def clinic_day(clinic: Clinic, moment: datetime) -> date:
    """The clinic's own date at `moment`: tallies are kept by the day the clinic saw."""
    return timezone.localtime(moment, ZoneInfo(clinic.timezone)).date()


def segments_of(patient_ids) -> dict[int, str]:
    """Each patient's RFM segment now ("" for a patient with no orders yet), in one query."""
    return dict(RfmScore.objects.filter(patient_id__in=list(patient_ids)).values_list("patient_id", "segment"))


def _segment_of(patient_id: int) -> str:
    score = get_scoped_row(RfmScore, where="patient_id = %s", params=[patient_id])
    return score.segment if score is not None else ""


@transaction.atomic
def record_assignments(*, clinic: Clinic, promotion_key: str, patient_ids, source: str,
                       at: datetime | None = None) -> int:
    """That each of `patient_ids` now holds the promotion; those who already did are left as they
    are. Returns how many were new. Exact under concurrent callers: only rows that went in count."""
    AssignmentSource(source)
    at = at or timezone.now()
    ids = sorted({int(pk) for pk in patient_ids})
    new: list[int] = []
    for start in range(0, len(ids), CHUNK):
        rows = [Assignment(clinic_id=clinic.pk, promotion_key=promotion_key, patient_id=pk, source=source,
                           assigned_at=at) for pk in ids[start:start + CHUNK]]
        new.extend(pk for (pk,) in insert_scoped_rows(rows, unless_conflict=ASSIGNMENT_KEY, returning=("patient",)))
    if new:
        segments = segments_of(new)  # once: inside the generator it would run once per patient
        by_segment = Counter(segments.get(pk, "") for pk in new)
        day = clinic_day(clinic, at)
        PromotionTally.objects.bulk_create([
            PromotionTally(clinic_id=clinic.pk, promotion_key=promotion_key, day=day, segment=segment, assigned=n)
            for segment, n in sorted(by_segment.items())])
    return len(new)


def count_redemption(*, clinic: Clinic, redemption: Redemption) -> None:
    """Count an applied redemption: the patient's assignment (made now if they held none) and one
    tally row. None of it waits on another patient's redeem."""
    at = redemption.applied_at
    assigned = first = 0
    for _ in range(2):
        first = _bump_assignment(redemption)
        if first is not None:
            break
        row = Assignment(clinic_id=clinic.pk, promotion_key=redemption.promotion_key,
                         patient_id=redemption.patient_id, source=AssignmentSource.REDEMPTION, assigned_at=at,
                         redeemed_at=at, redemptions=1)
        if insert_scoped_row(row, unless_conflict=ASSIGNMENT_KEY):
            assigned = first = 1
            break
        # Another redeem of this patient made the row between the two statements: count on it.
    insert_scoped_row(_tally_of(clinic, redemption, assigned=assigned, redeemed=first, redemptions=1,
                                segment=_segment_of(redemption.patient_id)))


def _bump_assignment(redemption: Redemption) -> int | None:
    """One more redemption on the patient's assignment: 1 if it was their first, 0 if not, None
    when they hold no assignment."""
    rows = update_scoped_rows(
        Assignment, assignments="redemptions = redemptions + 1, redeemed_at = COALESCE(redeemed_at, %s)",
        assignment_params=[redemption.applied_at], where="promotion_key = %s AND patient_id = %s",
        where_params=[redemption.promotion_key, redemption.patient_id], returning="redemptions")
    return int(rows[0][0] == 1) if rows else None


def _tally_of(clinic: Clinic, redemption: Redemption, *, assigned: int, redeemed: int, redemptions: int,
              segment: str) -> PromotionTally:
    return PromotionTally(
        clinic_id=clinic.pk, promotion_key=redemption.promotion_key, day=clinic_day(clinic, redemption.applied_at),
        channel=redemption.channel, segment=segment, tier=redemption.tier, assigned=assigned, redeemed=redeemed,
        redemptions=redemptions, revenue=(redemption.order_total or Decimal("0")) if redemptions else Decimal("0"),
        discount=(redemption.discount_amount or Decimal("0")) if redemptions else Decimal("0"))


# The new ledger row, the patient's assignment and the tally row in one statement: on a POS redeem
# this is the same one round trip the ledger row alone took. A patient holding no assignment gets one
# (ON CONFLICT: unless a concurrent redeem of theirs just made it, which `counted` = 0 reports).
_COUNTED_INSERT_SQL = """
    WITH ledger AS ({insert}),
    bumped AS (
        UPDATE {assignment} SET redemptions = redemptions + 1, redeemed_at = COALESCE(redeemed_at, %s)
        WHERE clinic_id = %s AND promotion_key = %s AND patient_id = %s RETURNING redemptions
    ),
    made AS (
        INSERT INTO {assignment} (clinic_id, promotion_key, patient_id, source, assigned_at, redeemed_at, redemptions)
        SELECT %s::bigint, %s::varchar, %s::bigint, %s::varchar, %s::timestamptz, %s::timestamptz, 1
        WHERE NOT EXISTS (SELECT 1 FROM bumped)
        ON CONFLICT (clinic_id, promotion_key, patient_id) DO NOTHING RETURNING 1
    ),
    tally AS (
        INSERT INTO {tally} (clinic_id, promotion_key, day, channel, segment, tier, assigned, redeemed,
                             redemptions, revenue, discount)
        SELECT %s::bigint, %s::varchar, %s::date, %s::varchar,
               COALESCE((SELECT segment FROM {rfm} WHERE clinic_id = %s AND patient_id = %s), ''), %s::varchar,
               (SELECT count(*) FROM made),
               CASE WHEN EXISTS (SELECT 1 FROM made) OR (SELECT redemptions FROM bumped) = 1 THEN 1 ELSE 0 END,
               1, %s::numeric, %s::numeric
    )
    SELECT (SELECT id FROM ledger), (SELECT count(*) FROM bumped) + (SELECT count(*) FROM made)
"""


def insert_counted_redemption(*, clinic: Clinic, redemption: Redemption) -> None:
    """INSERT a new applied ledger row and count it (`count_redemption`), in one round trip on PostgreSQL."""
    if connection.vendor != "postgresql":
        insert_scoped_row(redemption)
        count_redemption(clinic=clinic, redemption=redemption)
        return
    insert, insert_params = scoped_insert(redemption)
    quote = connection.ops.quote_name
    sql = _COUNTED_INSERT_SQL.format(insert=insert, assignment=quote(Assignment._meta.db_table),
                                     tally=quote(PromotionTally._meta.db_table), rfm=quote(RfmScore._meta.db_table))
    key, patient_id, at = redemption.promotion_key, redemption.patient_id, redemption.applied_at
    params = [
        *insert_params,
        at, clinic.pk, key, patient_id,
        clinic.pk, key, patient_id, AssignmentSource.REDEMPTION, at, at,
        clinic.pk, key, clinic_day(clinic, at), redemption.channel, clinic.pk, patient_id, redemption.tier,
        redemption.order_total or Decimal("0"), redemption.discount_amount or Decimal("0"),
    ]
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        pk, counted = cursor.fetchone()
    inserted(redemption, pk)
    if not counted:
        # The assignment a concurrent redeem made: count this redemption on it, with a tally row
        # that carries only what the first one left out.
        first = _bump_assignment(redemption) or 0
        if first:
            insert_scoped_row(_tally_of(clinic, redemption, assigned=0, redeemed=1, redemptions=0,
                                        segment=_segment_of(patient_id)))


@dataclass
class _Counts:
    assigned: int = 0
    redeemed: int = 0
    redemptions: int = 0
    revenue: Decimal = Decimal("0")


def count_reported_redemptions(*, clinic: Clinic, redemptions: list[Redemption]) -> None:
    """Count a batch of reported redemptions (RED-6) with a handful of statements, not three each."""
    if not redemptions:
        return
    per_pair: dict[tuple[str, int], list[Redemption]] = defaultdict(list)
    for row in redemptions:
        per_pair[(row.promotion_key, row.patient_id)].append(row)
    for rows in per_pair.values():
        rows.sort(key=lambda r: (r.applied_at, r.pk or 0))
    segments = segments_of({patient_id for _, patient_id in per_pair})
    # The earliest redemption of a pair that is a patient's first of the promotion carries "redeemed"
    # (and "assigned" where the redemption is the assignment); every row counts as a redemption.
    firsts: dict[int, tuple[int, int]] = {}  # id(row) -> (assigned, redeemed)

    # In one order, (promotion, patient), as every writer of these rows takes them: two batches at
    # once then wait for each other instead of deadlocking.
    new_rows = [Assignment(clinic_id=clinic.pk, promotion_key=key, patient_id=patient_id,
                           source=AssignmentSource.REDEMPTION, assigned_at=rows[0].applied_at,
                           redeemed_at=rows[0].applied_at, redemptions=len(rows))
                for (key, patient_id), rows in sorted(per_pair.items())]
    inserted: set[tuple[str, int]] = set()
    for start in range(0, len(new_rows), CHUNK):
        inserted.update(insert_scoped_rows(new_rows[start:start + CHUNK], unless_conflict=ASSIGNMENT_KEY,
                                           returning=("promotion_key", "patient")))
    for pair in inserted:
        firsts[id(per_pair[pair][0])] = (1, 1)
    existing = sorted(pair for pair in per_pair if pair not in inserted)
    if existing:
        # Lock exactly the rows this batch counts on: each promotion with its own patients.
        by_key: dict[str, list[int]] = defaultdict(list)
        for key, patient_id in existing:
            by_key[key].append(patient_id)
        wanted = Q()
        for key, patient_ids in by_key.items():
            wanted |= Q(promotion_key=key, patient_id__in=patient_ids)
        held = {(a.promotion_key, a.patient_id): a for a in Assignment.objects.select_for_update()
                .filter(wanted).order_by("promotion_key", "patient_id")}
        changed = []
        for pair in existing:
            assignment, rows = held[pair], per_pair[pair]
            if assignment.redeemed_at is None:
                assignment.redeemed_at = rows[0].applied_at
                firsts[id(rows[0])] = (0, 1)
            assignment.redemptions += len(rows)
            changed.append(assignment)
        Assignment.objects.bulk_update(changed, ["redeemed_at", "redemptions"], batch_size=CHUNK)

    tallies: dict[tuple, _Counts] = defaultdict(_Counts)
    for row in redemptions:
        dims = (row.promotion_key, clinic_day(clinic, row.applied_at), row.channel,
                segments.get(row.patient_id, ""), row.tier)
        counts = tallies[dims]
        assigned, redeemed = firsts.get(id(row), (0, 0))
        counts.assigned += assigned
        counts.redeemed += redeemed
        counts.redemptions += 1
        counts.revenue += row.order_total or Decimal("0")
    PromotionTally.objects.bulk_create([
        PromotionTally(clinic_id=clinic.pk, promotion_key=key, day=day, channel=channel, segment=segment, tier=tier,
                       assigned=c.assigned, redeemed=c.redeemed, redemptions=c.redemptions, revenue=c.revenue)
        for (key, day, channel, segment, tier), c in tallies.items()], batch_size=CHUNK)


TALLY_DIMENSIONS = ("promotion_key", "day", "channel", "segment", "tier")
TALLY_SUMS = ("assigned", "redeemed", "redemptions", "revenue", "discount")


def compact_tallies(*, clinic: Clinic, chunk: int = 20_000) -> int:
    """Fold the clinic's tally rows into one per promotion, day and dimension; returns rows removed.

    Chunk by chunk (each its own transaction, or savepoint inside a caller's): the rows read are
    locked, deleted and replaced by their sums, so a page reading at any moment sees the same
    totals, a concurrent redeem's new row waits for the next run, and two runs at once cannot count
    a row twice. A chunk folds its own rows; what two chunks share is folded by the next run.
    """
    removed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            rows = list(PromotionTally.objects.select_for_update().filter(id__gt=last_id).order_by("id")
                        .values_list("id", *TALLY_DIMENSIONS, *TALLY_SUMS)[:chunk])
            if not rows:
                return removed
            sums: dict[tuple, list] = {}
            for row in rows:
                dims, values = row[1:6], row[6:]
                total = sums.setdefault(dims, [0, 0, 0, Decimal("0"), Decimal("0")])
                for i, value in enumerate(values):
                    total[i] += value
            last_id = rows[-1][0]
            if len(sums) < len(rows):
                PromotionTally.objects.filter(id__in=[row[0] for row in rows]).delete()
                folded = PromotionTally.objects.bulk_create([
                    PromotionTally(clinic_id=clinic.pk, **dict(zip(TALLY_DIMENSIONS, dims)),
                                   **dict(zip(TALLY_SUMS, values)))
                    for dims, values in sums.items()], batch_size=CHUNK)
                removed += len(rows) - len(folded)
                last_id = max(last_id, max(row.pk for row in folded))
        if len(rows) < chunk:
            return removed
