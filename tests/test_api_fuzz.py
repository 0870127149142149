"""Every operation of our OpenAPI schema, fuzzed the way an integrator will (API.md).

For each operation the schema lists, under its part of the API's credential (patient app key and
token, POS API key, staff JWT), requests are generated from the schema: valid ones (positive)
and ones that break it (negative). Path ids are bound to objects that exist, so an update reaches
a real offer or promo. Each request runs in a savepoint that is rolled back afterwards, so every
one meets the same data (a DELETE does not leave the rest with a 404). Every answer must be:

- never a server error, and never anything but JSON;
- on a 4xx, the one error shape `{"message", "code", "extra"}`;
- on a 2xx, what the schema says of that response (status, content type, body, headers);
- for a request that breaks the schema, a 4xx: the server refuses what the schema refuses.

New operations are covered as soon as they are in the schema. A path parameter this file binds
by name (below) reaches a real object; any other is generated.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic_crm.tenancy.auth import mint_patient_token
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.services import create_api_key
from coupons import services as coupon_services
from offers import services as offer_services
from offers.models import AutomatedOffer
from promos import services as promo_services
from promos.events import Actor
from tests.conftest import PASSWORD, make_staff
from tests.factories import OrderFactory, PatientFactory

# Requests per operation and mode; API_FUZZ_EXAMPLES=500 for a deeper run by hand. The draw is
# the same on every run (derandomized), so CI never fails on a case it did not meet before.
EXAMPLES = dict.fromkeys(GenerationMode, int(os.environ.get("API_FUZZ_EXAMPLES", "30")))
DERANDOMIZE = os.environ.get("API_FUZZ_RANDOM") != "1"
CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx, value) -> bytes:
    """A backfill file of events: the generated list as one JSON value a line (anything else as one line)."""
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


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


@pytest.fixture
def resources(clinic_a, in_clinic):
    """One of each resource in clinic A, for path ids to name, and a credential for each part of the API."""
    cache.clear()
    with in_clinic(clinic_a):
        patient = PatientFactory(external_id="fz-1", email="fuzz@example.com")
        order = OrderFactory(patient=patient, reference="FZ-1")
        offer = offer_services.create_offer(clinic=clinic_a, data={
            "name": "Whitening", "title": "20% off whitening", "discount_type": "percent",
            "discount_value": Decimal("20"), "active": True, "published": True})
        automated = AutomatedOffer.objects.order_by("id").first()
        card_template = coupon_services.create_card_template(clinic=clinic_a, data={
            "name": "Welcome", "discount_type": "percent", "discount_value": Decimal("10")})
        card = coupon_services.issue_card(template=card_template, patient=patient)
        promo = promo_services.create_promo(clinic=clinic_a, actor=Actor(id=None, name="Fuzz", email="f@example.com"),
                                            data={"name": "Spring", "code": "SPRING20", "discount_type": "percent",
                                                  "discount_value": Decimal("20"), "status": "active"})
    owner = make_staff(clinic_a, Role.OWNER)
    _, key = create_api_key(clinic=clinic_a, name="fuzz", scopes=["pos", "events"])
    access = APIClient().post("/api/v1/staff/token", {"email": owner.email, "password": PASSWORD,
                                                      "clinic": clinic_a.slug}, format="json").json()["access"]
    return {
        "credentials": {
            "app": {"X-App-Key": clinic_a.app_key,
                    "Authorization": f"Bearer {mint_patient_token(clinic=clinic_a, patient_id=patient.pk)}"},
            "pos": {"Authorization": f"Api-Key {key}"},
            "events": {"Authorization": f"Api-Key {key}"},
            "staff": {"Authorization": f"Bearer {access}"},
        },
        "patient": patient, "order": order, "offer": offer, "automated": automated, "promo": promo,
        "card_template": card_template, "card": card,
    }


def family(path: str) -> str:
    """The part of the API a path belongs to: "app", "pos", "events" or "staff"."""
    return path.removeprefix("/api/v1/").split("/")[0]


def bound_path_parameters(path: str, names: list[str], resources: dict) -> dict[str, str]:
    """Ids of existing objects for the path parameters this file knows by name; others are generated."""
    part = family(path)
    known = {
        "external_id": resources["patient"].external_id,
        "reference": resources["order"].reference,
        "promo_id": str(resources["promo"].pk),
        "template_id": str(resources["card_template"].pk),
        "serial": resources["card"].serial,
    }
    if part == "staff":
        automated = "/automated-offers/" in path
        known["offer_id"] = str((resources["automated"] if automated else resources["offer"]).pk)
    else:  # the app and POS name offers by promotion id
        known["offer_id"] = resources["offer"].promotion_key
    return {name: known[name] for name in names if name in known}


class DjangoClientAdapter(requests.adapters.BaseAdapter):
    """Lets schemathesis send its requests, serialized as it sends them over HTTP, through Django's
    test client: the same database connection, so the test's data is seen. Like an integrator's
    client it has no session and no CSRF token."""

    def __init__(self):
        super().__init__()
        self.client = Client(enforce_csrf_checks=True)  # one handler: building one per request is slow

    def send(self, request, **kwargs):
        self.client.cookies.clear()  # no session, whatever an answer set
        url = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
        content_type = headers.pop("Content-Type", "")
        body = request.body or b""
        answer = self.client.generic(
            request.method, url.path + (f"?{url.query}" if url.query else ""),
            data=body.encode() if isinstance(body, str) else body, content_type=content_type, headers=headers)
        raw = HTTPResponse(body=io.BytesIO(answer.content), headers=HTTPHeaderDict(dict(answer.items())),
                           status=answer.status_code, version=11, preload_content=False)
        response = requests.adapters.HTTPAdapter().build_response(request, raw)
        response._content = answer.content
        return response

    def close(self):
        pass


@pytest.fixture(scope="module")
def django_session():
    session = requests.Session()
    session.mount("http://testserver", DjangoClientAdapter())
    return session


def assert_answered_right(case, response) -> None:
    where = (case.method, case.formatted_path, case.query, case.body)
    assert response.status_code < 500, (where, response.content[:500])
    content_type = response.headers.get("content-type", [""])[0]
    if response.status_code in (204, 304):
        assert response.content == b"", (where, response.content[:200])
    else:
        assert content_type == "application/json", (where, content_type, response.content[:200])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"message", "code", "extra"}, (where, body)
        assert body["message"] and body["code"], (where, body)
    if response.status_code == 413:
        # A body over the size limit is refused before it is read: the refusal a generated body of
        # thousands of items meets (documented on every operation that takes a body).
        assert body["code"] == "payload_too_large", (where, body)
        checks = [check for check in CHECKS if check is not negative_data_rejection]
        case.validate_response(response, checks=checks)
        return
    case.validate_response(response, checks=CHECKS)


def test_the_schema_lists_the_operations_of_every_part_of_the_api():
    found = operations()
    assert len(found) >= 30
    assert {family(path) for _, path in found} >= {"app", "pos", "staff"}


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda mode: mode.value)
@pytest.mark.parametrize("method,path", operations())
def test_generated_requests_are_answered_right(method, path, mode, api_schema, resources, django_session):
    # given the operation's credential and ids of objects that exist
    operation = api_schema[path][method]
    headers = resources["credentials"][family(path)]
    names = [p.name for p in operation.path_parameters]
    bound = bound_path_parameters(path, names, resources)

    def run(path_parameters):
        # The credential is fixed: negative cases break the request itself, not its authentication
        # (a missing or wrong credential has tests of its own).
        strategy = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=path_parameters)

        @given(case=strategy)
        @settings(max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck),
                  database=None, derandomize=DERANDOMIZE)
        def check(case):
            # when a generated request is sent (in a savepoint undone afterwards)
            with transaction.atomic():
                response = case.call(base_url="http://testserver", session=django_session)
                transaction.set_rollback(True)
            # then it is answered as API.md and the schema say
            assert_answered_right(case, response)

        check()

    try:
        run(bound or None)
    except Unsatisfiable:
        # A request with nothing the schema constrains has no negative form (GET staff/me); one
        # whose only constraints are the bound ids (an action on one object) breaks the ids.
        assert mode == GenerationMode.NEGATIVE, "no valid request could be generated"
        if bound:
            with contextlib.suppress(Unsatisfiable):
                run(None)
