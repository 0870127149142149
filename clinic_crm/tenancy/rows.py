"""Hand-written statements on tenant rows, for the few hot paths where building an ORM query costs
more than running it (a POS redeem: ~0.9 ms of Python per `.filter().first()` against ~0.1 ms
for the same row read here).

Every statement names the clinic in scope itself (`clinic_id = %s`, taken from the context, never
from the caller), as `ClinicScopedManager` does, and row-level security stands behind it. No
clinic in scope raises `TenantScopeError`. Rows come back as model instances built with
`Model.from_db`, exactly as the ORM builds them.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from clinic_crm.tenancy.context import TenantScopeError, current_clinic_id


def execute_prepared(cursor, sql: str, params: list) -> None:
    """`cursor.execute(sql, params)` as a prepared statement of this database connection.

    PostgreSQL then parses and plans the statement once per connection instead of on every request
    (on the POS redeem about a third of the database's CPU). The first use sends `PREPARE` and
    `EXECUTE` in one round trip. Parameter types are inferred where the statement uses them, as for
    any prepared statement, so each `%s` must stand where its type is known (a column, an operator),
    and `sql` holds no other `%`. A statement's name is a hash of its SQL, the same in every process.
    Needs a server session of its own per connection (a direct connection, or PgBouncer in session
    mode); `DB_PREPARED_STATEMENTS=0` turns it off.
    """
    db = cursor.db  # the connection itself: each read through the `connection` proxy costs a lookup
    if db.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    if "%" in sql.replace("%s", ""):
        raise ValueError("A prepared statement's SQL may hold no '%' but its %s placeholders")
    # Kept on the connection wrapper (one per thread) beside the driver connection they belong to:
    # a new driver connection starts with none.
    kept = db.__dict__.get("_prepared_statements")
    if kept is None or kept[0] is not db.connection:
        kept = db._prepared_statements = (db.connection, {})
    statements = kept[1]
    name = _statement_name(sql)
    state = statements.get(sql, "new")  # True: prepared; None: the last call failed
    arguments = f" ({', '.join(['%s'] * len(params))})" if params else ""
    statements[sql] = None  # unknown until the call returns
    if state is True:
        cursor.execute(f"EXECUTE {name}{arguments}", params)
    else:
        # After a failure the statement may exist (PREPARE outlives a rollback) and may be the cause
        # (a plan a schema change made invalid): ask the server, and prepare it anew either way.
        drop = ""
        if state is None:
            cursor.execute("SELECT EXISTS (SELECT FROM pg_prepared_statements WHERE name = %s)", [name])
            drop = f"DEALLOCATE {name}; " if cursor.fetchone()[0] else ""
        numbers = iter(range(1, len(params) + 1))
        body = re.sub(r"%s", lambda _: f"${next(numbers)}", sql)
        cursor.execute(f"{drop}PREPARE {name} AS {body}; EXECUTE {name}{arguments}", params)
    statements[sql] = True


@functools.lru_cache(maxsize=512)
def _statement_name(sql: str) -> str:
    return f"crm_{hashlib.sha1(sql.encode()).hexdigest()[:16]}"


def adapt_params(params: list) -> list:
    """Datetimes as the ORM sends them (on SQLite naive UTC text; on PostgreSQL unchanged)."""
    if not any(isinstance(p, datetime) for p in params):
        return params
    ops = connections[DEFAULT_DB_ALIAS].ops
    return [ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p for p in params]


def statement_sent(sql: str) -> str:
    """The statement a query recorded by Django (`connection.queries`, `CaptureQueriesContext`) ran:
    for a prepared statement's `PREPARE …; EXECUTE …` or `EXECUTE …`, the SQL it was prepared from."""
    found = re.match(r"(?:DEALLOCATE \w+; )?(?:PREPARE|EXECUTE) (crm_[0-9a-f]{16})", sql)
    if found is None:
        return sql
    kept = getattr(connection, "_prepared_statements", None)
    for statement in (kept[1] if kept else ()):
        if _statement_name(statement) == found.group(1):
            return statement
    return sql


# A statement sent ahead of another in the same round trip: quotes only around literals.
_SENT_AHEAD = re.compile(r"((?:[^;']|'[^']*')+); ")
_CHAINED_COMMIT = "; COMMIT AND CHAIN"


def statements_sent(sql: str) -> list[str]:
    """The statements of one round trip recorded by Django, in order: those sent ahead of it
    (`clinic_crm.common.transactions.sent_with_next_statement`), the statement itself as
    `statement_sent` reads it, and a commit sent with it (`commit_with_next_statement`) followed
    by the transaction's settings sent again."""
    found, behind = [], []
    head, chained, tail = sql.rpartition(_CHAINED_COMMIT)
    if chained:
        sql, behind = head, ["COMMIT AND CHAIN", *(part for part in tail.split("; ") if part)]
    while not re.match(r"(?:DEALLOCATE|PREPARE|EXECUTE) ", sql) and (ahead := _SENT_AHEAD.match(sql)):
        found.append(ahead.group(1))
        sql = sql[ahead.end():]
    return [*found, statement_sent(sql), *behind]


def literal_sql(sql: str, params: list) -> str:
    """`sql` with `params` quoted into it by the driver, exactly as `cursor.execute` would send it
    (PostgreSQL only): for a statement sent ahead of another (`sent_with_next_statement`)."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        return cursor.mogrify(sql, adapt_params(params)).decode()


def scoped_clinic_id() -> int:
    clinic_id = current_clinic_id()
    if clinic_id is None:
        raise TenantScopeError("A tenant row read or written by hand with no clinic in scope")
    return clinic_id


@functools.cache
def _columns(model: type[models.Model], alias: str) -> tuple[str, tuple[str, ...]]:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    return (", ".join(f"{alias}.{quote(f.column)}" for f in fields), tuple(f.attname for f in fields))


@functools.cache
def _converters(model: type[models.Model]) -> tuple[tuple, ...]:
    """Per column, the converters the ORM applies to a value read from the database (JSON, and on
    SQLite dates, decimals and booleans)."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        if converters:
            found.append((index, column, converters))
    return tuple(found)


def _instance(db, model: type[models.Model], attnames: tuple[str, ...], row) -> models.Model:
    values = list(row)
    for index, column, converters in _converters(model):
        for converter in converters:
            values[index] = converter(values[index], column, db)
    return model.from_db(db.alias, attnames, values)


@functools.cache
def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def get_scoped_row(model: type[models.Model], *, where: str, params: list, related: str | None = None):
    """The one row of `model` in the clinic in scope matching `where` (SQL on alias `t`), or None.

    `related` names a foreign key whose row is read in the same statement (an inner join, within the
    same clinic) and set on the instance, like `select_related`. `where` must match at most one row:
    it is meant for lookups by a unique key.
    """
    clinic_id = scoped_clinic_id()
    columns, attnames = _columns(model, "t")
    joins, tail = "", ()
    if related:
        field = model._meta.get_field(related)
        other = field.related_model
        other_columns, tail = _columns(other, "r")
        columns = f"{columns}, {other_columns}"
        joins = (f" JOIN {_table(other)} r ON r.{connection.ops.quote_name(other._meta.pk.column)} = "
                 f"t.{connection.ops.quote_name(field.column)} AND r.clinic_id = t.clinic_id")
    sql = f"SELECT {columns} FROM {_table(model)} t{joins} WHERE t.clinic_id = %s AND ({where}) LIMIT 1"
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        execute_prepared(cursor, sql, [clinic_id, *adapt_params(params)])
        row = cursor.fetchone()
    if row is None:
        return None
    instance = _instance(db, model, attnames, row[:len(attnames)])
    if related:
        setattr(instance, related, _instance(db, field.related_model, tail, row[len(attnames):]))
    return instance


def update_scoped_rows(model: type[models.Model], *, assignments: str, assignment_params: list, where: str,
                       where_params: list, returning: str = "NULL") -> list[tuple]:
    """`UPDATE` the rows of `model` in the clinic in scope: `SET {assignments} WHERE {where}` (no alias).

    Returns the `returning` columns of each updated row (one `(None,)` per row by default).
    """
    sql = (f"UPDATE {_table(model)} SET {assignments} WHERE clinic_id = %s AND ({where}) "
           f"RETURNING {returning}")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        execute_prepared(cursor, sql,
                         [*adapt_params(assignment_params), scoped_clinic_id(), *adapt_params(where_params)])
        return cursor.fetchall()


@functools.cache
def _insert_sql(model: type[models.Model], conflict: tuple[str, ...]) -> tuple[str, tuple[models.Field, ...]]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    sql = (f"INSERT INTO {_table(model)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    if conflict:
        sql += f" ON CONFLICT ({', '.join(quote(model._meta.get_field(name).column) for name in conflict)}) DO NOTHING"
    return f"{sql} RETURNING {quote(model._meta.pk.column)}", fields


def insert_scoped_row(instance: models.Model, *, unless_conflict: tuple[str, ...] = ()) -> bool:
    """INSERT a new tenant row as `save()` would (field defaults, `auto_now_add`), in one statement.

    The instance's clinic must be the one in scope (as `TenantModel.save()` asserts); it gets its
    primary key. With `unless_conflict` (the fields of a unique constraint) a row that would break
    that constraint is not inserted and False comes back, with no error to roll back, so the caller
    needs no savepoint around it.
    """
    sql, values = scoped_insert(instance, unless_conflict=unless_conflict)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        execute_prepared(cursor, sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    inserted(instance, row[0])
    return True


def scoped_insert(instance: models.Model, *, unless_conflict: tuple[str, ...] = ()) -> tuple[str, list]:
    """The `INSERT … RETURNING id` of a new tenant row and its parameters, for a caller that sends it
    inside a larger statement (a `WITH`); `inserted()` then marks the instance saved."""
    clinic_id = scoped_clinic_id()
    if instance.clinic_id is None:
        instance.clinic_id = clinic_id
    if instance.clinic_id != clinic_id:
        raise TenantScopeError(f"{type(instance).__name__} of clinic {instance.clinic_id} inserted in the scope "
                               f"of clinic {clinic_id}")
    sql, fields = _insert_sql(type(instance), tuple(unless_conflict))
    db = connections[DEFAULT_DB_ALIAS]
    return sql, [field.get_db_prep_save(field.pre_save(instance, True), db) for field in fields]


def inserted(instance: models.Model, pk) -> None:
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS


def insert_scoped_rows(instances: list[models.Model], *, unless_conflict: tuple[str, ...],
                       conflict_where: str = "", returning: tuple[str, ...] = ("id",)) -> list[tuple]:
    """INSERT many new tenant rows of one model in one statement, skipping those that would break the
    unique constraint on `unless_conflict` (with `conflict_where`, its partial index's condition).

    Returns the `returning` columns of the rows that went in, and only those, so a caller counts
    exactly what it added however many concurrent writers race it. Keep a call to a few hundred
    rows: each column of each row is one parameter.
    """
    if not instances:
        return []
    clinic_id = scoped_clinic_id()
    model = type(instances[0])
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    db = connections[DEFAULT_DB_ALIAS]
    values = []
    for instance in instances:
        if instance.clinic_id is None:
            instance.clinic_id = clinic_id
        if instance.clinic_id != clinic_id:
            raise TenantScopeError(f"{model.__name__} of clinic {instance.clinic_id} inserted in the scope "
                                   f"of clinic {clinic_id}")
        values.extend(field.get_db_prep_save(field.pre_save(instance, True), db) for field in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    conflict = ", ".join(quote(model._meta.get_field(name).column) for name in unless_conflict)
    sql = (f"INSERT INTO {_table(model)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES {', '.join([row] * len(instances))} ON CONFLICT ({conflict})"
           f"{f' WHERE {conflict_where}' if conflict_where else ''} DO NOTHING "
           f"RETURNING {', '.join(quote(model._meta.get_field(name).column) for name in returning)}")
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchall()
