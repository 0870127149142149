"""Reads behind the Offers pages: rows, the attention list and redemption totals (OFF-1, OFF-3, OFF-9, OFF-12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.services import set_onesignal_credentials
from offers import selectors
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from offers.services import configure_automated_offer, create_offer

pytestmark = pytest.mark.django_db

TODAY = date(2025, 12, 13)  # Christmas in 12 days, New Year in 19


def offer(clinic, **data):
    defaults = {"name": "Whitening", "title": "Whitening", "discount_type": DiscountType.PERCENT,
                "discount_value": Decimal("10")}
    return create_offer(clinic=clinic, data={**defaults, **data})


def use(o, uses):
    Offer.objects.filter(pk=o.pk).update(current_uses=uses)


def set_automated(occasion, **data):
    return configure_automated_offer(automated_offer=AutomatedOffer.objects.get(occasion=occasion), data=data)


def keys(clinic, today=TODAY):
    return [item.key for item in selectors.list_offer_attention(clinic=clinic, today=today)]


def test_a_clinic_with_nothing_active_needs_no_attention(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        offer(clinic_a, published=True)
        assert keys(clinic_a) == []


def test_an_active_but_unpublished_automated_offer_is_flagged(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        set_automated(Occasion.HALLOWEEN, active=True)
        set_automated(Occasion.EASTER, active=True, published=True)
        set_automated(Occasion.SUMMER, published=True)  # published but inactive: nothing fires

        items = selectors.list_offer_attention(clinic=clinic_a, today=TODAY)

    assert [i.key for i in items] == ["unpublished_automated:halloween"]
    assert "push patients can't see in the app" in items[0].text
    assert items[0].url_name == "offers:automated"


def test_occasions_due_within_14_days_are_flagged_only_while_onesignal_is_off(clinic_a, in_clinic, settings):
    settings.PUSH_BACKEND = "onesignal"
    with in_clinic(clinic_a):
        for occasion in (Occasion.CHRISTMAS, Occasion.NEW_YEAR, Occasion.EASTER, Occasion.BIRTHDAY):
            set_automated(occasion, active=True, published=True)

        # Christmas is 12 days away, New Year 19, Easter months; Birthday fires every day someone has one
        assert keys(clinic_a) == ["push_off:christmas", "push_off:birthday"]
        assert "push_off:new_year" in keys(clinic_a, today=date(2025, 12, 18))  # exactly 14 days ahead
        christmas = selectors.list_offer_attention(clinic=clinic_a, today=TODAY)[0]
        assert christmas.title == "Christmas fires on 25 Dec 2025 without push"
        assert christmas.url_name == "settings:onesignal"

    set_onesignal_credentials(clinic=clinic_a, app_id="8c1b3f44-0000-4000-8000-000000000001", api_key="os_v2_k")
    clinic_a.refresh_from_db()
    with in_clinic(clinic_a):
        assert keys(clinic_a) == []


def test_a_published_offer_past_its_until_date_is_flagged(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        ended = offer(clinic_a, name="Autumn", valid_until=date(2025, 12, 12), published=True)
        offer(clinic_a, name="Ends today", valid_until=TODAY, published=True)
        offer(clinic_a, name="Ended draft", valid_until=date(2025, 11, 1), published=False)

        assert keys(clinic_a) == [f"ended_published:{ended.pk}"]


@pytest.mark.parametrize(("uses", "flagged"), [(39, False), (40, True), (50, True)])
def test_caps_at_80_percent_or_more_are_flagged(clinic_a, in_clinic, uses, flagged):
    with in_clinic(clinic_a):
        capped = offer(clinic_a, max_uses=50, published=True)
        use(capped, uses)

        items = selectors.list_offer_attention(clinic=clinic_a, today=TODAY)

    assert [i.key for i in items] == ([f"cap:{capped.pk}"] if flagged else [])
    if uses == 50:
        assert "has reached its cap" in items[0].title and "no longer redeem" in items[0].text
    elif flagged:
        assert "nearly used up" in items[0].title and "40 of 50" in items[0].text


def test_an_inactive_offers_cap_is_not_flagged(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        capped = offer(clinic_a, max_uses=10, active=False)
        use(capped, 10)
        assert keys(clinic_a) == []


def test_attention_reads_only_the_clinic_in_scope(clinic_a, clinic_b, in_clinic):
    with in_clinic(clinic_b):
        set_automated(Occasion.CHRISTMAS, active=True)
    with in_clinic(clinic_a):
        assert keys(clinic_a) == []


def test_offer_cards_judge_dates_usage_and_visibility(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        live = offer(clinic_a, name="Live", max_uses=4, published=True)
        use(live, 1)
        offer(clinic_a, name="Upcoming", valid_from=date(2026, 1, 1), published=True)
        full = offer(clinic_a, name="Full", max_uses=2, published=True, discount_type=DiscountType.AMOUNT,
                     discount_value=Decimal("25"))
        use(full, 2)

        cards = {c.offer.name: c for c in selectors.list_offer_cards(currency="GBP", today=TODAY)}

    assert cards["Live"].usage_percent == 25 and cards["Live"].in_app
    assert cards["Upcoming"].upcoming and not cards["Upcoming"].in_app and cards["Upcoming"].usage_percent is None
    assert cards["Full"].cap_reached and not cards["Full"].in_app and cards["Full"].discount_label == "£25.00 Off"


def test_automated_cards_come_in_calendar_order_with_next_dates(clinic_b, in_clinic):
    with in_clinic(clinic_b):
        cards = selectors.list_automated_offer_cards(currency="USD", locale="us", today=TODAY)

    assert [c.automated_offer.occasion for c in cards] == list(Occasion.values)
    by_occasion = {c.automated_offer.occasion: c for c in cards}
    assert by_occasion[Occasion.CHRISTMAS].next_date == date(2025, 12, 25)
    assert by_occasion[Occasion.MOTHERS_DAY].next_date == date(2026, 5, 10)  # the US second Sunday of May
    assert by_occasion[Occasion.BIRTHDAY].next_date is None and by_occasion[Occasion.BIRTHDAY].is_birthday
    assert by_occasion[Occasion.CHRISTMAS].discount_label == "10% Off"


def test_nothing_is_flagged_about_push_with_a_backend_that_needs_no_credentials(clinic_a, in_clinic, settings):
    # given Christmas due in 12 days, no OneSignal credentials, and pushes going to the console
    settings.PUSH_BACKEND = "console"
    with in_clinic(clinic_a):
        set_automated(Occasion.CHRISTMAS, active=True, published=True)
        # then the push is deliverable and nothing asks for OneSignal
        assert keys(clinic_a) == []
