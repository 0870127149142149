"""API keys are kept per process (every POS request names one), and every change to a key or its clinic
is seen on the very next request, in this process and in the others (API.md, Authentication)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic_crm.tenancy.auth import ACCESS_VERSION_KEY
from clinic_crm.tenancy.models import ApiKey
from clinic_crm.tenancy.services import update_clinic
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

POS_PATIENTS = "/api/v1/pos/patients"


def api_key_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "tenancy_apikey"' in q["sql"]]


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-123456789")
    client.force_login(user)
    return client


def test_a_key_already_used_is_not_read_from_the_database_again(clinic_a, pos_client_for):
    # given a key that has made one request
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    # when it makes the next
    with CaptureQueriesContext(connection) as queries:
        response = api.get(POS_PATIENTS)
    # then it is answered without reading the key or its clinic again
    assert response.status_code == 200
    assert api_key_reads(queries) == []


@pytest.mark.redis
def test_a_key_changed_by_another_process_is_read_again_once_that_process_bumps_the_access_version(
        clinic_a, pos_client_for, redis_cache):
    # given a POS key kept by this process, with Redis as the shared cache
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    # when another process takes the POS scope away and bumps the clinic's access version in Redis
    ApiKey.objects.filter(clinic=clinic_a).update(scopes=["events"])
    redis_cache.set(f":1:{ACCESS_VERSION_KEY.format(clinic_id=clinic_a.pk)}", 7)  # as bump_tracked_int does
    # then this process's very next request reads the key again and is refused
    body = assert_error(api.get(POS_PATIENTS), 403, "permission_denied")
    assert "pos" in body["message"]


def test_without_a_bump_a_copy_is_used_and_read_again_within_a_minute(clinic_a, pos_client_for, time_machine):
    # given a key kept by this process, changed in the database behind the services' back
    time_machine.move_to("2026-11-22 10:00:00Z", tick=False)
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    ApiKey.objects.filter(clinic=clinic_a).update(scopes=["events"])
    # when it is used straight away, and again a minute later
    at_once = api.get(POS_PATIENTS)
    time_machine.move_to("2026-11-22 10:01:01Z", tick=False)
    later = api.get(POS_PATIENTS)
    # then the copy answered the first and the row the second
    assert at_once.status_code == 200
    assert_error(later, 403, "permission_denied")


def test_a_clinic_profile_change_reaches_requests_made_with_a_kept_key(clinic_a, pos_client_for):
    # given a key kept by this process
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    # when the clinic's timezone changes through the settings service
    update_clinic(clinic=clinic_a, data={"timezone": "America/New_York"})
    with CaptureQueriesContext(connection) as queries:
        api.get(POS_PATIENTS)
    # then the next request reads the key and its clinic again
    assert len(api_key_reads(queries)) == 1


def test_deactivating_a_clinic_in_django_admin_refuses_its_kept_keys_at_once(
        clinic_a, pos_client_for, superuser_client, django_capture_on_commit_callbacks):
    # given a key kept by this process
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
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
    assert_error(api.get(POS_PATIENTS), 401, "authentication_failed")


def test_revoking_a_key_in_django_admin_refuses_it_at_once(
        clinic_a, pos_client_for, superuser_client, django_capture_on_commit_callbacks):
    # given a key kept by this process
    api = pos_client_for(clinic_a)
    assert api.get(POS_PATIENTS).status_code == 200
    key = ApiKey.objects.get(clinic=clinic_a)
    # when a platform admin fills in its "revoked at" in Django admin
    with django_capture_on_commit_callbacks(execute=True):
        saved = superuser_client.post(reverse("admin:tenancy_apikey_change", args=[key.pk]), {
            "clinic": clinic_a.pk, "name": key.name, "scopes": '["pos", "events"]',
            "revoked_at_0": "2026-11-22", "revoked_at_1": "09:00:00"})
    # then its next request is refused as revoked
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved.content[:500]
    body = assert_error(api.get(POS_PATIENTS), 401, "authentication_failed")
    assert body["message"] == "The API key has been revoked."


def test_a_kept_key_records_its_use_once_per_five_minutes(clinic_a, pos_client_for, time_machine):
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
