"""The redemption ledger: pending and applied redemptions, who redeemed a promotion, the registry (OFF-8, OFF-9)."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from offers import services as offer_services
from offers.choices import Occasion
from offers.models import AutomatedOffer
from redemptions import selectors
from redemptions.registry import count_active_promotions
from redemptions.services import PromotionSnapshot, apply_redemption, lock_pending_redemption, record_pending_redemption
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db

PROMO = PromotionSnapshot(key="offer_7", kind="offer", id=7, name="Spring", discount_type="percent",
                          discount_value=Decimal("20"), discount_label="20% Off")


def test_a_pending_redemption_keeps_the_snapshot_and_a_second_one_is_not_made(clinic_a, in_clinic):
    # given a patient
    with in_clinic(clinic_a):
        patient = PatientFactory()
        # when they redeem the same promotion twice
        first = record_pending_redemption(clinic=clinic_a, patient=patient, promotion=PROMO)
        second = record_pending_redemption(clinic=clinic_a, patient=patient, promotion=PROMO)
    # then one pending row holds the snapshot
    assert first.pk == second.pk
    assert (first.status, first.promotion_key, first.promotion_name, first.discount_label) == (
        "pending", "offer_7", "Spring", "20% Off")


def test_applying_marks_the_pending_redemption_applied_with_its_order(clinic_a, in_clinic):
    # given a pending redemption and an order with a discount
    with in_clinic(clinic_a):
        patient = PatientFactory()
        pending = record_pending_redemption(clinic=clinic_a, patient=patient, promotion=PROMO)
        order = OrderFactory(patient=patient, subtotal=Decimal("100.00"), discount_amount=Decimal("20.00"))
        # when it is applied at checkout
        locked = lock_pending_redemption(patient=patient, promotion_key=PROMO.key)
        applied = apply_redemption(clinic=clinic_a, patient=patient, promotion=PROMO, pending=locked, order=order)
        # then the same row is applied with the order's discount, and no pending one is left
        assert applied.pk == pending.pk
        assert (applied.status, applied.order_id, applied.discount_amount) == ("applied", order.pk, Decimal("20.00"))
        assert applied.applied_at is not None
        assert lock_pending_redemption(patient=patient, promotion_key=PROMO.key) is None


def test_applying_without_a_pending_redemption_records_an_applied_one(clinic_a, in_clinic):
    # given a patient with nothing pending
    with in_clinic(clinic_a):
        patient = PatientFactory()
        # when the till applies the promotion
        applied = apply_redemption(clinic=clinic_a, patient=patient, promotion=PROMO)
    # then an applied row without an order is recorded
    assert (applied.status, applied.order_id, applied.promotion_id) == ("applied", None, 7)


def test_who_redeemed_a_promotion_comes_with_patient_and_order_in_one_query(
        clinic_a, in_clinic, django_assert_num_queries):
    # given eight redemptions of one promotion, with orders, and one of another promotion
    with in_clinic(clinic_a):
        for n in range(8):
            patient = PatientFactory()
            order = OrderFactory(patient=patient, subtotal=Decimal("100.00"), discount_amount=Decimal("20.00"))
            apply_redemption(clinic=clinic_a, patient=patient, promotion=PROMO, order=order)
        record_pending_redemption(clinic=clinic_a, patient=PatientFactory(), promotion=PROMO)
        other = PromotionSnapshot(**{**PROMO.__dict__, "key": "offer_8", "id": 8})
        apply_redemption(clinic=clinic_a, patient=PatientFactory(), promotion=other)
        # when the list is read with each row's patient, time, order, discount and revenue
        with django_assert_num_queries(1):
            rows = [(r.patient.full_name, r.created_at, r.order and r.order.reference, r.discount_amount,
                     r.order and r.order.total) for r in selectors.list_promotion_redemptions(promotion_key="offer_7")]
        # then it is the nine redemptions of that promotion only
        assert len(rows) == 9
        with django_assert_num_queries(1):
            totals = selectors.get_promotion_redemption_totals(promotion_key="offer_7")
        assert (totals.redemptions, totals.applied, totals.pending) == (9, 8, 1)
        assert (totals.discount_given, totals.revenue) == (Decimal("160.00"), Decimal("640.00"))
        assert selectors.count_applied_redemptions() == 9


def test_another_clinics_redemptions_are_not_listed_or_counted(clinic_a, clinic_b, in_clinic):
    # given a redemption of the same key in clinic B
    with in_clinic(clinic_b):
        apply_redemption(clinic=clinic_b, patient=PatientFactory(), promotion=PROMO)
    # when clinic A reads the key
    with in_clinic(clinic_a):
        # then nothing of B's shows
        assert not selectors.list_promotion_redemptions(promotion_key="offer_7").exists()
        assert selectors.count_applied_redemptions() == 0


def test_the_registry_counts_active_offers_of_both_kinds(clinic_a, clinic_b, in_clinic):
    # given in clinic A: a live offer, an inactive one, an ended one and two active automated offers
    with time_machine.travel(date(2026, 6, 1), tick=False), in_clinic(clinic_a):
        base = {"name": "x", "title": "x", "discount_type": "free_treatment"}
        offer_services.create_offer(clinic=clinic_a, data=base)
        offer_services.create_offer(clinic=clinic_a, data={**base, "active": False})
        offer_services.create_offer(clinic=clinic_a, data={**base, "valid_until": date(2026, 5, 31)})
        for occasion in (Occasion.CHRISTMAS, Occasion.BIRTHDAY):
            offer_services.activate_automated_offer(automated_offer=AutomatedOffer.objects.get(occasion=occasion))
        # when the dashboard counts active promotions
        count = count_active_promotions()
    # then the live offer and the two automations count, and clinic B has none
    assert count == 3
    with in_clinic(clinic_b):
        assert count_active_promotions() == 0
