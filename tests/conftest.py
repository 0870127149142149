"""Shared fixtures: two sibling clinics, staff of every role, and API clients for each way in."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from clinic_crm.tenancy.choices import ApiScope, Role
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.services import create_api_key, create_clinic, create_staff

STRICT = os.environ.get("CLINIC_CRM_STRICT_TESTS") == "1"
# The role that owns the schema (as `manage.py migrate` runs in production): with it set, as on CI, the
# test database is created and migrated by it and the tests run as DATABASE_URL's role, rows only.
OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
PASSWORD = "correct-horse-battery"
# Django admin reads across clinics through the platform connection (PLATFORM_DATABASE_URL), a session of
# its own that cannot see a test's uncommitted rows: tests that go through it commit theirs.
PLATFORM_DB = pytest.mark.django_db(
    transaction=True, databases=["default", "platform"] if "platform" in settings.DATABASES else ["default"])


def platform_db(test):
    """Mark a test that goes through Django admin: it commits its rows, and on PostgreSQL it needs the
    platform connection (skipped without PLATFORM_DATABASE_URL)."""
    return pytest.mark.platform(PLATFORM_DB(test))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def pytest_configure(config):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if STRICT and not on_postgres:
        raise pytest.UsageError("CLINIC_CRM_STRICT_TESTS=1 needs DATABASE_URL pointing at PostgreSQL")
    has_chromium = bool(shutil.which(CHROMIUM) or os.path.exists(CHROMIUM))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (row-level security / real row locks); "
                                                    "set DATABASE_URL to run it"))
        if "platform" in item.keywords and on_postgres and "platform" not in settings.DATABASES:
            item.add_marker(pytest.mark.skip(reason="needs PLATFORM_DATABASE_URL (a BYPASSRLS role): Django admin "
                                                    "reads across clinics through it on PostgreSQL"))
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"))
        if "celery" in item.keywords and not os.environ.get("CELERY_TEST_BROKER_URL"):
            item.add_marker(pytest.mark.skip(reason="needs Redis: set CELERY_TEST_BROKER_URL=redis://127.0.0.1:6379/14"))
        if "redis" in item.keywords and not os.environ.get("REDIS_TEST_URL"):
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_TEST_URL=redis://127.0.0.1:6379/13"))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if not STRICT:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"CLINIC_CRM_STRICT_TESTS: {skipped} test(s) skipped; on CI every test must run.", red=True)
        session.exitstatus = 1


def _connect_default_as(credentials: dict) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict.update(credentials)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> dict | None:
    """With DATABASE_OWNER_URL, the test database is created and migrated as the owner; returns both roles."""
    if not OWNER_URL:
        return None
    import environ
    from django.db import connections

    owner = environ.Env.db_url_config(OWNER_URL)
    roles = {"app": {key: connections["default"].settings_dict[key] for key in ("USER", "PASSWORD")},
             "owner": {"USER": owner["USER"], "PASSWORD": owner["PASSWORD"]}}
    _connect_default_as(roles["owner"])
    return roles


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_modify_db_settings, django_db_blocker):
    """The test database as production has it: owned by DATABASE_OWNER_URL's role, used by the app's."""
    roles = django_db_modify_db_settings
    if roles is None:
        yield
        return
    with django_db_blocker.unblock():
        # Tests that commit are emptied with TRUNCATE afterwards; production grants it to no one.
        with connection.cursor() as cursor:
            cursor.execute("GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "
                           + connection.ops.quote_name(roles["app"]["USER"]))
        _connect_default_as(roles["app"])
    yield
    with django_db_blocker.unblock():
        _connect_default_as(roles["owner"])  # the owner drops the database


@pytest.fixture
def as_schema_owner(django_db_modify_db_settings):
    """`with as_schema_owner():` runs the block on the default connection as the role that owns the
    tables (DDL, a data migration), then reconnects as the app's role. For tests that commit."""
    roles = django_db_modify_db_settings

    @contextlib.contextmanager
    def switch():
        if roles is None:  # one role owns and uses the tables
            yield
            return
        _connect_default_as(roles["owner"])
        try:
            yield
        finally:
            _connect_default_as(roles["app"])

    return switch


