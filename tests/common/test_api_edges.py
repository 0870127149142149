"""Requests that never reach an endpoint's handler are answered in the API's JSON error shape (API.md).

Unknown paths and wrong slashes under every API family, for every method, with and without
credentials; bodies over the size limit, not JSON, multipart without a boundary, with a NUL;
the schema and docs paths with a method they lack.
"""

import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD, assert_error, make_staff
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
FAMILIES = ["app", "pos", "staff", "events"]


@pytest.fixture
def credentials(clinic_a, in_clinic, pos_client_for, app_client_for):
    from clinic_crm.tenancy.auth import mint_patient_token
    from clinic_crm.tenancy.choices import Role

    with in_clinic(clinic_a):
        patient = PatientFactory(external_id="e-1")
    owner = make_staff(clinic_a, Role.OWNER)
    access = Client().post("/api/v1/staff/token", {"email": owner.email, "password": PASSWORD,
                                                  "clinic": clinic_a.slug}, content_type="application/json").json()
    token = mint_patient_token(clinic=clinic_a, patient_id=patient.pk)
    return {
        "app": {"X-App-Key": clinic_a.app_key, "Authorization": f"Bearer {token}"},
        "pos": {"Authorization": f"Api-Key {pos_client_for(clinic_a).key}"},
        "events": {"Authorization": f"Api-Key {pos_client_for(clinic_a).key}"},
        "staff": {"Authorization": f"Bearer {access['access']}"},
    }


def integrator():
    """An API client as integrators have one: no session cookie and no CSRF token."""
    return Client(enforce_csrf_checks=True)


def send(method, path, *, headers=None, body=b"{}", content_type="application/json"):
    return integrator().generic(method, path, data=body, content_type=content_type, headers=headers or {})


def assert_json_error(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    if response.request["REQUEST_METHOD"] == "HEAD":
        return None
    return assert_error(response, status, code)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_path_is_a_json_404_for_every_method_with_or_without_credentials(family, method, credentials):
    # given a path under the family that no endpoint has
    path = f"/api/v1/{family}/no-such-thing/12"
    for headers in ({}, credentials[family]):
        # when it is sent with any method, as an integrator's client sends it
        response = send(method, path, headers=headers)
        # then it is the API's 404, never Django's CSRF page or an HTML 404
        assert_json_error(response, 404, "not_found")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", ["/api/v1/staff/offers", "/api/v1/staff/promos", "/api/v1/pos/orders/",
                                  "/api/v1/app/config/", "/api/v1/pos/promos/redeem/", "/api/v1/", "/api/v2/x",
                                  "/api/schema", "/api/nothing", "/api/"])
def test_a_wrong_slash_or_unknown_version_is_a_json_404(method, path, credentials):
    # given a known path with its slash wrong, or a path of no version
    for headers in ({}, credentials["staff"], credentials["pos"]):
        # when any method is sent there
        response = send(method, path, headers=headers)
        # then it is a JSON 404, not a redirect, a CSRF page or HTML
        assert_json_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_docs_paths_answer_a_wrong_method_with_a_json_405(method, path):
    # when the schema or its docs page is sent an unsafe method
    response = send(method, path)
    # then it is the API's 405, not YAML or an HTML page
    assert_json_error(response, 405, "method_not_allowed")


def test_a_wrong_method_on_a_known_path_is_a_json_405_naming_the_allowed_ones(credentials):
    # when the config is posted to
    response = send("POST", "/api/v1/app/config", headers=credentials["app"])
    # then it is a 405 in the error shape, with Allow
    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("family,path", [("pos", "/api/v1/pos/orders"), ("staff", "/api/v1/staff/offers/"),
                                         ("pos", "/api/v1/pos/promos/redeem")])
def test_a_body_over_the_size_limit_is_a_json_413(family, path, credentials, settings):
    # given a JSON body of 6 MB
    body = json.dumps({"reference": "R", "note": "x" * 6_000_000}).encode()
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # when it is posted with valid credentials
    response = send("POST", path, headers=credentials[family], body=body)
    # then it is refused for its size, in the error shape
    assert_json_error(response, 413, "payload_too_large")


def test_a_body_over_the_size_limit_without_credentials_is_a_401(credentials):
    # when 6 MB are posted with no credential
    response = send("POST", "/api/v1/pos/orders", body=b"{" + b" " * 6_000_000 + b"}")
    # then the missing credential is the answer: the body was never read
    assert_json_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("family,path", [("pos", "/api/v1/pos/orders"), ("staff", "/api/v1/staff/offers/"),
                                         ("pos", "/api/v1/pos/promos/redeem")])
def test_multipart_without_a_boundary_is_a_json_415(family, path, credentials):
    # when a multipart body comes without its boundary
    response = send("POST", path, headers=credentials[family], body=b"--x\r\n", content_type="multipart/form-data")
    # then it is refused as a media type the API does not take, not an HTML 400
    assert_json_error(response, 415, "unsupported_media_type")


def test_multipart_without_a_boundary_and_without_credentials_is_a_401():
    response = send("POST", "/api/v1/pos/orders", body=b"--x\r\n", content_type="multipart/form-data")
    assert_json_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("body", [b'{"reference": "R\\u0000"}', b'{"reference": "R\x00"}'])
def test_a_body_with_a_nul_and_no_credential_is_a_401(body):
    # when a body with a NUL comes without a credential
    response = send("POST", "/api/v1/pos/orders", body=body)
    # then the missing credential is the answer, before the body is examined
    assert_json_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("body", [b'{"reference": "R\\u0000", "external_id": "e-1", "total": "1.00"}',
                                  b'{"reference": "R\x00", "external_id": "e-1", "total": "1.00"}'])
def test_a_body_with_a_nul_is_a_400_once_the_caller_is_known(body, credentials):
    # when a signed-in POS posts a body with a NUL
    response = send("POST", "/api/v1/pos/orders", headers=credentials["pos"], body=body)
    # then it is a validation error, and nothing reached the database
    assert_json_error(response, 400, "validation_error")


def test_a_body_that_is_not_json_is_a_400(credentials):
    response = send("POST", "/api/v1/pos/orders", headers=credentials["pos"], body=b"{not json")
    assert_json_error(response, 400, "validation_error")


def test_a_body_of_another_media_type_is_a_415(credentials):
    response = send("POST", "/api/v1/pos/orders", headers=credentials["pos"], body=b"reference=R",
                    content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 415, "unsupported_media_type")


def test_the_dashboard_still_checks_csrf(clinic_a, owner_a):
    # given a signed-in owner whose browser sends no CSRF token
    client = integrator()
    client.force_login(owner_a)
    # when a dashboard form is posted
    response = client.post(f"/c/{clinic_a.slug}/offers/new/", {"name": "x"})
    # then CSRF protection refuses it
    assert response.status_code == 403
