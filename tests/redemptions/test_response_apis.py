"""Offer responses over the API: the app claims, clips and lists; the POS lists the usable, completes
and cancels; staff list, filter and move them (API.md, RED-1 … RED-4)."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from clinic_crm.orders.models import Order
from clinic_crm.tenancy.choices import Role
from offers import services as offer_services
from redemptions.models import OfferResponse, Redemption
from tests.conftest import assert_error, make_staff, staff_api_client
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def make_offer(clinic, in_clinic, **data):
    values = {"name": "Whitening", "title": "£25 off whitening", "discount_type": "amount",
              "discount_value": Decimal("25.00"), "published": True, **data}
    with in_clinic(clinic):
        return offer_services.create_offer(clinic=clinic, data=values)


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", last_name="Lee", external_id="ann-1")


def claim(app, offer):
    return app.post(f"/api/v1/app/offers/{offer.promotion_key}/claim", format="json")


def test_a_patient_claims_an_offer_and_sees_it_in_their_list(clinic_a, in_clinic, app_client_for, ann):
    offer = make_offer(clinic_a, in_clinic, valid_until=date(2030, 1, 31))
    app = app_client_for(clinic_a, ann)
    response = claim(app, offer)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["offer_id"], body["offer_kind"], body["status"], body["title"], body["discount_label"],
            body["patient_id"]) == (offer.promotion_key, "offer", "pending", "£25 off whitening", "£25.00 Off",
                                    str(ann.pk))
    assert body["usage_period"] == {"from": None, "until": "2030-01-31", "current": True}
    assert len(body["certificate_code"]) == 14
    assert [(h["from"], h["to"], h["by"]["kind"]) for h in body["history"]] == [("", "pending", "patient")]
    listing = app.get("/api/v1/app/responses").json()
    assert [r["id"] for r in listing["results"]] == [body["id"]]
    # a second claim of a one-per-patient offer is refused
    assert_error(claim(app, offer), 409, "already_claimed")


def test_an_offer_that_cannot_be_claimed_now_is_a_404(clinic_a, in_clinic, app_client_for, ann):
    unpublished = make_offer(clinic_a, in_clinic, published=False)
    ended = make_offer(clinic_a, in_clinic, valid_until=date(2020, 1, 1))
    app = app_client_for(clinic_a, ann)
    for offer in (unpublished, ended):
        assert_error(claim(app, offer), 404, "offer_inactive")
    for bad in ("offer_999999", "promo_1", "nothing_1", "offer_x"):
        assert app.post(f"/api/v1/app/offers/{bad}/claim", format="json").status_code == 404
    with in_clinic(clinic_a):
        assert not OfferResponse.objects.exists()


def test_a_clip_required_response_reaches_the_till_only_once_clipped(clinic_a, in_clinic, app_client_for,
                                                                     pos_client_for, ann):
    offer = make_offer(clinic_a, in_clinic, clip_required=True)
    app, pos = app_client_for(clinic_a, ann), pos_client_for(clinic_a)
    response_id = claim(app, offer).json()["id"]
    usable = "/api/v1/pos/patients/ann-1/responses?usable=true"
    assert pos.get(usable).json()["results"] == []
    assert pos.get("/api/v1/pos/patients/ann-1/responses").json()["count"] == 1  # there, but not usable
    assert_error(pos.post(f"/api/v1/pos/responses/{response_id}/complete", {}, format="json"), 409, "not_clipped")
    # when Ann clips it in the app
    clipped = app.post(f"/api/v1/app/responses/{response_id}/clip", format="json")
    assert clipped.status_code == 200 and clipped.json()["status"] == "clipped"
    # then the till sees it and completes it with the purchase
    assert [r["id"] for r in pos.get(usable).json()["results"]] == [response_id]
    done = pos.post(f"/api/v1/pos/responses/{response_id}/complete",
                    {"order": {"reference": "TILL-9", "total": "120.00"}}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "completed"
    assert [h["to"] for h in done.json()["history"]] == ["pending", "clipped", "completed"]
    with in_clinic(clinic_a):
        order = Order.objects.get(reference="TILL-9")
        assert Redemption.objects.get(order=order).promotion_key == offer.promotion_key
    assert (order.total, order.discount_amount, order.discount_source) == (Decimal("95.00"), Decimal("25.00"), "offer")
    assert pos.get(usable).json()["results"] == []
    assert_error(pos.post(f"/api/v1/pos/responses/{response_id}/complete", {}, format="json"), 409,
                 "illegal_transition")


def test_an_expired_or_out_of_period_response_is_neither_listed_nor_completable(clinic_a, in_clinic, app_client_for,
                                                                                pos_client_for, ann):
    offer = make_offer(clinic_a, in_clinic, allow_multiple_responses=True)
    app, pos = app_client_for(clinic_a, ann), pos_client_for(clinic_a)
    expired_id, ended_id, fine_id = (claim(app, offer).json()["id"] for _ in range(3))
    with in_clinic(clinic_a):
        OfferResponse.objects.filter(pk=expired_id).update(status="expired")
        OfferResponse.objects.filter(pk=ended_id).update(usage_until=date.today() - timedelta(days=2))
    assert [r["id"] for r in pos.get("/api/v1/pos/patients/ann-1/responses?usable=true").json()["results"]] == [
        fine_id]
    assert_error(pos.post(f"/api/v1/pos/responses/{expired_id}/complete", {}, format="json"), 409,
                 "illegal_transition")
    assert_error(pos.post(f"/api/v1/pos/responses/{ended_id}/complete", {}, format="json"), 409,
                 "outside_usage_period")


def test_a_replayed_completion_returns_the_first_answer(clinic_a, in_clinic, app_client_for, pos_client_for, ann):
    offer = make_offer(clinic_a, in_clinic)
    response_id = claim(app_client_for(clinic_a, ann), offer).json()["id"]
    pos = pos_client_for(clinic_a)
    body = {"order": {"reference": "TILL-1", "total": "80.00"}}
    first = pos.post(f"/api/v1/pos/responses/{response_id}/complete", body, format="json",
                     HTTP_IDEMPOTENCY_KEY="sale-1")
    again = pos.post(f"/api/v1/pos/responses/{response_id}/complete", body, format="json",
                     HTTP_IDEMPOTENCY_KEY="sale-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    with in_clinic(clinic_a):
        assert Order.objects.filter(reference="TILL-1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_tills_completing_one_response_at_once_give_one_completion(clinic_a, ann, pos_client_for, on_postgres):
    if not on_postgres:
        pytest.skip("row locks are PostgreSQL's")
    from clinic_crm.tenancy.context import clinic_scope

    with clinic_scope(clinic_a.pk):
        offer = offer_services.create_offer(clinic=clinic_a, data={
            "name": "W", "title": "W", "discount_type": "amount", "discount_value": Decimal("5"), "published": True})
    from rest_framework.test import APIClient

    from clinic_crm.tenancy.auth import mint_patient_token

    app = APIClient()
    app.credentials(HTTP_X_APP_KEY=clinic_a.app_key,
                    HTTP_AUTHORIZATION=f"Bearer {mint_patient_token(clinic=clinic_a, patient_id=ann.pk)}")
    response_id = claim(app, offer).json()["id"]
    clients = [pos_client_for(clinic_a) for _ in range(8)]
    barrier, results = threading.Barrier(len(clients)), []

    def till(client, n):
        try:
            barrier.wait()
            results.append(client.post(f"/api/v1/pos/responses/{response_id}/complete",
                                       {"order": {"reference": f"T-{n}", "total": "50.00"}}, format="json"))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=till, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7, [r.content for r in results]
    with clinic_scope(clinic_a.pk):
        assert Redemption.objects.filter(promotion_key=offer.promotion_key).count() == 1
        assert Order.objects.filter(reference__startswith="T-").count() == 1
    connection.close()


def test_who_may_do_what(clinic_a, in_clinic, app_client_for, pos_client_for, ann):
    offer = make_offer(clinic_a, in_clinic, clip_required=True, allow_multiple_responses=True)
    app = app_client_for(clinic_a, ann)
    response_id = claim(app, offer).json()["id"]
    with in_clinic(clinic_a):
        bob = PatientFactory(first_name="Bob")
    # another patient cannot clip Ann's response, nor see it
    bob_app = app_client_for(clinic_a, bob)
    assert bob_app.post(f"/api/v1/app/responses/{response_id}/clip", format="json").status_code == 404
    assert bob_app.get("/api/v1/app/responses").json()["count"] == 0
    # a viewer reads but moves nothing; staff move with a reason
    viewer = staff_api_client(clinic_a, make_staff(clinic_a, Role.VIEWER))
    assert viewer.get("/api/v1/staff/responses/").json()["count"] == 1
    assert viewer.post(f"/api/v1/staff/responses/{response_id}/transition", {"to": "canceled"},
                       format="json").status_code == 403
    staff = staff_api_client(clinic_a, make_staff(clinic_a, Role.STAFF))
    assert_error(staff.post(f"/api/v1/staff/responses/{response_id}/transition", {"to": "shipping"}, format="json"),
                 409, "illegal_transition")
    moved = staff.post(f"/api/v1/staff/responses/{response_id}/transition",
                       {"to": "canceled", "reason": "Asked by phone"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "canceled"
    last = moved.json()["history"][-1]
    assert (last["from"], last["to"], last["by"]["kind"], last["reason"]) == ("pending", "canceled", "staff",
                                                                             "Asked by phone")
    # the POS cancels too, but not what is already over
    other_id = claim(app, offer).json()["id"]
    pos = pos_client_for(clinic_a)
    assert pos.post(f"/api/v1/pos/responses/{other_id}/cancel", {"reason": "Refund"}, format="json").json()[
        "status"] == "canceled"
    assert_error(pos.post(f"/api/v1/pos/responses/{response_id}/cancel", {}, format="json"), 409,
                 "illegal_transition")
    assert_error(staff.post(f"/api/v1/staff/responses/{response_id}/transition", {"to": "nowhere"}, format="json"),
                 400, "validation_error")


def test_staff_filter_responses(clinic_a, in_clinic, app_client_for, ann):
    whitening = make_offer(clinic_a, in_clinic, allow_multiple_responses=True)
    polish = make_offer(clinic_a, in_clinic, name="Polish", title="Polish", valid_until=date(2030, 1, 1))
    app = app_client_for(clinic_a, ann)
    first, second = claim(app, whitening).json(), claim(app, whitening).json()
    third = claim(app, polish).json()
    with in_clinic(clinic_a):
        OfferResponse.objects.filter(pk=second["id"]).update(status="canceled",
                                                             usage_until=date.today() - timedelta(days=1))
    staff = staff_api_client(clinic_a, make_staff(clinic_a, Role.VIEWER))

    def ids(query=""):
        response = staff.get(f"/api/v1/staff/responses/{query}")
        assert response.status_code == 200, response.content
        return sorted(r["id"] for r in response.json()["results"])

    assert ids() == sorted([first["id"], second["id"], third["id"]])
    assert ids("?status=canceled") == [second["id"]]
    assert ids(f"?offer={polish.promotion_key}") == [third["id"]]
    assert ids(f"?patient={ann.pk}") == sorted([first["id"], second["id"], third["id"]])
    assert ids(f"?code={first['certificate_code'].lower()}") == [first["id"]]
    assert ids("?usage_period=passed") == [second["id"]]
    assert ids("?usage_period=current") == sorted([first["id"], third["id"]])
    offer_page = staff.get(f"/api/v1/staff/offers/{whitening.pk}/responses").json()
    assert sorted(r["id"] for r in offer_page["results"]) == sorted([first["id"], second["id"]])
    for bad in ("?status=lost", "?usage_period=later", "?patient=abc", "?status=pending&status=clipped"):
        assert_error(staff.get(f"/api/v1/staff/responses/{bad}"), 400, "validation_error")


def test_an_occasion_offer_firing_assigns_a_response_to_each_targeted_patient(clinic_a, in_clinic):
    from offers.models import AutomatedOffer
    from offers.services import fire_automated_offer

    with in_clinic(clinic_a):
        on = [PatientFactory(push_enabled=True) for _ in range(3)]
        PatientFactory(push_enabled=False)
        christmas = AutomatedOffer.objects.get(occasion="christmas")
        christmas.active, christmas.validity_days = True, 7
        christmas.save()
        fire_automated_offer(clinic=clinic_a, automated_offer=christmas, occurrence=date(2026, 12, 25))
        rows = list(OfferResponse.objects.order_by("patient_id"))
    assert [r.patient_id for r in rows] == [p.pk for p in on]
    assert {(r.promotion_key, r.source, r.status, r.usage_from, r.usage_until) for r in rows} == {
        (christmas.promotion_key, "occasion", "pending", date(2026, 12, 25), date(2026, 12, 31))}
    assert len({r.certificate_code for r in rows}) == 3


def test_a_completed_response_takes_a_use_of_the_offers_cap_and_a_full_cap_refuses_it(
        clinic_a, in_clinic, app_client_for, pos_client_for, ann):
    # given an offer with one use left, claimed by two patients
    offer = make_offer(clinic_a, in_clinic, max_uses=1, allow_multiple_responses=True)
    with in_clinic(clinic_a):
        bob = PatientFactory(first_name="Bob", external_id="bob-1")
    first = claim(app_client_for(clinic_a, ann), offer).json()["id"]
    second = claim(app_client_for(clinic_a, bob), offer).json()["id"]
    pos = pos_client_for(clinic_a)
    # when the till completes both
    done = pos.post(f"/api/v1/pos/responses/{first}/complete", {}, format="json")
    refused = pos.post(f"/api/v1/pos/responses/{second}/complete", {}, format="json")
    # then the first took the offer's one use and the second is refused, leaving it as it was
    assert done.status_code == 200, done.content
    assert_error(refused, 409, "usage_limit_reached")
    with in_clinic(clinic_a):
        offer.refresh_from_db()
        assert offer.current_uses == 1
        assert OfferResponse.objects.get(pk=second).status == "pending"
        assert Redemption.objects.filter(promotion_key=offer.promotion_key).count() == 1
