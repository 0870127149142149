"""Idempotency-Key on POST /api/v1/pos/orders: a replay returns the first answer and changes nothing (API.md)."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from clinic_crm.orders.models import Order
from clinic_crm.tenancy.idempotency import purge_idempotency_keys
from clinic_crm.tenancy.models import IdempotencyKey
from tests.factories import OrderFactory, PatientFactory
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/pos/orders"
ORDER = {"reference": "R-1", "external_id": "bk-ann", "lines": [{"description": "Whitening", "unit_price": "300.00"}]}


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(external_id="bk-ann")


def post(api, body, key):
    return api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def count_orders(in_clinic, clinic) -> int:
    with in_clinic(clinic):
        return Order.objects.count()


def test_a_replay_returns_the_first_response_and_creates_nothing(clinic_a, in_clinic, ann, pos_client_for):
    # given an order recorded with a key
    api = pos_client_for(clinic_a)
    first = post(api, ORDER, "key-1")
    # when the POS sends the same request again, its keys in another order
    replay = post(api, dict(reversed(list(ORDER.items()))), "key-1")
    # then it gets the same status and body, marked as a replay, and there is still one order
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_orders(in_clinic, clinic_a) == 1


def test_the_same_key_with_a_different_body_is_409_idempotency_mismatch(clinic_a, in_clinic, ann, pos_client_for):
    # given an order recorded with a key
    api = pos_client_for(clinic_a)
    post(api, ORDER, "key-2")
    # when the key is reused for a different order
    response = post(api, {**ORDER, "reference": "R-2"}, "key-2")
    # then it is refused and R-2 is not recorded
    assert_error(response, 409, "idempotency_mismatch")
    with in_clinic(clinic_a):
        assert list(Order.objects.values_list("reference", flat=True)) == ["R-1"]


def test_a_refused_request_is_replayed_as_the_same_refusal(clinic_a, in_clinic, ann, pos_client_for):
    # given reference R-1 is taken, and a keyed request for it was refused
    with in_clinic(clinic_a):
        OrderFactory(patient=ann, reference="R-1")
    api = pos_client_for(clinic_a)
    refused = post(api, ORDER, "key-3")
    assert_error(refused, 409, "duplicate_reference")
    # when that request is replayed
    replay = post(api, ORDER, "key-3")
    # then the same 409 comes back as a replay, and nothing was added
    assert replay.status_code == 409
    assert replay.json() == refused.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count_orders(in_clinic, clinic_a) == 1


def test_a_replay_of_a_not_found_is_still_not_found_after_the_patient_appears(
    clinic_a, in_clinic, pos_client_for
):
    # given a keyed order for a patient the clinic did not know yet
    api = pos_client_for(clinic_a)
    assert_error(post(api, ORDER, "key-4"), 404, "unknown_patient")
    with in_clinic(clinic_a):
        PatientFactory(external_id="bk-ann")
    # when the same keyed request is replayed
    replay = post(api, ORDER, "key-4")
    # then it is the first answer again, not a new attempt
    assert_error(replay, 404, "unknown_patient")
    assert count_orders(in_clinic, clinic_a) == 0


def test_a_key_longer_than_255_characters_is_400(clinic_a, in_clinic, ann, pos_client_for):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when the Idempotency-Key is 256 characters
    response = post(api, ORDER, "k" * 256)
    # then the header is named and nothing is recorded
    body = assert_error(response, 400, "validation_error")
    assert "Idempotency-Key" in body["extra"]["fields"]
    assert count_orders(in_clinic, clinic_a) == 0


def test_a_key_of_exactly_255_characters_works(clinic_a, ann, pos_client_for):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when the Idempotency-Key is as long as allowed, twice
    first = post(api, ORDER, "k" * 255)
    replay = post(api, ORDER, "k" * 255)
    # then the order is recorded once and replayed
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_blank_key_is_400(clinic_a, ann, pos_client_for):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when the Idempotency-Key is only spaces
    response = post(api, ORDER, "   ")
    # then it is refused as invalid
    assert_error(response, 400, "validation_error")


def test_keys_belong_to_one_api_key(clinic_a, in_clinic, ann, pos_client_for):
    # given two integrations of the same clinic, the first has used key-5
    first_pos, second_pos = pos_client_for(clinic_a), pos_client_for(clinic_a)
    first = post(first_pos, ORDER, "key-5")
    # when the second uses the same key for its own order
    second = post(second_pos, {**ORDER, "reference": "R-2"}, "key-5")
    # then it is a new request, not a mismatch or a replay
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert count_orders(in_clinic, clinic_a) == 2


def test_keys_of_two_clinics_never_meet(clinic_a, clinic_b, in_clinic, ann, pos_client_for):
    # given clinic A used key-6
    post(pos_client_for(clinic_a), ORDER, "key-6")
    with in_clinic(clinic_b):
        PatientFactory(external_id="bk-ann")
    # when clinic B sends the very same request with the same key
    response = post(pos_client_for(clinic_b), ORDER, "key-6")
    # then clinic B gets its own order, not A's response
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()["currency"] == "USD"
    assert count_orders(in_clinic, clinic_b) == 1


def test_without_a_key_a_resend_is_a_new_request(clinic_a, in_clinic, ann, pos_client_for):
    # given an order recorded without a key
    api = pos_client_for(clinic_a)
    api.post(ORDERS, ORDER, format="json")
    # when it is sent again without a key
    response = api.post(ORDERS, ORDER, format="json")
    # then it is handled afresh (a duplicate reference) and no key is stored
    assert_error(response, 409, "duplicate_reference")
    with in_clinic(clinic_a):
        assert not IdempotencyKey.objects.exists()


def test_keys_are_kept_at_least_24_hours_then_purged(clinic_a, in_clinic, ann, pos_client_for, settings):
    # given a keyed order
    api = pos_client_for(clinic_a)
    post(api, ORDER, "key-7")
    # when the purge runs a day later, and again after the retention window
    with time_machine.travel(timezone.now() + timedelta(hours=24)), in_clinic(clinic_a):
        kept = purge_idempotency_keys()
    with time_machine.travel(timezone.now() + timedelta(hours=max(24, settings.IDEMPOTENCY_KEY_HOURS), minutes=1)):
        with in_clinic(clinic_a):
            purged = purge_idempotency_keys()
            left = IdempotencyKey.objects.count()
    # then the key survives the first and is gone after the second
    assert (kept, purged, left) == (0, 1, 0)


# --- concurrency -------------------------------------------------------------------------------------


@pytest.mark.postgres  # needs real row locks: SQLite serialises whole transactions instead
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_the_same_key_at_once_create_exactly_one_order(clinic_a, in_clinic, ann, pos_client_for):
    # given one POS that sends the same keyed order twice at the same moment (a retry racing the original)
    api = pos_client_for(clinic_a)
    barrier = threading.Barrier(2)
    responses = []

    def send():
        try:
            barrier.wait()
            responses.append(post(api, ORDER, "key-race"))
        finally:
            connection.close()

    # when both run
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one order exists and both callers got the same answer
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert count_orders(in_clinic, clinic_a) == 1
