"""Hand-written statements on tenant rows (tenancy/rows.py) keep to the clinic in scope like the ORM's manager."""

from decimal import Decimal

import pytest
from django.db import connection

from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.context import TenantScopeError, clinic_context, clinic_scope
from clinic_crm.tenancy.rows import get_scoped_row, insert_scoped_row, update_scoped_rows
from promos.models import PromoCode
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_patients(clinic_a, clinic_b, in_clinic):
    with in_clinic(clinic_a):
        ann = PatientFactory(external_id="SAME", custom_fields={"segment": "VIP"})
    with in_clinic(clinic_b):
        bob = PatientFactory(external_id="SAME")
    return ann, bob


def test_a_row_is_read_as_the_orm_reads_it(clinic_a, in_clinic, two_patients):
    ann, _ = two_patients
    with in_clinic(clinic_a):
        # when a patient is read by hand
        found = get_scoped_row(Patient, where="t.external_id = %s", params=["SAME"])
        # then it is the clinic's own, with every field as the ORM gives it (JSON decoded, aware datetimes)
        assert found == ann
        expected = Patient.objects.get(pk=ann.pk)
        for field in Patient._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
        assert found.custom_fields == {"segment": "VIP"}


def test_another_clinics_row_is_not_found_even_where_row_level_security_would_let_it_through(
        clinic_a, clinic_b, two_patients):
    ann, bob = two_patients
    # given clinic B named for the code while the database lets clinic A's rows through (as a role with
    # BYPASSRLS or SQLite would let every clinic's)
    with clinic_scope(clinic_a.pk), clinic_context(clinic_b.pk):
        # then the statement's own clinic filter still keeps A's rows out
        assert get_scoped_row(Patient, where="t.id = %s", params=[ann.pk]) is None
        # (B's own row is found on SQLite, and hidden by PostgreSQL, which lets only A's through here)
        assert get_scoped_row(Patient, where="t.external_id = %s", params=["SAME"]) in (None, bob)
        assert update_scoped_rows(Patient, assignments="first_name = %s", assignment_params=["Renamed"],
                                  where="id = %s", where_params=[ann.pk]) == []
    with clinic_scope(clinic_a.pk):
        assert Patient.objects.get(pk=ann.pk).first_name != "Renamed"


def test_no_clinic_in_scope_is_an_error_not_every_clinics_rows(two_patients):
    with pytest.raises(TenantScopeError):
        get_scoped_row(Patient, where="t.external_id = %s", params=["SAME"])
    with pytest.raises(TenantScopeError):
        update_scoped_rows(Patient, assignments="first_name = %s", assignment_params=["X"], where="TRUE",
                           where_params=[])


def test_an_update_touches_only_the_clinics_rows(clinic_a, clinic_b, in_clinic, two_patients):
    ann, bob = two_patients
    with in_clinic(clinic_a):
        # when every row matching a condition both clinics' rows meet is renamed
        updated = update_scoped_rows(Patient, assignments="first_name = %s", assignment_params=["Renamed"],
                                     where="external_id = %s", where_params=["SAME"], returning="id")
    # then only the clinic's own changed
    assert updated == [(ann.pk,)]
    with in_clinic(clinic_b):
        assert Patient.objects.get(pk=bob.pk).first_name != "Renamed"


def test_a_related_row_comes_from_the_same_statement(clinic_a, in_clinic, django_assert_num_queries):
    from promos.events import Actor
    from promos.services import create_promo

    with in_clinic(clinic_a):
        create_promo(clinic=clinic_a, actor=Actor(id=None, name="Ann", email="ann@example.com"), data={
            "name": "Spring", "code": "Spring20", "discount_type": "percent", "discount_value": Decimal("20")})
        with django_assert_num_queries(1):
            code = get_scoped_row(PromoCode, where="lower(t.code) = lower(%s)", params=["SPRING20"], related="promo")
            assert (code.code, code.promo.name, code.promo.discount_value) == ("Spring20", "Spring", Decimal("20.00"))


