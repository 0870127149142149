"""Statements sent ahead of the next one, the commit sent with a transaction's last write, and
the savepoint with no round trips of its own (common/transactions.py), on PostgreSQL with
row-level security behind them."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from clinic_crm.common.transactions import (
    chained_commits, commit_with_next_statement, refusal, savepoint, sent_with_next_statement,
)
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


@pytest.mark.parametrize("params", [None, [], ["x"]], ids=["no parameters", "empty parameters", "a parameter"])
def test_a_percent_sign_sent_ahead_arrives_as_written(params):
    # given a literal holding '%' sent ahead of statements with and without parameters
    with transaction.atomic():
        with sent_with_next_statement("SELECT set_config('app.trial', '100% off', true)"), \
                connection.cursor() as cursor:
            cursor.execute("SELECT %s" if params else "SELECT 1", params)
        # then the driver did not read it as a placeholder
        assert _setting("app.trial") == "100% off"


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


# --- the commit sent with a transaction's last write -----------------------------------------------


def _external_ids(clinic, in_clinic) -> list[str]:
    with in_clinic(clinic):
        return sorted(Patient.objects.values_list("external_id", flat=True))


def test_the_commit_goes_with_the_next_statement_and_the_transaction_goes_on(clinic_a, in_clinic):
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(RuntimeError), in_clinic(clinic_a):
            PatientFactory(external_id="BEFORE")
            with commit_with_next_statement() as committed:
                PatientFactory(external_id="LAST")
            assert committed()
            # when the transaction that goes on after the commit writes and then fails
            PatientFactory(external_id="AFTER")
            raise RuntimeError("after the commit")
    # then what the last write committed stays, and only what came after it is rolled back
    assert _external_ids(clinic_a, in_clinic) == ["BEFORE", "LAST"]
    trips = _round_trips(queries)
    (last,) = [trip for trip in trips if "COMMIT AND CHAIN" in trip]
    assert last[0].startswith('INSERT INTO "patients_patient"')
    assert last[1:] == ["COMMIT AND CHAIN", f"SELECT set_config('app.clinic_id', '{clinic_a.pk}', true)"]
    assert chained_commits() > 0


def test_after_the_commit_the_clinics_setting_still_holds(clinic_a, clinic_b, in_clinic, patients):
    with in_clinic(clinic_a):
        with commit_with_next_statement():
            PatientFactory(external_id="ANN-2")
        # then the chained transaction still runs as clinic A (RLS lets its rows through, no others)
        assert _setting("app.clinic_id") == str(clinic_a.pk)
        assert sorted(Patient.objects.values_list("external_id", flat=True)) == ["ANN", "ANN-2"]


def test_a_statement_that_refuses_commits_nothing(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        PatientFactory(external_id="BEFORE")
        with pytest.raises(DatabaseError) as raised, savepoint(), commit_with_next_statement() as committed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT crm_refuse('sold out')")
        # then the reason reads back, nothing was committed, and the transaction is usable again
        assert refusal(raised.value) == "sold out" and not committed()
        PatientFactory(external_id="AFTER")
        transaction.set_rollback(True)
    assert _external_ids(clinic_a, in_clinic) == []


def test_an_error_that_is_not_a_refusal_has_no_reason():
    with transaction.atomic(), pytest.raises(DatabaseError) as raised, connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert refusal(raised.value) is None


def test_on_commit_callbacks_run_when_their_writes_are_committed(clinic_a, in_clinic):
    ran = []
    with in_clinic(clinic_a):
        transaction.on_commit(lambda: ran.append(_external_ids_now()))
        with commit_with_next_statement():
            PatientFactory(external_id="LAST")
        # then the callback ran right after the commit that made the write durable
        assert ran == [["LAST"]]
        transaction.set_rollback(True)
    assert ran == [["LAST"]] and _external_ids(clinic_a, in_clinic) == ["LAST"]


def _external_ids_now() -> list[str]:
    return sorted(Patient.objects.values_list("external_id", flat=True))


def test_inside_an_atomic_savepoint_the_commit_waits_for_the_outermost_block(clinic_a, in_clinic):
    with pytest.raises(RuntimeError), in_clinic(clinic_a):
        with transaction.atomic():  # a savepoint: committing here would leave Django's to release
            with commit_with_next_statement() as committed:
                PatientFactory(external_id="LAST")
            assert not committed()
        raise RuntimeError("rolls everything back")
    assert _external_ids(clinic_a, in_clinic) == []


def test_the_commit_needs_a_transaction():
    with pytest.raises(TransactionManagementError):
        with commit_with_next_statement():
            pass


def test_the_commit_does_not_go_with_an_executemany(clinic_a, in_clinic, patients):
    with in_clinic(clinic_a):
        with pytest.raises(TransactionManagementError), commit_with_next_statement(), connection.cursor() as cursor:
            cursor.executemany("UPDATE patients_patient SET first_name = %s WHERE external_id = %s", [("A", "ANN")])
        transaction.set_rollback(True)
