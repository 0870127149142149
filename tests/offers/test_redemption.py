"""Redeeming offers in the app and at the till; caps hold under concurrency (OFF-8, OFF-2)."""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from clinic_crm.orders.models import Order
from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from redemptions.models import Redemption
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def make_offer(clinic, in_clinic, **data) -> Offer:
    values = {"name": "Spring whitening", "title": "20% off whitening", "discount_type": "percent",
              "discount_value": Decimal("20"), "active": True, "published": True, **data}
    with in_clinic(clinic):
        return services.create_offer(clinic=clinic, data=values)


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(external_id="ann", first_name="Ann", date_of_birth=date(1990, 6, 15))


def redeem_in_app(app_client_for, clinic, patient, offer_id, **headers):
    return app_client_for(clinic, patient).post(f"/api/v1/app/offers/{offer_id}/redeem", format="json", **headers)


def redeem_at_till(api, offer_id, **body):
    return api.post(f"/api/v1/pos/offers/{offer_id}/redeem", body, format="json")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "code", "extra"} and body["code"] == code


# --- the app ---------------------------------------------------------------------------------------


def test_redeeming_in_the_app_records_a_pending_redemption_with_the_discount_snapshot(
        clinic_a, in_clinic, ann, app_client_for):
    # given a live one-time offer
    offer = make_offer(clinic_a, in_clinic)
    # when the signed-in patient taps Redeem Offer
    response = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key)
    # then a pending redemption is in the ledger with what the offer gave at that moment
    assert response.status_code == 201, response.content
    body = response.json()["redemption"]
    assert body["offer_id"] == offer.promotion_key and body["status"] == "pending"
    assert set(body) == {"id", "offer_id", "status", "created_at"}
    with in_clinic(clinic_a):
        redemption = Redemption.objects.get(pk=int(body["id"]))
    assert (redemption.patient_id, redemption.promotion_kind, redemption.promotion_name) == (
        ann.pk, "offer", "Spring whitening")
    assert (redemption.discount_type, redemption.discount_value, redemption.discount_label) == (
        "percent", Decimal("20.00"), "20% Off")


def test_a_second_tap_returns_the_same_pending_redemption(clinic_a, in_clinic, ann, app_client_for):
    # given a patient who already redeemed an offer in the app
    offer = make_offer(clinic_a, in_clinic)
    first = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key).json()
    # when they tap again
    second = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key).json()
    # then there is still one pending redemption
    assert first == second
    with in_clinic(clinic_a):
        assert Redemption.objects.count() == 1


@pytest.mark.parametrize("data,today", [
    ({"published": False}, None),
    ({"active": False}, None),
    ({"valid_from": date(2026, 6, 2)}, datetime(2026, 6, 1, 23, 30, tzinfo=LONDON)),
    ({"valid_until": date(2026, 5, 31)}, datetime(2026, 6, 1, 0, 30, tzinfo=LONDON)),
], ids=["unpublished", "inactive", "before-from", "after-until"])
def test_an_offer_that_is_not_redeemable_now_is_refused_with_offer_inactive(
        clinic_a, in_clinic, ann, app_client_for, data, today):
    # given an offer that is unpublished, inactive or outside its dates in the clinic's date
    offer = make_offer(clinic_a, in_clinic, **data)
    # when the patient redeems it (at a time where UTC and London disagree on the date)
    with time_machine.travel(today or datetime(2026, 6, 1, 12, 0, tzinfo=LONDON), tick=False):
        response = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key)
    # then it is refused and nothing is recorded
    assert_error(response, 409, "offer_inactive")
    with in_clinic(clinic_a):
        assert not Redemption.objects.exists()


def test_an_offer_whose_cap_is_used_up_is_refused_in_the_app(clinic_a, in_clinic, ann, app_client_for,
                                                             pos_client_for):
    # given an offer with one use, already used at the till
    offer = make_offer(clinic_a, in_clinic, max_uses=1)
    assert redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="ann").status_code == 201
    # when a patient redeems it in the app
    response = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key)
    # then it is refused
    assert_error(response, 409, "offer_inactive")


