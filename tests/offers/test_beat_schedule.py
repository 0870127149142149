"""The beat entry that checks occasions runs often enough for every clinic to fire at its own hour (OFF-4)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from celery.schedules import crontab, maybe_schedule
from django.conf import settings

from clinic_crm.celery import app as celery_app
from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer, OccasionFiring
from offers.occasions import FIRE_HOUR

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memory_push(settings):
    settings.PUSH_BACKEND = "memory"


@pytest.fixture(autouse=True)
def _worker_tasks():
    # What a worker or beat does on start: import every app's tasks module (autodiscovery), so
    # the registry holds only tasks a worker would find, not whatever tests happened to import.
    celery_app.loader.import_default_modules()


def beat_ticks(entry: dict, *, start: datetime, end: datetime) -> list[datetime]:
    """The times in [start, end) at which beat runs `entry`, by the entry's own schedule."""
    schedule = maybe_schedule(entry["schedule"], app=celery_app)
    cron = isinstance(schedule, crontab)
    # A crontab matches wall-clock minutes; a plain interval counts from when beat started (`start`).
    ticks, last = [], start - (timedelta(minutes=1) if cron else schedule.run_every)
    while True:
        if cron:
            # What beat itself computes: the last run moved forward to the crontab's next match.
            last_run, delta, _ = schedule.remaining_delta(last)
            upcoming = (last_run + delta).astimezone(UTC)
        else:
            upcoming = last + schedule.run_every
        assert upcoming > last, "the schedule does not move forward"
        if upcoming >= end:
            return ticks
        ticks.append(upcoming)
        last = upcoming


def local_day(clinic, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=clinic.tzinfo)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def test_the_occasion_check_is_a_registered_beat_task():
    # given the beat schedule in settings
    entry = settings.CELERY_BEAT_SCHEDULE["check-occasions"]
    # when the Celery app looks the entry's task up
    task = celery_app.tasks.get(entry["task"])
    # then it is the occasion check, registered with the worker
    assert task is not None and task.name == "offers.tasks.check_occasions_for_all_clinics"
    assert celery_app.conf.beat_schedule["check-occasions"]["task"] == entry["task"]


@pytest.mark.parametrize("occasion, day", [
    (Occasion.CHRISTMAS, date(2026, 12, 25)),  # London on GMT
    (Occasion.SUMMER, date(2026, 7, 1)),  # London on BST, New York on EDT
])
def test_beat_ticks_fire_london_and_new_york_at_their_own_trigger_hour_on_the_day(
        occasion, day, clinic_a, clinic_b, in_clinic):
    # given the same active occasion offer in a London and a New York clinic
    for clinic in (clinic_a, clinic_b):
        with in_clinic(clinic):
            services.activate_automated_offer(automated_offer=AutomatedOffer.objects.get(occasion=occasion))
    # when beat runs the entry at each of its own times, from London's midnight to New York's next one
    entry = settings.CELERY_BEAT_SCHEDULE["check-occasions"]
    start, _ = local_day(clinic_a, day)
    _, end = local_day(clinic_b, day)
    ticks = beat_ticks(entry, start=start, end=end)
    for when in ticks:
        with time_machine.travel(when, tick=False):
            celery_app.tasks[entry["task"]].apply().get()
    # then each clinic fired once, on the occasion date, within its own local trigger hour
    assert ticks, "the schedule never runs"
    for clinic in (clinic_a, clinic_b):
        with in_clinic(clinic):
            [firing] = OccasionFiring.objects.all()
        fired_local = firing.fired_at.astimezone(clinic.tzinfo)
        assert firing.occurrence == day
        assert (fired_local.date(), fired_local.hour) == (day, FIRE_HOUR), clinic.timezone
