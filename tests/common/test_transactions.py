"""Statements sent ahead of the next one, and the savepoint with no round trips of its own
(common/transactions.py), on PostgreSQL with row-level security behind them."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from clinic_crm.common.transactions import savepoint, sent_with_next_statement
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.rows import statements_sent
from tests.factories import PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0]


def _round_trips(queries) -> list[list[str]]:
    return [statements_sent(q["sql"]) for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]


@pytest.fixture
def patients(clinic_a, clinic_b, in_clinic):
    with in_clinic(clinic_a):
        ann = PatientFactory(external_id="ANN")
    with in_clinic(clinic_b):
        PatientFactory(external_id="BOB")
    return ann


def test_a_statement_goes_with_the_next_one_in_one_round_trip():
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with sent_with_next_statement("SELECT set_config('app.trial', 'on', true)") as was_sent:
            assert not was_sent()
            # when the next statement runs
            value = _setting("app.trial")
            # then the queued one ran first, in the same round trip
            assert value == "on" and was_sent()
            _setting("app.trial")
    assert _round_trips(queries) == [
        ["SELECT set_config('app.trial', 'on', true)", "SELECT current_setting('app.trial', true)"],
        ["SELECT current_setting('app.trial', true)"],
    ]


def test_nothing_is_sent_when_nothing_runs_in_the_block():
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with sent_with_next_statement("SELECT set_config('app.trial', 'on', true)") as was_sent:
            pass
        assert not was_sent()
        assert _setting("app.trial") in ("", None)
    assert len(_round_trips(queries)) == 1


def test_sql_with_a_percent_sign_is_refused():
    with pytest.raises(ValueError):
        with sent_with_next_statement("SELECT '100%'"):
            pass


def test_the_first_statement_of_a_clinic_scope_carries_the_clinics_setting(clinic_a, patients):
    # when a scope's first statement runs
    with CaptureQueriesContext(connection) as queries, clinic_scope(clinic_a.pk):
        names = list(Patient.objects.values_list("external_id", flat=True))
    # then it saw only the clinic's rows (RLS), with the setting sent ahead of it in one round trip
    assert names == ["ANN"]
    (first,) = _round_trips(queries)
    assert first[0] == f"SELECT set_config('app.clinic_id', '{clinic_a.pk}', true)"


def test_a_server_side_cursor_first_in_a_scope_still_sees_the_clinics_rows(clinic_a, clinic_b, patients):
    # given a scope whose first statement declares a server-side cursor (.iterator() on PostgreSQL)
    for clinic, expected in ((clinic_a, ["ANN"]), (clinic_b, ["BOB"])):
        with clinic_scope(clinic.pk):
            # then the setting was sent on its own first, and row-level security let the rows through
            assert [p.external_id for p in Patient.objects.all().iterator(chunk_size=10)] == expected


def test_executemany_first_in_a_scope_runs_with_the_clinics_setting(clinic_a, clinic_b, in_clinic, patients):
    # when a scope's first statement is an executemany (which repeats its SQL)
    with clinic_scope(clinic_a.pk), connection.cursor() as cursor:
        cursor.executemany("UPDATE patients_patient SET first_name = %s WHERE external_id = %s",
                           [("Anne", "ANN"), ("Bobby", "BOB")])
    # then it ran as clinic A: its row changed, clinic B's stayed out of reach
    with in_clinic(clinic_a):
        assert Patient.objects.get(external_id="ANN").first_name == "Anne"
    with in_clinic(clinic_b):
        assert Patient.objects.get(external_id="BOB").first_name != "Bobby"


def test_a_savepoint_keeps_what_its_block_wrote(clinic_a, in_clinic):
    with in_clinic(clinic_a), CaptureQueriesContext(connection) as queries:
        with savepoint():
            PatientFactory(external_id="KEPT")
        assert Patient.objects.filter(external_id="KEPT").exists()
    # with no round trip of its own: SAVEPOINT went ahead of the block's first statement, no RELEASE
    sent = [sql for trip in _round_trips(queries) for sql in trip]
    assert [sql.split()[0] for sql in sent if sql.startswith(("SAVEPOINT", "RELEASE"))] == ["SAVEPOINT"]
    assert all(len(trip) > 1 for trip in _round_trips(queries) if any(s.startswith("SAVEPOINT") for s in trip))


def test_an_exception_in_a_savepoint_undoes_its_writes_and_the_transaction_goes_on(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        PatientFactory(external_id="BEFORE")
        with pytest.raises(RuntimeError), savepoint():
            PatientFactory(external_id="UNDONE")
            raise RuntimeError("refused")
        # then the block's write is gone, what came before stays, and the transaction is usable
        assert list(Patient.objects.order_by("external_id").values_list("external_id", flat=True)) == ["BEFORE"]
        PatientFactory(external_id="AFTER")
        # and the clinic's setting, sent before the savepoint, survived its rollback
        assert _setting("app.clinic_id") == str(clinic_a.pk)
    with in_clinic(clinic_a):
        assert Patient.objects.filter(external_id__in=["BEFORE", "AFTER"]).count() == 2


def test_a_database_error_in_a_savepoint_leaves_the_transaction_usable(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        PatientFactory(external_id="ANN")
        with pytest.raises(IntegrityError), savepoint():
            PatientFactory(external_id="UNDONE")
            PatientFactory(external_id="ANN")  # a clinic's external ids are unique
        # then the block's writes are gone and the transaction takes more statements
        assert not connection.needs_rollback
        assert list(Patient.objects.values_list("external_id", flat=True)) == ["ANN"]


def test_set_rollback_in_a_savepoint_undoes_only_its_block(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        with savepoint():
            PatientFactory(external_id="UNDONE")
            transaction.set_rollback(True)
        assert not connection.needs_rollback
        PatientFactory(external_id="KEPT")
    with in_clinic(clinic_a):
        assert list(Patient.objects.values_list("external_id", flat=True)) == ["KEPT"]


def test_a_savepoint_needs_a_transaction():
    with pytest.raises(TransactionManagementError):
        with savepoint():
            pass
