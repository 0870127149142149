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


@pytest.fixture
def broker_nowhere():
    """The broker's address is one nothing listens on (port 1), for the test; the raw settings are restored."""
    saved = {name: app.conf[name] for name in ("broker_url", "broker_write_url")}
    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_write_url=None)
    yield
    app.conf.update(saved)


def test_not_ready_while_the_broker_is_unreachable_and_says_so(client, broker_nowhere):
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