def test_an_automated_offer_is_redeemable_only_inside_the_window_its_firing_opened(
        clinic_a, in_clinic, ann, app_client_for):
    # given a published Christmas offer whose occasion fired on 25 December, valid 3 days
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        services.configure_automated_offer(automated_offer=christmas,
                                           data={"active": True, "published": True, "validity_days": 3})
        services.fire_automated_offer(clinic=clinic_a, automated_offer=christmas, occurrence=date(2026, 12, 25))
    # when the patient redeems on the last day and the day after
    with time_machine.travel(datetime(2026, 12, 27, 20, 0, tzinfo=LONDON), tick=False):
        inside = redeem_in_app(app_client_for, clinic_a, ann, christmas.promotion_key)
    with time_machine.travel(datetime(2026, 12, 28, 9, 0, tzinfo=LONDON), tick=False):
        after = redeem_in_app(app_client_for, clinic_a, ann, christmas.promotion_key)
    # then the first is pending and the second refused
    assert inside.status_code == 201 and inside.json()["redemption"]["offer_id"] == christmas.promotion_key
    assert_error(after, 409, "offer_inactive")


def test_an_automated_offer_that_never_fired_is_not_redeemable(clinic_a, in_clinic, ann, app_client_for):
    # given a published automated offer that has not fired
    with in_clinic(clinic_a):
        easter = AutomatedOffer.objects.get(occasion=Occasion.EASTER)
        services.publish_automated_offer(automated_offer=easter)
    # when redeemed
    response = redeem_in_app(app_client_for, clinic_a, ann, easter.promotion_key)
    # then it is refused
    assert_error(response, 409, "offer_inactive")


def test_the_birthday_offer_is_redeemable_only_by_the_patient_whose_birthday_fired(
        clinic_a, in_clinic, ann, app_client_for):
    # given a birthday offer that fired on Ann's birthday, and Bob born in winter
    with in_clinic(clinic_a):
        bob = PatientFactory(external_id="bob", date_of_birth=date(1980, 1, 5))
        birthday = AutomatedOffer.objects.get(occasion=Occasion.BIRTHDAY)
        services.configure_automated_offer(automated_offer=birthday, data={"active": True, "published": True})
        services.fire_automated_offer(clinic=clinic_a, automated_offer=birthday, occurrence=date(2026, 6, 15))
    # when both redeem two days later
    with time_machine.travel(datetime(2026, 6, 17, 12, 0, tzinfo=LONDON), tick=False):
        ann_response = redeem_in_app(app_client_for, clinic_a, ann, birthday.promotion_key)
        bob_response = redeem_in_app(app_client_for, clinic_a, bob, birthday.promotion_key)
    # then Ann's is pending and Bob is told it is not his
    assert ann_response.status_code == 201
    assert_error(bob_response, 409, "not_eligible")


@pytest.mark.parametrize("offer_id", ["12", "offer_", "offer_0", "offer_99999999", "promo_1", "automated_offer_x",
                                      "offer_999999999999999999999999"])
def test_unknown_offer_ids_are_404_in_the_app(clinic_a, ann, app_client_for, offer_id):
    # when the app redeems an id that names no offer of the clinic
    response = redeem_in_app(app_client_for, clinic_a, ann, offer_id)
    # then it is 404
    assert_error(response, 404, "not_found")


def test_redeeming_in_the_app_needs_a_signed_in_patient(clinic_a, in_clinic, app_client_for):
    # given an offer
    offer = make_offer(clinic_a, in_clinic)
    # when the app redeems with only its app key
    response = app_client_for(clinic_a).post(f"/api/v1/app/offers/{offer.promotion_key}/redeem")
    # then it is 401
    assert response.status_code == 401


