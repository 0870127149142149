"""Two beats running (a second scheduler started by mistake, or two during a deploy): both send the occasion
check at the same moment, two workers run it at once, on two database connections. Christmas fires once:
one firing row, one push, one message to OneSignal's stand-in, and each patient holds the offer once."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from notifications.backends import memory
from notifications.models import PushNotification
from offers.choices import Occasion
from offers.models import AutomatedOffer, OccasionFiring
from offers.services import configure_automated_offer
from offers.tasks import check_occasions_for_clinic
from redemptions.models import Assignment
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")


def test_two_beats_ticking_together_fire_christmas_once(clinic_a, in_clinic, settings):
    settings.PUSH_BACKEND = "memory"
    memory.outbox.clear()
    with in_clinic(clinic_a):
        PatientFactory.create_batch(3, push_enabled=True)
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        configure_automated_offer(automated_offer=christmas, data={"active": True, "published": True})
    start = threading.Barrier(2)
    fired, errors = [], []

    def worker():
        try:
            start.wait(timeout=10)
            fired.append(check_occasions_for_clinic.apply(args=[clinic_a.pk]).result)
        except Exception as error:  # reported below: a worker must not fail on the other's firing
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    with time_machine.travel(datetime(2026, 12, 25, 9, 0, tzinfo=LONDON), tick=False):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    assert sorted(fired) == [0, 1]  # one of them fired it, the other found it fired
    with in_clinic(clinic_a):
        assert OccasionFiring.objects.count() == 1
        assert PushNotification.objects.filter(source_key=christmas.promotion_key).count() == 1
        assert Assignment.objects.filter(promotion_key=christmas.promotion_key).count() == 3
    assert len(memory.outbox) == 1