@pytest.fixture
def owner_sql(django_db_modify_db_settings):
    """`owner_sql(statement)` runs it at once, committed, on a PostgreSQL session of its own as the role
    that owns the tables (DDL the app's role may not run). For tests that commit."""
    import psycopg2

    database = connection.settings_dict
    role = (django_db_modify_db_settings or {}).get("owner") or database
    session = psycopg2.connect(dbname=database["NAME"], host=database["HOST"], port=database["PORT"] or None,
                               user=role["USER"], password=role["PASSWORD"])
    session.autocommit = True

    def run(statement: str) -> None:
        with session.cursor() as cursor:
            cursor.execute(statement)

    yield run
    session.close()


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    from clinic_crm.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Cached lookups (app keys, app config, throttles) must not leak from one test into the next.
    from django.core.cache import caches

    from clinic_crm.tenancy.auth import forget_local_api_keys, forget_local_app_keys
    from clinic_crm.patient_app.config import forget_kept_configs

    for alias in ("default", "local"):
        caches[alias].clear()
    forget_local_app_keys()
    forget_local_api_keys()
    forget_kept_configs()


@pytest.fixture(autouse=True)
def _plain_static(settings):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings, tmp_path_factory):
    """Export files of a test go to a folder of its own, never into the project's var/."""
    settings.EXPORTS_DIR = str(tmp_path_factory.mktemp("exports"))


@pytest.fixture
def redis_cache(settings):
    """Django's default cache on the real Redis of REDIS_TEST_URL (a database of its own, emptied first)."""
    import redis

    from clinic_crm.common import tracked_cache

    url = os.environ["REDIS_TEST_URL"]
    tracked_cache._tracked.clear()  # each test starts with no tracking connection and no copies
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.CACHES = {**settings.CACHES, "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    yield client
    tracked_cache._tracked.clear()
    client.flushdb()
    client.close()


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def clinic_a(db):
    return create_clinic(name="Clinic A", slug="clinic-a", timezone_name="Europe/London", currency="GBP", locale="uk")


@pytest.fixture
def clinic_b(db):
    return create_clinic(name="Clinic B", slug="clinic-b", timezone_name="America/New_York", currency="USD",
                         locale="us")


def assert_error(response, status: int, code: str) -> dict:
    """Assert an API error: its status, the one body shape, and its stable code."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "code", "extra"}
    assert body["code"] == code
    return body


def make_staff(clinic, role, email=None):
    membership, _ = create_staff(clinic=clinic, email=email or f"{role}@{clinic.slug}.test", role=role,
                                 password=PASSWORD, first_name=role.capitalize(), last_name=clinic.name)
    return membership.user


@pytest.fixture
def owner_a(clinic_a):
    return make_staff(clinic_a, Role.OWNER)


@pytest.fixture
def viewer_a(clinic_a):
    return make_staff(clinic_a, Role.VIEWER)


@pytest.fixture
def staff_a(clinic_a):
    return make_staff(clinic_a, Role.STAFF)


@pytest.fixture
def owner_b(clinic_b):
    return make_staff(clinic_b, Role.OWNER)


@pytest.fixture
def client_for(client):
    """Log a user into a fresh Django test client."""
    from django.test import Client

    def _login(user):
        c = Client()
        c.force_login(user)
        return c

    return _login


@pytest.fixture
def pos_client_for():
    """An APIClient carrying a fresh integration key of the clinic."""

    def _make(clinic, scopes=(ApiScope.POS, ApiScope.EVENTS)):
        _, key = create_api_key(clinic=clinic, name="Test POS", scopes=list(scopes))
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        api.key = key
        return api

    return _make


def staff_api_client(clinic, user) -> APIClient:
    """An APIClient carrying a staff JWT for the user in the clinic, from the token endpoint."""
    api = APIClient()
    token = api.post("/api/v1/staff/token", {"email": user.email, "password": PASSWORD, "clinic": clinic.slug},
                     format="json").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


@pytest.fixture
def app_client_for():
    """An APIClient for the clinic's patient app; pass a patient to sign in as them."""
    from clinic_crm.tenancy.auth import mint_patient_token

    def _make(clinic, patient=None):
        api = APIClient()
        headers = {"HTTP_X_APP_KEY": clinic.app_key}
        if patient is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {mint_patient_token(clinic=clinic, patient_id=patient.pk)}"
        api.credentials(**headers)
        return api

    return _make


@pytest.fixture
def in_clinic():
    """`with in_clinic(clinic): ...` runs a block in that clinic's scope."""
    return lambda clinic: clinic_scope(clinic.pk)
