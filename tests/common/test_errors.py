"""One error shape for every API error, and never a 500 for any input (API.md, Errors)."""

import json
import re

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import RequestFactory
from rest_framework.test import APIClient

from clinic_crm.common.api import exception_handler
from clinic_crm.common.errors import Conflict, LimitReached, NotFound
from clinic_crm.tenancy.choices import ApiScope
from clinic_crm.tenancy.views import server_error
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "code", "extra"}
    assert isinstance(body["message"], str) and body["message"]
    assert SNAKE_CASE.match(body["code"])
    assert isinstance(body["extra"], dict)
    return body


@pytest.fixture
def pos(clinic_a, pos_client_for):
    return pos_client_for(clinic_a)


# --- the shape ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("get", "/api/v1/pos/patients/bk-none", None, 404, "not_found"),
    ("get", "/api/v1/pos/orders/R-none", None, 404, "not_found"),
    ("put", "/api/v1/pos/patients/bk-1", {"email": "nope"}, 400, "validation_error"),
    ("post", "/api/v1/pos/orders", {"reference": "R-1"}, 400, "validation_error"),
    ("post", "/api/v1/pos/orders", {"reference": "R-1", "external_id": "bk-none", "total": "1"}, 404,
     "unknown_patient"),
    ("delete", "/api/v1/pos/patients/bk-1", None, 405, "method_not_allowed"),
    ("get", "/api/v1/pos/orders", None, 405, "method_not_allowed"),
])
def test_every_pos_error_has_exactly_message_code_and_extra(pos, method, path, body, status, code):
    # given a valid POS key
    # when a request fails
    response = getattr(pos, method)(path, body, format="json")
    # then the body is the one error shape with the expected code
    assert assert_error_shape(response, status)["code"] == code


@pytest.mark.parametrize(("client", "path", "status", "code"), [
    ("anonymous", "/api/v1/pos/patients", 401, "not_authenticated"),
    ("events_only", "/api/v1/pos/patients", 403, "permission_denied"),
    ("anonymous", "/api/v1/app/me", 401, "not_authenticated"),
    ("anonymous", "/api/v1/staff/me", 401, "not_authenticated"),
])
def test_auth_errors_have_the_same_shape(clinic_a, pos_client_for, client, path, status, code):
    # given a caller with no credential, or a credential without the scope
    api = pos_client_for(clinic_a, scopes=[ApiScope.EVENTS]) if client == "events_only" else APIClient()
    # when it calls the API
    response = api.get(path)
    # then the body is the one error shape
    assert assert_error_shape(response, status)["code"] == code


def test_a_validation_error_names_each_bad_field_in_extra_fields(pos):
    # given a patient with two bad fields
    # when it is PUT
    response = pos.put("/api/v1/pos/patients/bk-1", {"first_name": "", "date_of_birth": "soon"}, format="json")
    # then extra.fields lists both, each with its messages
    body = assert_error_shape(response, 400)
    assert body["code"] == "validation_error"
    fields = body["extra"]["fields"]
    assert set(fields) == {"first_name", "date_of_birth"}
    assert all(isinstance(messages, list) and messages for messages in fields.values())
    assert body["message"].startswith(("first_name: ", "date_of_birth: "))


def test_malformed_json_is_400_in_the_error_shape(pos):
    # given a body that is not JSON
    # when it is sent as JSON
    response = pos.generic("POST", "/api/v1/pos/orders", '{"reference": "R-1",', content_type="application/json")
    # then it is a 400 validation_error in the one shape, the parser's message under extra.fields
    body = assert_error_shape(response, 400)
    assert body["code"] == "validation_error"
    [message] = body["extra"]["fields"]["non_field_errors"]
    assert message.startswith("JSON parse error") and body["message"] == message


