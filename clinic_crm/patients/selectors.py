"""Reads on patients (CORE-3, CORE-6)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource
from clinic_crm.orders.models import Order
from clinic_crm.patients.choices import RfmSegment
from clinic_crm.patients.models import Patient, RfmScore
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.rows import get_scoped_row


PATIENT_SORTS = {
    "name": ("last_name", "first_name", "id"), "-name": ("-last_name", "-first_name", "-id"),
    "joined": ("created_at", "id"), "-joined": ("-created_at", "-id"),
    "visit": (F("last_visit_at").asc(nulls_first=True), "id"), "-visit": (F("last_visit_at").desc(nulls_last=True), "-id"),
}


def list_patients(*, search: str = "", segment: str = "", sort: str = "") -> QuerySet[Patient]:
    """Patients of the clinic in scope with their RFM row, optionally matching a name, e-mail,
    phone or external id, optionally in one RFM segment, sorted by a column of the list."""
    queryset = Patient.objects.select_related("rfm")
    if sort in PATIENT_SORTS:
        queryset = queryset.order_by(*PATIENT_SORTS[sort])
    if segment:
        queryset = queryset.filter(rfm__segment=segment)
    for term in search.split():
        queryset = queryset.filter(
            Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
            | Q(phone__icontains=term) | Q(external_id__iexact=term)
        )
    return queryset


def get_rfm(*, patient: Patient) -> RfmScore | None:
    """The patient's RFM scores and segment, or None before their first order is scored (COU-9)."""
    return RfmScore.objects.filter(patient=patient).first()


def count_patients_by_segment() -> dict[str, int]:
    """How many of the clinic's patients are in each RFM segment."""
    rows = RfmScore.objects.values("segment").annotate(n=Count("id")).order_by()
    return {row["segment"]: row["n"] for row in rows}


def rfm_computed_at():
    """When the clinic's segments were last recomputed; None before the first time."""
    return RfmScore.objects.aggregate(at=Max("computed_at"))["at"]


def get_patient(*, patient_id) -> Patient:
    return Patient.objects.get(pk=patient_id)


def get_patient_for_api(*, clinic: Clinic, patient_id: int | None = None, external_id: str | None = None) -> Patient:
    """The clinic's patient named by id or by the booking system's external id; 404 `unknown_patient` otherwise.

    `clinic` is the caller's (the one in scope): the patient gets it as its `clinic` without a join.
    """
    from clinic_crm.common.errors import NotFound

    if patient_id:
        patient = get_scoped_row(Patient, where="t.id = %s", params=[int(patient_id)])
    else:
        patient = get_scoped_row(Patient, where="t.external_id = %s", params=[external_id])
    if patient is None:
        raise NotFound("No such patient in this clinic.", code="unknown_patient")
    if patient.clinic_id != clinic.pk:  # the scope and row-level security make this impossible
        raise NotFound("No such patient in this clinic.", code="unknown_patient")
    patient.clinic = clinic
    return patient


@dataclass(frozen=True)
class PatientStats:
    lifetime_value: Decimal
    visits: int
    saved: Decimal
    discounted_orders: int
    last_order_at: object


def get_patient_stats(*, patient: Patient) -> PatientStats:
    """LTV, visits and savings of one patient in one query (CORE-6)."""
    row = Order.objects.filter(patient=patient).aggregate(
        ltv=Sum("total"), visits=Count("id"), saved=Sum("discount_amount"),
        discounted=Count("id", filter=~Q(discount_source=DiscountSource.NONE)), last=Max("placed_at"),
    )
    return PatientStats(
        lifetime_value=row["ltv"] or Decimal("0"), visits=row["visits"], saved=row["saved"] or Decimal("0"),
        discounted_orders=row["discounted"], last_order_at=row["last"],
    )


def iter_patient_rows(*, queryset: QuerySet[Patient]):
    """The patient list as CSV rows, the heading first, read in chunks; times in the active zone."""
    labels = dict(RfmSegment.choices)
    yield ["first_name", "last_name", "email", "phone", "external_id", "date_of_birth", "segment", "push_enabled",
           "last_visit_at"]
    for p in queryset.iterator(chunk_size=2000):
        rfm = getattr(p, "rfm", None)
        yield [p.first_name, p.last_name, p.email, p.phone, p.external_id,
               p.date_of_birth.isoformat() if p.date_of_birth else "", labels.get(rfm.segment, "") if rfm else "",
               "yes" if p.push_enabled else "no",
               timezone.localtime(p.last_visit_at).isoformat(timespec="minutes") if p.last_visit_at else ""]
