"""Creating, editing and moving promos through their lifecycle; personalised codes (PRO-1, PRO-2)."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinic_crm.common.errors import Conflict
from promos import services
from promos.events import Actor
from promos.models import Promo, PromoCode, PromoTier
from redemptions.registry import count_active_promotions
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ANN = Actor(id=None, name="Ann Owner", email="ann@example.com")


def make_promo(clinic, **data) -> Promo:
    values = {"name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
              "status": "active", **data}
    return services.create_promo(clinic=clinic, data=values, actor=ANN)


def test_a_global_promo_is_created_with_its_shared_code(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # when a global promo is created
        promo = make_promo(clinic_a)
        # then it has one shared code and starts active as asked
        assert list(PromoCode.objects.filter(promo=promo).values_list("code", "patient_id")) == [("SPRING20", None)]
        assert promo.status == "active" and promo.uses == 0


def test_codes_are_unique_per_clinic_whatever_the_case(clinic_a, clinic_b, in_clinic):
    # given a promo with code SPRING20 in clinic A
    with in_clinic(clinic_a):
        make_promo(clinic_a)
        # when another promo of the clinic takes "spring20"
        with pytest.raises(ValidationError) as refused:
            make_promo(clinic_a, name="Other", code="spring20")
    # then it is refused, while clinic B may use the same code
    assert "code" in refused.value.message_dict
    with in_clinic(clinic_b):
        assert make_promo(clinic_b).pk


def test_a_tiered_promo_keeps_its_tiers_and_shows_the_entry_tier_as_its_discount(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # when a tiered promo is created with two thresholds
        promo = make_promo(clinic_a, kind="tiered", discount_type=None, discount_value=None, tiers=[
            {"min_order": "200", "discount_type": "percent", "discount_value": Decimal("20")},
            {"min_order": "100", "discount_type": "amount", "discount_value": Decimal("10")},
        ])
        # then the tiers are stored in order and the promo shows the first one
        tiers = list(PromoTier.objects.filter(promo=promo).values_list("min_order", "discount_type"))
    assert tiers == [(Decimal("100.00"), "amount"), (Decimal("200.00"), "percent")]
    assert (promo.discount_type, promo.discount_value) == ("amount", Decimal("10"))


def test_a_personalised_promo_has_no_shared_code(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        with pytest.raises(ValidationError):
            make_promo(clinic_a, kind="personalised")
        promo = make_promo(clinic_a, kind="personalised", code="")
        assert not PromoCode.objects.filter(promo=promo).exists()


def test_pause_and_activate_are_reversible(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given an active promo
        promo = make_promo(clinic_a)
        # when it is paused and activated again
        paused = services.pause_promo(promo=promo, actor=ANN)
        active = services.activate_promo(promo=promo, actor=ANN)
    # then it went through both
    assert (paused.status, active.status) == ("paused", "active")


def test_an_archived_promo_cannot_be_reactivated_or_edited(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given an archived promo
        promo = services.archive_promo(promo=make_promo(clinic_a), actor=ANN)
        # when it is activated or edited
        with pytest.raises(Conflict) as activate:
            services.activate_promo(promo=promo, actor=ANN)
        with pytest.raises(Conflict) as edit:
            services.update_promo(promo=promo, data={"name": "Back"}, actor=ANN)
    # then both are refused
    assert activate.value.code == "code_archived"
    assert activate.value.message == "This promo is archived and cannot be re-activated."
    assert edit.value.code == "code_archived"


@pytest.mark.parametrize("action", ["pause_promo", "activate_promo"])
def test_illegal_transitions_are_refused(clinic_a, in_clinic, action):
    with in_clinic(clinic_a):
        # given a draft (pause is illegal) or an active promo (activate is illegal)
        promo = make_promo(clinic_a, status="draft" if action == "pause_promo" else "active")
        # when moved
        with pytest.raises(Conflict) as refused:
            getattr(services, action)(promo=promo, actor=ANN)
    # then it is an illegal transition
    assert refused.value.code == "illegal_transition"


def test_a_cap_below_the_uses_already_made_is_refused(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given a promo used 3 times
        promo = make_promo(clinic_a)
        Promo.objects.filter(pk=promo.pk).update(uses=3)
        # when its cap is set to 2
        with pytest.raises(ValidationError) as refused:
            services.update_promo(promo=promo, data={"max_uses": 2}, actor=ANN)
    # then it is refused
    assert "max_uses" in refused.value.message_dict


def test_personal_codes_are_generated_in_bulk_one_unique_code_per_patient(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given a personalised promo and 30 patients
        promo = make_promo(clinic_a, kind="personalised", code="")
        patients = [PatientFactory() for _ in range(30)]
        # when codes are generated twice
        first = services.generate_personal_codes(promo=promo, patients=patients, actor=ANN, prefix="vip-")
        again = services.generate_personal_codes(promo=promo, patients=patients, actor=ANN, prefix="vip-")
    # then each patient has one code of their own, unique, kept on the second run
    assert len(first) == 30 and {c.patient_id for c in first} == {p.pk for p in patients}
    assert len({c.code.lower() for c in first}) == 30
    assert all(c.code.startswith("VIP-") for c in first)
    assert [c.code for c in again] == [c.code for c in first]


def test_personal_codes_are_only_for_personalised_promos(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        promo = make_promo(clinic_a)
        with pytest.raises(Conflict):
            services.generate_personal_codes(promo=promo, patients=[PatientFactory()], actor=ANN)


def test_personal_codes_export_as_csv_with_their_patients(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given personal codes for two patients, one with a name a spreadsheet would run as a formula
        promo = make_promo(clinic_a, kind="personalised", code="")
        ann = PatientFactory(first_name="Ann", last_name="Able", email="ann@example.com", external_id="a-1")
        eve = PatientFactory(first_name="=HYPERLINK(1)", last_name="Zed", external_id="z-1")
        codes = {c.patient_id: c.code for c in
                 services.generate_personal_codes(promo=promo, patients=[ann, eve], actor=ANN)}
        # when exported
        rows = list(csv.reader(io.StringIO(services.export_personal_codes_csv(promo=promo))))
    # then there is a header and a row per patient, formulas defused
    assert rows[0] == ["code", "patient_id", "external_id", "first_name", "last_name", "email"]
    assert rows[1] == [codes[ann.pk], str(ann.pk), "a-1", "Ann", "Able", "ann@example.com"]
    assert rows[2][3] == "'=HYPERLINK(1)"


def test_active_promos_count_among_the_clinics_active_promotions(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        # given the promotions counted before, then one active and one draft promo
        before = count_active_promotions()
        make_promo(clinic_a)
        make_promo(clinic_a, name="Later", code="LATER", status="draft")
        # then only the active one is added
        assert count_active_promotions() == before + 1
