"""The Activity log as staff make and read it on the dashboard: who by name and e-mail after a real form
POST, and when in the clinic's own time (PRO-5)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from promos.models import Promo, PromoActivity
from tests.promos.factories import form_data, seed, url
from tests.promos.markup import element, elements, text

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")


def logged(clinic, in_clinic, promo) -> list[tuple[str, str, str]]:
    with in_clinic(clinic):
        return list(PromoActivity.objects.filter(promo=promo).order_by("id")
                    .values_list("action", "actor_name", "actor_email"))


def test_dashboard_edits_log_the_staff_members_name_and_e_mail(clinic_a, in_clinic, staff_a, client_for):
    # given a signed-in staff member, Staff Clinic A
    client = client_for(staff_a)
    assert staff_a.get_full_name() == "Staff Clinic A"

    # when they create a promo through the form, activate it from its page and pause it from the list
    created = client.post(url(clinic_a, "create"), form_data(name="Spring whitening", code="SPRING20"))
    assert created.status_code == 302
    with in_clinic(clinic_a):
        promo = Promo.objects.get(name="Spring whitening")
    detail = url(clinic_a, "detail", promo.pk)
    activated = client.post(url(clinic_a, "activate", promo.pk), {"next": detail})
    paused = client.post(url(clinic_a, "pause", promo.pk), {"next": url(clinic_a, "list")})
    assert (activated.url, paused.url) == (detail, url(clinic_a, "list"))

    # then each row carries their full name and their e-mail apart
    assert logged(clinic_a, in_clinic, promo) == [
        ("created", "Staff Clinic A", "staff@clinic-a.test"),
        ("activated", "Staff Clinic A", "staff@clinic-a.test"),
        ("paused", "Staff Clinic A", "staff@clinic-a.test"),
    ]

    # and the page's Activity log shows both on every entry, newest first
    page = client.get(detail).content.decode()
    rows = elements(element(page, "activity-log"), "activity-row")
    # what each entry's heading says, up to its time
    heads = [text(row.split("<time", 1)[0]) for row in rows]
    assert heads == [f"{action} by Staff Clinic A <staff@clinic-a.test>"
                     for action in ("Paused", "Activated", "Created")]


def test_each_entry_is_timed_in_the_clinics_timezone(clinic_b, in_clinic, owner_b, client_for):
    # given a New York clinic's promo created at 03:30 UTC on 15 January, 22:30 the evening before there
    with time_machine.travel(datetime(2031, 1, 15, 3, 30, tzinfo=UTC), tick=False):
        promo = seed(clinic_b, in_clinic, "Winter", code="WINTER")

    # when its page opens
    page = client_for(owner_b).get(url(clinic_b, "detail", promo.pk)).content.decode()

    # then the entry's time reads in New York time, and its machine-readable time carries that offset
    [row] = elements(element(page, "activity-log"), "activity-row")
    [(moment, shown)] = re.findall(r'<time class="timeline-time" datetime="([^"]*)">(.*?)</time>', row)
    assert shown == "14 Jan 2031, 22:30"
    assert moment == "2031-01-14T22:30:00-05:00"
    assert datetime.fromisoformat(moment) == datetime(2031, 1, 15, 3, 30, tzinfo=UTC)
    # and the log says which zone its times are in
    assert "(America/New_York)" in text(element(page, "activity-log"))