def test_a_replayed_idempotency_key_returns_the_first_redemption(clinic_a, in_clinic, ann, app_client_for):
    # given a redemption made with an idempotency key
    offer = make_offer(clinic_a, in_clinic)
    first = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key, HTTP_IDEMPOTENCY_KEY="tap-1")
    # when the same request is replayed after the offer was deactivated
    with in_clinic(clinic_a):
        services.deactivate_offer(offer=Offer.objects.get(pk=offer.pk))
    replay = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key, HTTP_IDEMPOTENCY_KEY="tap-1")
    # then the first answer comes back
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"


# --- the till --------------------------------------------------------------------------------------


def test_the_till_applies_the_pending_redemption_to_an_order_through_the_core_order_flow(
        clinic_a, in_clinic, ann, app_client_for, pos_client_for):
    # given Ann redeemed a 20% offer in the app
    offer = make_offer(clinic_a, in_clinic)
    pending_id = redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key).json()["redemption"]["id"]
    # when the POS applies it to a £150 purchase
    response = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="ann",
                              purchase_amount="150.00", order_reference="TILL-1")
    # then the same redemption is applied to the order, which carries the discount and its source
    assert response.status_code == 201, response.content
    body = response.json()["redemption"]
    assert body["id"] == pending_id and body["status"] == "applied"
    assert body["discount"] == {"type": "percent", "value": "20"} and body["discount_amount"] == "30.00"
    with in_clinic(clinic_a):
        order = Order.objects.get(reference="TILL-1")
        offer.refresh_from_db()
    assert body["order_id"] == str(order.pk)
    assert (order.subtotal, order.discount_amount, order.total) == (Decimal("150.00"), Decimal("30.00"),
                                                                   Decimal("120.00"))
    assert (order.discount_source, order.source_key, order.source_id, order.source_name, order.source_label) == (
        "offer", offer.promotion_key, offer.pk, "Spring whitening", "20% Off")
    assert offer.current_uses == 1


def test_deactivating_an_offer_later_does_not_cancel_a_pending_redemption(
        clinic_a, in_clinic, ann, app_client_for, pos_client_for):
    # given Ann redeemed in the app, then the clinic deactivated, unpublished and edited the offer
    offer = make_offer(clinic_a, in_clinic, discount_type="amount", discount_value=Decimal("25"))
    redeem_in_app(app_client_for, clinic_a, ann, offer.promotion_key)
    with in_clinic(clinic_a):
        offer = Offer.objects.get(pk=offer.pk)
        services.deactivate_offer(offer=offer)
        services.unpublish_offer(offer=offer)
        services.update_offer(offer=offer, data={"discount_value": Decimal("5")})
    # when she goes straight to checkout
    response = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, patient_id=ann.pk,
                              purchase_amount="100.00")
    # then the discount she was given still applies
    assert response.status_code == 201, response.content
    assert response.json()["redemption"]["discount_amount"] == "25.00"
    with in_clinic(clinic_a):
        assert Redemption.objects.get().status == "applied"


def test_without_a_pending_redemption_an_inactive_offer_is_refused_at_the_till(
        clinic_a, in_clinic, ann, pos_client_for):
    # given a deactivated offer nobody redeemed in the app
    offer = make_offer(clinic_a, in_clinic, active=False)
    # when the POS tries to apply it
    response = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="ann")
    # then it is refused and no use is taken
    assert_error(response, 409, "offer_inactive")
    with in_clinic(clinic_a):
        offer.refresh_from_db()
    assert offer.current_uses == 0


def test_the_till_records_an_applied_redemption_without_an_order_when_no_amount_is_given(
        clinic_a, in_clinic, ann, pos_client_for):
    # given a live offer and no pending redemption
    offer = make_offer(clinic_a, in_clinic)
    # when the POS applies it without a purchase amount
    response = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="ann")
    # then an applied redemption without an order is recorded
    body = response.json()["redemption"]
    assert response.status_code == 201 and body["status"] == "applied" and body["order_id"] is None
    assert body["currency"] == "GBP"
    with in_clinic(clinic_a):
        assert not Order.objects.exists()