def test_a_body_that_is_not_json_at_all_is_415_in_the_error_shape(pos):
    # given a form-encoded body
    # when it is posted
    response = pos.generic("POST", "/api/v1/pos/orders", "reference=R-1",
                           content_type="application/x-www-form-urlencoded")
    # then the media type is refused in the one shape
    assert assert_error_shape(response, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/pos/nothing", "/api/v1/pos/patients/", "/api/v2/x",
                                  "/api/v1/"])
def test_an_unknown_api_path_is_a_json_404_in_the_error_shape(pos, path):
    # given a path no endpoint serves
    # when it is requested, with or without credentials
    authenticated = pos.get(path)
    anonymous = APIClient().post(path, {}, format="json")
    # then both are a JSON 404 in the one shape
    assert assert_error_shape(authenticated, 404)["code"] == "not_found"
    assert assert_error_shape(anonymous, 404)["code"] == "not_found"


def test_a_wrong_method_is_405_in_the_error_shape_and_names_the_allowed_ones(pos):
    # given an endpoint that only reads and upserts
    # when it is sent a PATCH
    response = pos.patch("/api/v1/pos/patients/bk-1", {}, format="json")
    # then it is a 405 in the one shape with the Allow header
    assert assert_error_shape(response, 405)["code"] == "method_not_allowed"
    assert {"GET", "PUT"} <= {m.strip() for m in response["Allow"].split(",")}


# --- rate limits ------------------------------------------------------------------------------------


def test_the_sign_in_code_endpoint_is_limited_to_five_a_minute_per_clinic_and_address(
    clinic_a, clinic_b, app_client_for
):
    # given five requests for the same address at clinic A
    api = app_client_for(clinic_a)
    for _ in range(5):
        assert api.post("/api/v1/app/auth/code", {"email": "ann@example.com"}, format="json").status_code == 202
    # when a sixth comes within the minute
    limited = api.post("/api/v1/app/auth/code", {"email": "Ann@Example.com"}, format="json")
    # then it is 429 rate_limited with Retry-After, while other addresses and clinics go on
    body = assert_error_shape(limited, 429)
    assert body["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= 61
    assert api.post("/api/v1/app/auth/code", {"email": "bob@example.com"}, format="json").status_code == 202
    other_clinic = app_client_for(clinic_b).post("/api/v1/app/auth/code", {"email": "ann@example.com"}, format="json")
    assert other_clinic.status_code == 202


def test_the_staff_token_endpoint_is_rate_limited(clinic_a, owner_a):
    # given ten failed sign-ins from one address within the minute, each for another login (so no
    # account reaches its own lockout)
    api = APIClient()
    guesses = [{"email": f"guess{n}@example.com", "password": "guess", "clinic": clinic_a.slug} for n in range(11)]
    assert [api.post("/api/v1/staff/token", guess, format="json").status_code for guess in guesses[:10]] == [401] * 10
    # when an eleventh comes
    limited = api.post("/api/v1/staff/token", guesses[10], format="json")
    # then the limit stops the guessing with a 429 in the one shape
    assert assert_error_shape(limited, 429)["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0


# --- never a 500 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "raw_body"), [
    ("POST", "/api/v1/app/auth/code", "[]"),
    ("POST", "/api/v1/app/auth/code", "null"),
    ("POST", "/api/v1/app/auth/code", '"ann@example.com"'),
    ("POST", "/api/v1/app/auth/code", '{"email": {"nested": true}}'),
    ("POST", "/api/v1/app/auth/token", '["ann@example.com", "123456"]'),
    ("POST", "/api/v1/app/auth/token", '{"email": "ann@example.com", "code": 123456}'),
    ("POST", "/api/v1/staff/token", "[1, 2, 3]"),
    ("PUT", "/api/v1/pos/patients/bk-1", '[{"first_name": "Ann"}]'),
    ("PUT", "/api/v1/pos/patients/bk-1", "null"),
    ("PUT", "/api/v1/pos/patients/bk-1", '{"first_name": "Ann\\u0000"}'),
    ("PUT", "/api/v1/pos/patients/bk-1", '{"date_of_birth": "0000-01-01"}'),
    ("POST", "/api/v1/pos/orders", "[]"),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-1", "patient_id": 100000000000000000000, "total": "1"}'),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-1", "patient_id": "x", "total": "1"}'),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-1", "external_id": "bk-1", "total": "1e400"}'),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-1", "external_id": "bk-1", "total": "NaN"}'),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-\\u0000", "external_id": "bk-1", "total": "1"}'),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-1", "external_id": "bk-1", "lines": "many"}'),
    ("POST", "/api/v1/pos/orders", '{"reference": "R-1", "external_id": "bk-1", "lines": [null]}'),
    ("POST", "/api/v1/pos/orders",
     '{"reference": "R-1", "external_id": "bk-1", "placed_at": "9999-12-31T23:59:59-12:00", "total": "1"}'),
    ("POST", "/api/v1/pos/orders",
     '{"reference": "R-1", "external_id": "bk-1", "placed_at": "0001-01-01T00:00:00+14:00", "total": "1"}'),
    ("GET", "/api/v1/pos/orders/R-%00", ""),
    ("GET", "/api/v1/pos/patients?search=%00", ""),
    ("GET", "/api/v1/pos/patients?limit=999999999999999999999&offset=99999999999999999999", ""),
])
def test_odd_input_is_never_a_server_error(clinic_a, in_clinic, app_client_for, pos_client_for, owner_a,
                                           method, path, raw_body):
    # given credentials for every part of the API and a known patient
    with in_clinic(clinic_a):
        PatientFactory(external_id="bk-1", email="ann@example.com")
    api = app_client_for(clinic_a) if path.startswith("/api/v1/app/") else pos_client_for(clinic_a)
    # when odd input is sent
    response = api.generic(method, path, raw_body, content_type="application/json")
    # then the answer is a client error or success, never a 500, and errors keep the shape
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert_error_shape(response, response.status_code)


