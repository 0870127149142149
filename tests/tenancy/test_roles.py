"""The app's own role cannot get past row-level security; only the platform role, through its own
connection, reads across clinics (CORE-1, CORE-8).

Nothing the app's connection can run opens another clinic: not the setting that used to open every
policy, not turning a table's policy off (the role owns no table), not borrowing another role.
"""

import os

import environ
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, router, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.context import clinic_scope, unscoped
from tests.conftest import platform_db
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TABLE = Patient._meta.db_table
PLATFORM_ROLE = settings.DATABASES.get("platform", {}).get("USER") or "clinic_crm_platform"
OWNER_ROLE = environ.Env.db_url_config(os.environ.get("DATABASE_OWNER_URL") or "postgres://clinic_crm@x/x")["USER"]


@pytest.fixture
def three_roles():
    if not (os.environ.get("DATABASE_OWNER_URL") and "platform" in settings.DATABASES):
        pytest.skip("needs the three roles: set DATABASE_OWNER_URL and PLATFORM_DATABASE_URL (README, Test it)")


def patients_in_both(clinic_a, clinic_b):
    with clinic_scope(clinic_a.pk):
        PatientFactory.create_batch(2)
    with clinic_scope(clinic_b.pk):
        PatientFactory.create_batch(3)


def count_patients() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{TABLE}"')
        return cursor.fetchone()[0]


def test_setting_app_bypass_rls_no_longer_reveals_another_clinic(clinic_a, clinic_b):
    # given patients in two clinics
    patients_in_both(clinic_a, clinic_b)
    # when the app's connection sets what used to open every policy, for the session and for a transaction
    with connection.cursor() as cursor:
        cursor.execute("SET app.bypass_rls = 'on'")
    try:
        seen_with_no_clinic = count_patients()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('app.bypass_rls', 'on', true)")
            seen_in_a_transaction = count_patients()
        with clinic_scope(clinic_a.pk):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL app.bypass_rls = 'on'")
            seen_as_clinic_a = count_patients()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET app.bypass_rls")
    # then no clinic's rows show without a clinic, and clinic A sees only its own
    assert (seen_with_no_clinic, seen_in_a_transaction, seen_as_clinic_a) == (0, 0, 2)


def test_no_policy_names_a_setting_other_than_the_clinic(three_roles):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, qual, with_check FROM pg_policies WHERE policyname = 'clinic_isolation'")
        policies = cursor.fetchall()
    assert policies
    opened = [table for table, using, check in policies
              if "bypass" in (using or "") or "bypass" in (check or "") or "app.clinic_id" not in using]
    assert not opened, f"policies with a way past them: {opened}"


STATEMENTS_THE_APP_ROLE_MAY_NOT_RUN = [
    f'ALTER TABLE "{TABLE}" NO FORCE ROW LEVEL SECURITY',
    f'ALTER TABLE "{TABLE}" DISABLE ROW LEVEL SECURITY',
    f'DROP POLICY clinic_isolation ON "{TABLE}"',
    f'CREATE POLICY open_door ON "{TABLE}" USING (true)',
    f'ALTER POLICY clinic_isolation ON "{TABLE}" USING (true)',
    f'ALTER TABLE "{TABLE}" OWNER TO CURRENT_USER',
    f"SET ROLE {PLATFORM_ROLE}",
    f"SET ROLE {OWNER_ROLE}",
    f"SET SESSION AUTHORIZATION {PLATFORM_ROLE}",
    "SET row_security = off",
    "CREATE TABLE public.escape (id int)",
]


@pytest.mark.parametrize("statement", STATEMENTS_THE_APP_ROLE_MAY_NOT_RUN)
def test_the_app_role_cannot_switch_row_level_security_off_or_borrow_a_role(three_roles, clinic_a, clinic_b,
                                                                             statement):
    patients_in_both(clinic_a, clinic_b)
    # when the app's connection runs it
    refused = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
            seen = count_patients()
    except DatabaseError as error:
        refused = error
    # then PostgreSQL refuses it, or (row_security = off) it opens nothing: a query RLS would narrow fails
    if refused is None:
        pytest.fail(f"{statement!r} ran and the app's role then saw {seen} patients")
    assert "must be owner" in str(refused) or "permission denied" in str(refused) \
        or "row-level security" in str(refused), str(refused)


def test_the_app_role_owns_nothing_belongs_to_no_role_and_may_use_the_rows_of_every_table(three_roles):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False)
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_auth_members WHERE member = "
                       "(SELECT oid FROM pg_roles WHERE rolname = current_user)")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND NOT ("
                       "has_table_privilege(format('%I.%I', schemaname, tablename), 'SELECT, INSERT, UPDATE, DELETE'))")
        assert cursor.fetchall() == [], "tables the app's role may not use: migrate grants them (DATABASE_APP_ROLES)"


@platform_db
def test_only_the_platform_connection_reads_across_clinics(three_roles, clinic_a, clinic_b):
    # given patients in two clinics, committed
    patients_in_both(clinic_a, clinic_b)
    # when Django admin's way in reads them
    with unscoped():
        every_patient = list(Patient.objects.order_by("pk"))
        used = router.db_for_read(Patient)
    # then it went through the platform connection, as a BYPASSRLS role, and saw both clinics
    assert used == "platform"
    assert sorted({p.clinic_id for p in every_patient}) == [clinic_a.pk, clinic_b.pk]
    with connections["platform"].cursor() as cursor:
        cursor.execute("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (True, False)
    # and a row read there and saved afterwards goes through the app's own connection, under RLS
    assert router.db_for_write(Patient, instance=every_patient[0]) == "default"
    assert count_patients() == 0


def test_without_the_platform_connection_admin_says_what_to_set_instead_of_showing_empty_lists(monkeypatch,
                                                                                                client):
    # given PostgreSQL and no PLATFORM_DATABASE_URL
    monkeypatch.setattr("clinic_crm.tenancy.context.has_platform_db", lambda: False)
    # then reading across clinics fails loudly
    with pytest.raises(ImproperlyConfigured, match="PLATFORM_DATABASE_URL"):
        with unscoped():
            pass
    # and a platform admin opening Django admin is told why, with a 503 rather than a crash
    root = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-123456789")
    client.force_login(root)
    response = client.get(reverse("admin:patients_patient_changelist"))
    assert response.status_code == 503
    assert "set PLATFORM_DATABASE_URL" in response.content.decode()


def test_the_deploy_check_is_quiet_for_the_app_role(three_roles):
    from clinic_crm.tenancy.checks import check_app_role_is_rows_only

    assert check_app_role_is_rows_only(databases=["default"]) == []
    assert check_app_role_is_rows_only() == []  # asked only with --database


@pytest.mark.django_db(transaction=True)
def test_the_deploy_check_warns_when_the_app_would_connect_as_the_tables_owner(three_roles, as_schema_owner):
    from clinic_crm.tenancy.checks import check_app_role_is_rows_only

    with as_schema_owner():
        [warning] = check_app_role_is_rows_only(databases=["default"])
    assert warning.id == "clinic_crm.W101" and "owns the tables" in warning.msg
