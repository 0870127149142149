"""Reads on orders for the Revenue section and metrics (CORE-4, CORE-5)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Q, QuerySet, Sum

from clinic_crm.common.choices import DiscountSource
from clinic_crm.orders.filters import OrderFilter
from clinic_crm.orders.models import Order


def list_orders(*, filters: dict | None = None, request=None) -> tuple[QuerySet[Order], OrderFilter]:
    """Orders of the clinic in scope, newest first, through the Revenue FilterSet."""
    filterset = OrderFilter(filters or {}, queryset=Order.objects.select_related("patient"), request=request)
    queryset = filterset.qs if filterset.is_valid() else Order.objects.none()
    return queryset, filterset


def get_order(*, order_id) -> Order:
    return Order.objects.select_related("patient").prefetch_related("lines").get(pk=order_id)


@dataclass(frozen=True)
class RevenueSummary:
    orders: int
    revenue: Decimal
    discount_given: Decimal
    discounted_orders: int


def summarise_orders(*, queryset: QuerySet[Order]) -> RevenueSummary:
    """Totals of a filtered order list in one query."""
    row = queryset.order_by().aggregate(
        orders=Count("id"), revenue=Sum("total"), discount=Sum("discount_amount"),
        discounted=Count("id", filter=~Q(discount_source=DiscountSource.NONE)),
    )
    return RevenueSummary(
        orders=row["orders"], revenue=row["revenue"] or Decimal("0"),
        discount_given=row["discount"] or Decimal("0"), discounted_orders=row["discounted"],
    )


def list_recent_orders(*, limit: int = 6) -> QuerySet[Order]:
    """The latest orders of the clinic in scope, with their patients (CORE-5)."""
    return Order.objects.select_related("patient")[:limit]


def list_patient_orders(*, patient) -> QuerySet[Order]:
    """A patient's purchase history, newest first, with lines (CORE-6)."""
    return Order.objects.filter(patient=patient).prefetch_related("lines")


def list_order_promotions() -> list[tuple[str, str]]:
    """The offers, promos and cards the clinic's orders were discounted by, as (promotion id, name), for
    the Revenue filter's one-click "everyone who redeemed X" (one grouped query over an indexed column)."""
    rows = (Order.objects.exclude(source_key="").order_by().values("source_key")
            .annotate(name=Max("source_name")).values_list("source_key", "name"))
    return sorted(((key, name or key) for key, name in rows), key=lambda pair: pair[1].lower())


CSV_COLUMNS = ["placed_at", "reference", "patient", "patient_external_id", "subtotal", "discount", "total",
               "currency", "discount_source", "promotion_id", "promotion"]


def iter_order_rows(*, queryset: QuerySet[Order]):
    """The filtered orders as CSV rows, oldest first, read in chunks (memory stays flat for any range)."""
    from django.utils import timezone

    yield CSV_COLUMNS
    for order in queryset.order_by("placed_at", "id").iterator(chunk_size=2000):
        yield [timezone.localtime(order.placed_at).isoformat(timespec="seconds"), order.reference,
               order.patient.full_name, order.patient.external_id or "", f"{order.subtotal:.2f}",
               f"{order.discount_amount:.2f}", f"{order.total:.2f}", order.currency,
               order.discount_source if order.has_discount else "", order.source_key, order.source_name]
