"""Coupon, stamp and reward cards: issue, redeem once, linked conversion, stamps, delete, expiry (COU-1 … COU-6)."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from clinic_crm.common.choices import DiscountSource
from clinic_crm.common.errors import ApplicationError
from clinic_crm.orders.models import Order
from clinic_crm.patients.selectors import get_patient_stats
from clinic_crm.tenancy.context import clinic_scope
from coupons import selectors, services
from coupons.choices import CardAction, CardStatus, CouponStatus
from coupons.models import Card, CardActivity
from redemptions.choices import RedemptionStatus
from redemptions.models import Redemption
from tests.coupons.factories import SAM, make_template
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", external_id="ann-1")


def test_a_card_gets_an_unguessable_serial_and_its_expiry_from_the_template(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        template = make_template(clinic_a, validity_days=30)
        with time_machine.travel(date(2026, 3, 1)):
            card = services.issue_card(template=template, patient=ann, actor=SAM, utm="instagram",
                                       installed_on="apple_wallet")
    assert len(card.serial) == 19 and card.serial.count("-") == 3
    assert (card.status, card.installed_on, card.utm) == (CardStatus.INSTALLED, "apple_wallet", "instagram")
    assert card.expires_on == date(2026, 3, 31)
    assert card.install_token != card.referral_token and len(card.install_token) >= 32


def test_redeeming_with_a_purchase_records_an_order_the_ledger_row_and_ltv(clinic_a, in_clinic, ann):
    # given a £10-off coupon
    with in_clinic(clinic_a):
        template = make_template(clinic_a, discount_type="amount", discount_value=Decimal("10"))
        card = services.issue_card(template=template, patient=ann, actor=SAM)
        before = get_patient_stats(patient=ann)
        # when it is redeemed on an £80 purchase
        result = services.redeem_card(card=card, actor=SAM, purchase_amount=Decimal("80.00"))
        # then the card is redeemed, the order carries the discount, and the ledger has it
        card.refresh_from_db()
        after = get_patient_stats(patient=ann)
        order = Order.objects.get(pk=result.order.pk)
        redemption = Redemption.objects.get(pk=result.redemption.pk)
    assert card.coupon_status == CouponStatus.REDEEMED and card.redeemed_at is not None
    assert (order.subtotal, order.discount_amount, order.total) == (Decimal("80.00"), Decimal("10.00"),
                                                                    Decimal("70.00"))
    assert (order.discount_source, order.source_key) == (DiscountSource.COUPON, template.promotion_key)
    assert (redemption.status, redemption.promotion_key, redemption.order_id) == (
        RedemptionStatus.APPLIED, template.promotion_key, order.pk)
    assert after.visits == before.visits + 1
    assert after.lifetime_value == before.lifetime_value + Decimal("70.00")


def test_a_second_redeem_is_refused_with_a_clear_message(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        card = services.issue_card(template=make_template(clinic_a), patient=ann, actor=SAM)
        services.redeem_card(card=card, actor=SAM)
        with pytest.raises(ApplicationError) as refused:
            services.redeem_card(card=card, actor=SAM)
    assert refused.value.code == "already_redeemed" and "already redeemed" in refused.value.message


def test_a_required_purchase_amount_must_be_given(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        card = services.issue_card(template=make_template(clinic_a, purchase_amount_required=True), patient=ann,
                                   actor=SAM)
        with pytest.raises(ApplicationError) as refused:
            services.redeem_card(card=card, actor=SAM)
        card.refresh_from_db()
    assert refused.value.code == "validation_error" and "purchase_amount" in refused.value.extra["fields"]
    assert card.coupon_status == CouponStatus.ACTIVE


@pytest.mark.parametrize("state,code", [("deleted", "card_deleted"), ("expired", "card_expired")])
def test_a_deleted_or_expired_card_cannot_be_redeemed(clinic_a, in_clinic, ann, state, code):
    with in_clinic(clinic_a):
        card = services.issue_card(template=make_template(clinic_a), patient=ann, actor=SAM)
        if state == "deleted":
            services.delete_card(card=card, actor=SAM)
        else:
            services.change_card_expiration(card=card, expires_on=clinic_a.today() - timedelta(days=1), actor=SAM)
        with pytest.raises(ApplicationError) as refused:
            services.redeem_card(card=card, actor=SAM)
        assert not Redemption.objects.exists()
    assert refused.value.code == code


def test_a_linked_coupon_turns_into_its_stamp_card_and_only_the_coupon_counts_the_installation(
        clinic_a, in_clinic, ann):
    # given a welcome coupon linked to a stamp card, installed by Ann
    with in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish")
        stamp = make_template(clinic_a, kind="stamp", name="Loyalty", stamps_required=5, reward_template=reward)
        coupon = make_template(clinic_a, name="Welcome", linked_template=stamp)
        card = services.issue_card(template=coupon, patient=ann, actor=SAM, installed_on="pwa")
        # when the coupon is redeemed
        result = services.redeem_card(card=card, actor=SAM, purchase_amount=Decimal("50"))
        # then Ann holds a stamp card converted from the coupon
        counts = {t.name: t.installed_users for t in selectors.list_card_templates()}
        cards = selectors.list_patient_cards(patient=ann)
    assert result.linked_card.template == stamp and result.linked_card.converted_from_id == card.pk
    assert [c.template.name for c in cards] == ["Loyalty", "Welcome"]
    # and the installation is counted under the coupon only
    assert counts == {"Welcome": 1, "Loyalty": 0, "Free polish": 0}


def test_a_full_stamp_card_gives_its_reward_and_starts_again(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish", discount_type="free_treatment",
                               discount_value=None)
        stamp = make_template(clinic_a, kind="stamp", name="Loyalty", stamps_required=3, reward_template=reward)
        card = services.issue_card(template=stamp, patient=ann, actor=SAM)
        outcomes = [services.add_stamp(card=card, actor=SAM) for _ in range(3)]
        card.refresh_from_db()
        reward_card = outcomes[-1].reward_card
        # the reward is redeemed once, like a coupon
        services.redeem_card(card=reward_card, actor=SAM)
        actions = list(CardActivity.objects.filter(card=card).order_by("id").values_list("action", flat=True))
    assert [o.reward_card for o in outcomes[:2]] == [None, None]
    assert reward_card.template == reward and card.stamps == 0
    assert actions == [CardAction.ISSUED, CardAction.STAMPED, CardAction.STAMPED, CardAction.STAMPED,
                       CardAction.REWARDED]


def test_a_stamp_card_itself_is_not_redeemed(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish")
        stamp = make_template(clinic_a, kind="stamp", stamps_required=3, reward_template=reward)
        card = services.issue_card(template=stamp, patient=ann, actor=SAM)
        with pytest.raises(ApplicationError) as refused:
            services.redeem_card(card=card, actor=SAM)
    assert refused.value.code == "not_redeemable"


@pytest.mark.parametrize("data,field", [
    ({"kind": "stamp"}, "stamps_required"),
    ({"kind": "reward", "linked_template": "stamp"}, "linked_template"),
    ({"validity_days": 30, "valid_until": date(2027, 1, 1)}, "valid_until"),
    ({"custom_fields": [{"key": "Bad Key", "label": "X"}]}, "custom_fields"),
    ({"discount_type": "percent", "discount_value": Decimal("150")}, "discount_value"),
])
def test_template_rules_are_refused_with_the_field(clinic_a, in_clinic, data, field):
    with in_clinic(clinic_a):
        if data.get("linked_template") == "stamp":
            reward = make_template(clinic_a, kind="reward")
            data = {**data, "linked_template": make_template(clinic_a, kind="stamp", stamps_required=2,
                                                             reward_template=reward)}
        with pytest.raises(ValidationError) as refused:
            make_template(clinic_a, **data)
    assert field in refused.value.message_dict


def test_deleting_and_changing_the_expiry_are_logged(clinic_a, in_clinic, ann):
    with in_clinic(clinic_a):
        card = services.issue_card(template=make_template(clinic_a), patient=ann, actor=SAM)
        services.change_card_expiration(card=card, expires_on=date(2027, 5, 1), actor=SAM)
        services.delete_card(card=card, actor=SAM)
        card.refresh_from_db()
        rows = list(CardActivity.objects.filter(card=card).order_by("id").values_list("action", "details"))
    assert card.status == CardStatus.DELETED and card.deleted_at is not None
    assert rows[1:] == [(CardAction.EXPIRATION_CHANGED, {"before": None, "after": "2027-05-01"}),
                        (CardAction.DELETED, {"before": "not_installed"})]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_redeems_of_one_card_redeem_it_once(clinic_a):
    # given one coupon card
    with clinic_scope(clinic_a.pk):
        patient = PatientFactory(clinic_id=clinic_a.pk)
        card = services.issue_card(template=make_template(clinic_a), patient=patient, actor=SAM)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def till():
        try:
            barrier.wait()
            with clinic_scope(clinic_a.pk):
                services.redeem_card(card=card, actor=SAM, purchase_amount=Decimal("20"))
            outcomes.append("redeemed")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    # when twenty tills press Redeem at once
    threads = [threading.Thread(target=till) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    # then exactly one redeems it, the others are told it is redeemed, and one order exists
    assert sorted(outcomes) == ["already_redeemed"] * 19 + ["redeemed"]
    with clinic_scope(clinic_a.pk):
        assert Redemption.objects.filter(promotion_key=card.template.promotion_key).count() == 1
        assert Order.objects.filter(patient=patient).count() == 1
        assert Card.objects.get(pk=card.pk).coupon_status == CouponStatus.REDEEMED
