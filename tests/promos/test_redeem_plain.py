"""The till's plain redeem, answered before DRF: the same answers, effects and replays as PosPromoRedeemApi."""

import json
from decimal import Decimal

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.request import Request

from clinic_crm.orders.models import Order
from clinic_crm.tenancy.choices import ApiScope
from clinic_crm.tenancy.services import revoke_api_key
from promos import services
from clinic_crm.common.negotiation import JsonOnlyNegotiation
from clinic_crm.common.parsers import JSONParser
from promos.apis import PosPromoRedeemApi, read_plain_redeem
from promos.models import Promo
from promos.serializers import PromoRedeemInput, PromoRedemptionOutput, read_plain_redeem_input, redemption_output
from redemptions.models import Redemption
from tests.conftest import assert_error
from tests.promos.test_redeem import ACTOR, make_promo

REDEEM = "/api/v1/pos/promos/redeem"

pytestmark = pytest.mark.django_db


@pytest.fixture
def drf_handled(monkeypatch):
    """The bodies PosPromoRedeemApi.post was given: only requests the plain path left to DRF."""
    seen = []
    real = PosPromoRedeemApi.post

    def post(view, request, *args, **kwargs):
        seen.append(request.data)
        return real(view, request, *args, **kwargs)

    monkeypatch.setattr(PosPromoRedeemApi, "post", post)
    return seen


def body(code="SPRING20", reference="ORD-1", total="150.00", **who):
    return {"code": code, "order": {"reference": reference, "total": total}, **(who or {"external_id": "ann"})}


def through_drf(api, data, key=None, content_type="application/json"):
    """The same request sent straight to PosPromoRedeemApi, past the URL's plain path."""
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {api.key}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    text = data if isinstance(data, str) else json.dumps(data)
    request = RequestFactory().post(REDEEM, text, content_type=content_type, **headers)
    response = PosPromoRedeemApi.as_view()(request)
    return response.render()


def test_a_plain_redeem_is_answered_without_drf_and_redeems(clinic_a, in_clinic, ann, pos_client_for,
                                                            drf_handled):
    # given an active 20% promo and a till sending the plain form
    promo = make_promo(clinic_a, in_clinic)
    # when it redeems on a £150 order
    response = pos_client_for(clinic_a).post(REDEEM, body(), format="json")
    # then DRF's handler never ran, and the redeem is the one PosPromoRedeemApi makes
    assert drf_handled == []
    assert response.status_code == 201, response.content
    answer = response.json()["redemption"]
    assert (answer["discount"], answer["currency"], answer["promo_id"]) == ("30.00", "GBP", promo.promotion_key)
    assert response["Content-Type"] == "application/json" and response["Allow"] == "POST, OPTIONS"
    with in_clinic(clinic_a):
        order = Order.objects.get(pk=int(answer["order_id"]))
        assert (order.reference, order.total) == ("ORD-1", Decimal("120.00"))
        assert Promo.objects.get(pk=promo.pk).uses == 1


@pytest.mark.parametrize("refusal", ["paused", "unknown code", "unknown patient", "bad key"])
def test_refusals_are_the_bytes_and_headers_drf_gives(clinic_a, in_clinic, ann, pos_client_for, drf_handled,
                                                      refusal):
    # given a promo and a refused redeem of each kind
    promo = make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    data = body()
    if refusal == "paused":
        with in_clinic(clinic_a):
            services.pause_promo(promo=Promo.objects.get(pk=promo.pk), actor=ACTOR)
    elif refusal == "unknown code":
        data = body(code="NOPE")
    elif refusal == "unknown patient":
        data = body(external_id="nobody")
    # when it is sent through the URL (the plain path) and straight to DRF, with fresh keys
    plain = api.post(REDEEM, data, format="json", HTTP_IDEMPOTENCY_KEY="k1" if refusal != "bad key" else " ")
    drf = through_drf(api, data, key="k2" if refusal != "bad key" else " ")
    # then the two answers are the same, byte for byte
    assert plain.status_code == drf.status_code and plain.status_code in (400, 404, 409)
    assert plain.content == drf.content
    for header in ("Content-Type", "Allow"):
        assert plain[header] == drf[header]
    # and only the request DRF was sent directly, or that the plain path left to it, reached DRF
    assert len(drf_handled) == (2 if refusal == "bad key" else 1)


