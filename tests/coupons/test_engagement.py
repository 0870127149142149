"""A card's customer profile tabs: Information (COU-8), Send Push (COU-7), Feedback (COU-8), and the
app's `POST /api/v1/app/feedback`."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic_crm.tenancy.choices import Role
from coupons import services
from coupons.models import CardActivity, Feedback
from notifications.models import PushNotification, ScheduledPush
from tests.conftest import assert_error, make_staff
from tests.coupons.factories import SAM, make_template
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def url(clinic, name, **kwargs):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kwargs})


@pytest.fixture
def staff(client_for, staff_a):
    return client_for(staff_a)


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", last_name="Lee", email="ann@example.com", phone="+44 7700 900001",
                              external_id="ann-1", push_enabled=True)


@pytest.fixture
def card(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        return services.issue_card(template=make_template(clinic_a, name="Welcome"), patient=ann, actor=SAM)


def _activity(clinic, in_clinic, card) -> list[str]:
    with in_clinic(clinic):
        return list(CardActivity.objects.filter(card=card).order_by("id").values_list("action", flat=True))


# --- Information --------------------------------------------------------------------------------


def test_editing_personal_details_leaves_the_card_as_issued(clinic_a, in_clinic, staff, ann, card):
    assert (card.holder_name, card.holder_email, card.holder_phone) == ("Ann Lee", "ann@example.com",
                                                                        "+44 7700 900001")
    response = staff.post(url(clinic_a, "dashboard:card_information", serial=card.serial), {
        "first_name": "Ann", "last_name": "Carter", "email": "ann.carter@example.com", "phone": "+44 7700 900002",
        "date_of_birth": "1990-06-15", "push_enabled": "on"}, follow=True)
    assert "The card still shows the details it was issued with." in response.content.decode()
    with in_clinic(clinic_a):
        ann.refresh_from_db()
        card.refresh_from_db()
    assert (ann.last_name, ann.email, ann.phone) == ("Carter", "ann.carter@example.com", "+44 7700 900002")
    assert (card.holder_name, card.holder_email, card.holder_phone) == ("Ann Lee", "ann@example.com",
                                                                        "+44 7700 900001")
    page = staff.get(url(clinic_a, "dashboard:card_information", serial=card.serial)).content.decode()
    assert "Ann Lee" in page and "do not affect the personal details shown on the card itself" in page
    # the card face in the profile shows the holder as issued too
    assert "ann@example.com" in page


def test_bad_details_are_form_errors_and_save_nothing(clinic_a, in_clinic, staff, ann, card):
    response = staff.post(url(clinic_a, "dashboard:card_information", serial=card.serial), {
        "first_name": "", "last_name": "Lee", "email": "not-an-email"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"first_name", "email"}
    with in_clinic(clinic_a):
        ann.refresh_from_db()
    assert (ann.first_name, ann.email) == ("Ann", "ann@example.com")


def test_a_viewer_reads_the_information_tab_but_cannot_save(clinic_a, client_for, ann, card):
    viewer = client_for(make_staff(clinic_a, Role.VIEWER))
    page = viewer.get(url(clinic_a, "dashboard:card_information", serial=card.serial)).content.decode()
    assert '<button class="btn btn-primary" type="submit">Save details</button>' not in page and "disabled" in page
    assert 'data-testid="locked-action"' in page  # shown, disabled, with the reason
    assert viewer.post(url(clinic_a, "dashboard:card_information", serial=card.serial),
                       {"first_name": "X"}).status_code == 403


# --- Send Push ----------------------------------------------------------------------------------


def test_send_now_goes_to_this_customer_only_and_is_in_the_history(clinic_a, in_clinic, staff, ann, card,
                                                                   django_capture_on_commit_callbacks, settings):
    from notifications.backends import memory

    settings.PUSH_BACKEND = "memory"
    memory.outbox.clear()
    with in_clinic(clinic_a):
        PatientFactory(external_id="bob-1", push_enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url(clinic_a, "dashboard:card_push", serial=card.serial), {
            "card": card.pk, "title": "Welcome", "message": "Your 20% is waiting.", "when": "now"}, follow=True)
    assert "Push on its way to Ann." in response.content.decode()
    assert [(push.title, push.external_ids) for _, push in memory.outbox] == [("Welcome", ("ann-1",))]
    with in_clinic(clinic_a):
        push = PushNotification.objects.get()
    assert (push.source_key, push.status) == (card.push_key, "sent")
    assert _activity(clinic_a, in_clinic, card) == ["issued", "push_sent"]
    page = staff.get(url(clinic_a, "dashboard:card_push", serial=card.serial)).content.decode()
    assert "Your 20% is waiting." in page


def test_a_customer_with_push_turned_off_gets_a_form_error(clinic_a, in_clinic, staff, ann, card):
    with in_clinic(clinic_a):
        ann.push_enabled = False
        ann.save()
    response = staff.post(url(clinic_a, "dashboard:card_push", serial=card.serial), {
        "card": card.pk, "title": "Welcome", "message": "Hi", "when": "now"})
    assert response.status_code == 200
    assert "Ann has push notifications turned off in the app" in response.content.decode()
    with in_clinic(clinic_a):
        assert not PushNotification.objects.exists()


@time_machine.travel(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), tick=False)
def test_schedule_in_the_clinics_time_then_cancel(clinic_a, in_clinic, staff, card):
    # given London is on summer time (UTC+1): 10:30 there is 09:30 UTC
    response = staff.post(url(clinic_a, "dashboard:card_push", serial=card.serial), {
        "card": card.pk, "title": "Reminder", "message": "See you tomorrow", "when": "later",
        "send_at": "2026-07-01T10:30"}, follow=True)
    assert "Push scheduled for 1 July 2026 at 10:30." in response.content.decode()
    with in_clinic(clinic_a):
        scheduled = ScheduledPush.objects.get()
    assert scheduled.send_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert (scheduled.external_ids, scheduled.source_key, scheduled.created_by) == (
        ["ann-1"], card.push_key, "Staff Clinic A")
    page = staff.get(url(clinic_a, "dashboard:card_push", serial=card.serial)).content.decode()
    assert "1 Jul 2026, 10:30" in page and "Scheduled" in page

    response = staff.post(url(clinic_a, "dashboard:card_push_cancel", serial=card.serial, scheduled_id=scheduled.pk),
                          follow=True)
    assert "Scheduled push cancelled" in response.content.decode()
    with in_clinic(clinic_a):
        scheduled.refresh_from_db()
    assert scheduled.status == "cancelled"
    assert _activity(clinic_a, in_clinic, card) == ["issued", "push_scheduled", "push_cancelled"]
    page = staff.get(url(clinic_a, "dashboard:card_push", serial=card.serial)).content.decode()
    assert "Cancelled" in page and ">Cancel</button>" not in page


@time_machine.travel(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), tick=False)
@pytest.mark.parametrize(("send_at", "error"), [
    ("", "Choose the date and time to send it."),
    ("2026-07-01T08:59", "Choose a time in the future."),  # 07:59 UTC: past
    ("2028-01-01T10:00", "Choose a time within the next year."),
    ("tomorrow", "Enter a valid date/time."),
])
def test_a_bad_schedule_time_is_a_form_error(clinic_a, in_clinic, staff, card, send_at, error):
    response = staff.post(url(clinic_a, "dashboard:card_push", serial=card.serial), {
        "card": card.pk, "title": "T", "message": "M", "when": "later", "send_at": send_at})
    assert response.status_code == 200
    assert response.context["form"].errors["send_at"] == [error]
    with in_clinic(clinic_a):
        assert not ScheduledPush.objects.exists()


def test_a_push_about_another_customers_card_is_refused(clinic_a, in_clinic, staff, card):
    with in_clinic(clinic_a):
        other = services.issue_card(template=card.template, patient=PatientFactory(), actor=SAM)
    response = staff.post(url(clinic_a, "dashboard:card_push", serial=card.serial), {
        "card": other.pk, "title": "T", "message": "M", "when": "now"})
    assert response.status_code == 200 and "card" in response.context["form"].errors


def test_a_viewer_sees_the_schedule_but_cannot_send_or_cancel(clinic_a, in_clinic, client_for, card):
    with in_clinic(clinic_a):
        scheduled = services.schedule_card_push(card=card, title="T", message="M",
                                                send_at=datetime.now(UTC) + timedelta(days=1), actor=SAM)
    viewer = client_for(make_staff(clinic_a, Role.VIEWER))
    page = viewer.get(url(clinic_a, "dashboard:card_push", serial=card.serial)).content.decode()
    assert 'data-testid="push-form"' not in page and ">Cancel</button>" not in page and "Scheduled" in page
    assert viewer.post(url(clinic_a, "dashboard:card_push_cancel", serial=card.serial,
                           scheduled_id=scheduled.pk)).status_code == 403


# --- Feedback: the app's endpoint -------------------------------------------------------------------


def test_a_patient_leaves_feedback_about_their_card(clinic_a, in_clinic, app_client_for, ann, card):
    response = app_client_for(clinic_a, ann).post("/api/v1/app/feedback", {
        "rating": 4, "comment": "  Lovely staff  ", "card_serial": card.serial}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["rating"], body["comment"], body["card_serial"]) == (4, "Lovely staff", card.serial)
    with in_clinic(clinic_a):
        feedback = Feedback.objects.get()
    assert (feedback.patient_id, feedback.card_id) == (ann.pk, card.pk)


@pytest.mark.parametrize("payload", [
    {}, {"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": 4.5}, {"rating": True}, {"rating": None},
    {"rating": 3, "comment": "x" * 2001}, {"rating": 3, "comment": 7}, {"rating": 3, "card_serial": "nope"},
])
def test_bad_feedback_is_a_400_and_stores_nothing(clinic_a, in_clinic, app_client_for, ann, payload):
    response = app_client_for(clinic_a, ann).post("/api/v1/app/feedback", payload, format="json")
    assert_error(response, 400, "validation_error")
    with in_clinic(clinic_a):
        assert not Feedback.objects.exists()


def test_feedback_about_someone_elses_card_is_404_and_needs_a_signed_in_patient(clinic_a, in_clinic, app_client_for,
                                                                               ann, card):
    with in_clinic(clinic_a):
        bob = PatientFactory(first_name="Bob")
    response = app_client_for(clinic_a, bob).post("/api/v1/app/feedback", {"rating": 5, "card_serial": card.serial},
                                                  format="json")
    assert_error(response, 404, "unknown_card")
    assert_error(app_client_for(clinic_a).post("/api/v1/app/feedback", {"rating": 5}, format="json"), 401,
                 "not_authenticated")
    with in_clinic(clinic_a):
        assert not Feedback.objects.exists()


# --- Feedback: the tab's filters in the clinic's timezone ---------------------------------------------

# Clinic B is in New York (UTC-5 in January). "Now" is 10:00 there on 15 January 2027.
NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def rated(clinic_b, in_clinic, client_for, owner_b):
    """Feedback left at moments either side of New York's day, week, month and year boundaries."""
    moments = {
        "today_early": (datetime(2027, 1, 15, 5, 1, tzinfo=UTC), 5, "Early today"),  # 00:01 in New York
        "yesterday_late": (datetime(2027, 1, 15, 4, 59, tzinfo=UTC), 4, ""),  # 23:59 the 14th in New York
        "six_days_ago": (datetime(2027, 1, 9, 5, 0, tzinfo=UTC), 3, "Within the week"),  # 00:00 on the 9th
        "seven_days_ago": (datetime(2027, 1, 9, 4, 59, tzinfo=UTC), 2, ""),  # 23:59 on the 8th
        "twenty_nine_days_ago": (datetime(2026, 12, 17, 12, 0, tzinfo=UTC), 4, "Within the month"),
        "thirty_days_ago": (datetime(2026, 12, 16, 12, 0, tzinfo=UTC), 1, "Just outside the month"),
        "last_spring": (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 5, "Within the year"),
        "two_years_ago": (datetime(2025, 1, 1, 12, 0, tzinfo=UTC), 2, "Long ago"),
    }
    with in_clinic(clinic_b):
        patient = PatientFactory(first_name="Nia", external_id="nia-1")
        card = services.issue_card(template=make_template(clinic_b, name="NY card"), patient=patient, actor=SAM)
        ids = {}
        for name, (at, rating, comment) in moments.items():
            feedback = services.leave_feedback(patient=patient, rating=rating, comment=comment, card=card)
            Feedback.objects.filter(pk=feedback.pk).update(created_at=at)
            ids[feedback.pk] = name
        PatientFactory(first_name="Other")  # whose feedback never shows on Nia's card
        services.leave_feedback(patient=PatientFactory(), rating=1, comment="Someone else")
    with time_machine.travel(NOW, tick=False):
        client = client_for(owner_b)  # signed in "now", so the session is fresh then

    def shown(**params) -> list[str]:
        with time_machine.travel(NOW, tick=False):
            response = client.get(url(clinic_b, "dashboard:card_feedback", serial=card.serial), params)
        assert response.status_code == 200
        return [ids[row.pk] for row in response.context["rows"]]

    return shown


