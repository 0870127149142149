"""The OpenAPI schema agrees with the routes and with API.md, and the docs page is served from our own files."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver
from drf_spectacular.drainage import GENERATOR_STATS

from clinic_crm import api_urls

API_PREFIX = "/api/v1/"

# Every API.md path the foundation implements, with its methods; other apps add theirs beside these.
FOUNDATION_OPERATIONS = {
    "/api/v1/app/auth/code": {"post"},
    "/api/v1/app/auth/token": {"post"},
    "/api/v1/app/me": {"get"},
    "/api/v1/pos/patients": {"get"},
    "/api/v1/pos/patients/{external_id}": {"get", "put"},
    "/api/v1/pos/orders": {"post"},
    "/api/v1/pos/orders/{reference}": {"get"},
    "/api/v1/staff/token": {"post"},
    "/api/v1/staff/me": {"get"},
}
OFFER_OPERATIONS = {
    "/api/v1/app/config": {"get"},
    "/api/v1/app/offers/{offer_id}/redeem": {"post"},
    "/api/v1/pos/offers/{offer_id}/redeem": {"post"},
    "/api/v1/staff/offers/": {"get", "post"},
    "/api/v1/staff/offers/{offer_id}": {"get", "patch", "delete"},
    **{f"/api/v1/staff/offers/{{offer_id}}/{action}": {"post"}
       for action in ("publish", "unpublish", "activate", "deactivate")},
    "/api/v1/staff/automated-offers/": {"get"},
    "/api/v1/staff/automated-offers/{offer_id}": {"get", "patch"},
    **{f"/api/v1/staff/automated-offers/{{offer_id}}/{action}": {"post"}
       for action in ("publish", "unpublish", "activate", "deactivate")},
}
PROMO_OPERATIONS = {
    "/api/v1/app/promos/validate": {"post"},
    "/api/v1/pos/promos/redeem": {"post"},
    "/api/v1/staff/promos/": {"get", "post"},
    "/api/v1/staff/promos/{promo_id}": {"get", "patch"},
    **{f"/api/v1/staff/promos/{{promo_id}}/{action}": {"post"} for action in ("pause", "activate", "archive")},
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def routed_api_paths() -> set[str]:
    """Every DRF endpoint under /api/v1/, written the way OpenAPI writes paths."""
    found = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                found.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(api_urls.urlpatterns, API_PREFIX)
    return found


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_the_schema_is_served_as_json_and_names_the_api(schema):
    # given the served document
    # then it is OpenAPI 3 with our title
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Clinic CRM API"


def test_every_schema_path_is_routed_and_every_routed_endpoint_is_in_the_schema(schema):
    # given the schema's API paths and the URL resolver's DRF endpoints
    documented = {path for path in schema["paths"] if path.startswith(API_PREFIX)}
    routed = routed_api_paths()
    # then neither has a path the other lacks
    assert documented - routed == set(), "documented but not routed"
    assert routed - documented == set(), "routed but not documented"


def test_each_implemented_api_md_operation_is_documented(schema):
    # given the operations API.md names that exist now
    # then each is in the schema with its methods
    for path, methods in {**FOUNDATION_OPERATIONS, **OFFER_OPERATIONS, **PROMO_OPERATIONS}.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_app_key_patient_token_api_key_and_staff_jwt_are_security_schemes(schema):
    # given the schema's security schemes
    schemes = schema["components"]["securitySchemes"]
    # then each way in of API.md is described
    assert schemes["AppKey"] == {**schemes["AppKey"], "type": "apiKey", "in": "header", "name": "X-App-Key"}
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "Authorization"}
    assert "Api-Key" in schemes["ApiKey"]["description"]
    assert schemes["StaffJWT"] == {**schemes["StaffJWT"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["PatientToken"] == {**schemes["PatientToken"], "type": "http", "scheme": "bearer"}


def test_each_area_of_the_api_asks_for_its_own_scheme(schema):
    # given the foundation's operations
    for path, method, operation in operations(schema):
        requirements = operation.get("security", [])
        names = {name for requirement in requirements for name in requirement}
        # then app, POS and staff operations each name their scheme, and the staff token endpoint none
        if path.startswith("/api/v1/pos/"):
            assert names == {"ApiKey"}, path
        elif path.startswith("/api/v1/app/"):
            assert all("AppKey" in requirement for requirement in requirements), path
            assert names <= {"AppKey", "PatientToken"}, path
        elif path == "/api/v1/staff/token":
            assert names == set(), path
        elif path.startswith("/api/v1/staff/"):
            assert names == {"StaffJWT"}, path


def test_every_4xx_response_is_the_error_shape(schema):
    # given the Error component
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"message", "code", "extra"}
    # then every documented 4xx of every operation refers to it
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (path, method, status)


def test_the_patient_list_is_documented_as_the_paged_envelope(schema):
    # given the POS patient list
    response = schema["paths"]["/api/v1/pos/patients"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    # then it is the {count, next, previous, results} shape the endpoint returns, with its parameters
    assert set(schema["components"]["schemas"][ref]["properties"]) == {"count", "next", "previous", "results"}
    parameters = {p["name"] for p in schema["paths"]["/api/v1/pos/patients"]["get"]["parameters"]}
    assert {"search", "limit", "offset"} <= parameters


def test_the_order_documents_its_discount_and_the_idempotency_header(schema):
    # given the order operations
    create = schema["paths"]["/api/v1/pos/orders"]["post"]
    order = schema["components"]["schemas"]["Order"]
    # then the discount has its API.md shape and the POST takes an Idempotency-Key header
    discount_ref = order["properties"]["discount"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][discount_ref]["properties"]) == {"type", "value"}
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= create["parameters"][0].items()
    assert "409" in create["responses"]


def test_descriptions_come_from_the_endpoint_not_the_base_class(schema):
    # given every operation's description
    # then none repeats the internals of the base classes
    for path, method, operation in operations(schema):
        assert "initial()" not in operation.get("description", ""), path
        assert "Base of" not in operation.get("description", ""), path


def test_the_schema_command_validates_without_warnings(tmp_path):
    # given warnings from earlier generations forgotten, so this run counts its own
    GENERATOR_STATS.reset()
    # when the schema is generated, validated and any warning is made fatal
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    # then it passes and writes the document
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_the_docs_page_is_swagger_ui_from_our_own_static_files(client):
    # given the docs page
    response = client.get("/api/docs/")
    html = response.content.decode()
    # then every script, stylesheet and icon it loads is ours
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    loaded = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded), loaded
    assert "http://" not in html and "https://" not in html
    for url in loaded:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url


def test_the_docs_page_script_points_at_our_schema(client):
    # given the page's own start-up script, served separately so no inline script is needed
    response = client.get("/api/docs/", {"script": ""})
    # then it is JavaScript that loads /api/schema/
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in response.content.decode()


def test_signed_in_app_endpoints_require_the_patient_token_beside_the_app_key(schema):
    # given the app endpoints API.md marks "(signed in)" and the public config
    signed_in = [schema["paths"]["/api/v1/app/offers/{offer_id}/redeem"]["post"],
                 schema["paths"]["/api/v1/app/promos/validate"]["post"],
                 schema["paths"]["/api/v1/app/me"]["get"]]
    public = schema["paths"]["/api/v1/app/config"]["get"]
    # then the signed-in ones offer no way in with the app key alone, and the config does
    for operation in signed_in:
        assert operation["security"] == [{"AppKey": [], "PatientToken": []}], operation["operationId"]
    assert {"AppKey": []} in public["security"]


def test_the_config_documents_its_etag_on_200_and_304(schema):
    # given the config operation
    responses = schema["paths"]["/api/v1/app/config"]["get"]["responses"]
    # then both answers name the ETag header the app sends back in If-None-Match
    assert "ETag" in responses["200"]["headers"] and "ETag" in responses["304"]["headers"]


def test_429_is_documented_only_where_a_rate_limit_applies_with_retry_after(schema):
    # given every operation and the ones that are throttled (sign-in, the staff token, promo validation, feedback)
    throttled = {("/api/v1/app/auth/code", "post"), ("/api/v1/app/auth/token", "post"),
                 ("/api/v1/staff/token", "post"), ("/api/v1/app/promos/validate", "post"),
                 ("/api/v1/app/feedback", "post")}
    documented = {(path, method) for path, operations in schema["paths"].items()
                  for method, operation in operations.items() if "429" in operation.get("responses", {})}
    # then exactly those document a 429, with the Retry-After header API.md promises
    assert documented == throttled
    for path, method in throttled:
        assert "Retry-After" in schema["paths"][path][method]["responses"]["429"]["headers"]


def test_staff_writes_document_the_409_they_can_answer(schema):
    # given the staff writes that refuse a change in the resource's state (e.g. editing an archived promo)
    writes = [("/api/v1/staff/promos/{promo_id}", "patch"), ("/api/v1/staff/promos/{promo_id}/activate", "post"),
              ("/api/v1/staff/offers/{offer_id}", "delete"), ("/api/v1/staff/automated-offers/{offer_id}", "patch")]
    # then each documents a 409 in the error shape, and the validate endpoint (always 200 or 4xx input) does not
    for path, method in writes:
        assert "409" in schema["paths"][path][method]["responses"], (path, method)
    assert "409" not in schema["paths"]["/api/v1/app/promos/validate"]["post"]["responses"]


def test_client_sent_patient_ids_are_documented_as_strings_or_numbers(schema):
    # given the POS inputs that name a patient by id (API.md: "ids are strings in JSON"; a POS may send 12)
    components = schema["components"]["schemas"]
    # then each documents patient_id as a string of digits, or a positive integer, and nothing else
    for name in ("PosOfferRedeemInputRequest", "PromoRedeemInputRequest", "OrderInputRequest"):
        as_string, as_number = components[name]["properties"]["patient_id"]["oneOf"]
        assert as_string["type"] == "string" and as_string["pattern"].startswith("^[1-9]"), name
        assert as_number["type"] == "integer" and as_number["minimum"] == 1, name


def test_enumerated_values_are_documented_as_enums(schema):
    # given the Discount and Promo resources
    components = schema["components"]["schemas"]

    def values(prop):
        ref = prop.get("$ref") or next((p["$ref"] for p in prop.get("allOf", []) + prop.get("oneOf", [])
                                        if "$ref" in p), None)
        return set((components[ref.rsplit("/", 1)[1]] if ref else prop)["enum"])

    # then the discount type, the promo kind and its status list exactly API.md's values
    assert values(components["Discount"]["properties"]["type"]) == {"percent", "amount", "free_treatment"}
    assert values(components["Promo"]["properties"]["kind"]) == {"global", "tiered", "personalised"}
    assert values(components["Promo"]["properties"]["status"]) == {"draft", "active", "paused", "archived"}


def test_request_amounts_texts_and_discounts_state_what_the_server_refuses(schema):
    # given the request components
    components = schema["components"]["schemas"]
    order = components["OrderInputRequest"]["properties"]
    # then an amount that may not be negative is digits with up to two decimals, no sign
    assert order["total"]["pattern"] == r"^\d{1,10}(?:\.\d{1,2})?$"
    # a text that may not be blank needs a character other than space
    assert order["reference"]["pattern"] == r"\S"
    # and a discount's value is tied to its type: none for a free treatment, 1-100 for a percent
    rules = components["DiscountInputRequest"]["anyOf"]
    assert [r["properties"]["type"]["pattern"] for r in rules] == ["^free_treatment$", "^amount$", "^percent$"]
    assert all(r.get("required") == ["value"] for r in rules[1:])
    # while a PATCH's discount may leave out either part
    assert "anyOf" not in components["DiscountPatchInputRequest"]
    assert "required" not in components["DiscountPatchInputRequest"]
