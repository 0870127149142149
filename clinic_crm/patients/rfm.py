"""RFM segmentation of a clinic's patients from their orders (COU-9).

Each patient with at least one order gets three scores from 1 to 5, by quintile of rank within
the clinic: recency (the latest order; most recent is 5), frequency (number of orders) and
monetary (sum of order totals). A score is `1 + 5 * (rank - 1) / patients`, integer division,
with RANK() so that equal values share a score: five patients with distinct values score 1 to 5,
and every single-visit patient has the same frequency score. The scores then map to a named
segment by the first matching rule of `SEGMENT_RULES`.

`recompute_rfm` replaces the clinic's rows with one DELETE and one INSERT … SELECT, so its
query count is the same for ten patients or a hundred thousand.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from clinic_crm.orders.models import Order
from clinic_crm.patients.choices import RfmSegment
from clinic_crm.patients.models import RfmScore
from clinic_crm.tenancy.models import Clinic

# (segment, recency range, frequency range, monetary range), first match wins; ranges inclusive.
SEGMENT_RULES: list[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]]] = [
    (RfmSegment.CHAMPIONS, (4, 5), (4, 5), (4, 5)),
    (RfmSegment.LOYAL, (3, 5), (4, 5), (1, 5)),
    (RfmSegment.POTENTIAL_LOYALIST, (4, 5), (2, 3), (1, 5)),
    (RfmSegment.NEW, (4, 5), (1, 1), (1, 5)),
    (RfmSegment.AT_RISK, (1, 2), (3, 5), (1, 5)),
    (RfmSegment.HIBERNATING, (2, 2), (1, 2), (1, 5)),
    (RfmSegment.LOST, (1, 1), (1, 2), (1, 5)),
]
FALLBACK_SEGMENT = RfmSegment.NEEDS_ATTENTION  # recency 3 with few visits


def _segment_case() -> tuple[str, list]:
    whens, params = [], []
    for segment, (r_lo, r_hi), (f_lo, f_hi), (m_lo, m_hi) in SEGMENT_RULES:
        whens.append("WHEN r BETWEEN %s AND %s AND f BETWEEN %s AND %s AND m BETWEEN %s AND %s THEN %s")
        params += [r_lo, r_hi, f_lo, f_hi, m_lo, m_hi, segment.value]
    return f"CASE {' '.join(whens)} ELSE %s END", [*params, FALLBACK_SEGMENT.value]


def _score(column: str) -> str:
    return f"1 + 5 * (RANK() OVER (ORDER BY {column}) - 1) / COUNT(*) OVER ()"


@transaction.atomic
def recompute_rfm(*, clinic: Clinic) -> int:
    """Rewrite the scores and segments of every patient of `clinic` (in scope); returns how many."""
    # Serialise recomputations of one clinic: two at once would both delete, then both insert.
    Clinic.objects.select_for_update().filter(pk=clinic.pk).values_list("pk", flat=True).get()
    RfmScore.objects.filter(clinic=clinic).delete()
    case_sql, case_params = _segment_case()
    sql = f"""
        INSERT INTO {RfmScore._meta.db_table}
            (clinic_id, patient_id, recency, frequency, monetary, segment, computed_at)
        SELECT clinic_id, patient_id, r, f, m, {case_sql}, %s
        FROM (
            SELECT clinic_id, patient_id,
                   {_score("last_order_at")} AS r, {_score("orders")} AS f, {_score("spent")} AS m
            FROM (
                SELECT clinic_id, patient_id, MAX(placed_at) AS last_order_at, COUNT(*) AS orders,
                       SUM(total) AS spent
                FROM {Order._meta.db_table}
                WHERE clinic_id = %s
                GROUP BY clinic_id, patient_id
            ) AS per_patient
        ) AS scored
    """
    with connection.cursor() as cursor:
        computed_at = connection.ops.adapt_datetimefield_value(timezone.now())
        cursor.execute(sql, [*case_params, computed_at, clinic.pk])
        return cursor.rowcount