# --- the handler itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "status", "code"), [
    (DjangoValidationError({"email": ["Taken."]}), 400, "validation_error"),
    (DjangoValidationError("Not allowed today."), 400, "validation_error"),
    (Http404(), 404, "not_found"),
    (DjangoPermissionDenied(), 403, "permission_denied"),
    (NotFound("No such offer."), 404, "not_found"),
    (Conflict("Already redeemed.", code="already_redeemed"), 409, "already_redeemed"),
    (LimitReached("Cap reached."), 409, "usage_limit_reached"),
])
def test_the_handler_turns_django_and_domain_errors_into_the_shape(exc, status, code):
    # given an error raised in a handler
    # when the API's handler renders it
    response = exception_handler(exc, {})
    # then it is the one shape with the right status and code
    assert response.status_code == status
    assert set(response.data) == {"message", "code", "extra"}
    assert response.data["code"] == code


def test_django_validation_errors_keep_their_fields():
    # given a model validation error on two fields and one without a field
    # when they are rendered
    per_field = exception_handler(DjangoValidationError({"email": ["Taken."], "phone": ["Too long."]}), {})
    general = exception_handler(DjangoValidationError("Not allowed today."), {})
    # then the fields are kept, and the general one sits under non_field_errors
    assert per_field.data["extra"]["fields"] == {"email": ["Taken."], "phone": ["Too long."]}
    assert general.data["extra"]["fields"] == {"non_field_errors": ["Not allowed today."]}
    assert general.data["message"] == "Not allowed today."


def test_an_unexpected_error_is_left_to_become_a_500():
    # given a bug
    # when the handler sees it
    # then it does not disguise it as a client error
    assert exception_handler(RuntimeError("bug"), {}) is None


def test_a_server_error_on_an_api_path_is_json_in_the_error_shape():
    # given a request to the API that crashed
    request = RequestFactory().get("/api/v1/pos/patients")
    # when Django's 500 handler answers it
    response = server_error(request)
    # then the body is the one shape, not an HTML page
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {
        "message": "Something went wrong on our side.", "code": "server_error", "extra": {}}