@pytest.mark.parametrize(("params", "expected"), [
    ({"range": "day"}, ["today_early"]),
    ({"range": "week"}, ["today_early", "yesterday_late", "six_days_ago"]),
    ({"range": "month"}, ["today_early", "yesterday_late", "six_days_ago", "seven_days_ago", "twenty_nine_days_ago"]),
    ({"range": "year"}, ["today_early", "yesterday_late", "six_days_ago", "seven_days_ago", "twenty_nine_days_ago",
                         "thirty_days_ago", "last_spring"]),
    ({"range": "all"}, ["today_early", "yesterday_late", "six_days_ago", "seven_days_ago", "twenty_nine_days_ago",
                        "thirty_days_ago", "last_spring", "two_years_ago"]),
    ({}, ["today_early", "yesterday_late", "six_days_ago", "seven_days_ago", "twenty_nine_days_ago",
          "thirty_days_ago", "last_spring", "two_years_ago"]),
    ({"range": "custom", "start": "2027-01-08", "end": "2027-01-14"}, ["yesterday_late", "six_days_ago",
                                                                       "seven_days_ago"]),
    ({"range": "custom", "start": "2027-01-15", "end": "2027-01-15"}, ["today_early"]),
    ({"range": "week", "comments": "on"}, ["today_early", "six_days_ago"]),
    ({"range": "all", "comments": "on"}, ["today_early", "six_days_ago", "twenty_nine_days_ago", "thirty_days_ago",
                                          "last_spring", "two_years_ago"]),
    ({"range": "custom", "start": "2026-12-16", "end": "2026-12-17", "comments": "on"},
     ["twenty_nine_days_ago", "thirty_days_ago"]),
])
def test_feedback_ranges_follow_the_clinics_days(rated, params, expected):
    assert rated(**params) == expected


