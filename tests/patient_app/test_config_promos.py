"""The app's config lists the promos it shows as a banner or applies by itself (PRO-1 flags, OFF-7 caching)."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from promos import services
from promos.events import Actor
from promos.models import Promo
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/app/config"
LONDON = ZoneInfo("Europe/London")
ANN = Actor(id=None, name="Ann Owner", email="ann@example.com")


def make_promo(clinic, in_clinic, **data) -> Promo:
    values = {"name": "Spring sale", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
              "status": "active", "show_banner": True, **data}
    with in_clinic(clinic):
        return services.create_promo(clinic=clinic, data=values, actor=ANN)


def config_promos(app_client_for, clinic, **headers):
    response = app_client_for(clinic).get(CONFIG, **headers)
    assert response.status_code == 200
    return response, response.json()["promos"]


def test_a_banner_promo_is_in_the_config_with_its_code_discount_and_window(
        clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks):
    # given an active global promo flagged as a banner, with a minimum order and an end date
    with django_capture_on_commit_callbacks(execute=True):
        promo = make_promo(clinic_a, in_clinic, min_order=Decimal("50"),
                           ends_at=datetime(2030, 6, 30, 23, 0, tzinfo=ZoneInfo("UTC")))
    # when the app fetches its config
    _, promos = config_promos(app_client_for, clinic_a)
    # then the promo is there as the app needs it, times in the clinic's timezone
    assert promos == [{
        "id": promo.promotion_key, "code": "SPRING20", "name": "Spring sale", "kind": "global",
        "discount_label": "20% Off", "tiers": [], "min_order": "50.00", "starts_at": None,
        "ends_at": "2030-07-01T00:00:00+01:00", "show_banner": True, "auto_apply": False,
    }]


def test_a_tiered_auto_apply_promo_lists_its_tiers_in_order(clinic_a, in_clinic, app_client_for,
                                                             django_capture_on_commit_callbacks):
    # given a tiered promo the app applies by itself, not shown as a banner
    with django_capture_on_commit_callbacks(execute=True):
        make_promo(clinic_a, in_clinic, code="SPEND", kind="tiered", discount_type=None, discount_value=None,
                   show_banner=False, auto_apply=True, tiers=[
                       {"min_order": "200", "discount_type": "percent", "discount_value": Decimal("20")},
                       {"min_order": "100", "discount_type": "amount", "discount_value": Decimal("10")},
                   ])
    # when the app fetches its config
    _, promos = config_promos(app_client_for, clinic_a)
    # then it has both tiers, lowest first, with their labels
    assert [(p["code"], p["kind"], p["discount_label"], p["show_banner"], p["auto_apply"]) for p in promos] == [
        ("SPEND", "tiered", "", False, True)]
    assert promos[0]["tiers"] == [{"min_order": "100.00", "discount_label": "£10.00 Off"},
                                  {"min_order": "200.00", "discount_label": "20% Off"}]


def test_only_live_flagged_promos_for_everyone_with_a_shared_code_are_listed(
        clinic_a, clinic_b, in_clinic, app_client_for, django_capture_on_commit_callbacks):
    # given one promo that qualifies and one of each kind that must not show
    with django_capture_on_commit_callbacks(execute=True):
        make_promo(clinic_a, in_clinic, code="LISTED")
        make_promo(clinic_a, in_clinic, code="NOFLAGS", show_banner=False, auto_apply=False)
        make_promo(clinic_a, in_clinic, code="DRAFT", status="draft")
        make_promo(clinic_a, in_clinic, code="NEWONLY", audience="new_patients")
        make_promo(clinic_a, in_clinic, code="ENDED", ends_at=datetime(2020, 1, 1, tzinfo=LONDON))
        make_promo(clinic_a, in_clinic, code="LATER", starts_at=datetime(2099, 1, 1, tzinfo=LONDON))
        make_promo(clinic_a, in_clinic, kind="personalised", code="", name="Just for you")
        paused = make_promo(clinic_a, in_clinic, code="PAUSED")
        archived = make_promo(clinic_a, in_clinic, code="ARCHIVED")
        with in_clinic(clinic_a):
            services.pause_promo(promo=paused, actor=ANN)
            services.archive_promo(promo=archived, actor=ANN)
        make_promo(clinic_b, in_clinic, code="OTHERCLINIC")
    # when clinic A's app fetches its config
    _, promos = config_promos(app_client_for, clinic_a)
    # then only the live, flagged, everyone, shared-code promo of clinic A is there
    assert [p["code"] for p in promos] == ["LISTED"]


@pytest.mark.parametrize("change", ["pause", "unflag", "archive", "create"])
def test_a_promo_change_is_visible_on_the_very_next_fetch(clinic_a, in_clinic, app_client_for,
                                                           django_capture_on_commit_callbacks, change):
    # given the app holds a config listing one banner promo
    with django_capture_on_commit_callbacks(execute=True):
        promo = make_promo(clinic_a, in_clinic)
    before, listed = config_promos(app_client_for, clinic_a)
    assert [p["code"] for p in listed] == ["SPRING20"]
    # when staff change promos (the change commits)
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        match change:
            case "pause":
                services.pause_promo(promo=promo, actor=ANN)
            case "unflag":
                services.update_promo(promo=promo, data={"show_banner": False}, actor=ANN)
            case "archive":
                services.archive_promo(promo=promo, actor=ANN)
            case "create":
                services.create_promo(clinic=clinic_a, actor=ANN, data={
                    "name": "Summer", "code": "SUMMER", "discount_type": "amount", "discount_value": Decimal("5"),
                    "status": "active", "auto_apply": True})
    # then the app's conditional fetch gets the new list
    after, promos = config_promos(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after["ETag"] != before["ETag"]
    assert sorted(p["code"] for p in promos) == {"pause": [], "unflag": [], "archive": [],
                                                 "create": ["SPRING20", "SUMMER"]}[change]


def test_a_promo_starting_later_today_is_listed_with_its_start_and_tomorrows_after_midnight(
        clinic_a, in_clinic, app_client_for, django_capture_on_commit_callbacks):
    # given promos starting this afternoon and tomorrow morning, in London
    with django_capture_on_commit_callbacks(execute=True):
        make_promo(clinic_a, in_clinic, code="AFTERNOON", starts_at=datetime(2030, 3, 2, 15, 0, tzinfo=LONDON))
        make_promo(clinic_a, in_clinic, code="TOMORROW", starts_at=datetime(2030, 3, 3, 9, 0, tzinfo=LONDON))
    # when the app fetches in the morning, then again just after local midnight
    with time_machine.travel(datetime(2030, 3, 2, 9, 0, tzinfo=LONDON), tick=False):
        morning, today = config_promos(app_client_for, clinic_a)
    with time_machine.travel(datetime(2030, 3, 3, 0, 5, tzinfo=LONDON), tick=False):
        _, tomorrow = config_promos(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=morning["ETag"])
    # then today's list has this afternoon's promo with its start, and tomorrow's has both
    assert [(p["code"], p["starts_at"]) for p in today] == [("AFTERNOON", "2030-03-02T15:00:00Z")]
    assert sorted(p["code"] for p in tomorrow) == ["AFTERNOON", "TOMORROW"]


def test_a_signed_in_patient_sees_the_same_promos(clinic_a, in_clinic, app_client_for,
                                                  django_capture_on_commit_callbacks):
    # given a banner promo and a signed-in patient
    with django_capture_on_commit_callbacks(execute=True):
        make_promo(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        patient = PatientFactory()
    # when both the public app and the patient fetch
    public = app_client_for(clinic_a).get(CONFIG).json()["promos"]
    signed_in = app_client_for(clinic_a, patient).get(CONFIG).json()["promos"]
    # then they get the same promos
    assert signed_in == public and len(public) == 1


def test_promos_ending_soonest_come_first_and_open_ended_ones_last(clinic_a, in_clinic, app_client_for,
                                                                   django_capture_on_commit_callbacks):
    # given three banner promos: no end, ending in 2031, ending in 2030
    with django_capture_on_commit_callbacks(execute=True):
        make_promo(clinic_a, in_clinic, code="OPEN")
        make_promo(clinic_a, in_clinic, code="LATER", ends_at=datetime(2031, 1, 1, tzinfo=LONDON))
        make_promo(clinic_a, in_clinic, code="SOONER", ends_at=datetime(2030, 1, 1, tzinfo=LONDON))
    # when the app fetches its config
    _, promos = config_promos(app_client_for, clinic_a)
    # then the soonest ending comes first and the open-ended one last, on every database
    assert [p["code"] for p in promos] == ["SOONER", "LATER", "OPEN"]
