"""Sibling-clinic isolation for every route that exists (CORE-1, CORE-7).

The URL resolver is walked: every route must have an isolation case here or be listed as not
clinic-owned with a reason, so a new page or endpoint without a case fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.auth import mint_patient_token
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import ApiKey, Membership
from offers.models import AutomatedOffer, Offer
from offers.services import configure_automated_offer, create_offer
from tests.conftest import PASSWORD, make_staff
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db

# Routes that hold nothing of a clinic, each with the reason.
NOT_CLINIC_OWNED = {
    "home": "redirects to one of the user's own clinics",
    "healthz": "liveness probe, no data",
    "readyz": "readiness probe: the database and the broker answer, no data",
    "login": "authentication",
    "logout": "authentication",
    "password_change": "the user's own password",
    "password_change_done": "redirect",
    "api-schema": "the OpenAPI document",
    "api-docs": "static docs page",
    "invitation": "the link's secret token is the credential (tests/tenancy/test_staff_invitations.py)",
    "password_reset": "the login's own password, by e-mail (tests/tenancy/test_password_reset.py)",
    "password_reset_done": "a static page",
    "password_reset_confirm": "the e-mailed token is the credential",
    "two_factor_manage": "the signed-in login's own two-factor settings (tests/tenancy/test_two_factor.py)",
    "two_factor_verify": "the second step of the login's own sign-in",
    "two_factor_setup": "the login's own authenticator app",
    "two_factor_off": "the login's own authenticator app",
    "two_factor_new_codes": "the login's own recovery codes",
    "card_install": "the card's secret token under its clinic's address (test_a_cards_tokens_under_another_clinic_are_404)",
    "card_manifest": "the card's secret token under its clinic's address",
    "card_refer": "the card's secret token under its clinic's address",
    "card_wallet_pass": "the card's secret token under its clinic's address",
}


def route_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern) and p.name:
                names.add(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns)
    return {n for n in names if not n.startswith("admin:")}


@dataclass
class World:
    a: object
    b: object
    owner_a: object
    owner_b: object
    patient_a: Patient
    patient_b: Patient
    order_b: Order
    key_b: ApiKey
    membership_b: Membership
    pos_a: APIClient
    offer_b: Offer
    automated_b: AutomatedOffer
    promo_b: object = None
    invitation_b: object = None
    card_b: object = None


@pytest.fixture
def world(clinic_a, clinic_b, pos_client_for):
    owner_a, owner_b = make_staff(clinic_a, Role.OWNER), make_staff(clinic_b, Role.OWNER)
    with clinic_scope(clinic_a.pk):
        patient_a = PatientFactory(first_name="Alice", last_name="Alpha", external_id="shared-1",
                                   email="alice@example.com")
        OrderFactory(patient=patient_a, reference="A-ORDER-1", currency="GBP")
    with clinic_scope(clinic_b.pk):
        patient_b = PatientFactory(first_name="Bob", last_name="Bravo", external_id="b-only-1",
                                   email="bob@example.com")
        PatientFactory.create_batch(3, last_name="Bravo")
        order_b = OrderFactory(patient=patient_b, reference="B-ORDER-1", currency="USD")
        OrderFactory.create_batch(4, patient=patient_b)
    pos_a = pos_client_for(clinic_a)
    from clinic_crm.tenancy.services import create_api_key

    key_b, _ = create_api_key(clinic=clinic_b, name="B POS", scopes=["pos"])
    membership_b = Membership.objects.get(clinic=clinic_b, user=owner_b)
    with clinic_scope(clinic_a.pk):
        create_offer(clinic=clinic_a, data={"name": "A offer", "title": "A offer", "discount_type": "percent",
                                            "discount_value": "10", "published": True})
    with clinic_scope(clinic_b.pk):
        offer_b = create_offer(clinic=clinic_b, data={"name": "B secret offer", "title": "B secret offer",
                                                      "discount_type": "percent", "discount_value": "10",
                                                      "published": True, "max_uses": 5})
        automated_b = AutomatedOffer.objects.get(occasion="christmas")
        configure_automated_offer(automated_offer=automated_b, data={"published": True, "active": True,
                                                                     "push_title": "B secret push"})
    from promos.events import Actor
    from promos.services import create_promo

    with clinic_scope(clinic_b.pk):
        promo_b = create_promo(clinic=clinic_b, actor=Actor(id=None, name="B", email="b@example.com"), data={
            "name": "B secret promo", "code": "BSECRET", "discount_type": "percent", "discount_value": "10",
            "status": "active"})
        from promos.services import activate_promo

        if promo_b.status != "active":
            promo_b = activate_promo(promo=promo_b, actor=Actor(id=None, name="B", email="b@example.com"))
    from clinic_crm.tenancy.events import StaffActor
    from clinic_crm.tenancy.services import invite_staff

    invitation_b = invite_staff(clinic=clinic_b, email="b-hire@example.com", role=Role.STAFF,
                                actor=StaffActor.of(owner_b), link_for=lambda token: f"/accounts/invitations/{token}/")
    from coupons import services as coupon_services
    from tests.coupons.factories import make_template

    with clinic_scope(clinic_b.pk):
        card_b = coupon_services.issue_card(template=make_template(clinic_b, name="B secret card"), patient=patient_b)
    return World(clinic_a, clinic_b, owner_a, owner_b, patient_a, patient_b, order_b, key_b, membership_b, pos_a,
                 offer_b, automated_b, promo_b, invitation_b.invitation, card_b)


# --- dashboard -----------------------------------------------------------------------------------


def _export_of_b(w: World):
    """A finished export run of B's, with its file, made once per world."""
    from redemptions.models import ExportRun
    from redemptions.services.exports import execute_export, save_export_definition

    _response_of_b(w)
    with clinic_scope(w.b.pk):
        existing = ExportRun.objects.first()
        if existing is not None:
            return existing
        definition = save_export_definition(clinic=w.b, data={"name": "B secret export", "fields": ["patient_name"],
                                                              "format": "csv", "filters": {}})
        run = ExportRun.objects.create(clinic=w.b, definition=definition)
    return execute_export(clinic_id=w.b.pk, run_id=run.pk)


