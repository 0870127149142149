"""The one place that decides which clinic's rows a piece of code may touch (CORE-1, CORE-7).

`clinic_scope(clinic_id)` sets a ContextVar (read by `ClinicScopedManager`) and, on PostgreSQL,
the per-transaction setting `app.clinic_id` that the row-level security policies compare
against. Both are restored in `finally`/on exit, so nested scopes and pooled connections never
leak a clinic. `unscoped()` is the loudly named bypass for platform admins and maintenance.
"""

from __future__ import annotations

import contextlib
import functools
import re
from contextvars import ContextVar
from typing import Iterator

from django.db import connection, transaction

from clinic_crm.common.transactions import transaction_setting

_current_clinic_id: ContextVar[int | None] = ContextVar("current_clinic_id", default=None)
_unscoped: ContextVar[bool] = ContextVar("unscoped", default=False)

CLINIC_GUC = "app.clinic_id"
BYPASS_GUC = "app.bypass_rls"


class TenantScopeError(RuntimeError):
    """A tenant model was read or written with no clinic in scope."""


def current_clinic_id() -> int | None:
    return _current_clinic_id.get()


def is_unscoped() -> bool:
    return _unscoped.get()


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
def clinic_scope(clinic_id: int) -> Iterator[None]:
    """Run the block as clinic `clinic_id`: ORM scoping and the RLS setting together."""
    if clinic_id is None:
        raise TenantScopeError("clinic_scope() needs a clinic id")
    token = _current_clinic_id.set(int(clinic_id))
    unscoped_token = _unscoped.set(False)
    try:
        with _transaction_setting(CLINIC_GUC, str(int(clinic_id))):
            yield
    finally:
        _unscoped.reset(unscoped_token)
        _current_clinic_id.reset(token)


@contextlib.contextmanager
def clinic_context(clinic_id: int) -> Iterator[None]:
    """Name the clinic for the ORM only, with no transaction and no RLS setting.

    For handlers that usually answer from a cache: any tenant query they make without entering
    `clinic_scope` sees no rows under row-level security, so forgetting it fails closed.
    """
    if clinic_id is None:
        raise TenantScopeError("clinic_context() needs a clinic id")
    token = _current_clinic_id.set(int(clinic_id))
    unscoped_token = _unscoped.set(False)
    try:
        yield
    finally:
        _unscoped.reset(unscoped_token)
        _current_clinic_id.reset(token)


@contextlib.contextmanager
def unscoped() -> Iterator[None]:
    """Read and write every clinic's rows. Platform admin, migrations and maintenance only."""
    token = _unscoped.set(True)
    clinic_token = _current_clinic_id.set(None)
    try:
        with _transaction_setting(BYPASS_GUC, "on"):
            yield
    finally:
        _current_clinic_id.reset(clinic_token)
        _unscoped.reset(token)


def with_clinic_scope(func):
    """Decorate a Celery task whose first argument is `clinic_id` so its body runs in scope."""

    @functools.wraps(func)
    def wrapper(clinic_id, *args, **kwargs):
        with clinic_scope(clinic_id):
            return func(clinic_id, *args, **kwargs)

    return wrapper
