"""The lock order that keeps concurrent tills and event batches out of deadlock (found by bench/clinics.py):
a coupon redeem and a response completion lock only their own row, never the joined patient or clinic rows;
an event batch checks its ledger rows' keys as it inserts them, so it takes its patients before their
assignments, as a till's single redemption does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coupons.services.cards import _lock
from redemptions.services.responses import lock_response
from tests.coupons.factories import make_template
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def locking_sql(queries) -> list[str]:
    return [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]


def test_a_card_is_locked_alone(clinic_a, in_clinic):
    from coupons import services as cards

    with in_clinic(clinic_a):
        card = cards.issue_card(template=make_template(clinic_a), patient=PatientFactory())
        with CaptureQueriesContext(connection) as queries:
            _lock(card)
    [sql] = locking_sql(queries)
    assert sql.endswith('FOR UPDATE OF "coupons_card"')


def test_a_response_is_locked_alone(clinic_a, in_clinic):
    from redemptions.services import PromotionSnapshot, ResponseTerms, assign_response

    snapshot = PromotionSnapshot(key="offer_7", kind="offer", id=7, name="Exam", discount_type="percent",
                                 discount_value=Decimal("10"), discount_label="10% Off")
    with in_clinic(clinic_a):
        response = assign_response(clinic=clinic_a, patient=PatientFactory(), source="claim",
                                   terms=ResponseTerms(promotion=snapshot, title="Exam"))
        with CaptureQueriesContext(connection) as queries:
            lock_response(response)
    [sql] = locking_sql(queries)
    assert sql.endswith('FOR UPDATE OF "redemptions_offerresponse"')


def test_an_event_batch_checks_its_keys_as_it_inserts(clinic_a, in_clinic, pos_client_for):
    from datetime import timedelta

    from django.utils import timezone

    from promos.events import Actor
    from promos.models import Promo
    from promos.services import create_promo

    with in_clinic(clinic_a):
        promo = create_promo(clinic=clinic_a, actor=Actor(id=None, name="S", email="s@example.com"), data={
            "name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
            "status": "active"})
        Promo.objects.filter(pk=promo.pk).update(created_at=timezone.now() - timedelta(days=1))
        PatientFactory(external_id="p-1")
    events = [{"event_id": "e-1", "promotion_id": promo.promotion_key, "external_id": "p-1",
               "redeemed_at": (timezone.now() - timedelta(minutes=1)).isoformat()}]

    with CaptureQueriesContext(connection) as queries:
        response = pos_client_for(clinic_a).post("/api/v1/events/redemptions/batch", {"events": events},
                                                 format="json")

    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries]
    immediate = next(i for i, sql in enumerate(statements) if sql == "SET CONSTRAINTS ALL IMMEDIATE")
    ledger_insert = next(i for i, sql in enumerate(statements) if 'INSERT INTO "redemptions_redemption"' in sql)
    assert immediate < ledger_insert


def test_an_offer_redeemed_at_the_till_locks_the_held_response_before_the_offers_cap(
        clinic_a, in_clinic, app_client_for, pos_client_for):
    # complete_response locks the response, then takes the offer's use: the offer's own redeem, which
    # completes that response too, keeps the same order, so two tills serving one patient wait, never deadlock.
    from offers.services import create_offer

    with in_clinic(clinic_a):
        offer = create_offer(clinic=clinic_a, data={"name": "Glow", "title": "Glow", "discount_type": "percent",
                                                    "discount_value": "10", "published": True, "max_uses": 10})
        ann = PatientFactory(external_id="ann")
    assert app_client_for(clinic_a, ann).post(f"/api/v1/app/offers/{offer.promotion_key}/claim").status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = pos_client_for(clinic_a).post(f"/api/v1/pos/offers/{offer.promotion_key}/redeem",
                                                 {"external_id": "ann"}, format="json")

    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in queries]
    held = next(i for i, sql in enumerate(statements) if 'FOR UPDATE OF "redemptions_offerresponse"' in sql)
    cap = next(i for i, sql in enumerate(statements) if "SET current_uses = current_uses + 1" in sql)
    assert held < cap