def _response_of_b(w: World):
    """B's patient's response to B's offer, made once per world."""
    from redemptions.models import OfferResponse
    from redemptions.registry import claimable_terms
    from redemptions.services import assign_response

    with clinic_scope(w.b.pk):
        existing = OfferResponse.objects.filter(patient=w.patient_b).first()
        if existing is not None:
            return existing
        terms = claimable_terms(promotion_key=w.offer_b.promotion_key, today=w.b.today())
        return assign_response(clinic=w.b, patient=w.patient_b, terms=terms, source="claim")

# route -> (method, kwargs builder using B's objects under A's slug)
DASHBOARD_OBJECT_ROUTES = {
    "dashboard:patient": ("get", lambda w: {"patient_id": w.patient_b.pk}),
    "patients:edit": ("get", lambda w: {"patient_id": w.patient_b.pk}),
    "revenue:detail": ("get", lambda w: {"order_id": w.order_b.pk}),
    "settings:api_key_revoke": ("post", lambda w: {"key_id": w.key_b.pk}),
    "settings:staff_role": ("post", lambda w: {"membership_id": w.membership_b.pk}),
    "settings:staff_remove": ("post", lambda w: {"membership_id": w.membership_b.pk}),
    "settings:staff_invitation_resend": ("post", lambda w: {"invitation_id": w.invitation_b.pk}),
    "settings:staff_invitation_revoke": ("post", lambda w: {"invitation_id": w.invitation_b.pk}),
    "offers:edit": ("get", lambda w: {"offer_id": w.offer_b.pk}),
    "offers:publish": ("post", lambda w: {"offer_id": w.offer_b.pk}),
    "offers:unpublish": ("post", lambda w: {"offer_id": w.offer_b.pk}),
    "offers:delete": ("post", lambda w: {"offer_id": w.offer_b.pk}),
    "offers:push": ("post", lambda w: {"offer_id": w.offer_b.pk}),
    "offers:redemptions": ("get", lambda w: {"offer_id": w.offer_b.pk}),
    "offers:automated_edit": ("get", lambda w: {"automated_id": w.automated_b.pk}),
    "offers:automated_activate": ("post", lambda w: {"automated_id": w.automated_b.pk}),
    "offers:automated_deactivate": ("post", lambda w: {"automated_id": w.automated_b.pk}),
    "offers:automated_publish": ("post", lambda w: {"automated_id": w.automated_b.pk}),
    "offers:automated_unpublish": ("post", lambda w: {"automated_id": w.automated_b.pk}),
    "promos:detail": ("get", lambda w: {"promo_id": w.promo_b.pk}),
    "promos:edit": ("get", lambda w: {"promo_id": w.promo_b.pk}),
    "promos:pause": ("post", lambda w: {"promo_id": w.promo_b.pk}),
    "promos:activate": ("post", lambda w: {"promo_id": w.promo_b.pk}),
    "promos:archive": ("post", lambda w: {"promo_id": w.promo_b.pk}),
    "promos:generate_codes": ("post", lambda w: {"promo_id": w.promo_b.pk}),
    "promos:codes_csv": ("get", lambda w: {"promo_id": w.promo_b.pk}),
    "cards:detail": ("get", lambda w: {"template_id": w.card_b.template_id}),
    "cards:edit": ("get", lambda w: {"template_id": w.card_b.template_id}),
    "cards:issue": ("post", lambda w: {"template_id": w.card_b.template_id}),
    "dashboard:card": ("get", lambda w: {"serial": w.card_b.serial}),
    "cards:redeem": ("post", lambda w: {"serial": w.card_b.serial}),
    "cards:stamp": ("post", lambda w: {"serial": w.card_b.serial}),
    "cards:delete": ("post", lambda w: {"serial": w.card_b.serial}),
    "cards:expiration": ("post", lambda w: {"serial": w.card_b.serial}),
    "dashboard:card_information": ("post", lambda w: {"serial": w.card_b.serial}),
    "dashboard:card_push": ("post", lambda w: {"serial": w.card_b.serial}),
    "dashboard:card_feedback": ("get", lambda w: {"serial": w.card_b.serial}),
    "responses:detail": ("post", lambda w: {"response_id": _response_of_b(w).pk}),
    "exports:detail": ("get", lambda w: {"definition_id": _export_of_b(w).definition_id}),
    "exports:edit": ("post", lambda w: {"definition_id": _export_of_b(w).definition_id}),
    "exports:run": ("post", lambda w: {"definition_id": _export_of_b(w).definition_id}),
    "exports:download": ("get", lambda w: {"run_id": _export_of_b(w).pk}),
    "dashboard:promotion": ("get", lambda w: {"promotion_key": w.promo_b.promotion_key}),
    # test_clinic_bs_scheduled_push_cannot_be_cancelled_through_a_card_of_a below
    "dashboard:card_push_cancel": ("post", lambda w: {"serial": w.card_b.serial, "scheduled_id": 1}),
}
DASHBOARD_PLAIN_ROUTES = {
    "dashboard:overview": "get", "patients:list": "get", "patients:create": "get", "revenue:list": "get",
    "settings:clinic": "get", "settings:onesignal": "get", "settings:api_keys": "get", "settings:staff": "get",
    "settings:staff_two_factor": "post",
    "settings:app_key_regenerate": "post",
    "offers:list": "get", "offers:automated": "get", "offers:create": "get",
    "promos:list": "get", "promos:compare": "get", "promos:portfolio": "get", "promos:create": "get",
    "cards:list": "get", "cards:create": "get", "patients:rfm_recompute": "post",
    "cards:wallet": "get", "cards:wallet_remove": "post", "responses:list": "get",
    "exports:list": "get", "exports:create": "get", "dashboard:promotions": "get", "revenue:export": "get",
    "patients:export": "get", "dashboard:promotions_export": "get", "promos:export": "get", "responses:export": "get",
    "cards:export": "get",
}
# route -> (method, kwargs builder using B's offers) for the offer APIs; each must be 404 for A.
OFFER_API_OBJECT_ROUTES = {
    "app:app-offer-redeem": ("post", lambda w: {"offer_id": w.offer_b.promotion_key}),
    "pos:pos-offer-redeem": ("post", lambda w: {"offer_id": w.offer_b.promotion_key}),
    "staff:staff-offer-detail": ("get", lambda w: {"offer_id": str(w.offer_b.pk)}),
    "staff:staff-offer-publish": ("post", lambda w: {"offer_id": str(w.offer_b.pk)}),
    "staff:staff-offer-unpublish": ("post", lambda w: {"offer_id": str(w.offer_b.pk)}),
    "staff:staff-offer-activate": ("post", lambda w: {"offer_id": str(w.offer_b.pk)}),
    "staff:staff-offer-deactivate": ("post", lambda w: {"offer_id": str(w.offer_b.pk)}),
    "staff:staff-automated-offer-detail": ("get", lambda w: {"offer_id": str(w.automated_b.pk)}),
    "staff:staff-automated-offer-publish": ("post", lambda w: {"offer_id": str(w.automated_b.pk)}),
    "staff:staff-automated-offer-unpublish": ("post", lambda w: {"offer_id": str(w.automated_b.pk)}),
    "staff:staff-automated-offer-activate": ("post", lambda w: {"offer_id": str(w.automated_b.pk)}),
    "staff:staff-automated-offer-deactivate": ("post", lambda w: {"offer_id": str(w.automated_b.pk)}),
}
API_CASES = {
    "app:app-auth-code", "app:app-auth-token", "app:app-me", "pos:pos-patient-list", "pos:pos-patient-detail",
    "pos:pos-order-create", "pos:pos-order-detail", "staff:staff-token", "staff:staff-me",
    "app:app-config", "staff:staff-offer-list", "staff:staff-automated-offer-list", *OFFER_API_OBJECT_ROUTES,
    "app:app-promo-validate", "pos:pos-promo-redeem", "staff:staff-promo-list", "staff:staff-promo-detail",
    "staff:staff-promo-pause", "staff:staff-promo-activate", "staff:staff-promo-archive",
    # test_clinic_bs_cards_and_templates_are_404_over_every_api below
    "staff:staff-card-template-list", "staff:staff-card-template-detail", "staff:staff-card-issue",
    "staff:staff-card-detail", "pos:pos-coupon-detail", "pos:pos-coupon-redeem", "pos:pos-coupon-stamp",
    "app:app-feedback",  # test_feedback_about_clinic_bs_card_is_404_and_never_shown_to_b below
    # test_clinic_bs_offer_responses_are_404_and_uncounted_over_every_api below
    "app:app-offer-claim", "app:app-response-list", "app:app-response-clip", "pos:pos-patient-responses",
    "pos:pos-response-complete", "pos:pos-response-cancel", "staff:staff-response-list",
    "staff:staff-offer-responses", "staff:staff-response-transition",
    # test_clinic_bs_promotions_are_unknown_to_clinic_as_events_and_lists below
    "events:event-redemption", "events:event-redemption-batch", "staff:staff-promotion-list",
    "events:event-import", "events:event-import-detail",  # test_a_backfill_file_is_read_in_batches… (visibility)
}


