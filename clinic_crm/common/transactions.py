"""Transaction helpers that spare round trips to PostgreSQL on hot paths.

Each round trip costs the app and PostgreSQL a wake-up (~0.1 ms of CPU on both sides), more than
a simple statement costs to run. These send statements that only affect the transaction together
with the next real statement, in one message, and can commit in the same message as a
transaction's last write, so that a row lock it takes is held for no round trip at all.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator

from django.db import DEFAULT_DB_ALIAS, DatabaseError, Error, connection, connections
from django.db.transaction import TransactionManagementError

logger = logging.getLogger(__name__)

# The SQLSTATE of `crm_refuse(reason)` (common migration 0001): a statement that raises it was
# refused by a condition written into it, not broken.
REFUSED_SQLSTATE = "CRM01"


class _Ahead:
    """One statement waiting to go ahead of the next statement on its connection."""

    __slots__ = ("sql",)

    def __init__(self, sql: str):
        self.sql = sql


class _Commit:
    """A request to commit with the next statement on its connection, and whether it did."""

    __slots__ = ("done",)

    def __init__(self):
        self.done = False


def _db():
    # State is kept on the connection wrapper itself (one per thread and alias, not the
    # `connection` proxy), like Django's own savepoint state.
    return connections[DEFAULT_DB_ALIAS]


def _waiting() -> list[_Ahead]:
    db = _db()
    waiting = db.__dict__.get("_statements_ahead")
    if waiting is None:
        waiting = db._statements_ahead = []
    return waiting


def _settings(db) -> list[str]:
    settings = db.__dict__.get("_transaction_settings")
    if settings is None:
        settings = db._transaction_settings = []
    return settings


def _literal(sql: str, params) -> str:
    # With parameters the driver reads `%` as a placeholder's start.
    return sql if params is None else sql.replace("%", "%%")


def _send_with(execute, statement, params, many, context):
    db = context["connection"]
    waiting = db.__dict__.get("_statements_ahead")
    commit = db.__dict__.get("_commit_with_next")
    if not waiting and commit is None:
        return execute(statement, params, many, context)
    repeated = many or getattr(context["cursor"].cursor, "name", None)
    if waiting:
        ahead = "; ".join(item.sql for item in waiting)
        waiting.clear()
        if repeated:
            # executemany repeats its SQL and a server-side cursor declares it: send them on their own.
            with db.wrap_database_errors, db.connection.cursor() as own:
                own.execute(ahead)
        else:
            statement = f"{_literal(ahead, params)}; {statement}"
    if commit is None:
        return execute(statement, params, many, context)
    if repeated:
        raise TransactionManagementError("commit_with_next_statement() can't commit with an executemany or a "
                                         "server-side cursor")
    db._commit_with_next = None  # one statement only, whatever its outcome
    # The settings of the transaction (SET LOCAL) end with it: the chained one gets them again.
    settings = "".join(f"; {_literal(sql, params)}" for sql in _settings(db))
    result = execute(f"{statement}; COMMIT AND CHAIN{settings}", params, many, context)
    commit.done = True
    db._chained_commits = db.__dict__.get("_chained_commits", 0) + 1
    _run_commit_hooks(db)
    return result


def _run_commit_hooks(db) -> None:
    """Run the `on_commit` callbacks of what has just been committed, as Django does after a commit."""
    hooks, db.run_on_commit = db.run_on_commit, []
    for _, func, robust in hooks:
        if not robust:
            func()
            continue
        try:
            func()
        except Exception as exc:
            logger.exception("Error calling %s in on_commit() (%s).", getattr(func, "__qualname__", func), exc)


def _sending_with(db):
    """`_send_with` wrapping the connection's statements in the block: once, however deeply such
    blocks nest (one wrapper sends everything queued)."""
    if _send_with in db.execute_wrappers:
        return contextlib.nullcontext()
    return db.execute_wrapper(_send_with)


@contextlib.contextmanager
def sent_with_next_statement(sql: str) -> Iterator[Callable[[], bool]]:
    """Send `sql` in the same round trip as the next statement run on this connection in the block.

    For statements whose only effect is on the transaction (`SET LOCAL`, `SAVEPOINT`) or that are
    known in full before the block's next statement (literal SQL, no parameters): PostgreSQL runs
    them in order, in one message, so the pair costs one round trip instead of two (~0.1 ms of CPU
    in the app and in PostgreSQL each). Yields a function telling whether it has been sent.
    Statements waiting from nested blocks go in the order they were queued. Before a statement
    that repeats or declares its SQL (`executemany`, a server-side cursor) they are sent on their
    own. Driver calls that bypass Django's execute wrappers (`callproc`, `copy_expert`) don't carry
    them: run a statement first. Outside PostgreSQL `sql` runs at once.
    """
    db = _db()
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql)
        yield lambda: True
        return
    item = _Ahead(sql)
    waiting = _waiting()
    waiting.append(item)
    sent_by_then = None  # once the block is over, whether it was sent during it

    def was_sent() -> bool:
        return sent_by_then if sent_by_then is not None else not any(queued is item for queued in waiting)

    try:
        with _sending_with(db):
            yield was_sent
    finally:
        sent_by_then = was_sent()
        # Never sent (nothing ran in the block): it must not go ahead of a later block's statements.
        waiting[:] = [queued for queued in waiting if queued is not item]


@contextlib.contextmanager
def transaction_setting(sql: str) -> Iterator[None]:
    """`sent_with_next_statement(sql)` for a setting that lasts as long as the transaction
    (`set_config(…, true)`, i.e. `SET LOCAL`), in the block that opens the transaction.

    A commit of `commit_with_next_statement()` sends it again, so the transaction that goes on
    after that commit has it too. `sql` holds no `%`.
    """
    if "%" in sql:
        raise ValueError("A transaction setting may hold no '%'")
    with sent_with_next_statement(sql):
        if connection.vendor != "postgresql":
            yield
            return
        settings = _settings(_db())
        settings.append(sql)
        try:
            yield
        finally:
            settings.remove(sql)


def can_commit_with_next_statement() -> bool:
    """Whether `commit_with_next_statement()` would commit here: on PostgreSQL, in a transaction
    with no savepoint of `atomic()` open (an inner `atomic()` would release its savepoint after
    the commit, and tests run each in a transaction of their own)."""
    db = _db()
    return (db.vendor == "postgresql" and db.in_atomic_block and db.commit_on_exit
            and not any(db.savepoint_ids) and not db.needs_rollback)


@contextlib.contextmanager
def commit_with_next_statement() -> Iterator[Callable[[], bool]]:
    """Commit the transaction in the same round trip as the next statement run in the block, if
    that statement succeeds, and go on in a new transaction (`COMMIT AND CHAIN`) for the rest of
    the outermost `atomic()`, which commits or rolls back only what comes after.

    For a transaction's last write on a hot row: its row lock is then released by the same message
    that took it, without waiting for the app to wake up between the write and the commit.
    Statements queued with `sent_with_next_statement()` go ahead of it in the same message, and
    `transaction_setting()`s are sent again after the commit. The statement's own rows can't be
    read (the message's last statement answers), so it tells a refusal by raising, as
    `crm_refuse()` does; an error means nothing was committed. `on_commit` callbacks registered so
    far run right after the commit. Savepoints of `savepoint()` end with the commit. Where it can't
    commit (see `can_commit_with_next_statement()`) the statement runs as usual and the commit
    comes at the end of the outermost `atomic()`. Yields a function telling whether it committed.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("commit_with_next_statement() needs a transaction: run it inside atomic()")
    if not can_commit_with_next_statement():
        yield lambda: False
        return
    db = _db()
    commit = db._commit_with_next = _Commit()
    try:
        with _sending_with(db):
            yield lambda: commit.done
    finally:
        if db.__dict__.get("_commit_with_next") is commit:
            db._commit_with_next = None


def chained_commits() -> int:
    """How many commits `commit_with_next_statement()` has made on this connection: a change tells
    that what a transaction wrote so far is committed."""
    return _db().__dict__.get("_chained_commits", 0)


def refusal(error: BaseException) -> str | None:
    """The reason a statement gave to `crm_refuse()`, if that is what `error` is."""
    cause = error.__cause__ if isinstance(error, DatabaseError) else None
    if getattr(cause, "pgcode", None) == REFUSED_SQLSTATE:
        return cause.diag.message_primary
    return None


_savepoint_numbers = itertools.count(1)


@contextlib.contextmanager
def savepoint() -> Iterator[None]:
    """`transaction.atomic()` nested in a transaction, without round trips of its own on success.

    An exception (or `transaction.set_rollback(True)`) inside rolls back what the block wrote and
    leaves the transaction usable, as a nested `atomic()` does. Its `SAVEPOINT` goes with the
    block's first statement, and on success it is left for the commit to release, where `atomic()`
    spends a round trip on each. Meant for a hot path's one savepoint per transaction, not a loop.
    """
    db = _db()
    if not db.in_atomic_block:
        raise TransactionManagementError("savepoint() needs a transaction: run it inside atomic()")
    name = f"crm_sp{next(_savepoint_numbers)}"
    broken_before = db.needs_rollback
    with sent_with_next_statement(f"SAVEPOINT {name}") as was_sent:
        try:
            yield
        except BaseException:
            _roll_back_to(name, was_sent(), broken_before)
            raise
        if db.needs_rollback and not broken_before:
            _roll_back_to(name, was_sent(), broken_before)


def _roll_back_to(name: str, sent: bool, broken_before: bool) -> None:
    if connection.closed_in_transaction or connection.connection is None:
        return
    if not sent:  # nothing ran in the block: nothing to undo
        connection.needs_rollback = broken_before
        return
    connection.needs_rollback = False  # as atomic() does, so the rollback itself may run
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
    except Error:
        connection.needs_rollback = True
    else:
        connection.needs_rollback = broken_before