def test_the_cap_is_reached_with_409_and_nothing_else_changes(clinic_a, in_clinic, ann, pos_client_for):
    # given an offer capped at two uses
    offer = make_offer(clinic_a, in_clinic, max_uses=2)
    api = pos_client_for(clinic_a)
    # when the till redeems it three times
    statuses = [redeem_at_till(api, offer.promotion_key, external_id="ann", purchase_amount="10.00").status_code
                for _ in range(3)]
    # then the third is refused and neither an order nor a redemption is left behind for it
    assert statuses == [201, 201, 409]
    with in_clinic(clinic_a):
        offer.refresh_from_db()
        assert (offer.current_uses, Order.objects.count(), Redemption.objects.count()) == (2, 2, 2)


def test_the_use_that_reaches_the_cap_shows_in_the_apps_config_on_the_next_fetch(
        clinic_a, in_clinic, ann, pos_client_for, app_client_for, django_capture_on_commit_callbacks):
    # given an offer capped at two uses, listed as redeemable in the config the app holds
    offer = make_offer(clinic_a, in_clinic, max_uses=2)
    app = app_client_for(clinic_a)
    held = app.get("/api/v1/app/config")
    assert [o["redeemable"] for o in held.json()["offers"]] == [True]
    api = pos_client_for(clinic_a)
    # when the till takes the first use, then the last
    with django_capture_on_commit_callbacks(execute=True):
        redeem_at_till(api, offer.promotion_key, external_id="ann", purchase_amount="10.00")
    after_first = app.get("/api/v1/app/config", HTTP_IF_NONE_MATCH=held["ETag"])
    with django_capture_on_commit_callbacks(execute=True):
        redeem_at_till(api, offer.promotion_key, external_id="ann", purchase_amount="10.00")
    after_last = app.get("/api/v1/app/config", HTTP_IF_NONE_MATCH=held["ETag"])
    # then a use below the cap leaves the app's copy current, and the last one makes it stale
    assert after_first.status_code == 304
    assert after_last.status_code == 200
    assert [o["redeemable"] for o in after_last.json()["offers"]] == [False]


def test_a_duplicate_order_reference_gives_back_the_use_it_took(clinic_a, in_clinic, ann, pos_client_for):
    # given an order reference already used
    offer = make_offer(clinic_a, in_clinic, max_uses=5)
    api = pos_client_for(clinic_a)
    redeem_at_till(api, offer.promotion_key, external_id="ann", purchase_amount="10.00", order_reference="R-1")
    # when a second redeem reuses it
    response = redeem_at_till(api, offer.promotion_key, external_id="ann", purchase_amount="10.00",
                              order_reference="R-1")
    # then it is a conflict and the cap counts one use
    assert_error(response, 409, "duplicate_reference")
    with in_clinic(clinic_a):
        offer.refresh_from_db()
    assert offer.current_uses == 1


def test_an_automated_offer_is_applied_with_its_own_source(clinic_a, in_clinic, ann, pos_client_for):
    # given a Christmas offer inside its window
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        services.configure_automated_offer(automated_offer=christmas, data={
            "active": True, "published": True, "discount_type": "amount", "discount_value": Decimal("15")})
        services.fire_automated_offer(clinic=clinic_a, automated_offer=christmas, occurrence=date(2026, 12, 25))
    # when the till applies it
    with time_machine.travel(datetime(2026, 12, 26, 12, 0, tzinfo=LONDON), tick=False):
        response = redeem_at_till(pos_client_for(clinic_a), christmas.promotion_key, external_id="ann",
                                  purchase_amount="60.00", order_reference="XMAS-1")
    # then the order's discount names the automated offer
    assert response.status_code == 201, response.content
    with in_clinic(clinic_a):
        order = Order.objects.get(reference="XMAS-1")
    assert (order.discount_source, order.source_key, order.source_name, order.total) == (
        "automated_offer", christmas.promotion_key, "Christmas", Decimal("45.00"))


@pytest.mark.parametrize("body", [{}, {"external_id": "ann", "patient_id": 1}, {"external_id": "nobody"},
                                  {"external_id": "ann", "order_reference": "R-9"}])
