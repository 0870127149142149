"""The card APIs: staff card templates and cards, the POS coupon read and redeem (API.md, COU-1 … COU-3)."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from rest_framework.test import APIClient

from clinic_crm.orders.models import Order
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.context import clinic_scope
from coupons import services
from coupons.models import Card
from redemptions.models import Redemption
from tests.conftest import assert_error, make_staff, staff_api_client
from tests.coupons.factories import SAM, make_template
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TEMPLATES = "/api/v1/staff/card-templates/"
CARDS = "/api/v1/staff/cards/"


@pytest.fixture
def staff(clinic_a):
    return staff_api_client(clinic_a, make_staff(clinic_a, Role.STAFF))


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", external_id="ann-1")


@pytest.fixture
def card(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        return services.issue_card(template=make_template(clinic_a, discount_type="amount",
                                                          discount_value=Decimal("10")), patient=ann, actor=SAM)


def redeem(api, card, **body):
    return api.post(f"/api/v1/pos/coupons/{card.serial}/redeem", {"external_id": "ann-1", **body}, format="json")


# --- staff --------------------------------------------------------------------------------------


def test_staff_create_a_coupon_linked_to_a_stamp_card_and_read_it_back(staff):
    # given a reward card and a stamp card that earns it
    reward = staff.post(TEMPLATES, {"kind": "reward", "name": "Free polish",
                                    "discount": {"type": "free_treatment"}}, format="json")
    assert reward.status_code == 201, reward.content
    stamp = staff.post(TEMPLATES, {"kind": "stamp", "name": "Loyalty", "stamps_required": 5,
                                   "reward_template_id": reward.json()["id"]}, format="json")
    assert stamp.status_code == 201, stamp.content
    # when staff create a coupon that turns into the stamp card
    response = staff.post(TEMPLATES, {
        "name": "Welcome", "colour": "#7c3aed", "discount": {"type": "percent", "value": "20"},
        "linked_template_id": stamp.json()["id"], "purchase_amount_required": True, "validity_days": 30,
        "custom_fields": [{"key": "favourite_treatment", "label": "Favourite treatment"}]}, format="json")
    # then it comes back in the API's shape
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("kind", "name", "colour", "discount", "discount_label", "linked_template_id",
                                 "purchase_amount_required", "validity_days", "installed_users", "issued")} == {
        "kind": "coupon", "name": "Welcome", "colour": "#7c3aed", "discount": {"type": "percent", "value": "20"},
        "discount_label": "20% Off", "linked_template_id": stamp.json()["id"], "purchase_amount_required": True,
        "validity_days": 30, "installed_users": 0, "issued": 0}
    assert body["custom_fields"] == [{"key": "favourite_treatment", "label": "Favourite treatment", "required": False}]
    assert staff.get(f"{TEMPLATES}{body['id']}").json() == body
    assert [t["name"] for t in staff.get(TEMPLATES).json()["results"]] == ["Welcome", "Loyalty", "Free polish"]


def test_a_coupon_needs_its_discount_and_a_link_to_a_coupon_is_refused(staff):
    assert "discount" in assert_error(staff.post(TEMPLATES, {"name": "No discount"}, format="json"), 400,
                                      "validation_error")["extra"]["fields"]
    coupon = staff.post(TEMPLATES, {"name": "A", "discount": {"type": "percent", "value": "5"}}, format="json").json()
    response = staff.post(TEMPLATES, {"name": "B", "discount": {"type": "percent", "value": "5"},
                                      "linked_template_id": coupon["id"]}, format="json")
    assert "linked_template" in assert_error(response, 400, "validation_error")["extra"]["fields"]


def test_a_template_patch_keeps_what_it_does_not_send_and_refuses_a_kind(staff):
    created = staff.post(TEMPLATES, {"name": "Welcome", "discount": {"type": "amount", "value": "15"}},
                         format="json").json()
    patched = staff.patch(f"{TEMPLATES}{created['id']}", {"discount": {"value": "20"}, "name": "Hello"}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["name"], patched.json()["discount"]) == ("Hello", {"type": "amount", "value": "20.00"})
    assert_error(staff.patch(f"{TEMPLATES}{created['id']}", {"kind": "stamp"}, format="json"), 400,
                 "validation_error")


def test_staff_issue_a_card_with_its_links_then_delete_it(clinic_a, staff, ann):
    template = staff.post(TEMPLATES, {"name": "Welcome", "discount": {"type": "percent", "value": "10"}},
                          format="json").json()
    response = staff.post(CARDS, {"template_id": template["id"], "patient_id": str(ann.pk), "utm": "front-desk",
                                  "installed_on": "pwa"}, format="json")
    assert response.status_code == 201, response.content
    card = response.json()
    assert (card["status"], card["installed_on"], card["utm"], card["coupon_status"]) == (
        "installed", "pwa", "front-desk", "active")
    assert card["installation_link"].startswith(f"http://testserver/cards/{clinic_a.slug}/i/")
    assert card["referral_link"].startswith(f"http://testserver/cards/{clinic_a.slug}/r/")
    assert staff.get(f"{CARDS}{card['serial']}").json() == card
    deleted = staff.delete(f"{CARDS}{card['serial']}")
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"


def test_viewers_read_cards_but_cannot_change_them(clinic_a, card):
    viewer = staff_api_client(clinic_a, make_staff(clinic_a, Role.VIEWER))
    assert viewer.get(f"{CARDS}{card.serial}").status_code == 200
    assert_error(viewer.delete(f"{CARDS}{card.serial}"), 403, "permission_denied")
    assert_error(viewer.post(TEMPLATES, {"name": "X", "discount": {"type": "percent", "value": "5"}},
                             format="json"), 403, "permission_denied")


# --- point of sale ------------------------------------------------------------------------------


def test_the_pos_redeems_a_coupon_once_with_the_purchase(clinic_a, in_clinic, card, pos_client_for):
    pos = pos_client_for(clinic_a)
    assert pos.get(f"/api/v1/pos/coupons/{card.serial}").json()["coupon_status"] == "active"
    response = redeem(pos, card, purchase_amount="80.00")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body["redemption"][k] for k in ("card_serial", "status", "discount", "discount_amount", "currency")} \
        == {"card_serial": card.serial, "status": "applied", "discount": {"type": "amount", "value": "10.00"},
            "discount_amount": "10.00", "currency": "GBP"}
    assert body["card"]["coupon_status"] == "redeemed"
    with in_clinic(clinic_a):
        order = Order.objects.get(pk=body["redemption"]["order_id"])
    assert (order.total, order.discount_source) == (Decimal("70.00"), "coupon")
    assert_error(redeem(pos, card, purchase_amount="80.00"), 409, "already_redeemed")


def test_a_replayed_redeem_returns_the_first_answer(clinic_a, card, pos_client_for):
    pos = pos_client_for(clinic_a)
    first = pos.post(f"/api/v1/pos/coupons/{card.serial}/redeem", {"external_id": "ann-1"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="till-1-sale-9")
    again = pos.post(f"/api/v1/pos/coupons/{card.serial}/redeem", {"external_id": "ann-1"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="till-1-sale-9")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()


def test_a_required_purchase_amount_missing_is_a_400(clinic_a, in_clinic, ann, pos_client_for):
    with in_clinic(clinic_a):
        card = services.issue_card(template=make_template(clinic_a, purchase_amount_required=True), patient=ann,
                                   actor=SAM)
    body = assert_error(redeem(pos_client_for(clinic_a), card), 400, "validation_error")
    assert "purchase_amount" in body["extra"]["fields"]


@pytest.mark.parametrize("state,code", [("deleted", "card_deleted"), ("expired", "card_expired")])
def test_a_deleted_or_expired_card_is_refused_at_the_till(clinic_a, in_clinic, card, pos_client_for, state, code):
    with in_clinic(clinic_a):
        if state == "deleted":
            services.delete_card(card=card, actor=SAM)
        else:
            services.change_card_expiration(card=card, expires_on=clinic_a.today() - timedelta(days=1), actor=SAM)
    assert_error(redeem(pos_client_for(clinic_a), card, purchase_amount="10"), 409, code)


def test_another_patients_card_is_refused(clinic_a, in_clinic, card, pos_client_for):
    with in_clinic(clinic_a):
        PatientFactory(external_id="bob-1")
    response = pos_client_for(clinic_a).post(f"/api/v1/pos/coupons/{card.serial}/redeem", {"external_id": "bob-1"},
                                             format="json")
    assert_error(response, 409, "not_eligible")


def test_an_unknown_serial_is_a_404(clinic_a, pos_client_for):
    assert_error(pos_client_for(clinic_a).get("/api/v1/pos/coupons/AAAA-BBBB-CCCC-DDDD"), 404, "not_found")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_pos_redeems_of_one_card_give_exactly_one_201(clinic_a, pos_client_for):
    with clinic_scope(clinic_a.pk):
        patient = PatientFactory(clinic_id=clinic_a.pk, external_id="ann-1")
        card = services.issue_card(template=make_template(clinic_a), patient=patient, actor=SAM)
    key = pos_client_for(clinic_a).key
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def till():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        try:
            barrier.wait()
            statuses.append(redeem(api, card, purchase_amount="20.00").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=till) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert sorted(statuses) == [201] + [409] * 19
    with clinic_scope(clinic_a.pk):
        assert Redemption.objects.filter(promotion_key=card.template.promotion_key).count() == 1
        assert Card.objects.get(pk=card.pk).coupon_status == "redeemed"


# --- POS: stamps ----------------------------------------------------------------------------------


@pytest.fixture
def stamp_card(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish", discount_type="free_treatment",
                               discount_value=None)
        stamp = make_template(clinic_a, kind="stamp", name="Loyalty", stamps_required=2, reward_template=reward)
        return services.issue_card(template=stamp, patient=ann, actor=SAM)


def stamp(api, card, **headers):
    return api.post(f"/api/v1/pos/coupons/{card.serial}/stamp", {"external_id": "ann-1"}, format="json", **headers)


def test_the_pos_stamps_a_visit_and_a_full_card_gives_its_reward(clinic_a, in_clinic, ann, stamp_card,
                                                                 pos_client_for):
    pos = pos_client_for(clinic_a)
    first = stamp(pos, stamp_card)
    assert first.status_code == 200, first.content
    assert (first.json()["card"]["stamps"], first.json()["reward_card"]) == (1, None)
    second = stamp(pos, stamp_card).json()
    assert second["card"]["stamps"] == 0  # full: the reward is given and the card starts again
    reward_serial = second["reward_card"]["serial"]
    assert (second["reward_card"]["template_name"], second["reward_card"]["kind"]) == ("Free polish", "reward")
    with in_clinic(clinic_a):
        reward = Card.objects.get(serial=reward_serial)
    assert (reward.patient_id, reward.converted_from_id, reward.coupon_status) == (ann.pk, stamp_card.pk, "active")
    # and the reward is redeemed once at the till like a coupon
    assert redeem(pos, reward).status_code == 201
    assert_error(redeem(pos, reward), 409, "already_redeemed")


def test_a_retried_stamp_with_its_key_stamps_once(clinic_a, in_clinic, stamp_card, pos_client_for):
    pos = pos_client_for(clinic_a)
    first = stamp(pos, stamp_card, HTTP_IDEMPOTENCY_KEY="visit-77")
    again = stamp(pos, stamp_card, HTTP_IDEMPOTENCY_KEY="visit-77")
    assert again.json() == first.json()
    with in_clinic(clinic_a):
        assert Card.objects.get(pk=stamp_card.pk).stamps == 1


def test_only_the_holders_usable_stamp_card_takes_a_stamp(clinic_a, in_clinic, card, stamp_card, pos_client_for):
    pos = pos_client_for(clinic_a)
    assert_error(stamp(pos, card), 409, "not_a_stamp_card")
    with in_clinic(clinic_a):
        PatientFactory(external_id="bob-1")
    response = pos.post(f"/api/v1/pos/coupons/{stamp_card.serial}/stamp", {"external_id": "bob-1"}, format="json")
    assert_error(response, 409, "not_eligible")
    assert_error(pos.post(f"/api/v1/pos/coupons/{stamp_card.serial}/stamp", {}, format="json"), 400,
                 "validation_error")
    with in_clinic(clinic_a):
        services.delete_card(card=stamp_card, actor=SAM)
    assert_error(stamp(pos, stamp_card), 409, "card_deleted")
    with in_clinic(clinic_a):
        assert Card.objects.get(pk=stamp_card.pk).stamps == 0


def test_a_redeemed_card_counts_in_rewards_unlocked_and_revenue_by_source(clinic_a, in_clinic, card, pos_client_for,
                                                                        client_for, owner_a):
    from django.urls import reverse

    assert redeem(pos_client_for(clinic_a), card, purchase_amount="80.00").status_code == 201
    overview = client_for(owner_a).get(reverse("dashboard:overview", args=[clinic_a.slug])).context["overview"]
    assert overview.rewards_unlocked == 1
    assert overview.by_source == [("Coupon card", 1, Decimal("10.00"))]
    assert overview.revenue == Decimal("70.00")


def test_a_reward_is_an_offer_response_and_either_way_of_using_it_settles_both(clinic_a, in_clinic, ann,
                                                                              stamp_card, pos_client_for):
    from redemptions.models import OfferResponse

    pos = pos_client_for(clinic_a)
    stamp(pos, stamp_card)
    first_reward = stamp(pos, stamp_card).json()["reward_card"]["serial"]
    stamp(pos, stamp_card)
    second_reward = stamp(pos, stamp_card).json()["reward_card"]["serial"]
    usable = pos.get("/api/v1/pos/patients/ann-1/responses?usable=true").json()["results"]
    assert sorted(r["title"] for r in usable) == ["Free polish", "Free polish"]
    assert {r["certificate_code"] for r in usable} == {None}  # the card's serial is what the till scans
    by_serial = {}
    with in_clinic(clinic_a):
        for response in OfferResponse.objects.all():
            by_serial[response.details["card_serial"]] = response
    # the till completes the first reward's response: its card is redeemed too, with one ledger row
    done = pos.post(f"/api/v1/pos/responses/{by_serial[first_reward].pk}/complete", {}, format="json")
    assert done.status_code == 200, done.content
    assert_error(redeem(pos, type("C", (), {"serial": first_reward})), 409, "already_redeemed")
    # the second reward card is redeemed as a card: its response is completed with the same ledger row
    assert redeem(pos, type("C", (), {"serial": second_reward})).status_code == 201
    with in_clinic(clinic_a):
        responses = {r.details["card_serial"]: r for r in OfferResponse.objects.all()}
        rows = Redemption.objects.filter(promotion_key=responses[first_reward].promotion_key)
        assert rows.count() == 2
        assert {responses[first_reward].redemption_id, responses[second_reward].redemption_id} == set(
            rows.values_list("id", flat=True))
    assert {r.status for r in responses.values()} == {"completed"}
