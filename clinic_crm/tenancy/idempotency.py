"""One reusable Idempotency-Key mechanism, stored in the database (API.md, Idempotency)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from clinic_crm.common.errors import Conflict
from clinic_crm.tenancy.context import TenantScopeError, current_clinic_id
from clinic_crm.tenancy.models import IdempotencyKey
from clinic_crm.common.transactions import chained_commits
from clinic_crm.tenancy.rows import execute_prepared, literal_sql, scoped_clinic_id, update_scoped_rows

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"


def _request_hash(method: str, path: str, data) -> str:
    body = json.dumps(data, sort_keys=True, cls=JSONEncoder, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


def idempotent(handler):
    """Decorate an API handler (`post`) so a replay returns the first response and changes nothing.

    The key row is inserted in the request's transaction before the handler runs. A concurrent
    request with the same key blocks on the unique index until the first commits, then replays.
    A handler may store its response with its own last write (`storing_statements`): the two are
    then committed together, and once they are, that response is the request's answer.
    """

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        return answer_idempotently(request, principal_id=request.user.principal_id,
                                   read_data=lambda: request.data, handle=lambda: handler(view, request, *args, **kwargs),
                                   handle_exception=view.handle_exception)

    wrapper.idempotent = True
    return wrapper


def is_usable_key(key: str | None) -> bool:
    """Whether an Idempotency-Key header is absent or one `answer_idempotently` takes."""
    return key is None or (bool(key.strip()) and len(key) <= 255)


def answer_idempotently(request, *, principal_id: str, read_data: Callable[[], object],
                        handle: Callable[[], Response], handle_exception: Callable[[Exception], Response]) -> Response:
    """`handle()`'s response, or the stored one for a replay of the request's Idempotency-Key.

    The body of `idempotent`, for a view that authenticated the request itself: `read_data()`
    gives its parsed body (read only with a key) and `principal_id` names the caller. Runs in the
    request's transaction, in the clinic's scope. A domain refusal `handle()` raises is turned into
    its response by `handle_exception` and stored like a success.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return handle()
    if not is_usable_key(key):
        raise exceptions.ValidationError({HEADER: ["Use a key of 1 to 255 characters."]})
    request_hash = _request_hash(request.method, request.path, read_data())
    record_id = _claim(principal=principal_id, key=key, method=request.method, path=request.path[:255],
                       request_hash=request_hash)
    if record_id is None:
        record = IdempotencyKey.objects.get(principal=principal_id, key=key)
        if record.request_hash != request_hash:
            raise Conflict(
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_mismatch",
            )
        if record.response_status is None:
            raise Conflict("A request with this Idempotency-Key is still in progress.", code="idempotency_in_progress")
        replay = Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})
        if record.response_status == 409 and isinstance(record.response_body, dict):
            # The same domain refusal again: logged at INFO as the first was (clinic_crm.common.api).
            logger.info("Replayed refusal %s (409 %s)", request.path, record.response_body.get("code"))
            replay._has_been_logged = True  # read by django.utils.log.log_response
        return replay

    request._idempotency_record_id = record_id
    commits_before = chained_commits()
    try:
        response = handle()
    except Exception as exc:  # domain refusals are stored and replayed like successes
        if chained_commits() != commits_before and getattr(request, "_idempotency_stored", None) is not None:
            # The handler's work and its response were committed before this failure: that
            # response is what happened, and what a replay will get.
            logger.exception("Failure after an idempotent request's work was committed; answering with "
                             "the committed response")
            return _stored_response(record_id)
        response = handle_exception(exc)
    if response is getattr(request, "_idempotency_stored", None):
        return response  # stored with the handler's last write
    if response.status_code >= 500:
        IdempotencyKey.objects.filter(pk=record_id).delete()
        return response
    _store_response(record_id, response)
    return response


_CLAIM_SQL = """
    INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT ({unique}) DO NOTHING
    RETURNING {id}
"""


def _claim(*, principal: str, key: str, method: str, path: str, request_hash: str) -> int | None:
    """Insert the key's row and return its id, or None when the key is already taken.

    One statement: a unique violation never aborts the request's transaction, so no savepoint is
    needed around it (two round trips fewer than an INSERT that may fail).
    """
    clinic_id = current_clinic_id()
    if clinic_id is None:
        raise TenantScopeError("An idempotency key claimed with no clinic in scope")
    quote = connection.ops.quote_name
    sql = _CLAIM_SQL.format(
        table=quote(IdempotencyKey._meta.db_table), id=quote("id"),
        columns=", ".join(map(quote, ["clinic_id", "principal", "key", "method", "path", "request_hash",
                                      "created_at"])),
        unique=", ".join(map(quote, ["clinic_id", "principal", "key"])),
    )
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())  # stored as the ORM stores it
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, [clinic_id, principal, key, method, path, request_hash, created_at])
        row = cursor.fetchone()
    return row[0] if row else None


def _response_body(response):
    return IdempotencyKey._meta.get_field("response_body").get_db_prep_save(
        json.loads(json.dumps(response.data, cls=JSONEncoder)), connection)


def _store_response(record_id: int, response) -> None:
    """Keep the response on the claimed row (one hand-written UPDATE: this runs on every POS write)."""
    update_scoped_rows(IdempotencyKey, assignments="response_status = %s, response_body = %s",
                       assignment_params=[response.status_code, _response_body(response)], where="id = %s",
                       where_params=[record_id])


def _stored_response(record_id: int) -> Response:
    record = IdempotencyKey.objects.get(pk=record_id)
    return Response(record.response_body, status=record.response_status)


def storing_statements(request, response) -> list[str]:
    """The statements that keep `response` as the answer to the request's Idempotency-Key, for a
    handler to send with its last write so that both are committed together (a refusal that rolls
    the write back rolls them back too). Return that same `response` from the handler and it is
    not stored again. Empty without an Idempotency-Key, and off PostgreSQL, where the decorator
    stores the response after the handler as usual.
    """
    record_id = getattr(request, "_idempotency_record_id", None)
    if record_id is None or connection.vendor != "postgresql":
        return []
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    statement = literal_sql(
        f"UPDATE {table} SET response_status = %s, response_body = %s WHERE clinic_id = %s AND id = %s",
        [response.status_code, _response_body(response), scoped_clinic_id(), record_id])
    request._idempotency_stored = response
    return [statement]


def purge_idempotency_keys() -> int:
    """Delete keys older than the retention window in the clinic in scope (kept ≥ 24 h)."""
    cutoff = timezone.now() - timedelta(hours=max(24, settings.IDEMPOTENCY_KEY_HOURS))
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