def test_bad_till_requests_are_answered_with_a_clear_error(clinic_a, in_clinic, ann, pos_client_for, body):
    # given a live offer
    offer = make_offer(clinic_a, in_clinic)
    # when the POS sends an incomplete or unknown patient
    response = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, **body)
    # then it is a 400 or a 404, never a redemption
    assert response.status_code in (400, 404)
    with in_clinic(clinic_a):
        assert not Redemption.objects.exists()


# --- tenancy -----------------------------------------------------------------------------------------


def test_clinic_bs_offer_ids_are_404_for_clinic_as_patient_and_pos_key(
        clinic_a, clinic_b, in_clinic, ann, app_client_for, pos_client_for):
    # given offers of clinic B, one-time and automated
    offer_b = make_offer(clinic_b, in_clinic)
    with in_clinic(clinic_b):
        christmas_b = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    # when clinic A's patient and POS key redeem them by id
    for key in (offer_b.promotion_key, christmas_b.promotion_key):
        app = redeem_in_app(app_client_for, clinic_a, ann, key)
        till = redeem_at_till(pos_client_for(clinic_a), key, external_id="ann")
        # then both get 404, as for a missing id
        assert_error(app, 404, "not_found")
        assert_error(till, 404, "not_found")
    with in_clinic(clinic_b):
        offer_b.refresh_from_db()
        assert offer_b.current_uses == 0 and not Redemption.objects.exists()


def test_a_pos_key_cannot_redeem_for_another_clinics_patient(clinic_a, clinic_b, in_clinic, pos_client_for):
    # given an offer of A and a patient of B
    offer = make_offer(clinic_a, in_clinic)
    with in_clinic(clinic_b):
        bob = PatientFactory(external_id="bob-b")
    # when A's POS names B's patient
    by_id = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, patient_id=bob.pk)
    by_external = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="bob-b")
    # then the patient is unknown
    assert_error(by_id, 404, "unknown_patient")
    assert_error(by_external, 404, "unknown_patient")


# --- concurrency (PostgreSQL) ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_till_redeems_never_exceed_the_cap(clinic_a, in_clinic, pos_client_for):
    # Real row locks and concurrent transactions are PostgreSQL's; SQLite serialises all writers.
    # given an offer capped at 5 uses and 20 patients at 20 tills at once
    cap, tills = 5, 20
    offer = make_offer(clinic_a, in_clinic, max_uses=cap)
    with in_clinic(clinic_a):
        patients = [PatientFactory(external_id=f"rush-{i}") for i in range(tills)]
    clients = [pos_client_for(clinic_a) for _ in range(tills)]
    start = threading.Barrier(tills)
    statuses: list[int] = []
    lock = threading.Lock()

    def till(api, patient):
        try:
            start.wait()
            response = redeem_at_till(api, offer.promotion_key, external_id=patient.external_id,
                                      purchase_amount="50.00")
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=till, args=(c, p)) for c, p in zip(clients, patients)]
    # when they all redeem
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly `cap` succeed, the rest are 409, and the counter and ledger agree
    assert sorted(statuses) == [201] * cap + [409] * (tills - cap)
    with in_clinic(clinic_a):
        offer.refresh_from_db()
        assert offer.current_uses == cap
        assert Redemption.objects.filter(promotion_key=offer.promotion_key, status="applied").count() == cap
        assert Order.objects.count() == cap


def test_offers_stay_redeemable_until_the_end_of_their_last_day():
    # given an offer that ends today
    offer = Offer(published=True, active=True, valid_until=date(2026, 6, 1))
    # then it is redeemable all of today and not tomorrow
    assert services.is_offer_redeemable(offer=offer, today=date(2026, 6, 1))
    assert not services.is_offer_redeemable(offer=offer, today=date(2026, 6, 1) + timedelta(days=1))


# --- a response the patient holds ------------------------------------------------------------------


