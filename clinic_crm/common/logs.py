"""Structured logs: one JSON object per line with the request (or task) id and the clinic in scope, so one
request or one clinic's lines can be picked out of every process's output (`LOG_FORMAT=json`, the default
with DEBUG off).

The request id comes from the caller's `X-Request-ID` when it is a sane token (a proxy's or a client's),
else a new one; it goes back in the response's `X-Request-ID`. A Celery task logs with its task id.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone

from django.core.signals import request_finished

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    """Names each request for the logs and answers with its id in `X-Request-ID`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx or 5xx ("Not Found: …") after the middleware has
        # returned. It is cleared when the request finishes (below), and the next request sets its own.
        _request_id.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def _clear_request_id(**kwargs):
    _request_id.set("")


request_finished.connect(_clear_request_id, dispatch_uid="clinic_crm.common.logs.clear_request_id")


def bind_task_id(task_id: str | None):
    """Log a Celery task's lines under its id (connected to task_prerun); returns the token to reset."""
    return _request_id.set(task_id or "")


def unbind_task_id(token) -> None:
    try:
        _request_id.reset(token)
    except ValueError:  # set in another context (a pool that ran the signals apart): just clear it
        _request_id.set("")


class ContextFilter(logging.Filter):
    """Adds `request_id` and `clinic_id` to every record, for either format."""

    def filter(self, record):
        from clinic_crm.tenancy.context import current_clinic_id

        record.request_id = _request_id.get()
        record.clinic_id = current_clinic_id()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC), level, logger, message, request and clinic, and the error."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or None,
            "clinic_id": getattr(record, "clinic_id", None),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
