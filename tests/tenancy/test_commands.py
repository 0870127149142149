"""Operator commands (CORE-10) print what API.md promises and refuse bad input clearly."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient, RfmScore
from coupons.models import Card, CardTemplate
from offers.models import AutomatedOffer, Offer
from promos.models import Promo
from clinic_crm.tenancy.models import ApiKey, Clinic, Membership
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def line(output: str, prefix: str) -> str:
    match = re.search(rf"^\s*{re.escape(prefix)} (\S+)$", output, re.M)
    assert match, f"no line starting {prefix!r} in:\n{output}"
    return match.group(1)


def test_create_clinic_prints_a_working_app_key():
    output = run("create_clinic", "--name", "Kew Dental", "--slug", "kew", "--timezone", "Europe/London",
                 "--currency", "GBP")
    clinic = Clinic.objects.get(slug="kew")
    assert line(output, "App key:") == clinic.app_key


def test_create_clinic_refuses_a_bad_timezone_and_a_taken_slug():
    with pytest.raises(CommandError, match="time zone"):
        run("create_clinic", "--name", "X", "--slug", "x", "--timezone", "Nowhere/Land")
    run("create_clinic", "--name", "X", "--slug", "x")
    with pytest.raises(CommandError, match="slug"):
        run("create_clinic", "--name", "Y", "--slug", "x")


def test_create_staff_then_the_login_works(clinic_a):
    output = run("create_staff", "--clinic", clinic_a.slug, "--email", "nurse@example.com", "--role", "staff")
    password = line(output, "Password:")
    assert Membership.objects.get(user__email="nurse@example.com").role == "staff"
    response = APIClient().post("/api/v1/staff/token", {"email": "nurse@example.com", "password": password,
                                                        "clinic": clinic_a.slug}, format="json")
    assert response.status_code == 200


def test_create_api_key_prints_it_once_and_it_authenticates(clinic_a, in_clinic):
    output = run("create_api_key", "--clinic", clinic_a.slug, "--scopes", "pos,events")
    key = line(output, "API key:")
    assert ApiKey.objects.get(clinic=clinic_a).scopes == ["events", "pos"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert api.get("/api/v1/pos/patients").status_code == 200


def test_create_api_key_refuses_an_unknown_scope(clinic_a):
    with pytest.raises(CommandError, match="scopes"):
        run("create_api_key", "--clinic", clinic_a.slug, "--scopes", "root")


def test_patient_token_mints_a_token_for_that_patient(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory(external_id="pt-1", first_name="Zed")
    token = line(run("patient_token", "--clinic", clinic_a.slug, "--patient", "pt-1"), "Token:")
    api = APIClient()
    api.credentials(HTTP_X_APP_KEY=clinic_a.app_key, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/app/me").json()["id"] == str(patient.pk)


def test_unknown_clinic_or_patient_is_a_clear_error(clinic_a):
    with pytest.raises(CommandError, match="No clinic"):
        run("patient_token", "--clinic", "nope", "--patient", "1")
    with pytest.raises(CommandError, match="No patient"):
        run("patient_token", "--clinic", clinic_a.slug, "--patient", "404")


def test_seed_demo_is_idempotent_and_prints_logins_and_keys(in_clinic):
    first = run("seed_demo", "--patients", "30", "--orders", "60")
    second = run("seed_demo", "--patients", "30", "--orders", "60")
    clinics = list(Clinic.objects.order_by("slug"))
    assert [c.slug for c in clinics] == ["brooklyn-dental", "harley-street"]
    assert {c.timezone for c in clinics} == {"Europe/London", "America/New_York"}
    assert {c.currency for c in clinics} == {"GBP", "USD"}
    for clinic in clinics:
        with in_clinic(clinic):
            assert Patient.objects.count() == 30
            assert Patient.objects.exclude(date_of_birth=None).count() == 30
            assert Offer.objects.count() == 3 and Offer.objects.filter(published=True).count() == 2
            assert AutomatedOffer.objects.count() == 10
            assert sorted(Promo.objects.values_list("status", flat=True)) == [
                "active", "active", "active", "draft", "paused"]
            assert Promo.objects.get(name="Welcome 10%").uses == 25
            assert set(AutomatedOffer.objects.filter(active=True).values_list("occasion", flat=True)) == {
                "christmas", "birthday", "black_friday"}
        with in_clinic(clinic):
            assert sorted(CardTemplate.objects.values_list("kind", flat=True)) == ["coupon", "reward", "stamp"]
            welcome = Card.objects.filter(template__kind="coupon")
            assert welcome.count() == 5 and welcome.filter(coupon_status="redeemed").count() == 2
            assert Card.objects.filter(template__kind="stamp").count() == 2  # the redeemed coupons' linked cards
            assert RfmScore.objects.count() == Order.objects.values("patient").distinct().count() > 0
        assert Membership.objects.filter(clinic=clinic).count() == 5  # four roles + the two-clinic login
        assert ApiKey.objects.filter(clinic=clinic, revoked_at=None).count() == 1
    for output in (first, second):
        assert "alex@demo.clinic" in output and "viewer@harley.demo" in output
        assert "demo-password" in output
        assert "App key:" in output and "API key:" in output


def test_the_demo_agrees_with_itself_on_every_promotion(in_clinic, client):
    """Each promotion's own used count, its ledger rows, Revenue by source and the Promotions page agree."""
    from django.db.models import Count

    from clinic_crm.dashboard.promotions import list_promotion_rows
    from redemptions.models import Redemption

    run("seed_demo", "--patients", "60", "--orders", "80")
    for clinic in Clinic.objects.all():
        with in_clinic(clinic):
            ledger = dict(Redemption.objects.filter(status="applied").values("promotion_key")
                          .annotate(n=Count("id")).values_list("promotion_key", "n"))
            by_source = dict(Order.objects.exclude(source_key="").values("source_key")
                             .annotate(n=Count("id")).values_list("source_key", "n"))
            rows = list_promotion_rows(clinic=clinic)
            used = {**{o.promotion_key: o.current_uses for o in Offer.objects.all()},
                    **{p.promotion_key: p.uses for p in Promo.objects.all()}}
            redeemed_orders = Order.objects.exclude(source_key="").count()
            applied_with_order = Redemption.objects.filter(status="applied", order__isnull=False).count()
        assert redeemed_orders == applied_with_order > 0  # every discounted order has its ledger row
        assert sum(ledger.values()) > 40
        for row in rows:
            key = row.info.key
            assert row.counts.redemptions == ledger.get(key, 0), key
            assert by_source.get(key, 0) == ledger.get(key, 0), key
            if key in used:  # the offer's or promo's own "used" count, as its list shows it
                assert used[key] == ledger.get(key, 0), key
        assert set(by_source) <= {row.info.key for row in rows}  # no order names a promotion that is not there
