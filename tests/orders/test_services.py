"""The core order flow applies one discount and keeps its source by id and snapshot (CORE-4)."""

from decimal import Decimal

import pytest

from clinic_crm.common.choices import DiscountSource, DiscountType
from clinic_crm.common.errors import ApplicationError, Conflict
from clinic_crm.orders.models import Order
from clinic_crm.orders.services import AppliedDiscount, LineInput, compute_discount_amount, create_order
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_an_order_with_lines_sums_them_and_applies_a_percent_discount_with_a_snapshot(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given a patient and a 20% promo
        patient = PatientFactory()
        promo = AppliedDiscount(source=DiscountSource.PROMO, discount_type=DiscountType.PERCENT, value=Decimal("20"),
                                source_key="promo_7", source_id=7, source_name="Winter glow")
        # when an order of two lines is recorded with it
        order = create_order(clinic=clinic_a, patient=patient, reference="R-1", discount=promo, lines=[
            LineInput("Whitening", Decimal("300.00")), LineInput("Polish", Decimal("25.50"), quantity=2),
        ])
        # then the totals and the snapshot are stored
        order.refresh_from_db()
        assert order.subtotal == Decimal("351.00")
        assert order.discount_amount == Decimal("70.20")
        assert order.total == Decimal("280.80")
        assert (order.source_key, order.source_id, order.source_name, order.source_label) == (
            "promo_7", 7, "Winter glow", "20% Off")
        assert order.currency == "GBP"
        assert order.lines.count() == 2
        patient.refresh_from_db()
        assert patient.last_visit_at == order.placed_at


@pytest.mark.parametrize("kind,value,amount,expected", [
    (DiscountType.AMOUNT, Decimal("25.00"), None, Decimal("25.00")),
    (DiscountType.AMOUNT, Decimal("500.00"), None, Decimal("100.00")),  # never more than the order
    (DiscountType.FREE_TREATMENT, None, Decimal("40.00"), Decimal("40.00")),
    (DiscountType.FREE_TREATMENT, None, None, Decimal("100.00")),
    (DiscountType.PERCENT, Decimal("12.5"), None, Decimal("12.50")),
])
def test_discount_amounts_per_type(kind, value, amount, expected):
    discount = AppliedDiscount(source=DiscountSource.OFFER, discount_type=kind, value=value, amount=amount)
    assert compute_discount_amount(discount=discount, subtotal=Decimal("100.00")) == expected


def test_a_fixed_discount_label_uses_the_clinics_currency(clinic_b, in_clinic):
    with in_clinic(clinic_b):
        order = create_order(clinic=clinic_b, patient=PatientFactory(), reference="US-1", total=Decimal("80"),
                             discount=AppliedDiscount(source=DiscountSource.COUPON, discount_type=DiscountType.AMOUNT,
                                                      value=Decimal("25.00")))
    assert order.source_label == "$25.00 Off"
    assert order.currency == "USD"


def test_a_duplicate_reference_is_a_conflict_and_keeps_the_first_order(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory()
        create_order(clinic=clinic_a, patient=patient, reference="DUP", total=Decimal("10"))
        with pytest.raises(Conflict) as refused:
            create_order(clinic=clinic_a, patient=patient, reference="DUP", total=Decimal("99"))
        assert refused.value.code == "duplicate_reference"
        assert Order.objects.get(reference="DUP").total == Decimal("10.00")


def test_an_order_needs_lines_or_a_total(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        with pytest.raises(ApplicationError, match="lines or a total"):
            create_order(clinic=clinic_a, patient=PatientFactory(), reference="EMPTY")


def test_deleting_nothing_rewrites_history_the_snapshot_stays_when_the_source_is_gone(clinic_a, in_clinic):
    # The source is referenced by key/id without a foreign key, so removing it later cannot cascade.
    with in_clinic(clinic_a):
        order = create_order(clinic=clinic_a, patient=PatientFactory(), reference="S-1", total=Decimal("50"),
                             discount=AppliedDiscount(source=DiscountSource.OFFER, discount_type=DiscountType.PERCENT,
                                                      value=Decimal("10"), source_key="offer_404", source_id=404,
                                                      source_name="Deleted offer"))
        order.refresh_from_db()
    assert order.source_name == "Deleted offer" and order.source_label == "10% Off"


def test_a_duplicate_reference_leaves_the_callers_transaction_usable_without_a_savepoint(clinic_a, in_clinic):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with in_clinic(clinic_a):
        patient = PatientFactory()
        create_order(clinic=clinic_a, patient=patient, reference="DUP", total=Decimal("10"))
        # given a caller's transaction with no savepoint of its own
        with transaction.atomic(savepoint=False), CaptureQueriesContext(connection) as queries:
            # when the order flow refuses a taken reference
            with pytest.raises(Conflict):
                create_order(clinic=clinic_a, patient=patient, reference="DUP", total=Decimal("99"))
            # then the caller can go on writing in the same transaction
            create_order(clinic=clinic_a, patient=patient, reference="NEXT", total=Decimal("5"))
        assert not any("SAVEPOINT" in q["sql"] for q in queries.captured_queries)
        assert sorted(Order.objects.values_list("reference", "total")) == [
            ("DUP", Decimal("10.00")), ("NEXT", Decimal("5.00"))]


def test_last_visit_only_moves_forward(clinic_a, in_clinic):
    from datetime import datetime, timedelta, timezone as tz

    with in_clinic(clinic_a):
        # given a patient whose last visit was recorded on 10 March
        patient = PatientFactory()
        create_order(clinic=clinic_a, patient=patient, reference="LATE", total=Decimal("10"),
                     placed_at=datetime(2026, 3, 10, 9, tzinfo=tz.utc))
        # when older orders arrive afterwards, one of them stamped in another timezone (10:30+02:00 is
        # 08:30 UTC, earlier than 09:00 UTC though its local time reads later)
        create_order(clinic=clinic_a, patient=patient, reference="EARLY", total=Decimal("10"),
                     placed_at=datetime(2026, 3, 1, 9, tzinfo=tz.utc))
        create_order(clinic=clinic_a, patient=patient, reference="SAME-DAY", total=Decimal("10"),
                     placed_at=datetime(2026, 3, 10, 10, 30, tzinfo=tz(timedelta(hours=2))))
        # then the last visit stays on the latest moment
        patient.refresh_from_db()
        assert patient.last_visit_at == datetime(2026, 3, 10, 9, tzinfo=tz.utc)
