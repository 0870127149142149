"""The one place that decides which clinic's rows a piece of code may touch (CORE-1, CORE-7).

`clinic_scope(clinic_id)` sets a ContextVar (read by `ClinicScopedManager`) and, on PostgreSQL,
the per-transaction setting `app.clinic_id` that the row-level security policies compare
against. Both are restored in `finally`/on exit, so nested scopes and pooled connections never
leak a clinic.

`unscoped()` is the loudly named way past it, for Django admin: inside it the ORM reads and
writes through the `platform` connection (PLATFORM_DATABASE_URL), whose PostgreSQL role has
BYPASSRLS (`clinic_crm.tenancy.routers`). The app's own role cannot bypass: no setting or
statement on its connection reveals another clinic, and it owns no table whose policies it could
switch off.
"""

from __future__ import annotations

import contextlib
import functools
import re
from contextvars import ContextVar
from typing import Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from clinic_crm.common.transactions import transaction_setting

_current_clinic_id: ContextVar[int | None] = ContextVar("current_clinic_id", default=None)
# Inside `unscoped()` or `every_clinic()`: the alias of the connection that sees every clinic.
_unscoped: ContextVar[str | None] = ContextVar("unscoped", default=None)

CLINIC_GUC = "app.clinic_id"
PLATFORM_DB = "platform"


class TenantScopeError(RuntimeError):
    """A tenant model was read or written with no clinic in scope."""


def current_clinic_id() -> int | None:
    return _current_clinic_id.get()


def is_unscoped() -> bool:
    return _unscoped.get() is not None


def has_platform_db() -> bool:
    return PLATFORM_DB in settings.DATABASES


def db_alias() -> str:
    """The connection the ORM uses here: the platform one inside `unscoped()`, else the app's own."""
    alias = _unscoped.get()
    return alias if alias is not None and alias in settings.DATABASES else DEFAULT_DB_ALIAS


def on_commit(func) -> None:
    """`transaction.on_commit` on the connection in use here, so Django admin's saves (on the
    platform connection) run theirs after their own commit."""
    transaction.on_commit(func, using=db_alias())


def platform_db_missing() -> str | None:
    """Why `unscoped()` cannot run here, or None."""
    if _uses_rls() and not has_platform_db():
        return ("Reading across clinics needs the platform connection: set PLATFORM_DATABASE_URL to a role "
                "with BYPASSRLS (README, Production). The app's own role cannot bypass row-level security.")
    return None


def _uses_rls() -> bool:
    return connection.vendor == "postgresql"


def _get_guc(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0] or ""


def _set_guc(name: str, value: str) -> None:
    # is_local=true is SET LOCAL: it dies with the transaction, so pooled connections never
    # carry a clinic into the next request (stack.md, pitfall 3).
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


@contextlib.contextmanager
def _transaction_setting(name: str, value: str) -> Iterator[None]:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if not _uses_rls():
            yield
            return
        if outermost:
            # The transaction ends with the block, and SET LOCAL with it: nothing to restore. The
            # setting goes with the block's first statement, ahead of it, in the same round trip
            # (and again after a commit that chains a new transaction).
            if not re.fullmatch(r"[\w.]+", value):
                raise ValueError(f"Unexpected value for {name}: {value!r}")
            with transaction_setting(f"SELECT set_config('{name}', '{value}', true)"):
                yield
            return
        previous = _get_guc(name)
        _set_guc(name, value)
        yield
        # SET LOCAL outlives RELEASE SAVEPOINT, so a nested block restores the outer value
        # itself (stack.md, pitfall 2). On an exception the savepoint rollback restores it.
        _set_guc(name, previous)


@contextlib.contextmanager
def _naming(clinic_id: int | None, unscoped_alias: str | None = None) -> Iterator[None]:
    """What the ORM reads for the block: the clinic in scope, or the connection that sees every clinic."""
    token = _current_clinic_id.set(clinic_id)
    unscoped_token = _unscoped.set(unscoped_alias)
    try:
        yield
    finally:
        _unscoped.reset(unscoped_token)
        _current_clinic_id.reset(token)


@contextlib.contextmanager
def clinic_scope(clinic_id: int) -> Iterator[None]:
    """Run the block as clinic `clinic_id`: ORM scoping and the RLS setting together."""
    if clinic_id is None:
        raise TenantScopeError("clinic_scope() needs a clinic id")
    with _naming(int(clinic_id)), _transaction_setting(CLINIC_GUC, str(int(clinic_id))):
        yield


@contextlib.contextmanager
def clinic_context(clinic_id: int) -> Iterator[None]:
    """Name the clinic for the ORM only, with no transaction and no RLS setting.

    For handlers that usually answer from a cache: any tenant query they make without entering
    `clinic_scope` sees no rows under row-level security, so forgetting it fails closed.
    """
    if clinic_id is None:
        raise TenantScopeError("clinic_context() needs a clinic id")
    with _naming(int(clinic_id)):
        yield


@contextlib.contextmanager
def unscoped() -> Iterator[None]:
    """Read and write every clinic's rows, through the platform connection. Django admin only."""
    missing = platform_db_missing()
    if missing:
        raise ImproperlyConfigured(missing)
    with _naming(None, PLATFORM_DB):
        yield


@contextlib.contextmanager
def every_clinic(schema_editor) -> Iterator[None]:
    """A data migration's block reads and writes every clinic's rows, on the migration's own connection.

    Migrations run as the role that owns the tables, and row-level security holds the owner too
    (FORCE). For the migration's transaction the block lifts FORCE from every table with a clinic
    policy, and puts it back at its end: other sessions wait on the tables' locks and never see them
    without it, and a failure rolls both back with the migration.
    """
    connection = schema_editor.connection
    with _naming(None, connection.alias):
        if connection.vendor != "postgresql":
            yield
            return
        if not connection.in_atomic_block:
            # Outside a transaction a failure in the block would leave every table without FORCE.
            raise TenantScopeError("every_clinic() needs the migration's transaction (a non-atomic migration?)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_policies WHERE schemaname = current_schema() "
                           "AND policyname = 'clinic_isolation' ORDER BY tablename")
            tables = [connection.ops.quote_name(row[0]) for row in cursor.fetchall()]
        for table in tables:
            schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        yield
        # The rows the block wrote have their foreign keys checked now: PostgreSQL alters no table
        # with checks still pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def with_clinic_scope(func):
    """Decorate a Celery task whose first argument is `clinic_id` so its body runs in scope."""

    @functools.wraps(func)
    def wrapper(clinic_id, *args, **kwargs):
        with clinic_scope(clinic_id):
            return func(clinic_id, *args, **kwargs)

    return wrapper
