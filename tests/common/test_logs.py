"""Log lines are JSON objects naming the request (its X-Request-ID, given or made) and the clinic in scope,
and the id goes back to the caller, so one request's lines can be found in any process's output."""

import json
import logging

import pytest

from clinic_crm.common.logs import ContextFilter, JsonFormatter
from clinic_crm.tenancy.context import clinic_scope
from tests.logs import captured_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """`json_lines()`: every record logged so far in the test, as the JSON handler wrote it, read back."""
    with captured_lines(JsonFormatter(), filters=(ContextFilter(),)) as lines:
        yield lambda: [json.loads(line) for line in lines]


def test_a_request_is_answered_with_its_id_and_its_log_lines_carry_it(client, clinic_a, json_lines):
    response = client.get("/api/v1/pos/patients/p-1", HTTP_X_REQUEST_ID="till-7f3a")  # no key: a 401, logged

    assert response["X-Request-ID"] == "till-7f3a"
    assert any(line["request_id"] == "till-7f3a" and line["level"] == "WARNING" for line in json_lines())


def test_an_id_that_is_not_a_sane_token_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 200)
    made = response["X-Request-ID"]

    assert len(made) == 32 and made != "x" * 200
    assert client.get("/healthz")["X-Request-ID"] != made  # each request its own


def test_a_line_names_the_clinic_in_scope(clinic_a, json_lines):
    with clinic_scope(clinic_a.pk):
        logging.getLogger("clinic_crm.test").info("inside")
    logging.getLogger("clinic_crm.test").info("outside")

    inside, outside = [line for line in json_lines() if line["logger"] == "clinic_crm.test"]
    assert (inside["message"], inside["clinic_id"]) == ("inside", clinic_a.pk)
    assert outside["clinic_id"] is None
    assert set(inside) == {"time", "level", "logger", "message", "request_id", "clinic_id"}
