"""The app's config lists the clinic's card designs (COU-1), through the promotion registry."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from coupons import services
from tests.coupons.factories import SAM, make_template

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/app/config"


def config_cards(app_client_for, clinic, **headers):
    response = app_client_for(clinic).get(CONFIG, **headers)
    assert response.status_code == 200
    return response, response.json()["cards"]


@time_machine.travel(date(2026, 12, 7), tick=False)
def test_card_designs_are_in_the_config_until_their_last_day(clinic_a, clinic_b, in_clinic, app_client_for,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish", discount_type="free_treatment",
                               discount_value=None)
        stamp = make_template(clinic_a, kind="stamp", name="Loyalty", stamps_required=5, reward_template=reward,
                              colour="#7c3aed")
        coupon = make_template(clinic_a, name="Welcome", discount_type="amount", discount_value=Decimal("10"),
                               valid_until=date(2026, 12, 7), description="First visit only")
        make_template(clinic_a, name="Ended", valid_until=date(2026, 12, 6))
    with in_clinic(clinic_b):
        make_template(clinic_b, name="B secret card")
    _, cards = config_cards(app_client_for, clinic_a)
    assert cards == [
        {"id": reward.promotion_key, "kind": "reward", "name": "Free polish", "description": "", "colour": "#0f766e",
         "logo_url": "", "discount_label": "Free Treatment", "stamps_required": None, "valid_until": None},
        {"id": stamp.promotion_key, "kind": "stamp", "name": "Loyalty", "description": "", "colour": "#7c3aed",
         "logo_url": "", "discount_label": "Free Treatment", "stamps_required": 5, "valid_until": None},
        {"id": coupon.promotion_key, "kind": "coupon", "name": "Welcome", "description": "First visit only",
         "colour": "#0f766e", "logo_url": "", "discount_label": "£10.00 Off", "stamps_required": None,
         "valid_until": "2026-12-07"},
    ]


def test_editing_a_design_changes_the_next_fetch(clinic_a, in_clinic, app_client_for,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        template = make_template(clinic_a, name="Welcome")
    response, cards = config_cards(app_client_for, clinic_a)
    assert [c["name"] for c in cards] == ["Welcome"]
    with django_capture_on_commit_callbacks(execute=True), in_clinic(clinic_a):
        services.update_card_template(template=template, data={"name": "Welcome back"}, actor=SAM)
    again, cards = config_cards(app_client_for, clinic_a, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again["ETag"] != response["ETag"]
    assert [c["name"] for c in cards] == ["Welcome back"]
