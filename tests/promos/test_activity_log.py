"""The promo activity log: who, what, when and the field-level diff, as it was at the time (PRO-5)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from promos import services
from promos.events import Actor
from promos.models import PromoActivity
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def make_promo(clinic, actor):
    return services.create_promo(clinic=clinic, actor=actor, data={
        "name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
        "status": "active"})


def log_of(promo):
    return list(PromoActivity.objects.filter(promo=promo).order_by("id"))


def test_creating_a_promo_logs_who_created_it_and_what(clinic_a, in_clinic, owner_a):
    with in_clinic(clinic_a):
        # when the owner creates a promo from the dashboard session
        promo = make_promo(clinic_a, Actor.from_user(owner_a))
        [row] = log_of(promo)
    # then one "created" row names them and the settings
    assert (row.action, row.actor_id, row.actor_name, row.actor_email) == (
        "created", owner_a.pk, "Owner Clinic A", owner_a.email)
    assert row.diff["created"]["code"] == "SPRING20" and row.diff["created"]["discount_value"] == "20"


def test_an_edit_of_two_fields_writes_one_row_with_both_diffs(clinic_a, in_clinic, owner_a):
    with in_clinic(clinic_a):
        # given a promo
        promo = make_promo(clinic_a, Actor.from_user(owner_a))
        # when two fields are edited at once
        services.update_promo(promo=promo, data={"name": "Spring sale", "max_uses": 50, "show_banner": False},
                              actor=Actor.from_user(owner_a))
        rows = log_of(promo)
    # then one "updated" row holds exactly the two changes with before and after
    assert [r.action for r in rows] == ["created", "updated"]
    assert rows[1].diff == {"name": {"before": "Spring", "after": "Spring sale"},
                            "max_uses": {"before": None, "after": 50}}
    assert (rows[1].actor_name, rows[1].actor_email) == ("Owner Clinic A", owner_a.email)


def test_an_edit_that_changes_nothing_writes_nothing(clinic_a, in_clinic, owner_a):
    with in_clinic(clinic_a):
        promo = make_promo(clinic_a, Actor.from_user(owner_a))
        services.update_promo(promo=promo, data={"name": "Spring", "code": "SPRING20"},
                              actor=Actor.from_user(owner_a))
        assert [r.action for r in log_of(promo)] == ["created"]


def test_code_and_status_changes_are_logged(clinic_a, in_clinic, owner_a):
    actor = Actor.from_user(owner_a)
    with in_clinic(clinic_a):
        promo = make_promo(clinic_a, actor)
        services.update_promo(promo=promo, data={"code": "SUMMER"}, actor=actor)
        services.pause_promo(promo=promo, actor=actor)
        services.activate_promo(promo=promo, actor=actor)
        services.archive_promo(promo=promo, actor=actor)
        rows = log_of(promo)
    assert [r.action for r in rows] == ["created", "updated", "paused", "activated", "archived"]
    assert rows[1].diff == {"code": {"before": "SPRING20", "after": "SUMMER"}}
    assert rows[4].diff == {"status": {"before": "active", "after": "archived"}}


def test_an_api_edit_is_logged_with_the_jwts_name_and_email(clinic_a, in_clinic, owner_a):
    # given a staff token and a promo
    api = APIClient()
    token = api.post("/api/v1/staff/token", {"email": owner_a.email, "password": PASSWORD,
                                             "clinic": clinic_a.slug}, format="json").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    promo_id = api.post("/api/v1/staff/promos/", {"name": "Spring", "code": "SPRING20", "discount": {
        "type": "percent", "value": "20"}}, format="json").json()["id"]
    # when the user is renamed after the token was issued, then edits two fields over the API
    get_user_model().objects.filter(pk=owner_a.pk).update(first_name="Renamed", email="renamed@example.com")
    response = api.patch(f"/api/v1/staff/promos/{promo_id}", {"name": "Spring sale", "min_order": "25.00"},
                         format="json")
    assert response.status_code == 200, response.content
    with in_clinic(clinic_a):
        rows = PromoActivity.objects.filter(promo_id=int(promo_id)).order_by("id")
        created, updated = list(rows)
    # then both rows carry the token's name and e-mail, and the edit both diffs
    for row in (created, updated):
        assert (row.actor_id, row.actor_name, row.actor_email) == (owner_a.pk, "Owner Clinic A", owner_a.email)
    assert updated.diff == {"name": {"before": "Spring", "after": "Spring sale"},
                            "min_order": {"before": None, "after": "25.00"}}


def test_renaming_a_user_later_does_not_change_old_rows(clinic_a, in_clinic, owner_a):
    with in_clinic(clinic_a):
        # given a promo the owner created
        promo = make_promo(clinic_a, Actor.from_user(owner_a))
        # when the owner is renamed and edits again
        owner_a.first_name, owner_a.email = "Anna", "anna@example.com"
        owner_a.save()
        services.update_promo(promo=promo, data={"name": "Later"}, actor=Actor.from_user(owner_a))
        created, updated = log_of(promo)
    # then the old row keeps the old name and the new row has the new one
    assert (created.actor_name, created.actor_email) == ("Owner Clinic A", "owner@clinic-a.test")
    assert (updated.actor_name, updated.actor_email) == ("Anna Clinic A", "anna@example.com")


def test_a_user_without_a_name_is_logged_by_email(clinic_a, in_clinic):
    user = get_user_model()(email="noname@example.com", pk=7)
    assert Actor.from_user(user) == Actor(id=7, name="noname@example.com", email="noname@example.com")
