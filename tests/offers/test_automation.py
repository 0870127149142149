"""Automated offers fire on their occasion, in the clinic's time zone, at most once (OFF-4)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic_crm.tenancy.services import create_clinic
from notifications.backends import memory
from notifications.models import PushNotification
from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer, OccasionFiring
from offers.occasions import FIRE_HOUR
from offers.tasks import check_occasions_for_all_clinics, check_occasions_for_clinic
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


@pytest.fixture(autouse=True)
def _memory_push(settings):
    settings.PUSH_BACKEND = "memory"
    memory.outbox.clear()
    yield
    memory.outbox.clear()


def automated(clinic, in_clinic, occasion, **changes) -> AutomatedOffer:
    with in_clinic(clinic):
        offer = AutomatedOffer.objects.get(occasion=occasion)
        if changes:
            offer = services.configure_automated_offer(automated_offer=offer, data=changes)
        return offer


def tick(clinic, when: datetime) -> int:
    """One beat tick for one clinic at `when`, run as the worker runs it."""
    with time_machine.travel(when, tick=False):
        return check_occasions_for_clinic.apply(args=[clinic.pk]).get()


def pushes(clinic, in_clinic):
    with in_clinic(clinic):
        return list(PushNotification.objects.order_by("id"))


@pytest.fixture
def push_patients(clinic_a, clinic_b, in_clinic):
    for clinic in (clinic_a, clinic_b):
        with in_clinic(clinic):
            PatientFactory.create_batch(2, push_enabled=True)


def test_an_active_christmas_offer_sends_exactly_one_push_at_the_trigger_hour_in_london(
        clinic_a, in_clinic, push_patients, django_capture_on_commit_callbacks):
    # given an active Christmas offer in a London clinic
    offer = automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=True, published=True,
                      push_title="Merry Christmas", validity_days=7)
    # when the beat ticks on 25 December at the trigger hour, London time
    with django_capture_on_commit_callbacks(execute=True):
        fired = tick(clinic_a, datetime(2026, 12, 25, FIRE_HOUR, 0, tzinfo=LONDON))
    # then exactly one push went out, for that offer and occurrence, and its window opened
    assert fired == 1
    assert [(clinic_id, push.title) for clinic_id, push in memory.outbox] == [(clinic_a.pk, "Merry Christmas")]
    [push] = pushes(clinic_a, in_clinic)
    assert (push.source_key, push.occurrence) == (offer.promotion_key, "2026-12-25")
    with in_clinic(clinic_a):
        firing = OccasionFiring.objects.get()
        offer.refresh_from_db()
    assert firing.occurrence == date(2026, 12, 25) and firing.push_id == push.pk
    assert offer.redeemable_until == date(2026, 12, 31)


def test_nothing_fires_on_christmas_day_before_the_trigger_hour(clinic_a, in_clinic, push_patients):
    # given an active Christmas offer
    automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=True)
    # when the beat ticks just before the trigger hour
    fired = tick(clinic_a, datetime(2026, 12, 25, FIRE_HOUR - 1, 59, tzinfo=LONDON))
    # then nothing fired yet
    assert fired == 0
    assert pushes(clinic_a, in_clinic) == []


def test_the_same_tick_twice_or_a_retried_task_sends_no_second_push(
        clinic_a, in_clinic, push_patients, django_capture_on_commit_callbacks):
    # given a Christmas offer that already fired this morning
    automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=True)
    with django_capture_on_commit_callbacks(execute=True):
        tick(clinic_a, datetime(2026, 12, 25, 9, 0, tzinfo=LONDON))
    # when the same tick runs again, the task is retried, and later ticks come that day
    with django_capture_on_commit_callbacks(execute=True):
        again = [tick(clinic_a, datetime(2026, 12, 25, 9, 0, tzinfo=LONDON)),
                 tick(clinic_a, datetime(2026, 12, 25, 9, 15, tzinfo=LONDON)),
                 tick(clinic_a, datetime(2026, 12, 25, 23, 45, tzinfo=LONDON))]
    # then none of them sends or logs anything more
    assert again == [0, 0, 0]
    assert len(memory.outbox) == 1
    assert len(pushes(clinic_a, in_clinic)) == 1


def test_firing_an_occurrence_that_already_fired_is_refused_by_the_unique_row(clinic_a, in_clinic, push_patients):
    # given an occurrence that fired (as a second worker would find it)
    offer = automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=True)
    with in_clinic(clinic_a):
        first = services.fire_automated_offer(clinic=clinic_a, automated_offer=offer, occurrence=date(2026, 12, 25))
        # when the same firing is attempted again directly, past the tick's own check
        second = services.fire_automated_offer(clinic=clinic_a, automated_offer=offer, occurrence=date(2026, 12, 25))
        # then the second is a no-op and the transaction is still usable
        assert first is not None and second is None
        assert OccasionFiring.objects.count() == 1
        assert PushNotification.objects.count() == 1


def test_an_inactive_christmas_offer_sends_nothing_and_logs_nothing(clinic_a, in_clinic, push_patients):
    # given a published but inactive Christmas offer
    offer = automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=False, published=True)
    # when the beat ticks on Christmas Day all day
    fired = [tick(clinic_a, datetime(2026, 12, 25, hour, 0, tzinfo=LONDON)) for hour in (9, 12, 18)]
    # then no push, no history row, no firing, and no window opened
    assert fired == [0, 0, 0]
    assert memory.outbox == [] and pushes(clinic_a, in_clinic) == []
    with in_clinic(clinic_a):
        assert not OccasionFiring.objects.exists()
        offer.refresh_from_db()
    assert offer.redeemable_until is None


def test_an_offer_activated_on_26_december_does_not_fire_for_that_christmas(clinic_a, in_clinic, push_patients):
    # given a Christmas offer that was inactive on Christmas Day
    offer = automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=False)
    tick(clinic_a, datetime(2026, 12, 25, 10, 0, tzinfo=LONDON))
    # when it is activated on 26 December and the beat keeps ticking
    with time_machine.travel(datetime(2026, 12, 26, 8, 0, tzinfo=LONDON), tick=False), in_clinic(clinic_a):
        services.activate_automated_offer(automated_offer=offer)
    fired = [tick(clinic_a, datetime(2026, 12, 26, hour, 0, tzinfo=LONDON)) for hour in (9, 15)]
    # then nothing fires retrospectively
    assert fired == [0, 0]
    assert pushes(clinic_a, in_clinic) == []


def test_a_new_york_clinic_fires_at_its_own_hour_not_londons(clinic_b, in_clinic, push_patients):
    # given an active Christmas offer in a New York clinic
    automated(clinic_b, in_clinic, Occasion.CHRISTMAS, active=True)
    # when it is 09:00 in London on Christmas Day (04:00 in New York)
    early = tick(clinic_b, datetime(2026, 12, 25, 9, 0, tzinfo=LONDON))
    # then nothing fires; at 09:00 New York time it does
    assert early == 0 and pushes(clinic_b, in_clinic) == []
    assert tick(clinic_b, datetime(2026, 12, 25, 9, 0, tzinfo=NEW_YORK)) == 1
    assert [p.occurrence for p in pushes(clinic_b, in_clinic)] == ["2026-12-25"]


def test_christmas_evening_in_new_york_is_not_a_retrospective_firing_after_london_midnight(
        clinic_b, in_clinic, push_patients):
    # given a New York clinic whose offer is activated late on its own Christmas Day
    automated(clinic_b, in_clinic, Occasion.CHRISTMAS, active=True)
    # when the beat ticks at 22:00 New York time (already 26 December in UTC)
    fired = tick(clinic_b, datetime(2026, 12, 25, 22, 0, tzinfo=NEW_YORK))
    # then it still fires: the day is the clinic's day
    assert fired == 1


def test_the_beat_task_fans_out_to_every_active_clinic(clinic_a, clinic_b, in_clinic, push_patients):
    # given active Christmas offers in two clinics
    automated(clinic_a, in_clinic, Occasion.CHRISTMAS, active=True)
    automated(clinic_b, in_clinic, Occasion.CHRISTMAS, active=True)
    # when the beat entry runs at a time past the trigger hour in both
    with time_machine.travel(datetime(2026, 12, 25, 15, 0, tzinfo=LONDON), tick=False):
        clinics = check_occasions_for_all_clinics.apply().get()
    # then each clinic fired its own offer once
    assert clinics == 2
    assert len(pushes(clinic_a, in_clinic)) == 1 and len(pushes(clinic_b, in_clinic)) == 1


def test_a_moving_feast_fires_on_the_clinics_locale_date(clinic_a, clinic_b, in_clinic, push_patients):
    # given active Mother's Day offers in a UK and a US clinic (15 March and 10 May in 2026)
    automated(clinic_a, in_clinic, Occasion.MOTHERS_DAY, active=True)
    automated(clinic_b, in_clinic, Occasion.MOTHERS_DAY, active=True)
    # when both are checked on the UK date
    uk = tick(clinic_a, datetime(2026, 3, 15, 10, 0, tzinfo=LONDON))
    us = tick(clinic_b, datetime(2026, 3, 15, 10, 0, tzinfo=NEW_YORK))
    # then only the UK clinic fires; the US one fires in May
    assert (uk, us) == (1, 0)
    assert tick(clinic_b, datetime(2026, 5, 10, 10, 0, tzinfo=NEW_YORK)) == 1


def test_birthday_pushes_reach_exactly_todays_birthdays_in_the_clinics_date(clinic_b, in_clinic,
                                                                             django_capture_on_commit_callbacks):
    # given a New York clinic with patients born on 14 and 15 June, and one without push
    automated(clinic_b, in_clinic, Occasion.BIRTHDAY, active=True, push_title="Happy birthday!")
    with in_clinic(clinic_b):
        PatientFactory(external_id="june-14", date_of_birth=date(1990, 6, 14))
        PatientFactory(external_id="june-15", date_of_birth=date(1985, 6, 15))
        PatientFactory(external_id="june-15-quiet", date_of_birth=date(1970, 6, 15), push_enabled=False)
        PatientFactory(external_id="no-dob", date_of_birth=None)
    # when the beat ticks at 10:00 on 14 June in New York (already 15 June in some of the world)
    with django_capture_on_commit_callbacks(execute=True):
        fired = tick(clinic_b, datetime(2026, 6, 14, 10, 0, tzinfo=NEW_YORK))
    # then one push targets exactly the clinic-date birthday, once for the day
    assert fired == 1
    [(_, message)] = memory.outbox
    assert message.external_ids == ("june-14",)
    [push] = pushes(clinic_b, in_clinic)
    assert push.external_ids == ["june-14"] and push.occurrence == "2026-06-14"
    with django_capture_on_commit_callbacks(execute=True):
        assert tick(clinic_b, datetime(2026, 6, 14, 18, 0, tzinfo=NEW_YORK)) == 0
    assert len(memory.outbox) == 1


def test_birthday_targets_patients_without_push_too_but_only_push_enabled_devices_are_sent(
        clinic_a, in_clinic, django_capture_on_commit_callbacks):
    # given two patients born on 15 June, only one with push turned on
    automated(clinic_a, in_clinic, Occasion.BIRTHDAY, active=True)
    with in_clinic(clinic_a):
        PatientFactory(external_id="on", date_of_birth=date(1990, 6, 15), push_enabled=True)
        PatientFactory(external_id="off", date_of_birth=date(1991, 6, 15), push_enabled=False)
    # when the birthday fires
    with django_capture_on_commit_callbacks(execute=True):
        tick(clinic_a, datetime(2026, 6, 15, 9, 30, tzinfo=LONDON))
    # then the delivery reaches the push-enabled one only
    [(_, message)] = memory.outbox
    assert message.external_ids == ("on",)


def test_29_february_birthdays_are_celebrated_on_28_february_in_common_years(
        clinic_a, in_clinic, django_capture_on_commit_callbacks):
    # given a leap-day patient and a 28 February patient
    automated(clinic_a, in_clinic, Occasion.BIRTHDAY, active=True)
    with in_clinic(clinic_a):
        PatientFactory(external_id="leap", date_of_birth=date(2000, 2, 29))
        PatientFactory(external_id="feb-28", date_of_birth=date(1999, 2, 28))
    # when the birthday fires on 28 February 2027 (a common year)
    with django_capture_on_commit_callbacks(execute=True):
        tick(clinic_a, datetime(2027, 2, 28, 9, 0, tzinfo=LONDON))
    # then both are greeted
    [push] = pushes(clinic_a, in_clinic)
    assert push.external_ids == ["feb-28", "leap"]
    # and in a leap year the leap-day patient waits for 29 February
    with in_clinic(clinic_a):
        assert sorted(services.list_birthday_patients(day=date(2028, 2, 28)).values_list("external_id", flat=True)) \
            == ["feb-28"]


def test_a_birthday_with_nobody_celebrating_fires_without_a_push(clinic_a, in_clinic, push_patients):
    # given an active birthday offer and no patient born on 1 April
    automated(clinic_a, in_clinic, Occasion.BIRTHDAY, active=True)
    # when the day's check runs
    fired = tick(clinic_a, datetime(2026, 4, 1, 9, 0, tzinfo=LONDON))
    # then the day is marked done, and no empty push clutters the history
    assert fired == 1
    assert pushes(clinic_a, in_clinic) == []


def test_firing_opens_the_window_that_closes_after_validity_days(clinic_a, in_clinic, push_patients):
    # given a Halloween offer valid for three days
    offer = automated(clinic_a, in_clinic, Occasion.HALLOWEEN, active=True, published=True, validity_days=3)
    # when it fires
    tick(clinic_a, datetime(2026, 10, 31, 9, 0, tzinfo=LONDON))
    # then it can be redeemed from 31 October to 2 November
    with in_clinic(clinic_a):
        offer.refresh_from_db()
        assert services.is_offer_redeemable(offer=offer, today=date(2026, 11, 2))
        assert not services.is_offer_redeemable(offer=offer, today=date(2026, 11, 2) + timedelta(days=1))


def test_birthday_pushes_follow_the_clinics_date_when_it_is_a_day_ahead_of_utc(in_clinic,
                                                                            django_capture_on_commit_callbacks):
    # given a Sydney clinic with one patient born on 15 June and one on 14 June
    sydney = create_clinic(name="Clinic Sydney", slug="clinic-sydney", timezone_name="Australia/Sydney",
                           currency="AUD", locale="uk")
    automated(sydney, in_clinic, Occasion.BIRTHDAY, active=True)
    with in_clinic(sydney):
        PatientFactory(external_id="june-15", date_of_birth=date(1990, 6, 15))
        PatientFactory(external_id="june-14", date_of_birth=date(1991, 6, 14))
    # when the beat ticks at the trigger hour on 15 June in Sydney, still 14 June in UTC
    when = datetime(2026, 6, 15, FIRE_HOUR, 0, tzinfo=SYDNEY)
    assert when.astimezone(UTC).date() == date(2026, 6, 14)
    with django_capture_on_commit_callbacks(execute=True):
        fired = tick(sydney, when)
    # then the push greets the clinic's birthday, not UTC's, for the clinic's occurrence
    assert fired == 1
    [(_, message)] = memory.outbox
    assert message.external_ids == ("june-15",)
    [push] = pushes(sydney, in_clinic)
    assert push.external_ids == ["june-15"] and push.occurrence == "2026-06-15"