def test_every_route_has_an_isolation_case_or_a_reason():
    covered = set(DASHBOARD_OBJECT_ROUTES) | set(DASHBOARD_PLAIN_ROUTES) | API_CASES | set(NOT_CLINIC_OWNED)
    missing = sorted(route_names() - covered)
    assert not missing, f"routes without an isolation case: {missing}"


def _all_dashboard_routes(w: World):
    for name, (method, kwargs) in DASHBOARD_OBJECT_ROUTES.items():
        yield name, method, kwargs(w)
    for name, method in DASHBOARD_PLAIN_ROUTES.items():
        yield name, method, {}


def test_a_member_of_a_gets_404_on_every_page_under_clinic_bs_address(world, client_for):
    client = client_for(world.owner_a)
    for name, method, kwargs in _all_dashboard_routes(world):
        url = reverse(name, kwargs={"clinic_slug": world.b.slug, **kwargs})
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url} gave {response.status_code}"


def test_clinic_bs_objects_under_clinic_as_address_are_404(world, client_for):
    client = client_for(world.owner_a)
    for name, (method, kwargs) in DASHBOARD_OBJECT_ROUTES.items():
        url = reverse(name, kwargs={"clinic_slug": world.a.slug, **kwargs(world)})
        response = getattr(client, method)(url, {"role": "viewer"} if method == "post" else None)
        assert response.status_code == 404, f"{method.upper()} {url} gave {response.status_code}"
    # and nothing of B's changed
    world.key_b.refresh_from_db()
    world.membership_b.refresh_from_db()
    assert world.key_b.revoked_at is None and world.membership_b.role == Role.OWNER
    with clinic_scope(world.b.pk):
        offer = Offer.objects.get(pk=world.offer_b.pk)
        automated = AutomatedOffer.objects.get(pk=world.automated_b.pk)
        from notifications.models import PushNotification

        assert not PushNotification.objects.exists()
    assert (offer.published, offer.active) == (True, True)
    assert (automated.published, automated.active) == (True, True)
    with clinic_scope(world.b.pk):
        from promos.models import Promo

        assert Promo.objects.get(pk=world.promo_b.pk).status == "active"


