"""Redis down: the cache and the Celery broker both unreachable. The web app keeps answering the patient
app's config, the till's redeems and the dashboard (the cache misses, the database answers); a push staff
send meanwhile is recorded and waits, queued; once the broker is back the sweep publishes it and it is
delivered, once. Nothing is lost, nothing is doubled.

"Down" is a Redis address nothing listens on (port 1): what the app sees when the server has stopped.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

import kombu.pools
import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic_crm.celery import app
from notifications.backends.memory import outbox
from notifications.choices import PushStatus
from notifications.models import PushNotification
from notifications.scheduled import requeue_stranded_pushes
from offers.services import create_offer
from promos.events import Actor
from promos.services import create_promo
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOWHERE = "redis://127.0.0.1:1/0"
CACHE_DOWN = {
    "default": {"BACKEND": "clinic_crm.common.resilient_cache.ResilientRedisCache", "LOCATION": NOWHERE},
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}


def _reset_broker_pools():
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_down():
    """Celery publishes to a Redis that is not there, for the block; then the broker is back."""
    saved = {name: app.conf[name] for name in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=NOWHERE, task_always_eager=False)
    _reset_broker_pools()
    try:
        yield
    finally:
        app.conf.update(saved)
        _reset_broker_pools()


@pytest.fixture
def redis_down():
    """The cache and the broker point at a Redis that is not there, for the test."""
    with broker_down(), override_settings(CACHES=CACHE_DOWN):
        yield


@pytest.fixture
def clinic_with_a_promo_and_an_offer(clinic_a, in_clinic, settings):
    settings.PUSH_BACKEND = "memory"
    with in_clinic(clinic_a):
        PatientFactory(external_id="ann", push_enabled=True)
        create_promo(clinic=clinic_a, actor=Actor(id=None, name="Setup", email="s@example.com"), data={
            "name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
            "status": "active"})
        offer = create_offer(clinic=clinic_a, data={"name": "Whitening", "title": "£25 off whitening",
                                                    "discount_type": "amount", "discount_value": "25",
                                                    "published": True})
    return clinic_a, offer


def test_with_redis_down_the_app_serves_and_a_push_waits_then_goes_once_when_it_is_back(
        clinic_with_a_promo_and_an_offer, in_clinic, owner_a, client_for, pos_client_for, redis_down,
        django_capture_on_commit_callbacks, time_machine):
    clinic, offer = clinic_with_a_promo_and_an_offer
    till, owner = pos_client_for(clinic), client_for(owner_a)
    outbox.clear()

    # the patient app's config, a redeem at the till and the dashboard all answer
    config = APIClient().get("/api/v1/app/config", HTTP_X_APP_KEY=clinic.app_key)
    assert config.status_code == 200 and config.json()["clinic"]["name"] == clinic.name
    redeem = till.post("/api/v1/pos/promos/redeem", {"code": "SPRING20", "external_id": "ann",
                                                      "order": {"reference": "R-1", "total": "150.00"}},
                       format="json")
    assert redeem.status_code == 201, redeem.content
    assert owner.get(reverse("dashboard:overview", args=[clinic.slug])).status_code == 200
    # staff send a push: the page answers, and the push is kept, queued
    with django_capture_on_commit_callbacks(execute=True):
        sent = owner.post(reverse("offers:push", args=[clinic.slug, offer.pk]),
                          {"title": "Whitening week", "message": "£25 off"})
    assert sent.status_code == 302
    with in_clinic(clinic):
        push = PushNotification.objects.get()
    assert (push.status, push.attempts) == (PushStatus.QUEUED, 0)
    assert outbox == []


def test_a_push_kept_while_the_broker_was_down_is_sent_once_when_it_is_back(
        clinic_with_a_promo_and_an_offer, in_clinic, owner_a, client_for, django_capture_on_commit_callbacks,
        time_machine):
    clinic, offer = clinic_with_a_promo_and_an_offer
    owner = client_for(owner_a)
    outbox.clear()
    # given a push recorded while the broker was down
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("offers:push", args=[clinic.slug, offer.pk]), {"title": "Whitening week",
                                                                          "message": "£25 off"})
    # a sweep within two minutes leaves it alone (it may just be on its way)
    requeue_stranded_pushes.apply()
    assert outbox == []

    # when the broker is back and the sweep runs after two minutes, then again
    time_machine.move_to(timezone.now() + timedelta(minutes=3))
    requeue_stranded_pushes.apply()
    requeue_stranded_pushes.apply()

    # then the push went, once
    with in_clinic(clinic):
        push = PushNotification.objects.get()
    assert (push.status, push.attempts) == (PushStatus.SENT, 1)
    assert len(outbox) == 1 and outbox[0][1].title == "Whitening week"


def test_an_export_started_while_the_broker_was_down_runs_once_it_is_back(
        clinic_a, in_clinic, django_capture_on_commit_callbacks, time_machine):
    from redemptions.choices import ExportStatus
    from redemptions.dispatch import start_export
    from redemptions.models import ExportRun
    from redemptions.scheduled import requeue_stranded_runs
    from redemptions.services.exports import save_export_definition

    with in_clinic(clinic_a):
        definition = save_export_definition(clinic=clinic_a, data={"name": "All", "fields": ["patient_name"],
                                                                   "format": "csv", "filters": {}})
    # given a run started while the broker was down: kept, queued
    with broker_down(), in_clinic(clinic_a), django_capture_on_commit_callbacks(execute=True):
        run = start_export(definition=definition, created_by="Owner")
    with in_clinic(clinic_a):
        assert ExportRun.objects.get(pk=run.pk).status == ExportStatus.QUEUED

    # when the broker is back and the sweep runs after two minutes
    time_machine.move_to(timezone.now() + timedelta(minutes=3))
    requeue_stranded_runs.apply()

    # then the run was done, and a later sweep finds nothing to publish
    with in_clinic(clinic_a):
        assert ExportRun.objects.get(pk=run.pk).status == ExportStatus.DONE
    assert requeue_stranded_runs.apply().result == 0