@pytest.mark.parametrize("params", [
    {"range": "custom", "start": "2027-01-15", "end": "2027-01-01"},
    {"range": "custom", "start": "2027-01-15"},
    {"range": "custom", "start": "2027-13-01", "end": "2027-01-20"},
    {"range": "fortnight"},
])
def test_a_bad_range_says_why_and_shows_all_time(rated, params):
    assert len(rated(**params)) == 8


def test_the_profile_shows_the_feedback_rating(clinic_b, in_clinic, client_for, owner_b, rated):
    with in_clinic(clinic_b):
        card = services.issue_card(template=make_template(clinic_b, name="Second"),
                                   patient=PatientFactory(first_name="Nia2"), actor=SAM)
    # Nia's eight ratings: 5 4 3 2 4 1 5 2 → 26 / 8 = 3.25 → 3.3 (rounded half up to one place)
    client = client_for(owner_b)
    with in_clinic(clinic_b):
        from coupons.models import Card

        nia_serial = Card.objects.get(patient__first_name="Nia").serial
    page = client.get(url(clinic_b, "dashboard:card", serial=nia_serial)).content.decode()
    assert 'data-testid="feedback-rating">3.3 <span class="muted">/ 5</span>' in page and "from 8 ratings" in page
    page = client.get(url(clinic_b, "dashboard:card", serial=card.serial)).content.decode()
    assert 'data-testid="feedback-rating">No ratings' in page
    # and Nia's client profile shows the same rating
    with in_clinic(clinic_b):
        from clinic_crm.patients.models import Patient

        nia = Patient.objects.get(first_name="Nia")
    page = client.get(reverse("dashboard:patient", args=[clinic_b.slug, nia.pk])).content.decode()
    assert 'data-testid="feedback-rating">3.3 <span class="muted">/ 5</span>' in page
