"""The Details panel of a promo's page says every setting as it is configured, each entry read from the
panel itself: the Activity log's "Settings it started with" repeats the same labels (PRO-4)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from promos.models import Promo
from tests.factories import PatientFactory
from tests.promos.factories import seed, url
from tests.promos.markup import definitions, element

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")


def details_panel(response) -> dict[str, str]:
    """The Details panel's entries as {label: text}, from the panel's own element only."""
    return definitions(element(response.content.decode(), "promo-details"))


def test_every_setting_of_a_fully_configured_promo_reads_in_the_details_panel(
    clinic_a, in_clinic, staff_a, client_for,
):
    # given a promo with every setting filled, created at 10:00 UTC on 1 July 2030 (11:00 in London)
    with time_machine.travel(datetime(2030, 7, 1, 10, 0, tzinfo=UTC), tick=False):
        promo = seed(
            clinic_a, in_clinic, "Everything", code="EVERYTHING", discount_value=Decimal("15"),
            applies_to="services", applies_to_items=["Whitening", "Hygiene"],
            audience="segment", audience_segment="Champions",
            min_order=Decimal("50"), max_uses=100, max_uses_per_customer=3,
            starts_at=datetime(2031, 3, 1, 9, 0, tzinfo=LONDON), ends_at=datetime(2031, 3, 31, 18, 0, tzinfo=LONDON),
            show_banner=True, auto_apply=True, marketing_cost=Decimal("250"), budget=Decimal("500"))
    # and used twice for £25 off in all, as the redeem service's counters leave it
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(uses=2, discounted=Decimal("25.00"))

    # when its page opens
    response = client_for(staff_a).get(url(clinic_a, "detail", promo.pk))

    # then the panel has one entry per setting, each as configured, money in pounds, times in London
    assert response.status_code == 200
    assert details_panel(response) == {
        "Kind": "Global",
        "Status": "Draft",
        "Code": "EVERYTHING",
        "Discount": "15% Off",
        "Applies to": "Chosen services: Whitening, Hygiene",
        "Audience": "A segment: Champions",
        "Min order": "£50.00",
        "Max uses": "2 of 100",
        "Per patient": "3 uses",
        "Window": "From 1 Mar 2031, 09:00 · Until 31 Mar 2031, 18:00",
        "Banner": "On",
        "Auto-apply": "On",
        "Marketing cost": "£250.00",
        "Budget": "£25.00 of £500.00 used",
        "Created": "1 Jul 2030, 11:00",
    }


def test_named_patients_audience_reads_with_how_many_patients(clinic_a, in_clinic, staff_a, client_for):
    # given a promo for three named patients, applying to two chosen categories, one use per customer
    with in_clinic(clinic_a):
        patients = [PatientFactory() for _ in range(3)]
    promo = seed(clinic_a, in_clinic, "For three", code="FORTHREE", audience="patients",
                 audience_patient_ids=[p.pk for p in patients], applies_to="categories",
                 applies_to_items=["Skin", "Laser"], max_uses_per_customer=1)

    # when its page opens
    panel = details_panel(client_for(staff_a).get(url(clinic_a, "detail", promo.pk)))

    # then the Audience says whom by count, and the other entries say so in the singular where it is one
    assert panel["Audience"] == "Named patients: 3 patients"
    assert panel["Applies to"] == "Chosen categories: Skin, Laser"
    assert panel["Per patient"] == "1 use"
