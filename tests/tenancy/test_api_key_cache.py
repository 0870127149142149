"""API keys are kept per process when Redis is the cache (every POS request names one), and every change to a
key or its clinic is seen on the very next request, in this process and in the others (API.md, Authentication)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic_crm.tenancy import auth
from clinic_crm.tenancy.auth import ACCESS_VERSION_KEY, forget_clinic_access
from clinic_crm.tenancy.models import ApiKey
from clinic_crm.tenancy.services import revoke_api_key, update_clinic
from tests.conftest import assert_error, platform_db
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
redis = pytest.mark.redis

POS_PATIENTS = "/api/v1/pos/patients"


def api_key_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "tenancy_apikey"' in q["sql"]]


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-123456789")
    client.force_login(user)
    return client


@pytest.fixture
def kept_key(clinic_a, pos_client_for, redis_cache):
    """A POS client whose key this process already keeps (Redis is the cache)."""
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    return api


@redis
def test_a_key_already_used_is_not_read_from_the_database_again(kept_key):
    # when a kept key makes its next request
    with CaptureQueriesContext(connection) as queries:
        response = kept_key.get(POS_PATIENTS)
    # then it is answered without reading the key or its clinic again
    assert response.status_code == 200
    assert api_key_reads(queries) == []


def test_without_redis_as_the_cache_every_request_reads_its_key(clinic_a, pos_client_for):
    # given the per-process cache (a bump would reach this process only), and a key used once
    api = pos_client_for(clinic_a)
    api.get(POS_PATIENTS)
    # when it is used again
    with CaptureQueriesContext(connection) as queries:
        api.get(POS_PATIENTS)
    # then the key is read from the database, as a revocation in another worker must be seen at once
    assert len(api_key_reads(queries)) == 1


@redis
def test_a_key_changed_by_another_process_is_read_again_once_that_process_bumps_the_access_version(
        clinic_a, kept_key, redis_cache):
    # given a kept key whose clinic's access version this process tracks
    forget_clinic_access(clinic_a.pk)
    assert kept_key.get(POS_PATIENTS).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert kept_key.get(POS_PATIENTS).status_code == 200
    assert api_key_reads(queries) == []
    # when another process takes the POS scope away and bumps the version in Redis itself
    ApiKey.objects.filter(clinic=clinic_a).update(scopes=["events"])
    redis_cache.incr(caches["default"].make_and_validate_key(ACCESS_VERSION_KEY.format(clinic_id=clinic_a.pk)))
    # then this process's very next request reads the key again and is refused
    body = assert_error(kept_key.get(POS_PATIENTS), 403, "permission_denied")
    assert "pos" in body["message"]


@redis
def test_a_revocation_committed_just_after_the_key_was_read_is_not_missed(clinic_a, pos_client_for, redis_cache,
                                                                          monkeypatch):
    # given a kept key that its next request reads again (its clinic changed), and a revocation that
    # commits right after that read of the row
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    forget_clinic_access(clinic_a.pk)
    read = auth._read_api_key_rows

    def read_then_revoke(prefix):
        rows = read(prefix)
        if ApiKey.objects.get(prefix=prefix).revoked_at is None:
            revoke_api_key(api_key=ApiKey.objects.get(prefix=prefix))  # bumps the version, as its commit does
        return rows

    monkeypatch.setattr(auth, "_read_api_key_rows", read_then_revoke)
    assert api.get(POS_PATIENTS).status_code == 200  # answered from the row read before the revocation
    monkeypatch.setattr(auth, "_read_api_key_rows", read)
    # when the key is used again
    response = api.get(POS_PATIENTS)
    # then the copy of the old row was not kept under the new version: the revocation holds
    body = assert_error(response, 401, "authentication_failed")
    assert body["message"] == "The API key has been revoked."


@redis
def test_when_redis_cannot_be_asked_keys_are_read_from_the_database(clinic_a, kept_key, monkeypatch):
    # given Redis failing for the version reads
    def refuse(key):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(auth, "get_tracked_int", refuse)
    # when the till keeps working, and its key is revoked meanwhile
    with CaptureQueriesContext(connection) as queries:
        assert kept_key.get(POS_PATIENTS).status_code == 200
    ApiKey.objects.filter(clinic=clinic_a).update(revoked_at="2026-11-22T09:00:00Z")
    # then each request reads the key from the database, so the revocation is seen at once
    assert len(api_key_reads(queries)) == 1
    assert_error(kept_key.get(POS_PATIENTS), 401, "authentication_failed")


@redis
def test_without_a_bump_a_copy_is_used_and_read_again_within_a_minute(clinic_a, kept_key, time_machine):
    # given a kept key changed in the database behind the services' back
    time_machine.move_to("2026-11-22 10:00:00Z", tick=False)
    forget_clinic_access(clinic_a.pk)
    assert kept_key.get(POS_PATIENTS).status_code == 200
    ApiKey.objects.filter(clinic=clinic_a).update(scopes=["events"])
    # when it is used straight away, and again a minute later
    at_once = kept_key.get(POS_PATIENTS)
    time_machine.move_to("2026-11-22 10:01:01Z", tick=False)
    later = kept_key.get(POS_PATIENTS)
    # then the copy answered the first and the row the second
    assert at_once.status_code == 200
    assert_error(later, 403, "permission_denied")


@redis
def test_a_clinic_profile_change_reaches_requests_made_with_a_kept_key(clinic_a, in_clinic, pos_client_for,
                                                                      redis_cache):
    from promos.events import Actor
    from promos.services import create_promo

    # given a till that has redeemed a promo in pounds with a kept key
    with in_clinic(clinic_a):
        create_promo(clinic=clinic_a, actor=Actor(id=None, name="Ann", email="ann@example.com"), data={
            "name": "Spring", "code": "SPRING10", "discount_type": "amount", "discount_value": Decimal("10"),
            "status": "active"})
        PatientFactory(external_id="p-1")
    api = pos_client_for(clinic_a)

    def redeem(reference):
        return api.post("/api/v1/pos/promos/redeem", {"code": "SPRING10", "external_id": "p-1",
                                                      "order": {"reference": reference, "total": "50.00"}},
                        format="json")

    assert redeem("R-1").json()["redemption"]["currency"] == "GBP"
    # when the clinic's currency changes through the settings service
    update_clinic(clinic=clinic_a, data={"currency": "EUR"})
    # then the next redeem with the same key answers in euros
    assert redeem("R-2").json()["redemption"]["currency"] == "EUR"


@redis
@platform_db
def test_deactivating_a_clinic_in_django_admin_refuses_its_kept_keys_at_once(
        clinic_a, kept_key, superuser_client, django_capture_on_commit_callbacks):
    # when a platform admin unticks "active" on the clinic's admin page
    form = superuser_client.get(reverse("admin:tenancy_clinic_change", args=[clinic_a.pk])).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "is_active"}
    data.update({"memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0})
    with django_capture_on_commit_callbacks(execute=True):
        saved = superuser_client.post(reverse("admin:tenancy_clinic_change", args=[clinic_a.pk]), data)
    # then the key no longer works
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved.content[:500]
    clinic_a.refresh_from_db()
    assert clinic_a.is_active is False
    assert_error(kept_key.get(POS_PATIENTS), 401, "authentication_failed")


@redis
@platform_db
def test_revoking_a_key_in_django_admin_refuses_it_at_once(
        clinic_a, kept_key, superuser_client, django_capture_on_commit_callbacks):
    key = ApiKey.objects.get(clinic=clinic_a)
    # when a platform admin fills in its "revoked at" in Django admin
    with django_capture_on_commit_callbacks(execute=True):
        saved = superuser_client.post(reverse("admin:tenancy_apikey_change", args=[key.pk]), {
            "name": key.name, "scopes": '["pos", "events"]', "revoked_at_0": "2026-11-22", "revoked_at_1": "09:00:00"})
    # then its next request is refused as revoked
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved.content[:500]
    body = assert_error(kept_key.get(POS_PATIENTS), 401, "authentication_failed")
    assert body["message"] == "The API key has been revoked."


@platform_db
def test_a_key_cannot_be_moved_to_another_clinic_in_django_admin(clinic_a, clinic_b, pos_client_for,
                                                                  superuser_client):
    # given a key of clinic A
    pos_client_for(clinic_a)
    key = ApiKey.objects.get(clinic=clinic_a)
    # when a platform admin posts its change form naming clinic B
    superuser_client.post(reverse("admin:tenancy_apikey_change", args=[key.pk]), {
        "clinic": clinic_b.pk, "name": key.name, "scopes": '["pos"]'})
    # then the key still belongs to clinic A: the field is read-only there
    key.refresh_from_db()
    assert key.clinic_id == clinic_a.pk


@redis
def test_a_kept_key_records_its_use_once_per_five_minutes(clinic_a, pos_client_for, redis_cache, time_machine):
    # given a key used once at 10:00
    time_machine.move_to("2026-11-22 10:00:00Z", tick=False)
    api = pos_client_for(clinic_a)
    api.get(POS_PATIENTS)
    first = ApiKey.objects.get(clinic=clinic_a).last_used_at
    # when it is used again at 10:03 and at 10:06
    time_machine.move_to("2026-11-22 10:03:00Z", tick=False)
    api.get(POS_PATIENTS)
    at_three = ApiKey.objects.get(clinic=clinic_a).last_used_at
    time_machine.move_to("2026-11-22 10:06:00Z", tick=False)
    api.get(POS_PATIENTS)
    at_six = ApiKey.objects.get(clinic=clinic_a).last_used_at
    # then the time is written at 10:00 and at 10:06, not on every request
    assert first.isoformat() == "2026-11-22T10:00:00+00:00"
    assert at_three == first
    assert at_six.isoformat() == "2026-11-22T10:06:00+00:00"