def test_an_insert_is_refused_for_another_clinics_row_and_keeps_defaults(clinic_a, clinic_b, in_clinic,
                                                                         two_patients):
    ann, bob = two_patients
    with in_clinic(clinic_a):
        # an order of clinic B written in A's scope is refused before any SQL
        stray = Order(clinic=clinic_b, patient=bob, reference="X", placed_at=ann.created_at, currency="USD",
                      subtotal=Decimal("1"), total=Decimal("1"))
        with pytest.raises(TenantScopeError):
            insert_scoped_row(stray)
        # an order of A's gets its id, its created_at and its field defaults
        order = Order(clinic=clinic_a, patient=ann, reference="Y", placed_at=ann.created_at, currency="GBP",
                      subtotal=Decimal("1"), total=Decimal("1"))
        assert insert_scoped_row(order) is True
        stored = Order.objects.get(pk=order.pk)
        assert stored.created_at is not None and stored.discount_amount == Decimal("0.00")
        assert stored.discount_source == "none"
        # and the same reference again inserts nothing, without an error
        again = Order(clinic=clinic_a, patient=ann, reference="Y", placed_at=ann.created_at, currency="GBP",
                      subtotal=Decimal("2"), total=Decimal("2"))
        assert insert_scoped_row(again, unless_conflict=("clinic", "reference")) is False
        assert again.pk is None
        assert Order.objects.filter(reference="Y").count() == 1


@pytest.mark.postgres
def test_hot_statements_are_prepared_once_per_connection(clinic_a, in_clinic, two_patients):
    from django.test.utils import CaptureQueriesContext

    ann, _ = two_patients
    with in_clinic(clinic_a), CaptureQueriesContext(connection) as queries:
        for _ in range(3):  # a statement of this test only
            assert get_scoped_row(Patient, where="t.id = %s AND t.external_id = %s", params=[ann.pk, "SAME"]) == ann
    sent = [q["sql"] for q in queries.captured_queries]
    # one PREPARE with the first EXECUTE, in one round trip; then EXECUTE alone
    assert len(sent) == 3 and sent[0].startswith("PREPARE ") and "; EXECUTE " in sent[0]
    assert all(q.startswith("EXECUTE ") for q in sent[1:])


@pytest.mark.postgres
def test_a_failed_first_use_leaves_the_connection_able_to_run_the_statement(clinic_a, in_clinic, two_patients):
    from django.db import DataError, transaction

    ann, _ = two_patients
    rename = dict(assignments="first_name = %s", where="id = %s AND 1 / %s = 1")  # a statement of this test only
    with in_clinic(clinic_a):
        # given a statement whose first use fails after its PREPARE ran (division by zero when it runs)
        with pytest.raises(DataError), transaction.atomic():
            update_scoped_rows(Patient, assignment_params=["Never"], where_params=[ann.pk, 0], **rename)
        # when it is used again, then it runs: the server is asked whether it holds the statement
        assert update_scoped_rows(Patient, assignment_params=["Again"], where_params=[ann.pk, 1], **rename) == [(None,)]
        assert Patient.objects.get(pk=ann.pk).first_name == "Again"


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler(clinic_a, in_clinic, two_patients, settings):
    from django.test.utils import CaptureQueriesContext

    ann, _ = two_patients
    settings.DB_PREPARED_STATEMENTS = False
    with in_clinic(clinic_a), CaptureQueriesContext(connection) as queries:
        assert get_scoped_row(Patient, where="t.id = %s AND t.first_name = t.first_name", params=[ann.pk]) == ann
    assert [q["sql"] for q in queries.captured_queries if "PREPARE" in q["sql"] or "EXECUTE" in q["sql"]] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the owner alters the table from a session of its own
def test_a_statement_whose_plan_a_schema_change_broke_is_prepared_anew(clinic_a, in_clinic, two_patients, owner_sql):
    from django.db import NotSupportedError, transaction

    ann, _ = two_patients
    rename = dict(assignments="first_name = %s", where="id = %s", returning="first_name")
    with in_clinic(clinic_a):
        assert update_scoped_rows(Patient, assignment_params=["Before"], where_params=[ann.pk], **rename) == [("Before",)]
    # given a schema change, by the tables' owner, that alters the type of a column the prepared statement returns
    length = Patient._meta.get_field("first_name").max_length
    owner_sql(f"ALTER TABLE patients_patient ALTER COLUMN first_name TYPE varchar({length + 20})")
    try:
        with in_clinic(clinic_a):
            # when the statement runs, its cached plan fails once ("must not change result type") ...
            with pytest.raises(NotSupportedError), transaction.atomic():
                update_scoped_rows(Patient, assignment_params=["Broken"], where_params=[ann.pk], **rename)
            # then the next use prepares it again and it runs
            assert update_scoped_rows(Patient, assignment_params=["After"], where_params=[ann.pk],
                                      **rename) == [("After",)]
    finally:
        connection.close()  # its statements were prepared against the altered column
        owner_sql(f"ALTER TABLE patients_patient ALTER COLUMN first_name TYPE varchar({length})")