@pytest.mark.parametrize("name", ["dashboard:overview", "patients:list", "revenue:list", "offers:list",
                                  "offers:automated", "promos:list", "promos:compare", "promos:portfolio",
                                  "cards:list", "responses:list", "dashboard:promotions", "revenue:export",
                                  "patients:export", "dashboard:promotions_export", "promos:export",
                                  "responses:export", "cards:export"])
def test_lists_and_counts_of_clinic_a_never_include_clinic_b(world, client_for, name):
    client = client_for(world.owner_a)
    response = client.get(reverse(name, kwargs={"clinic_slug": world.a.slug}))
    page = (b"".join(response.streaming_content) if response.streaming else response.content).decode()
    assert any(mine in page for mine in ("Alice", "A-ORDER-1", "Dashboard", "A offer", "Christmas", "Promo", "card",
                                         "Certificate code", "Installed users"))
    for foreign in ("Bravo", "B-ORDER-1", "b-only-1", "B secret"):
        assert foreign not in page, f"{name} shows {foreign}"


def test_the_overview_counts_only_clinic_as_rows(world, client_for):
    response = client_for(world.owner_a).get(reverse("dashboard:overview", kwargs={"clinic_slug": world.a.slug}))
    overview = response.context["overview"]
    assert overview.patients == 1
    assert overview.orders == 1


