"""`/healthz` answers while the process runs; `/readyz` only while the database and the broker answer too,
and names what is down."""

import pytest
from django.db import OperationalError, connection

from clinic_crm.celery import app

pytestmark = pytest.mark.django_db


def test_ready_when_the_database_and_the_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "ok", "broker": "ok"}


def test_not_ready_while_the_broker_is_unreachable_and_says_so(client, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.setattr(app.conf, "broker_write_url", None)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False and body["database"] == "ok" and body["broker"].startswith("unreachable")
    assert client.get("/healthz").status_code == 200  # the process itself is alive


def test_not_ready_while_the_database_is_unreachable(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable: OperationalError"
