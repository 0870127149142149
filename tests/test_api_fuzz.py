"""Generated requests against every operation in our OpenAPI schema: never a 500, always the error shape."""

import json
from urllib.parse import urlencode

import pytest
import schemathesis
from schemathesis.core import NotSet
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient

from clinic_crm.tenancy.auth import mint_patient_token
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.services import create_api_key
from tests.conftest import PASSWORD, make_staff
from tests.factories import OrderFactory, PatientFactory


def load_schema():
    # The same document /api/schema/ serves, generated in-process.
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    return schemathesis.openapi.from_dict(document)


def operations() -> list[tuple[str, str]]:
    found = []
    for result in load_schema().get_all_operations():
        operation = result.ok()
        found.append((operation.method.upper(), operation.path))
    return sorted(found)


@pytest.fixture(scope="module")
def api_schema():
    return load_schema()


def send(case, headers):
    """Send a generated case through Django's test client (same connection, same transaction)."""
    url = case.formatted_path
    if case.query:
        url += "?" + urlencode({k: v for k, v in case.query.items() if v is not None}, doseq=True)
    body = b""
    if not isinstance(case.body, NotSet):
        body = json.dumps(case.body)
    merged = {k: str(v) for k, v in (case.headers or {}).items()}
    merged.update(headers)
    return Client().generic(case.method, url, data=body, content_type=case.media_type or "application/json",
                            headers=merged)


@pytest.fixture
def credentials(clinic_a, in_clinic):
    """Valid credentials for each part of the API, so generated input reaches the handlers."""
    cache.clear()
    with in_clinic(clinic_a):
        patient = PatientFactory(external_id="fz-1", email="fuzz@example.com")
        OrderFactory(patient=patient, reference="FZ-1")
    owner = make_staff(clinic_a, Role.OWNER)
    _, key = create_api_key(clinic=clinic_a, name="fuzz", scopes=["pos", "events"])
    access = APIClient().post("/api/v1/staff/token", {"email": owner.email, "password": PASSWORD,
                                                      "clinic": clinic_a.slug}, format="json").json()["access"]
    return {
        "/api/v1/app/": {"X-App-Key": clinic_a.app_key,
                         "Authorization": f"Bearer {mint_patient_token(clinic=clinic_a, patient_id=patient.pk)}"},
        "/api/v1/pos/": {"Authorization": f"Api-Key {key}"},
        "/api/v1/staff/": {"Authorization": f"Bearer {access}"},
    }


def test_the_schema_lists_operations():
    assert len(operations()) >= 8


@pytest.mark.parametrize("method,path", operations())
def test_no_generated_request_gives_a_server_error(method, path, api_schema, credentials, db):
    # given valid credentials for the operation's part of the API
    headers = next(h for prefix, h in credentials.items() if path.startswith(prefix))
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        # when a generated request is sent
        response = send(case, headers)
        # then it is answered, and every error has the one shape
        assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.content[:500])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"message", "code", "extra"}, body
            assert body["message"] and body["code"]

    check()
