"""Staff API for one-time and automated offers: resources, lifecycle, roles and tenancy (API.md, OFF-1…OFF-3)."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from clinic_crm.orders.models import Order
from clinic_crm.tenancy.choices import Role
from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from redemptions.models import Redemption
from tests.conftest import PASSWORD, make_staff
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

OFFERS = "/api/v1/staff/offers/"
AUTOMATED = "/api/v1/staff/automated-offers/"
NEW_OFFER = {"name": "Spring whitening", "title": "£25 off whitening", "description": "April only",
             "discount": {"type": "amount", "value": "25.00"}, "valid_from": "2026-04-01",
             "valid_until": "2026-04-30", "max_uses": 100}


def staff_api(clinic, role=Role.STAFF) -> APIClient:
    user = make_staff(clinic, role, email=f"{role}-api@{clinic.slug}.test")
    api = APIClient()
    token = api.post("/api/v1/staff/token", {"email": user.email, "password": PASSWORD, "clinic": clinic.slug},
                     format="json").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def make_offer(clinic, in_clinic, **data) -> Offer:
    values = {"name": "Existing", "title": "Existing", "discount_type": "percent", "discount_value": Decimal("10"),
              **data}
    with in_clinic(clinic):
        return services.create_offer(clinic=clinic, data=values)


def test_staff_create_an_offer_and_get_it_back_in_the_api_shape(clinic_a, in_clinic):
    # given a staff member's token
    api = staff_api(clinic_a)
    # when they create a one-time offer
    response = api.post(OFFERS, NEW_OFFER, format="json")
    # then it comes back with the resource's fields, as a draft
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("name", "title", "discount", "discount_label", "active", "published",
                                 "valid_from", "valid_until", "max_uses", "current_uses")} == {
        "name": "Spring whitening", "title": "£25 off whitening", "discount": {"type": "amount", "value": "25.00"},
        "discount_label": "£25.00 Off", "active": True, "published": False, "valid_from": "2026-04-01",
        "valid_until": "2026-04-30", "max_uses": 100, "current_uses": 0,
    }
    assert body["promotion_id"] == f"offer_{body['id']}"
    assert api.get(f"{OFFERS}{body['id']}").json() == body


def test_the_offer_list_is_paged_and_newest_first(clinic_a, in_clinic):
    # given two offers
    older, newer = make_offer(clinic_a, in_clinic, name="Older"), make_offer(clinic_a, in_clinic, name="Newer")
    # when staff list them
    body = staff_api(clinic_a, Role.VIEWER).get(OFFERS).json()
    # then both are there in the paged envelope
    assert body["count"] == 2
    assert [o["id"] for o in body["results"]] == [str(newer.pk), str(older.pk)]


@pytest.mark.parametrize("body,field", [
    ({**NEW_OFFER, "discount": {"type": "percent", "value": "120"}}, "discount"),
    ({**NEW_OFFER, "valid_from": "2026-05-01"}, "valid_until"),
    ({**NEW_OFFER, "discount": {"type": "percent"}}, "discount"),
    ({k: v for k, v in NEW_OFFER.items() if k != "name"}, "name"),
])
def test_an_invalid_offer_is_400_with_the_field(clinic_a, body, field):
    # when staff send an offer breaking a rule
    response = staff_api(clinic_a).post(OFFERS, body, format="json")
    # then it is a validation error naming the field
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["extra"]["fields"]


def test_patch_edits_only_the_fields_given(clinic_a, in_clinic):
    # given an offer
    offer = make_offer(clinic_a, in_clinic, max_uses=10)
    # when staff change its title and discount
    response = staff_api(clinic_a).patch(f"{OFFERS}{offer.pk}", {
        "title": "Now free", "discount": {"type": "free_treatment"}}, format="json")
    # then those change and the rest stays
    body = response.json()
    assert response.status_code == 200
    assert (body["title"], body["discount"], body["discount_label"], body["name"], body["max_uses"]) == (
        "Now free", {"type": "free_treatment", "value": None}, "Free Treatment", "Existing", 10)


@pytest.mark.parametrize("action,field,value", [
    ("publish", "published", True), ("unpublish", "published", False),
    ("activate", "active", True), ("deactivate", "active", False),
])
def test_lifecycle_actions_change_the_flag(clinic_a, in_clinic, action, field, value):
    # given an offer in the opposite state
    offer = make_offer(clinic_a, in_clinic, **{field: not value})
    # when staff run the action
    response = staff_api(clinic_a).post(f"{OFFERS}{offer.pk}/{action}")
    # then the flag is set
    assert response.status_code == 200 and response.json()[field] is value
    with in_clinic(clinic_a):
        assert getattr(Offer.objects.get(pk=offer.pk), field) is value


def test_delete_removes_the_offer(clinic_a, in_clinic):
    # given an offer
    offer = make_offer(clinic_a, in_clinic)
    api = staff_api(clinic_a)
    # when staff delete it
    response = api.delete(f"{OFFERS}{offer.pk}")
    # then it is gone
    assert response.status_code == 204
    assert api.get(f"{OFFERS}{offer.pk}").status_code == 404


def redemptions_of(clinic, in_clinic, offer) -> dict:
    """Each redemption of an offer by id, with its status and the snapshot it was made with."""
    with in_clinic(clinic):
        return {r.pk: (r.status, r.patient_id, r.promotion_name, r.discount_type, r.discount_value,
                       r.discount_label, r.order_id, r.discount_amount, r.order_total, r.applied_at)
                for r in Redemption.objects.filter(promotion_key=offer.promotion_key)}


def order_snapshot(clinic, in_clinic, order_id) -> tuple:
    with in_clinic(clinic):
        o = Order.objects.get(pk=order_id)
    return (o.subtotal, o.discount_amount, o.total, o.discount_source, o.discount_type, o.discount_value,
            o.source_key, o.source_id, o.source_name, o.source_label)


def redeem_twice_pending_once_applied(clinic, in_clinic, offer):
    """Two patients redeem the offer in the app; a third has it applied at the till to a £200 order."""
    with in_clinic(clinic):
        for patient in PatientFactory.create_batch(2):
            services.redeem_offer_in_app(clinic=clinic, patient=patient, promotion_key=offer.promotion_key)
        till = services.redeem_offer_at_till(clinic=clinic, patient=PatientFactory(),
                                             promotion_key=offer.promotion_key, purchase_amount=Decimal("200.00"))
    return till.redemption, till.order


def test_delete_removes_pending_redemptions_and_keeps_applied_ones_on_their_orders(clinic_a, clinic_b, in_clinic):
    # given a live offer with two pending redemptions and one applied to an order, another offer of the
    # clinic with a pending redemption, and clinic B's offer with redemptions of both kinds
    offer = make_offer(clinic_a, in_clinic, name="Whitening", published=True)
    applied, order = redeem_twice_pending_once_applied(clinic_a, in_clinic, offer)
    other = make_offer(clinic_a, in_clinic, name="Peel", published=True)
    with in_clinic(clinic_a):
        services.redeem_offer_in_app(clinic=clinic_a, patient=PatientFactory(), promotion_key=other.promotion_key)
    offer_b = make_offer(clinic_b, in_clinic, name="B's", published=True)
    redeem_twice_pending_once_applied(clinic_b, in_clinic, offer_b)
    before = redemptions_of(clinic_a, in_clinic, offer)
    order_before = order_snapshot(clinic_a, in_clinic, order.pk)
    others_before = redemptions_of(clinic_a, in_clinic, other)
    b_before = redemptions_of(clinic_b, in_clinic, offer_b)
    assert sorted(r[0] for r in before.values()) == ["applied", "pending", "pending"]
    assert order_before[1:3] == (Decimal("20.00"), Decimal("180.00"))  # 10% off £200

    # when staff delete the offer through the API
    response = staff_api(clinic_a).delete(f"{OFFERS}{offer.pk}")

    # then only the applied redemption is left, with the snapshot it was made with and its order
    assert response.status_code == 204, response.content
    assert redemptions_of(clinic_a, in_clinic, offer) == {applied.pk: before[applied.pk]}
    assert before[applied.pk][2:9] == ("Whitening", "percent", Decimal("10.00"), "10% Off", order.pk,
                                       Decimal("20.00"), Decimal("180.00"))
    # and the order keeps its discount and where it came from
    assert order_snapshot(clinic_a, in_clinic, order.pk) == order_before
    assert order_before[3:] == ("offer", "percent", Decimal("10.00"), offer.promotion_key, offer.pk, "Whitening",
                                "10% Off")
    # and the clinic's other offer and clinic B's offer keep every redemption
    assert redemptions_of(clinic_a, in_clinic, other) == others_before
    assert redemptions_of(clinic_b, in_clinic, offer_b) == b_before and len(b_before) == 3
    with in_clinic(clinic_b):
        assert Offer.objects.filter(pk=offer_b.pk).exists()


def test_viewers_read_but_cannot_change_anything(clinic_a, in_clinic):
    # given a viewer and an offer
    offer = make_offer(clinic_a, in_clinic)
    api = staff_api(clinic_a, Role.VIEWER)
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    # when they read and try every write
    reads = [api.get(OFFERS), api.get(f"{OFFERS}{offer.pk}"), api.get(AUTOMATED), api.get(f"{AUTOMATED}{christmas.pk}")]
    writes = [api.post(OFFERS, NEW_OFFER, format="json"), api.patch(f"{OFFERS}{offer.pk}", {"title": "x"},
                                                                     format="json"),
              api.delete(f"{OFFERS}{offer.pk}"), api.post(f"{OFFERS}{offer.pk}/publish"),
              api.patch(f"{AUTOMATED}{christmas.pk}", {"validity_days": 3}, format="json"),
              api.post(f"{AUTOMATED}{christmas.pk}/activate")]
    # then reads are 200 and writes 403, and nothing changed
    assert [r.status_code for r in reads] == [200] * 4
    assert [r.status_code for r in writes] == [403] * 6
    with in_clinic(clinic_a):
        assert Offer.objects.get(pk=offer.pk).title == "Existing"
        assert not AutomatedOffer.objects.get(pk=christmas.pk).active


def test_the_api_needs_a_staff_token(clinic_a, app_client_for, pos_client_for):
    # when the staff API is called with no token, an app key or a POS key
    answers = [APIClient().get(OFFERS), app_client_for(clinic_a).get(OFFERS), pos_client_for(clinic_a).get(OFFERS)]
    # then each is refused as unauthenticated
    assert [r.status_code for r in answers] == [401, 401, 401]


def test_the_automated_offers_are_listed_one_per_occasion(clinic_a):
    # when staff list the automated offers
    body = staff_api(clinic_a).get(AUTOMATED).json()
    # then every occasion is there with its label and discount
    assert body["count"] == len(Occasion.values)
    christmas = next(o for o in body["results"] if o["occasion"] == "christmas")
    assert (christmas["occasion_label"], christmas["discount"], christmas["discount_label"], christmas["active"],
            christmas["published"], christmas["validity_days"]) == (
        "Christmas", {"type": "percent", "value": "10"}, "10% Off", False, False, 7)
    assert set(christmas) >= {"id", "occasion", "occasion_label", "discount", "discount_label", "push_title",
                              "push_message", "active", "published", "validity_days"}


def test_staff_configure_and_toggle_an_automated_offer(clinic_a, in_clinic):
    # given the Christmas offer
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    api = staff_api(clinic_a)
    # when staff configure it, then activate and publish it
    configured = api.patch(f"{AUTOMATED}{christmas.pk}", {
        "discount": {"type": "percent", "value": "15"}, "push_title": "Ho ho ho", "validity_days": 10},
        format="json")
    api.post(f"{AUTOMATED}{christmas.pk}/activate")
    published = api.post(f"{AUTOMATED}{christmas.pk}/publish").json()
    # then each change holds
    assert configured.status_code == 200, configured.content
    assert (configured.json()["discount_label"], configured.json()["push_title"],
            configured.json()["validity_days"]) == ("15% Off", "Ho ho ho", 10)
    assert published["active"] is True and published["published"] is True
    # and deactivate/unpublish turn it back off
    api.post(f"{AUTOMATED}{christmas.pk}/deactivate")
    final = api.post(f"{AUTOMATED}{christmas.pk}/unpublish").json()
    assert final["active"] is False and final["published"] is False


def test_automated_offers_cannot_be_deleted_or_created(clinic_a, in_clinic):
    # given the Christmas offer
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    api = staff_api(clinic_a)
    # when staff try to delete it or create a new one
    delete = api.delete(f"{AUTOMATED}{christmas.pk}")
    create = api.post(AUTOMATED, {"occasion": "christmas"}, format="json")
    # then the methods are not allowed
    assert delete.status_code == 405 and create.status_code == 405


@pytest.mark.parametrize("path", ["offers/{offer}", "offers/{offer}/publish", "offers/{offer}/unpublish",
                                  "offers/{offer}/activate", "offers/{offer}/deactivate",
                                  "automated-offers/{automated}", "automated-offers/{automated}/publish",
                                  "automated-offers/{automated}/unpublish", "automated-offers/{automated}/activate",
                                  "automated-offers/{automated}/deactivate"])
def test_clinic_bs_offers_are_404_everywhere_for_clinic_as_staff(clinic_a, clinic_b, in_clinic, path):
    # given clinic B's offers
    offer_b = make_offer(clinic_b, in_clinic, published=False)
    with in_clinic(clinic_b):
        christmas_b = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    url = "/api/v1/staff/" + path.format(offer=offer_b.pk, automated=christmas_b.pk)
    api = staff_api(clinic_a, Role.OWNER)
    # when clinic A's owner reads or writes them by id
    answers = [api.get(url)] if path.count("/") == 1 else [api.post(url)]
    if path.count("/") == 1:
        answers += [api.patch(url, {"title": "x", "push_title": "x"}, format="json")]
        if path.startswith("offers/"):
            answers.append(api.delete(url))
    # then every answer is 404, and B's rows are untouched
    assert {r.status_code for r in answers} == {404}
    with in_clinic(clinic_b):
        offer_b.refresh_from_db()
        christmas_b.refresh_from_db()
    assert (offer_b.title, offer_b.published, christmas_b.active, christmas_b.published) == (
        "Existing", False, False, False)


def test_clinic_as_list_never_shows_clinic_bs_offers(clinic_a, clinic_b, in_clinic):
    # given an offer in each clinic
    make_offer(clinic_a, in_clinic, name="A's")
    make_offer(clinic_b, in_clinic, name="B's")
    # when A lists
    body = staff_api(clinic_a).get(OFFERS).json()
    # then only A's
    assert body["count"] == 1 and [o["name"] for o in body["results"]] == ["A's"]


@pytest.mark.parametrize("offer_id", ["abc", "0", "-1", "99999999999999999999999", "1.5"])
def test_malformed_ids_are_404_not_500(clinic_a, offer_id):
    # when staff ask for an id that cannot exist
    response = staff_api(clinic_a).get(f"{OFFERS}{offer_id}")
    # then it is 404
    assert response.status_code == 404


@pytest.mark.parametrize("discount,field_message", [
    ({"type": "percent", "value": "150"}, "more than 100"),
    ({"type": "amount", "value": None}, "value"),
    ({"type": "percent", "value": "0"}, "more than zero"),
])
def test_an_automated_offer_with_an_impossible_discount_is_refused(clinic_a, in_clinic, discount, field_message):
    # given the Christmas offer at its defaults
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    # when staff set an impossible discount
    response = staff_api(clinic_a).patch(f"{AUTOMATED}{christmas.pk}", {"discount": discount}, format="json")
    # then it is a validation error and the stored discount is unchanged
    assert response.status_code == 400, response.content
    assert field_message in response.json()["message"]
    with in_clinic(clinic_a):
        christmas.refresh_from_db()
    assert christmas.discount_value == Decimal("10")
