"""RFM segmentation (COU-9): scores by quintile of rank within a clinic, named segments, the
set-based recomputation, the nightly task, the Client Profiles filter and the profiles."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic_crm.patients.models import RfmScore
from clinic_crm.patients.rfm import recompute_rfm
from clinic_crm.patients.tasks import recompute_rfm_for_all_clinics
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _orders(patient, *, count, last_days_ago, total="100.00"):
    """`count` orders of `total`, the latest `last_days_ago` days ago and the others a day apart before it."""
    now = timezone.now()
    for i in range(count):
        OrderFactory(patient=patient, placed_at=now - timedelta(days=last_days_ago + i), subtotal=Decimal(total))


def _scores(clinic, in_clinic):
    with in_clinic(clinic):
        return {
            row.patient.first_name: (row.recency, row.frequency, row.monetary, row.segment)
            for row in RfmScore.objects.select_related("patient")
        }


def test_five_patients_score_one_to_five_and_map_to_their_segments(clinic_a, in_clinic):
    # given five patients whose latest visits, visit counts and spend all differ
    with in_clinic(clinic_a):
        ann, ben, cat, dan, eve = (PatientFactory(first_name=n) for n in ("Ann", "Ben", "Cat", "Dan", "Eve"))
        PatientFactory(first_name="Nia")  # never bought anything
        _orders(ann, count=5, last_days_ago=1)  # spent 500
        _orders(ben, count=2, last_days_ago=2)  # spent 200
        _orders(cat, count=4, last_days_ago=10)  # spent 400
        _orders(dan, count=3, last_days_ago=100)  # spent 300
        _orders(eve, count=1, last_days_ago=300, total="1000.00")  # one big purchase long ago

        # when the clinic's segments are computed
        scored = recompute_rfm(clinic=clinic_a)

    # then each dimension ranks the five 1..5 on its own (spend: Ben 200 < Dan < Cat < Ann < Eve 1000)
    assert scored == 5
    assert _scores(clinic_a, in_clinic) == {
        "Ann": (5, 5, 4, "champions"),  # recent, frequent, big spender
        "Ben": (4, 2, 1, "potential_loyalist"),  # recent, a second visit
        "Cat": (3, 4, 3, "loyal"),  # frequent, not the most recent
        "Dan": (2, 3, 2, "at_risk"),  # used to come often, not lately
        "Eve": (1, 1, 5, "lost"),  # one visit long ago: spend alone does not save her
    }


def test_equal_values_share_a_score_and_ten_patients_fall_two_to_a_quintile(clinic_a, in_clinic):
    # given ten single-visit patients, one visit per week going back
    with in_clinic(clinic_a):
        for week in range(10):
            _orders(PatientFactory(first_name=f"P{week}"), count=1, last_days_ago=7 * week, total=str(10 + week))
        recompute_rfm(clinic=clinic_a)

    scores = _scores(clinic_a, in_clinic)
    # then everyone has frequency 1 (all tied), recency falls two per quintile from the most recent,
    # and spend (which rises with age here) runs the other way
    assert {name: s[1] for name, s in scores.items()} == {f"P{w}": 1 for w in range(10)}
    assert [scores[f"P{w}"][0] for w in range(10)] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert [scores[f"P{w}"][2] for w in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # and single visits name the segments by recency alone
    assert [scores[f"P{w}"][3] for w in range(10)] == [
        "new", "new", "new", "new", "needs_attention", "needs_attention", "hibernating", "hibernating",
        "lost", "lost",
    ]


def test_recomputing_replaces_the_rows_and_reads_only_this_clinics_orders(clinic_a, clinic_b, in_clinic):
    with in_clinic(clinic_b):
        for n in range(4):
            _orders(PatientFactory(first_name=f"B{n}"), count=n + 1, last_days_ago=n)
        recompute_rfm(clinic=clinic_b)
    b_before = _scores(clinic_b, in_clinic)
    with in_clinic(clinic_a):
        ann = PatientFactory(first_name="Ann")
        _orders(ann, count=1, last_days_ago=400)
        recompute_rfm(clinic=clinic_a)
    # a clinic of one ranks its patient against nobody else's
    assert _scores(clinic_a, in_clinic) == {"Ann": (1, 1, 1, "lost")}

    # when Ann comes back with a new patient and both are rescored
    with in_clinic(clinic_a):
        _orders(ann, count=4, last_days_ago=0)
        _orders(PatientFactory(first_name="Kit"), count=1, last_days_ago=30)
        assert recompute_rfm(clinic=clinic_a) == 2
        assert RfmScore.objects.count() == 2

    # then Ann's row is replaced, not duplicated, and clinic B's rows are untouched
    assert _scores(clinic_a, in_clinic) == {"Ann": (3, 3, 3, "needs_attention"), "Kit": (1, 1, 1, "lost")}
    assert _scores(clinic_b, in_clinic) == b_before


def _queries_to_recompute(clinic, in_clinic) -> int:
    with in_clinic(clinic), CaptureQueriesContext(connection) as queries:
        recompute_rfm(clinic=clinic)
    return len(queries)


def test_the_query_count_does_not_grow_with_the_number_of_patients(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        for n in range(3):
            _orders(PatientFactory(), count=n + 1, last_days_ago=n)
    few = _queries_to_recompute(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        for n in range(60):
            _orders(PatientFactory(), count=n % 4 + 1, last_days_ago=n)
    many = _queries_to_recompute(clinic_a, in_clinic)
    assert many == few
    with in_clinic(clinic_a):
        assert RfmScore.objects.count() == 63


def test_the_nightly_task_scores_every_active_clinic(clinic_a, clinic_b, in_clinic, settings):
    assert settings.CELERY_BEAT_SCHEDULE["recompute-rfm"]["task"] == recompute_rfm_for_all_clinics.name
    for clinic in (clinic_a, clinic_b):
        with in_clinic(clinic):
            _orders(PatientFactory(first_name="Zed"), count=2, last_days_ago=3)
    assert recompute_rfm_for_all_clinics.delay().get() == 2
    assert _scores(clinic_a, in_clinic) == {"Zed": (1, 1, 1, "lost")}
    assert _scores(clinic_b, in_clinic) == {"Zed": (1, 1, 1, "lost")}


# --- the dashboard -------------------------------------------------------------------------------


def url(name, clinic, **kw):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kw})


def _seed_two_segments(clinic, in_clinic):
    with in_clinic(clinic):
        fresh = PatientFactory(first_name="Fresh", last_name="Face")
        gone = PatientFactory(first_name="Long", last_name="Gone")
        PatientFactory(first_name="Never", last_name="Bought")
        _orders(fresh, count=1, last_days_ago=1)
        _orders(gone, count=1, last_days_ago=500)
    return fresh, gone


def test_staff_recompute_on_demand_and_filter_client_profiles_by_segment(clinic_a, staff_a, client_for, in_clinic):
    _seed_two_segments(clinic_a, in_clinic)
    client = client_for(staff_a)
    page = client.get(url("patients:list", clinic_a)).content.decode()
    assert "Segments not computed yet" in page

    response = client.post(url("patients:rfm_recompute", clinic_a), follow=True)
    assert "Segments recomputed: 2 patients with purchases scored." in response.content.decode()

    def names(**params):
        response = client.get(url("patients:list", clinic_a), params)
        return [p.first_name for p in response.context["page"].object_list]

    # (of two patients, the more recent one ranks in the third quintile)
    assert names(segment="needs_attention") == ["Fresh"]
    assert names(segment="lost") == ["Long"]
    assert names(segment="champions") == []
    assert names() == ["Never", "Fresh", "Long"]
    page = client.get(url("patients:list", clinic_a)).content.decode()
    assert "Needs attention (1)" in page and "Lost (1)" in page and "Champions (0)" in page
    assert 'data-testid="segment-badge">Needs attention</span>' in page


def test_an_unknown_segment_shows_everyone(clinic_a, viewer_a, client_for, in_clinic):
    _seed_two_segments(clinic_a, in_clinic)
    response = client_for(viewer_a).get(url("patients:list", clinic_a), {"segment": "<script>"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 3
    assert "<script>" not in response.content.decode()


def test_a_viewer_cannot_recompute_and_get_is_refused(clinic_a, viewer_a, staff_a, client_for, in_clinic):
    _seed_two_segments(clinic_a, in_clinic)
    assert client_for(viewer_a).post(url("patients:rfm_recompute", clinic_a)).status_code == 403
    assert client_for(staff_a).get(url("patients:rfm_recompute", clinic_a)).status_code == 405
    with in_clinic(clinic_a):
        assert RfmScore.objects.count() == 0


def test_the_patient_profile_shows_the_segment_and_scores(clinic_a, viewer_a, client_for, in_clinic):
    fresh, _ = _seed_two_segments(clinic_a, in_clinic)
    client = client_for(viewer_a)
    page = client.get(reverse("dashboard:patient", args=[clinic_a.slug, fresh.pk])).content.decode()
    assert 'data-testid="segment">Not yet' in page
    with in_clinic(clinic_a):
        recompute_rfm(clinic=clinic_a)
    page = client.get(reverse("dashboard:patient", args=[clinic_a.slug, fresh.pk])).content.decode()
    assert ">Needs attention</span>" in page and "R3 · F1 · M1" in page