def test_a_redeem_made_on_one_path_replays_on_the_other(clinic_a, in_clinic, ann, pos_client_for, drf_handled):
    # given a redeem through the plain path, and another straight through DRF
    promo = make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    plain_first = api.post(REDEEM, body(reference="A"), format="json", HTTP_IDEMPOTENCY_KEY="till-a")
    drf_first = through_drf(api, body(reference="B"), key="till-b")
    # when each is replayed through the other path, and a key is reused with another body
    drf_replay = through_drf(api, body(reference="A"), key="till-a")
    plain_replay = api.post(REDEEM, body(reference="B"), format="json", HTTP_IDEMPOTENCY_KEY="till-b")
    mismatch = api.post(REDEEM, body(reference="C"), format="json", HTTP_IDEMPOTENCY_KEY="till-b")
    # then each replay is the first answer (the request hashes agree), and two uses were taken
    assert {plain_first.status_code, drf_first.status_code, drf_replay.status_code, plain_replay.status_code} == {201}
    assert json.loads(drf_replay.content) == plain_first.json()
    assert plain_replay.json() == json.loads(drf_first.content)
    assert drf_replay["Idempotent-Replayed"] == plain_replay["Idempotent-Replayed"] == "true"
    assert_error(mismatch, 409, "idempotency_mismatch")
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 2 and Redemption.objects.count() == 2
    # and only the two requests sent straight to it reached DRF's handler
    assert [data["order"]["reference"] for data in drf_handled] == ["B", "A"]


NAN_HIDDEN_BY_A_LATER_KEY = ('{"code": NaN, "code": "SPRING20", "external_id": "ann", '
                             '"order": {"reference": "R2", "total": Infinity, "total": "150"}}')


@pytest.mark.parametrize("case", ["content type in capitals", "NaN hidden by a later key", "nested too deeply"])
def test_a_body_or_header_drf_refuses_is_refused_on_the_url_too(clinic_a, in_clinic, ann, pos_client_for,
                                                                 drf_handled, case):
    # given a promo, and a request DRF's parser refuses: a Content-Type it does not match (it
    # compares the header as sent), JSON with NaN and Infinity that duplicate keys then hide, or
    # brackets nested past Python's recursion limit
    promo = make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    content_type, text = "application/json", json.dumps(body())
    if case == "content type in capitals":
        content_type = "Application/JSON"
    elif case == "NaN hidden by a later key":
        text = NAN_HIDDEN_BY_A_LATER_KEY
    else:
        text = "[" * 3000 + "]" * 3000
    # when it is sent through the URL and straight to DRF
    plain = api.post(REDEEM, text, content_type=content_type)
    drf = through_drf(api, text, content_type=content_type)
    # then both refuse it with the same answer (never a 500), and nothing was redeemed
    expected = (415, "unsupported_media_type") if case == "content type in capitals" else (400, "validation_error")
    assert_error(plain, *expected)
    assert plain.content == drf.content
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 0 and not Order.objects.exists()


@pytest.mark.parametrize("case", ["lines", "float total", "padded code", "form body", "no pos scope",
                                  "revoked key", "numeric code"])
def test_anything_but_the_plain_form_gets_drfs_answer(clinic_a, in_clinic, ann, pos_client_for, drf_handled, case):
    # given a promo and a request that is not the plain form, or a key the plain path does not let in
    make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a, scopes=[ApiScope.EVENTS] if case == "no pos scope" else [ApiScope.POS])
    data = body()
    if case == "lines":
        data["order"] = {"reference": "ORD-1", "lines": [{"description": "Clean", "unit_price": "80.00",
                                                          "quantity": 2}]}
    elif case == "float total":
        data["order"]["total"] = 150.5
    elif case == "padded code":
        data["code"] = " spring20 "
    elif case == "numeric code":
        data["code"] = 12345
    elif case == "revoked key":
        from clinic_crm.tenancy.models import ApiKey

        revoke_api_key(api_key=ApiKey.objects.get(prefix=api.key.split("_")[1]))
    # when the till sends it
    if case == "form body":
        response = api.post(REDEEM, "code=SPRING20", content_type="application/x-www-form-urlencoded")
    else:
        response = api.post(REDEEM, data, format="json")
    # then DRF answered it, as it always did
    expected = {"lines": 201, "float total": 400, "padded code": 201, "numeric code": 400}
    if case == "form body":
        assert_error(response, 415, "unsupported_media_type")
    elif case == "no pos scope":
        assert_error(response, 403, "permission_denied")
    elif case == "revoked key":
        assert_error(response, 401, "authentication_failed")
    else:
        assert response.status_code == expected[case], response.content
    assert len(drf_handled) == (1 if case in expected else 0)


def test_the_answer_is_the_serializers_data(clinic_a, in_clinic, ann, pos_client_for):
    # given redemptions as the redeem returns them: with an order, and as read back from the ledger
    make_promo(clinic_a, in_clinic)
    pos_client_for(clinic_a).post(REDEEM, body(), format="json")
    with in_clinic(clinic_a):
        redemption = Redemption.objects.select_related("clinic").get()
        without_order = Redemption(clinic=clinic_a, promotion_key="promo_1", discount_label="10% off",
                                   discount_amount=Decimal("5.5"), order=None)
        without_amount = Redemption(clinic=clinic_a, promotion_key="promo_1", discount_label="x",
                                    discount_amount=None)
        # then the plain answer is what PromoRedemptionOutput gives for each
        for each in (redemption, without_order, without_amount):
            assert redemption_output(each) == dict(PromoRedemptionOutput(each).data)