def test_rfm_segments_of_clinic_a_neither_count_nor_rewrite_clinic_bs(world, client_for):
    from clinic_crm.patients.models import RfmScore
    from clinic_crm.patients.rfm import recompute_rfm

    with clinic_scope(world.b.pk):
        recompute_rfm(clinic=world.b)
        b_rows = list(RfmScore.objects.values_list("patient_id", "segment", "computed_at"))
    assert b_rows
    client = client_for(world.owner_a)
    client.post(reverse("patients:rfm_recompute", kwargs={"clinic_slug": world.a.slug}))
    response = client.get(reverse("patients:list", kwargs={"clinic_slug": world.a.slug}))
    assert sum(count for _, _, count in response.context["segments"]) == 1  # Alice's one order
    with clinic_scope(world.b.pk):
        assert list(RfmScore.objects.values_list("patient_id", "segment", "computed_at")) == b_rows


def test_revenue_filtered_by_clinic_bs_patient_is_a_form_error_not_their_orders(world, client_for):
    url = reverse("revenue:list", kwargs={"clinic_slug": world.a.slug})
    response = client_for(world.owner_a).get(url, {"patient": world.patient_b.pk})
    assert response.status_code == 200
    assert "B-ORDER-1" not in response.content.decode()
    assert response.context["summary"].orders == 0


# --- API -----------------------------------------------------------------------------------------


def test_pos_key_of_a_gets_404_for_clinic_bs_patient_and_order(world):
    assert world.pos_a.get(f"/api/v1/pos/patients/{world.patient_b.external_id}").status_code == 404
    assert world.pos_a.get(f"/api/v1/pos/orders/{world.order_b.reference}").status_code == 404


def test_pos_patient_list_of_a_neither_shows_nor_counts_clinic_b(world):
    body = world.pos_a.get("/api/v1/pos/patients").json()
    assert body["count"] == 1
    assert [p["external_id"] for p in body["results"]] == ["shared-1"]


def test_pos_order_for_clinic_bs_patient_is_404_and_creates_nothing(world):
    response = world.pos_a.post("/api/v1/pos/orders", {"reference": "X-1", "patient_id": world.patient_b.pk,
                                                         "total": "10.00"}, format="json")
    assert response.status_code == 404
    with clinic_scope(world.b.pk):
        assert not Order.objects.filter(reference="X-1").exists()
    with clinic_scope(world.a.pk):
        assert not Order.objects.filter(reference="X-1").exists()


def test_pos_upsert_of_an_external_id_known_in_b_stays_in_a(world):
    with clinic_scope(world.b.pk):
        PatientFactory(external_id="dup-9", first_name="Bea")
    response = world.pos_a.put("/api/v1/pos/patients/dup-9", {"first_name": "Ann"}, format="json")
    assert response.status_code == 201
    with clinic_scope(world.b.pk):
        assert Patient.objects.get(external_id="dup-9").first_name == "Bea"


