"""Validating a promo code from the patient app: each answer and its exact message (PRO-3)."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from clinic_crm.common.errors import ApplicationError
from promos import services
from promos.events import Actor
from promos.models import Promo, PromoCustomerUsage
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor(id=None, name="Ann Owner", email="ann@example.com")
LONDON = ZoneInfo("Europe/London")


def make_promo(clinic, in_clinic, **data) -> Promo:
    values = {"name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
              "status": "active", **data}
    with in_clinic(clinic):
        return services.create_promo(clinic=clinic, data=values, actor=ACTOR)


@pytest.fixture
def validate(app_client_for):
    def _validate(clinic, patient, code, order_total="100.00"):
        response = app_client_for(clinic, patient).post("/api/v1/app/promos/validate",
                                                        {"code": code, "order_total": order_total}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    return _validate


def refused(code, message):
    return {"valid": False, "code": code, "message": message}


def test_a_live_code_is_valid_with_its_discount_whatever_the_case(clinic_a, in_clinic, ann, validate):
    # given an active 20% promo
    make_promo(clinic_a, in_clinic)
    # when the app validates it in lower case on a £62.50 order
    body = validate(clinic_a, ann, "spring20", "62.50")
    # then it is valid with the amount off and the label
    assert body == {"valid": True, "discount": "12.50", "currency": "GBP", "discount_label": "20% Off"}


def test_an_unknown_code_is_refused(clinic_a, ann, validate):
    assert validate(clinic_a, ann, "NOPE") == refused("code_unknown", "We don't recognise this code.")


def test_a_paused_code_is_refused_with_message(clinic_a, in_clinic, ann, validate):
    # given a paused promo
    promo = make_promo(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        services.pause_promo(promo=promo, actor=ACTOR)
    # then its code says so
    assert validate(clinic_a, ann, "SPRING20") == refused("code_paused", "This code is paused.")


def test_a_draft_code_is_not_started(clinic_a, in_clinic, ann, validate):
    make_promo(clinic_a, in_clinic, status="draft")
    assert validate(clinic_a, ann, "SPRING20") == refused("code_not_started", "This code is not active yet.")


def test_a_code_before_its_start_says_when_it_starts(clinic_a, in_clinic, ann, validate):
    # given a promo starting at midnight on 1 July 2030 in London
    make_promo(clinic_a, in_clinic, starts_at=datetime(2030, 7, 1, 0, 0, tzinfo=LONDON))
    # then it is not started, with the clinic's date
    assert validate(clinic_a, ann, "SPRING20") == refused("code_not_started", "This code is valid from 1 July 2030.")


def test_a_code_past_its_end_has_expired(clinic_a, in_clinic, ann, validate):
    make_promo(clinic_a, in_clinic, starts_at=timezone.now() - timedelta(days=10),
               ends_at=timezone.now() - timedelta(minutes=1))
    assert validate(clinic_a, ann, "SPRING20") == refused("code_expired", "This code has expired.")


def test_an_archived_code_is_no_longer_available(clinic_a, in_clinic, ann, validate):
    promo = make_promo(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        services.archive_promo(promo=promo, actor=ACTOR)
    assert validate(clinic_a, ann, "SPRING20") == refused("code_archived", "This code is no longer available.")


def test_a_code_whose_uses_are_used_up_is_refused(clinic_a, in_clinic, ann, validate):
    promo = make_promo(clinic_a, in_clinic, max_uses=2)
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(uses=2)
    assert validate(clinic_a, ann, "SPRING20") == refused("usage_limit_reached",
                                                          "This code has reached its usage limit.")


def test_a_code_whose_budget_would_be_overrun_is_refused(clinic_a, in_clinic, ann, validate):
    # given a £50 budget with £40 given already
    promo = make_promo(clinic_a, in_clinic, budget=Decimal("50"))
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(discounted=Decimal("40"))
    # when an order would take £20 more
    body = validate(clinic_a, ann, "SPRING20", "100.00")
    # then it is refused
    assert body == refused("usage_limit_reached", "This promo's discount budget has been used up.")


def test_a_patient_at_their_own_limit_is_refused(clinic_a, in_clinic, ann, validate):
    promo = make_promo(clinic_a, in_clinic, max_uses_per_customer=1)
    with in_clinic(clinic_a):
        PromoCustomerUsage.objects.create(promo=promo, patient=ann, uses=1)
    assert validate(clinic_a, ann, "SPRING20") == refused(
        "customer_limit_reached", "You have already used this code the maximum number of times.")


def test_an_order_under_the_minimum_is_refused_with_the_amount_in_the_clinics_currency(
        clinic_a, clinic_b, in_clinic, ann, validate):
    # given a £50 minimum in clinic A (GBP) and a $50 minimum in clinic B (USD)
    make_promo(clinic_a, in_clinic, min_order=Decimal("50"))
    make_promo(clinic_b, in_clinic, min_order=Decimal("50"))
    with in_clinic(clinic_b):
        bob = PatientFactory()
    # then each message names the clinic's currency
    assert validate(clinic_a, ann, "SPRING20", "49.99") == refused(
        "minimum_order_not_met", "This code needs a minimum order of £50.00.")
    assert validate(clinic_b, bob, "SPRING20", "10") == refused(
        "minimum_order_not_met", "This code needs a minimum order of $50.00.")


def test_named_audience_codes_are_not_for_other_patients(clinic_a, in_clinic, ann, validate):
    # given a promo for Ann only
    with in_clinic(clinic_a):
        bob = PatientFactory()
    make_promo(clinic_a, in_clinic, audience="patients", audience_patient_ids=[ann.pk])
    # then Ann may use it and Bob is not eligible
    assert validate(clinic_a, ann, "SPRING20")["valid"] is True
    assert validate(clinic_a, bob, "SPRING20") == refused("not_eligible",
                                                          "This code is not available for your account.")


def test_new_patient_codes_are_refused_to_patients_with_an_order(clinic_a, in_clinic, ann, validate):
    make_promo(clinic_a, in_clinic, audience="new_patients")
    with in_clinic(clinic_a):
        OrderFactory(patient=ann)
    assert validate(clinic_a, ann, "SPRING20") == refused("not_eligible", "This code is for new patients only.")


def test_segment_codes_match_the_patients_segment(clinic_a, in_clinic, ann, validate):
    make_promo(clinic_a, in_clinic, audience="segment", audience_segment="VIP")
    with in_clinic(clinic_a):
        vip = PatientFactory(custom_fields={"segment": "vip"})
    assert validate(clinic_a, vip, "SPRING20")["valid"] is True
    assert validate(clinic_a, ann, "SPRING20")["code"] == "not_eligible"


def test_a_tiered_code_gives_the_highest_tier_reached(clinic_a, in_clinic, ann, validate):
    # given tiers £10 off from £100 and 20% from £200
    make_promo(clinic_a, in_clinic, kind="tiered", tiers=[
        {"min_order": "100", "discount_type": "amount", "discount_value": Decimal("10")},
        {"min_order": "200", "discount_type": "percent", "discount_value": Decimal("20")},
    ])
    # then each order gets its tier, and under the first none
    assert validate(clinic_a, ann, "SPRING20", "150") == {"valid": True, "discount": "10.00",
                                                         "currency": "GBP", "discount_label": "£10.00 Off"}
    assert validate(clinic_a, ann, "SPRING20", "250") == {"valid": True, "discount": "50.00",
                                                         "currency": "GBP", "discount_label": "20% Off"}
    assert validate(clinic_a, ann, "SPRING20", "99") == refused("minimum_order_not_met",
                                                                "This code needs a minimum order of £100.00.")


def test_a_personal_code_works_only_for_its_patient(clinic_a, in_clinic, ann, validate):
    # given a personalised promo with a code for Ann
    promo = make_promo(clinic_a, in_clinic, kind="personalised", code="")
    with in_clinic(clinic_a):
        bob = PatientFactory()
        code = services.generate_personal_codes(promo=promo, patients=[ann], actor=ACTOR)[0].code
    # then Ann may use it and Bob gets not_eligible
    assert validate(clinic_a, ann, code.lower())["valid"] is True
    assert validate(clinic_a, bob, code)["code"] == "not_eligible"


def test_validating_needs_a_signed_in_patient_and_a_well_formed_body(clinic_a, ann, app_client_for):
    anonymous = app_client_for(clinic_a).post("/api/v1/app/promos/validate", {"code": "X", "order_total": "1"},
                                              format="json")
    malformed = app_client_for(clinic_a, ann).post("/api/v1/app/promos/validate", {"code": "X"}, format="json")
    assert anonymous.status_code == 401
    assert malformed.status_code == 400 and malformed.json()["code"] == "validation_error"


def test_another_clinics_code_is_unknown(clinic_a, clinic_b, in_clinic, ann, validate):
    # given a code only clinic B has
    make_promo(clinic_b, in_clinic, code="BONLY")
    # then clinic A's patient is told it is unknown
    assert validate(clinic_a, ann, "BONLY")["code"] == "code_unknown"


def test_validate_changes_nothing(clinic_a, in_clinic, ann):
    promo = make_promo(clinic_a, in_clinic, max_uses=1)
    with in_clinic(clinic_a):
        for _ in range(3):
            assert services.validate_promo_code(code="SPRING20", patient=ann, order_total=Decimal("10")).valid
        promo.refresh_from_db()
    assert promo.uses == 0


def test_the_refusal_code_of_validate_matches_the_error_of_redeem(clinic_a, in_clinic, ann):
    promo = make_promo(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        services.pause_promo(promo=promo, actor=ACTOR)
        check = services.validate_promo_code(code="SPRING20", patient=ann, order_total=Decimal("10"))
        with pytest.raises(ApplicationError) as refusal:
            services.redeem_promo_code(code="SPRING20", patient=ann, order_reference="R1",
                                       order_total=Decimal("10"))
    assert (refusal.value.code, refusal.value.message) == (check.code, check.message)


def test_guessing_codes_is_limited_per_patient(clinic_a, ann, app_client_for):
    # given a signed-in patient trying codes one after another
    api = app_client_for(clinic_a, ann)
    answers = [api.post("/api/v1/app/promos/validate", {"code": f"GUESS{n}", "order_total": "50"},
                        format="json").status_code for n in range(11)]
    # then the first ten get answers and the eleventh is told to wait
    assert answers[:10] == [200] * 10
    assert answers[10] == 429


def test_guessing_codes_is_limited_per_client_across_patients(clinic_a, in_clinic, app_client_for, monkeypatch):
    # given the per-client limit (60 a minute) at 5, and six patients' tokens used from one address
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "promo_validate_client", "5/min")
    with in_clinic(clinic_a):
        patients = PatientFactory.create_batch(6)
    answers = [app_client_for(clinic_a, p).post("/api/v1/app/promos/validate", {"code": "GUESS", "order_total": "5"},
                                                format="json").status_code for p in patients]
    # then the client is limited whichever patient it signs in as
    assert answers == [200] * 5 + [429]


def test_guessing_codes_is_limited_per_clinic_across_patients_and_addresses(clinic_a, clinic_b, in_clinic,
                                                                            app_client_for, monkeypatch):
    # given the per-clinic limit (600 a minute) at 5, and six patients each on their own address
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "promo_validate_clinic", "5/min")
    with in_clinic(clinic_a):
        patients = PatientFactory.create_batch(6)
    answers = [app_client_for(clinic_a, p).post("/api/v1/app/promos/validate", {"code": "GUESS", "order_total": "5"},
                                                format="json", REMOTE_ADDR=f"10.0.0.{n}").status_code
               for n, p in enumerate(patients)]
    # then the clinic is limited, whoever and wherever the callers are; another clinic is not
    assert answers == [200] * 5 + [429]
    with in_clinic(clinic_b):
        other = PatientFactory()
    assert app_client_for(clinic_b, other).post("/api/v1/app/promos/validate", {"code": "GUESS", "order_total": "5"},
                                                format="json").status_code == 200