# --- the plain reader agrees with PromoRedeemInput ---------------------------------------------------

text = st.one_of(st.text(max_size=70), st.sampled_from(["SPRING20", " SPRING20", "ann", "", " ", "a" * 61, "a" * 65,
                                                        "caf\u00e9", "x\u00a0", "tab\tin", "nul\x00"]))
money = st.one_of(st.sampled_from(["0", "0.00", "150", "150.5", "150.55", "150.555", "-1", "01", "1e2", " 5",
                                   "9999999999.99", "99999999999", "NaN", "Infinity", "1,5", "٣"]),
                  st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
                  st.integers(min_value=-5, max_value=10**11), st.floats(allow_nan=False), st.booleans(),
                  st.none())
ids = st.one_of(st.integers(min_value=-2, max_value=2**64), st.sampled_from(["12", "012", "0", " 12", "12.0", "1" * 20,
                                                                            "9223372036854775807",
                                                                            "9223372036854775808"]),
                st.booleans(), st.none(), text)
orders = st.one_of(
    st.fixed_dictionaries({"reference": text, "total": money}),
    st.fixed_dictionaries({"reference": text}, optional={"total": money, "lines": st.just([]), "x": st.just(1)}),
    st.none(), text, st.lists(st.integers(), max_size=2))
who = st.one_of(st.fixed_dictionaries({"external_id": text}), st.fixed_dictionaries({"patient_id": ids}),
                st.fixed_dictionaries({"external_id": text, "patient_id": ids}), st.just({}))
bodies = st.one_of(
    st.builds(lambda code, order, person, extra: {"code": code, "order": order, **person, **extra},
              text, orders, who, st.one_of(st.just({}), st.just({"note": "x"}))),
    st.none(), st.lists(st.integers(), max_size=2), text, st.integers())


def as_sent(data) -> str:
    return data if isinstance(data, str) else json.dumps(data)


raw_bodies = st.one_of(bodies.map(as_sent), st.sampled_from([
    NAN_HIDDEN_BY_A_LATER_KEY, '{"code": "A", "code": 1, "external_id": "ann", "order": {"reference": "R", "total": "1"}}',
    '{"code": "SPRING20", "external_id": "ann", "order": {"reference": "R", "total": "1"}} x', "\ufeff{}", "",
    "[" * 3000 + "]" * 3000, '{"code": "SPRING20", "external_id": "ann", "order": {"reference": "R", "total": 1e2}}',
]))
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "Application/JSON",
                                 "application/json; charset=latin-1", "application/jsonx", "text/plain"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_bodies, content_types)
@example(as_sent({"code": "SPRING20", "external_id": "ann", "order": {"reference": "R", "total": "150"}}),
         "application/json")
@example(as_sent({"code": "SPRING20", "patient_id": "12", "order": {"reference": "R", "total": 0}}),
         "application/json; charset=utf-8")
def test_a_request_read_plainly_is_read_as_drf_and_promo_redeem_input_read_it(text, content_type):
    # given any body a till could send, with any of these content types
    raw = text.encode("utf-8", "surrogatepass")
    request = RequestFactory().generic("POST", REDEEM, raw, content_type=content_type)
    # when the plain path reads it
    plain = read_plain_redeem(request)
    if plain is None:
        return  # PosPromoRedeemApi decides, as before
    # then DRF's parser reads the same data from it, and PromoRedeemInput takes that with the same values
    drf_request = Request(RequestFactory().generic("POST", REDEEM, raw, content_type=content_type),
                          parsers=[JSONParser()], negotiator=JsonOnlyNegotiation())
    data, values = plain
    assert drf_request.data == data
    serializer = PromoRedeemInput(data=drf_request.data)
    assert serializer.is_valid(), (text, serializer.errors)
    validated = serializer.validated_data
    expected = {key: value for key, value in validated.items() if key != "order"}
    expected["order"] = dict(validated["order"])
    assert values == expected
    assert values["order"]["total"].as_tuple() == validated["order"]["total"].as_tuple()


def test_the_plain_reader_takes_the_form_tills_send():
    # given the bodies the POS integration guide shows
    by_external = {"code": "SPRING20", "external_id": "P-1", "order": {"reference": "T-1", "total": "80.00"}}
    by_id = {"code": "SPRING20", "patient_id": "12", "order": {"reference": "T-2", "total": "80"}}
    # when they are read plainly
    # then both are taken, with their totals as money
    assert read_plain_redeem_input(by_external)["order"]["total"] == Decimal("80.00")
    assert read_plain_redeem_input(by_id) == {"code": "SPRING20", "patient_id": 12,
                                              "order": {"reference": "T-2", "total": Decimal("80.00")}}