def fired_christmas(clinic, in_clinic) -> AutomatedOffer:
    with in_clinic(clinic):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        services.configure_automated_offer(automated_offer=christmas, data={
            "active": True, "published": True, "discount_type": "amount", "discount_value": Decimal("15")})
        services.fire_automated_offer(clinic=clinic, automated_offer=christmas, occurrence=date(2026, 12, 25))
    return christmas


def responses_of(clinic, in_clinic, patient, offer):
    from redemptions.models import OfferResponse

    with in_clinic(clinic):
        return list(OfferResponse.objects.filter(patient=patient, promotion_key=offer.promotion_key)
                    .prefetch_related("transitions").order_by("id"))


def test_an_occasion_offer_redeemed_in_the_app_and_at_the_till_completes_the_response_its_firing_gave(
        clinic_a, in_clinic, ann, app_client_for, pos_client_for):
    # given Ann holds the response Christmas gave her when it fired
    christmas = fired_christmas(clinic_a, in_clinic)
    [held] = responses_of(clinic_a, in_clinic, ann, christmas)
    assert held.status == "pending"
    # when she taps Redeem in the app and the till applies it
    with time_machine.travel(datetime(2026, 12, 26, 12, 0, tzinfo=LONDON), tick=False):
        pending = redeem_in_app(app_client_for, clinic_a, ann, christmas.promotion_key)
        till = redeem_at_till(pos_client_for(clinic_a), christmas.promotion_key, external_id="ann",
                              purchase_amount="60.00", order_reference="XMAS-2")
    assert pending.status_code == 201 and till.status_code == 201, till.content
    # then her response is completed, by the till, with the till's ledger row: one redemption, not two
    [completed] = responses_of(clinic_a, in_clinic, ann, christmas)
    with in_clinic(clinic_a):
        applied = list(Redemption.objects.filter(patient=ann, promotion_key=christmas.promotion_key))
    assert [r.status for r in applied] == ["applied"]
    assert completed.status == "completed" and completed.redemption_id == applied[0].pk
    assert [(t.to_status, t.actor_kind) for t in completed.transitions.all()][-1] == ("completed", "pos")
    # and the till cannot complete it a second time
    again = pos_client_for(clinic_a).post(f"/api/v1/pos/responses/{completed.pk}/complete", {}, format="json")
    assert_error(again, 409, "illegal_transition")


def test_a_claimed_one_time_offer_redeemed_at_the_till_completes_the_claim_and_takes_one_use(
        clinic_a, in_clinic, ann, app_client_for, pos_client_for):
    # given a capped offer Ann has claimed in the app
    offer = make_offer(clinic_a, in_clinic, max_uses=5)
    claimed = app_client_for(clinic_a, ann).post(f"/api/v1/app/offers/{offer.promotion_key}/claim", format="json")
    assert claimed.status_code == 201, claimed.content
    # when the till redeems the offer for her
    till = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="ann")
    assert till.status_code == 201, till.content
    # then the claim is completed and the cap took one use, not two
    [response] = responses_of(clinic_a, in_clinic, ann, offer)
    with in_clinic(clinic_a):
        assert Offer.objects.get(pk=offer.pk).current_uses == 1
        assert Redemption.objects.filter(promotion_key=offer.promotion_key).count() == 1
    assert response.status == "completed"


def test_a_response_not_yet_clipped_stays_open_and_the_redeem_still_goes_through(
        clinic_a, in_clinic, ann, app_client_for, pos_client_for):
    # given Ann claimed an offer that must be clipped, and has not clipped it
    offer = make_offer(clinic_a, in_clinic, clip_required=True)
    app_client_for(clinic_a, ann).post(f"/api/v1/app/offers/{offer.promotion_key}/claim", format="json")
    # when the till redeems the offer for her
    till = redeem_at_till(pos_client_for(clinic_a), offer.promotion_key, external_id="ann")
    # then the redeem goes through and the response waits for its clip, as the till's own completion would
    assert till.status_code == 201, till.content
    [response] = responses_of(clinic_a, in_clinic, ann, offer)
    assert response.status == "pending" and response.redemption_id is None
