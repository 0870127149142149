"""Probes for the process manager: `/healthz` says the process answers (and is the benchmarks' bare-Django
baseline); `/readyz` says it can do its work, the database and the broker both reachable, each within a
second, so a load balancer stops sending requests to a web process that cannot serve them."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse

PROBE_TIMEOUT = 1.0


def healthz(request):
    return JsonResponse({"ok": True})


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "not ready"; the reason goes in the answer
        return f"unreachable: {type(error).__name__}"
    return "ok"


def _broker() -> str:
    from celery import current_app  # the project's Celery app, loaded with Django (clinic_crm/__init__.py)

    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=PROBE_TIMEOUT)
    except Exception as error:
        return f"unreachable: {type(error).__name__}"
    return "ok"


def readyz(request):
    checks = {"database": _database(), "broker": _broker()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"ok": ready, **checks}, status=200 if ready else 503)
