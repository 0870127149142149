"""PostgreSQL lost in the middle of a batch of redemption events (a restart, a failover, a killed backend):
the batch is stored whole or refused whole, never half. The till gets a 503 in the API's error shape saying
to send it again, and sending the same batch again stores every event once.

The connection is cut the way a restart cuts it: the request's backend is terminated while it works.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from promos import services as promo_services
from promos.events import Actor
from promos.models import Promo
from redemptions.models import Redemption
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENTS = 3000


def _session_writing_the_ledger() -> int | None:
    """The pid of the request's session while it writes the batch into the ledger (mid-batch)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
                       "pg_backend_pid() AND state = 'active' AND query ILIKE '%INSERT INTO%redemptions_%' LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _stored(clinic, in_clinic, ids) -> int:
    with in_clinic(clinic):
        return Redemption.objects.filter(event_id__in=ids).count()


def test_a_batch_cut_off_by_a_lost_database_is_refused_whole_and_stored_whole_when_sent_again(
        clinic_a, in_clinic, pos_client_for):
    with in_clinic(clinic_a):
        promo = promo_services.create_promo(clinic=clinic_a, actor=Actor(id=None, name="S", email="s@example.com"),
                                            data={"name": "Spring", "code": "SPRING20", "discount_type": "percent",
                                                  "discount_value": Decimal("20"), "status": "active"})
        Promo.objects.filter(pk=promo.pk).update(created_at=timezone.now() - timedelta(days=3))
        for i in range(50):
            PatientFactory(external_id=f"p-{i}")
    when = (timezone.now() - timedelta(minutes=5)).isoformat()
    events = [{"event_id": f"e-{n}", "promotion_id": promo.promotion_key, "external_id": f"p-{n % 50}",
               "redeemed_at": when, "amount": "80.00"} for n in range(EVENTS)]
    ids = [e["event_id"] for e in events]
    till = pos_client_for(clinic_a)
    answer = {}

    def send():
        try:
            answer["response"] = till.post("/api/v1/events/redemptions/batch", {"events": events}, format="json")
        finally:
            from django.db import connection as own

            own.close()

    # when the database goes away while the batch is being stored
    sender = threading.Thread(target=send)
    sender.start()
    killed, deadline = False, time.monotonic() + 30
    while sender.is_alive() and not killed and time.monotonic() < deadline:
        pid = _session_writing_the_ledger()
        if pid:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                killed = cursor.fetchone()[0]
        time.sleep(0.01)
    sender.join(timeout=60)
    assert killed, "the request's session was never seen working"

    # then the till is told to send it again, and none of it was stored
    response = answer["response"]
    if response.status_code == 200:  # the cut came after the commit: then all of it is there
        assert _stored(clinic_a, in_clinic, ids) == EVENTS
    else:
        assert response.status_code == 503, response.content
        body = response.json()
        assert body["code"] == "database_unavailable" and "again" in body["message"]
        assert response["Retry-After"]
        assert _stored(clinic_a, in_clinic, ids) == 0

    # and sending the same batch again stores every event once
    again = till.post("/api/v1/events/redemptions/batch", {"events": events}, format="json")
    assert again.status_code == 200, again.content
    assert _stored(clinic_a, in_clinic, ids) == EVENTS