def test_a_patient_token_of_b_is_refused_with_clinic_as_app_key(world):
    api = APIClient()
    token = mint_patient_token(clinic=world.b, patient_id=world.patient_b.pk)
    api.credentials(HTTP_X_APP_KEY=world.a.app_key, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/app/me").status_code == 401


def test_a_token_naming_clinic_bs_patient_under_a_finds_nobody(world, app_client_for):
    # A token legitimately minted for clinic A but carrying B's patient id resolves in A's scope only.
    api = APIClient()
    token = mint_patient_token(clinic=world.a, patient_id=world.patient_b.pk)
    api.credentials(HTTP_X_APP_KEY=world.a.app_key, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/app/me").status_code == 401


def test_sign_in_through_clinic_as_app_does_not_reach_clinic_bs_patient(world, django_capture_on_commit_callbacks):
    api = APIClient()
    api.credentials(HTTP_X_APP_KEY=world.a.app_key)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/app/auth/code", {"email": "bob@example.com"}, format="json")
    assert response.status_code == 202
    assert mail.outbox == []
    response = api.post("/api/v1/app/auth/token", {"email": "bob@example.com", "code": "123456"}, format="json")
    assert response.status_code == 400


def test_staff_token_for_another_clinics_slug_is_refused(world):
    response = APIClient().post("/api/v1/staff/token", {"email": world.owner_a.email, "password": PASSWORD,
                                                        "clinic": world.b.slug}, format="json")
    assert response.status_code == 401


def test_staff_me_answers_for_the_tokens_clinic_only(world):
    api = APIClient()
    token = api.post("/api/v1/staff/token", {"email": world.owner_a.email, "password": PASSWORD,
                                             "clinic": world.a.slug}, format="json").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/staff/me").json()["clinic"]["slug"] == world.a.slug


def _staff_api(world):
    api = APIClient()
    token = api.post("/api/v1/staff/token", {"email": world.owner_a.email, "password": PASSWORD,
                                             "clinic": world.a.slug}, format="json").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_every_offer_api_answers_404_for_clinic_bs_offers_and_changes_nothing(world):
    with clinic_scope(world.a.pk):
        patient_token = mint_patient_token(clinic=world.a, patient_id=world.patient_a.pk)
    app = APIClient()
    app.credentials(HTTP_X_APP_KEY=world.a.app_key, HTTP_AUTHORIZATION=f"Bearer {patient_token}")
    clients = {"app": app, "pos": world.pos_a, "staff": _staff_api(world)}
    for name, (method, kwargs) in OFFER_API_OBJECT_ROUTES.items():
        url = reverse(name, kwargs=kwargs(world))
        body = {"patient_id": world.patient_a.pk, "purchase_amount": "50.00"} if name.startswith("pos") else {}
        response = getattr(clients[name.split(":")[0]], method)(url, body, format="json")
        assert response.status_code == 404, f"{method.upper()} {url} gave {response.status_code}"
    with clinic_scope(world.b.pk):
        offer = Offer.objects.get(pk=world.offer_b.pk)
        automated = AutomatedOffer.objects.get(pk=world.automated_b.pk)
    assert (offer.published, offer.active, offer.current_uses) == (True, True, 0)
    assert (automated.published, automated.active) == (True, True)


def test_offer_lists_and_the_app_config_of_a_never_show_clinic_b(world):
    staff = _staff_api(world)
    for url in ("/api/v1/staff/offers/", "/api/v1/staff/automated-offers/"):
        text = staff.get(url).content.decode()
        assert "B secret" not in text
    offers = staff.get("/api/v1/staff/offers/").json()
    rows = offers["results"] if isinstance(offers, dict) else offers
    assert [o["name"] for o in rows] == ["A offer"]
    app = APIClient()
    app.credentials(HTTP_X_APP_KEY=world.a.app_key)
    config = app.get("/api/v1/app/config").json()
    assert config["clinic"]["slug"] == world.a.slug
    assert [o["title"] for o in config["offers"]] == ["A offer"]


def test_clinic_bs_promo_codes_and_ids_are_unknown_to_clinic_a(world):
    # the app: B's code does not validate for A's patient
    with clinic_scope(world.a.pk):
        token = mint_patient_token(clinic=world.a, patient_id=world.patient_a.pk)
    app = APIClient()
    app.credentials(HTTP_X_APP_KEY=world.a.app_key, HTTP_AUTHORIZATION=f"Bearer {token}")
    body = app.post("/api/v1/app/promos/validate", {"code": "BSECRET", "order_total": "100.00"}, format="json").json()
    assert body["valid"] is False and body["code"] == "code_unknown"
    # the till: B's code is unknown to A's key, and nothing is redeemed
    response = world.pos_a.post("/api/v1/pos/promos/redeem", {
        "code": "BSECRET", "patient_id": world.patient_a.pk, "order": {"reference": "PR-1", "total": "100.00"}},
        format="json")
    assert response.status_code == 409 and response.json()["code"] == "code_unknown"
    # staff: B's promo id is 404 for every route, and lists never show it
    staff = _staff_api(world)
    for suffix, method in (("", "get"), ("", "patch"), ("/pause", "post"), ("/activate", "post"),
                           ("/archive", "post")):
        url = f"/api/v1/staff/promos/{world.promo_b.pk}{suffix}"
        assert getattr(staff, method)(url, {}, format="json").status_code == 404, url
    assert "B secret promo" not in staff.get("/api/v1/staff/promos/").content.decode()
    with clinic_scope(world.b.pk):
        from promos.models import Promo

        promo = Promo.objects.get(pk=world.promo_b.pk)
    assert (promo.status, promo.uses) == ("active", 0)



# --- cards ------------------------------------------------------------------------------------------


@pytest.fixture
def card_b(world):
    return world.card_b


def test_clinic_bs_cards_and_templates_are_404_over_every_api(world, card_b):
    from tests.conftest import staff_api_client

    staff_a = staff_api_client(world.a, world.owner_a)
    template_id = str(card_b.template_id)
    for response in (
        staff_a.get(f"/api/v1/staff/card-templates/{template_id}"),
        staff_a.patch(f"/api/v1/staff/card-templates/{template_id}", {"name": "X"}, format="json"),
        staff_a.get(f"/api/v1/staff/cards/{card_b.serial}"),
        staff_a.delete(f"/api/v1/staff/cards/{card_b.serial}"),
        staff_a.post("/api/v1/staff/cards/", {"template_id": template_id, "patient_id": str(world.patient_a.pk)},
                     format="json"),
        world.pos_a.get(f"/api/v1/pos/coupons/{card_b.serial}"),
        world.pos_a.post(f"/api/v1/pos/coupons/{card_b.serial}/redeem", {"external_id": "b-only-1"}, format="json"),
        world.pos_a.post(f"/api/v1/pos/coupons/{card_b.serial}/stamp", {"external_id": "b-only-1"}, format="json"),
    ):
        assert response.status_code == 404, (response.request["PATH_INFO"], response.content)
    # A's lists neither show nor count B's
    listing = staff_a.get("/api/v1/staff/card-templates/").json()
    assert listing["count"] == 0 and "B secret card" not in str(listing)
    # and nothing of B's changed
    with clinic_scope(world.b.pk):
        from coupons.models import Card

        card = Card.objects.get(pk=card_b.pk)
    assert (card.status, card.coupon_status) == ("not_installed", "active")


def test_a_cards_tokens_under_another_clinics_address_are_404(world, card_b, client):
    assert client.get(reverse("card_wallet_pass", kwargs={"clinic_slug": world.a.slug,
                                                          "token": card_b.install_token})).status_code == 404
    for name, token in (("card_install", card_b.install_token), ("card_manifest", card_b.install_token),
                        ("card_refer", card_b.referral_token)):
        url = reverse(name, kwargs={"clinic_slug": world.a.slug, "token": token})
        assert client.get(url).status_code == 404, url
        own = reverse(name, kwargs={"clinic_slug": world.b.slug, "token": token})
        assert client.get(own).status_code == 200, own


def test_clinic_bs_scheduled_push_cannot_be_cancelled_through_a_card_of_a(world, card_b, client_for):
    from datetime import timedelta

    from django.utils import timezone

    from clinic_crm.tenancy.events import StaffActor
    from coupons import services as coupon_services
    from notifications.models import ScheduledPush
    from tests.coupons.factories import make_template

    with clinic_scope(world.b.pk):
        scheduled_b = coupon_services.schedule_card_push(
            card=card_b, title="B secret", message="Hi", send_at=timezone.now() + timedelta(hours=2),
            actor=StaffActor(id=None, name="B", email=""))
    with clinic_scope(world.a.pk):
        card_a = coupon_services.issue_card(template=make_template(world.a, name="A card"), patient=world.patient_a)
    client = client_for(world.owner_a)
    url = reverse("dashboard:card_push_cancel", kwargs={"clinic_slug": world.a.slug, "serial": card_a.serial,
                                                         "scheduled_id": scheduled_b.pk})
    assert client.post(url).status_code == 404
    page = client.get(reverse("dashboard:card_push", kwargs={"clinic_slug": world.a.slug, "serial": card_a.serial}))
    assert "B secret" not in page.content.decode()
    with clinic_scope(world.b.pk):
        assert ScheduledPush.objects.get(pk=scheduled_b.pk).status == "scheduled"


def test_feedback_about_clinic_bs_card_is_404_and_never_shown_to_b(world, card_b, app_client_for, client_for):
    from coupons.models import Feedback

    app = app_client_for(world.a, world.patient_a)
    response = app.post("/api/v1/app/feedback", {"rating": 5, "comment": "A's words", "card_serial": card_b.serial},
                        format="json")
    assert response.status_code == 404 and response.json()["code"] == "unknown_card"
    assert app.post("/api/v1/app/feedback", {"rating": 4, "comment": "A's words"}, format="json").status_code == 201
    with clinic_scope(world.b.pk):
        assert not Feedback.objects.exists()
    page = client_for(world.owner_b).get(reverse("dashboard:card_feedback", kwargs={
        "clinic_slug": world.b.slug, "serial": card_b.serial})).content.decode()
    assert "A&#x27;s words" not in page and "A's words" not in page


def test_clinic_bs_offer_responses_are_404_and_uncounted_over_every_api(world, app_client_for):
    from redemptions.choices import ResponseSource
    from redemptions.models import OfferResponse
    from redemptions.registry import claimable_terms
    from redemptions.services import assign_response
    from tests.conftest import staff_api_client

    with clinic_scope(world.b.pk):
        terms = claimable_terms(promotion_key=world.offer_b.promotion_key, today=world.b.today())
        response_b = assign_response(clinic=world.b, patient=world.patient_b, terms=terms, source=ResponseSource.CLAIM)
    app_a = app_client_for(world.a, world.patient_a)
    staff_a = staff_api_client(world.a, world.owner_a)
    for response in (
        app_a.post(f"/api/v1/app/offers/{world.offer_b.promotion_key}/claim", format="json"),
        app_a.post(f"/api/v1/app/responses/{response_b.pk}/clip", format="json"),
        world.pos_a.get(f"/api/v1/pos/patients/{world.patient_b.external_id}/responses"),
        world.pos_a.post(f"/api/v1/pos/responses/{response_b.pk}/complete", {}, format="json"),
        world.pos_a.post(f"/api/v1/pos/responses/{response_b.pk}/cancel", {}, format="json"),
        staff_a.post(f"/api/v1/staff/responses/{response_b.pk}/transition", {"to": "canceled"}, format="json"),
    ):
        assert response.status_code == 404, (response.request["PATH_INFO"], response.content)
    # A's lists neither show nor count B's
    assert app_a.get("/api/v1/app/responses").json()["count"] == 0
    assert staff_a.get("/api/v1/staff/responses/").json()["count"] == 0
    assert staff_a.get(f"/api/v1/staff/offers/{world.offer_b.pk}/responses").json()["count"] == 0
    with clinic_scope(world.b.pk):
        assert OfferResponse.objects.get(pk=response_b.pk).status == "pending"


def test_clinic_bs_promotions_are_unknown_to_clinic_as_events_and_lists(world, in_clinic):
    from redemptions.models import Redemption
    from redemptions.selectors import count_promotion
    from tests.conftest import staff_api_client

    with clinic_scope(world.b.pk):
        before = count_promotion(promotion_key=world.promo_b.promotion_key)
    when = timezone.now().isoformat()
    # A's key reports on B's promo (with A's patient), and on A's own offer with B's patient
    offer_a = world.pos_a.get("/api/v1/pos/patients/shared-1").json()
    assert offer_a["external_id"] == "shared-1"
    one = world.pos_a.post("/api/v1/events/redemptions", {
        "event_id": "x-1", "promotion_id": world.promo_b.promotion_key, "external_id": "shared-1",
        "redeemed_at": when}, format="json")
    assert one.status_code == 404 and one.json()["code"] == "unknown_promotion"
    with clinic_scope(world.a.pk):
        a_offer_key = Offer.objects.get().promotion_key
    many = world.pos_a.post("/api/v1/events/redemptions/batch", {"events": [
        {"event_id": "x-2", "promotion_id": world.promo_b.promotion_key, "external_id": "shared-1", "redeemed_at": when},
        {"event_id": "x-3", "promotion_id": a_offer_key, "external_id": "b-only-1", "redeemed_at": when},
        {"event_id": "x-4", "promotion_id": a_offer_key, "patient_id": str(world.patient_b.pk), "redeemed_at": when},
    ]}, format="json").json()
    assert [r["code"] for r in many["results"]] == ["unknown_promotion", "unknown_patient", "unknown_patient"]
    # and B's counts and ledger did not move
    with clinic_scope(world.b.pk):
        assert count_promotion(promotion_key=world.promo_b.promotion_key) == before
        assert not Redemption.objects.filter(channel="event").exists()
    # A's staff list holds A's promotions only
    listed = staff_api_client(world.a, world.owner_a).get("/api/v1/staff/promotions/").json()
    assert listed and all("B secret" not in row["name"] for row in listed)
    assert world.promo_b.promotion_key not in {row["id"] for row in listed}
