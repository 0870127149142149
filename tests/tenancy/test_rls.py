"""Row-level security is the second wall: a query that forgets the clinic returns nothing (CORE-1)."""

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.context import clinic_context, clinic_scope, unscoped
from clinic_crm.tenancy.models import TenantModel
from tests.conftest import platform_db
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def tenant_models():
    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


def test_every_tenant_table_has_forced_row_level_security_and_the_policy():
    # given every concrete TenantModel
    tables = {m._meta.db_table for m in tenant_models()}
    assert tables, "no tenant models found"
    # when the catalogue is read
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'clinic_isolation') "
            "FROM pg_class c WHERE c.relname = ANY(%s)",
            [list(tables)],
        )
        rows = {name: (enabled, forced, policy) for name, enabled, forced, policy in cursor.fetchall()}
    # then each table is behind RLS, forced for the owner too, with the clinic policy
    missing = sorted(t for t in tables if rows.get(t) != (True, True, True))
    assert not missing, f"tenant tables without forced RLS and the clinic_isolation policy: {missing}"


def test_the_app_role_is_subject_to_row_level_security():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        superuser, bypass = cursor.fetchone()
    assert not superuser and not bypass, "tests must connect as a non-superuser role without BYPASSRLS"


def test_an_unscoped_query_sees_no_tenant_rows(clinic_a, clinic_b):
    # given patients in two clinics
    with clinic_scope(clinic_a.pk):
        PatientFactory.create_batch(3)
    with clinic_scope(clinic_b.pk):
        PatientFactory.create_batch(2)
    # when the escape-hatch manager and raw SQL run with no clinic set
    count_orm = Patient.all_clinics.count()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {Patient._meta.db_table}")
        count_sql = cursor.fetchone()[0]
    # then the database itself hands back nothing
    assert count_orm == 0
    assert count_sql == 0


def test_a_scoped_raw_query_sees_only_its_clinic(clinic_a, clinic_b):
    with clinic_scope(clinic_a.pk):
        PatientFactory.create_batch(3)
    with clinic_scope(clinic_b.pk):
        PatientFactory.create_batch(2)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), min(clinic_id), max(clinic_id) FROM {Patient._meta.db_table}")
            count, low, high = cursor.fetchone()
    assert (count, low, high) == (2, clinic_b.pk, clinic_b.pk)


def test_writing_another_clinics_row_is_refused_by_the_database(clinic_a, clinic_b):
    # given clinic A in scope
    with clinic_scope(clinic_a.pk):
        # when raw SQL tries to insert a row for clinic B
        with pytest.raises(ProgrammingError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {Patient._meta.db_table} (clinic_id, first_name, last_name, email, phone, "
                    "external_id, push_enabled, custom_fields, created_at, updated_at) "
                    "VALUES (%s, 'X', '', '', '', 'x-1', false, '{}', now(), now())",
                    [clinic_b.pk],
                )


def test_nested_scopes_restore_the_outer_clinic(clinic_a, clinic_b):
    with clinic_scope(clinic_a.pk):
        PatientFactory()
    with clinic_scope(clinic_b.pk):
        PatientFactory.create_batch(2)
    with clinic_scope(clinic_a.pk):
        with clinic_scope(clinic_b.pk):
            assert Patient.all_clinics.count() == 2
        # the inner SET LOCAL must not outlive its block
        assert Patient.all_clinics.count() == 1
    assert Patient.all_clinics.count() == 0


@platform_db
def test_unscoped_sees_every_clinic_and_ends_with_its_block(clinic_a, clinic_b):
    with clinic_scope(clinic_a.pk):
        PatientFactory()
    with clinic_scope(clinic_b.pk):
        PatientFactory()
    with unscoped():
        assert Patient.objects.count() == 2
    assert Patient.all_clinics.count() == 0


def test_the_setting_is_transaction_local_and_does_not_leak_to_the_next_transaction(clinic_a):
    # SET LOCAL, not SET: a pooled connection must not carry the clinic into the next request.
    with clinic_scope(clinic_a.pk):
        PatientFactory()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.clinic_id', true)")
        assert (cursor.fetchone()[0] or "") == ""


@pytest.mark.django_db(transaction=True)
def test_an_outermost_scope_leaves_no_setting_on_the_connection_after_it_commits(clinic_a):
    # given no transaction open (as at the start of a request or a task)
    assert not connection.in_atomic_block
    # when a scope runs and commits
    with clinic_scope(clinic_a.pk):
        PatientFactory()
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.clinic_id', true)")
            assert cursor.fetchone()[0] == str(clinic_a.pk)
    # then the same connection carries no clinic into whatever runs next
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.clinic_id', true)")
        assert (cursor.fetchone()[0] or "") == ""
    assert Patient.all_clinics.count() == 0


def test_the_orm_only_context_without_a_scope_fails_closed_in_the_database(clinic_a):
    # given a patient of clinic A
    with clinic_scope(clinic_a.pk):
        PatientFactory()
    # when code names the clinic for the ORM only and forgets to open the clinic's scope
    with clinic_context(clinic_a.pk):
        count = Patient.objects.count()
    # then row-level security still hands back nothing
    assert count == 0
