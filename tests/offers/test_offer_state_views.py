"""What the Offers tabs say about each offer's state (OFF-1, OFF-3): one overall state per one-time
offer beside the seed's Published/Draft badge, and automated offers listed by when they next matter."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.utils import timezone

from offers.choices import Occasion
from offers.models import AutomatedOffer
from offers.services import configure_automated_offer
from tests.offers.test_push_views import offers_in_every_state, row_of
from tests.offers.test_views import attr, classes, dom, find, find_all, url, words

pytestmark = pytest.mark.django_db

# Midday in London, Saturday 13 December 2025: Christmas is 12 days away.
NOW = datetime(2025, 12, 13, 12, 0, tzinfo=timezone.UTC)


# ---- One-time offers: one overall state ----

@time_machine.travel(NOW, tick=False)
def test_each_one_time_offer_shows_its_published_badge_and_one_overall_state(
    clinic_a, owner_a, client_for, in_clinic,
):
    # given a live offer and offers that are ended, inactive, not started yet, used up or unpublished
    offers = offers_in_every_state(clinic_a, in_clinic)

    # when the owner opens the One-time tab
    page = dom(client_for(owner_a).get(url(clinic_a, "list")))

    # then each row has the seed's Published/Draft badge and at most one state badge, which never contradicts it
    shown = {}
    for state, offer in offers.items():
        badges = find(row_of(page, offer), testid="offer-badges")
        assert len(find_all(badges, testid="published-badge")) == 1, state
        assert len(find_all(badges, testid="state-badge")) <= 1, state
        shown[state] = [words(badge) for badge in find_all(badges, cls="badge")]
    assert shown == {
        "live": ["Published", "Live"],
        "ended": ["Published", "Ended 20 Nov"],
        "inactive": ["Published", "Inactive"],
        "scheduled": ["Published", "Starts 5 Jan 2026"],
        "cap_reached": ["Published", "Cap reached"],
        "draft": ["Draft"],
    }
    # and only the live row carries a green badge: an ended offer shows no green "Active"
    for state, offer in offers.items():
        greens = [b for b in find_all(row_of(page, offer), cls="badge") if "badge-green" in classes(b)]
        assert [words(b) for b in greens] == (["Live"] if state == "live" else []), state
    # and a published offer patients can't see has its Published badge greyed, not in the brand colour
    ended_published = find(row_of(page, offers["ended"]), testid="published-badge")
    assert "badge-brand" not in classes(ended_published) and "badge-outline" in classes(ended_published)
    assert "badge-brand" in classes(find(row_of(page, offers["live"]), testid="published-badge"))


@time_machine.travel(NOW, tick=False)
def test_the_redemptions_page_shows_the_same_overall_state(clinic_a, owner_a, client_for, in_clinic):
    offer = offers_in_every_state(clinic_a, in_clinic)["ended"]
    page = dom(client_for(owner_a).get(url(clinic_a, "redemptions", offer_id=offer.pk)))
    assert words(find(page, testid="state-badge")) == "Ended 20 Nov 2025"


# ---- Automated offers: open first, then active, each soonest first ----

def set_automated(clinic, in_clinic, occasion, **data):
    with in_clinic(clinic):
        offer = AutomatedOffer.objects.get(occasion=occasion)
        return configure_automated_offer(automated_offer=offer, data=data)


@time_machine.travel(NOW, tick=False)
def test_automated_tab_lists_open_then_active_then_inactive_offers_each_soonest_first(
    clinic_a, owner_a, client_for, in_clinic,
):
    # given Black Friday fired and still redeemable in the app until 15 Dec, Christmas, Halloween and
    # Birthday active, and every other occasion inactive
    black_friday = set_automated(clinic_a, in_clinic, Occasion.BLACK_FRIDAY, active=True, published=True)
    with in_clinic(clinic_a):
        AutomatedOffer.objects.filter(pk=black_friday.pk).update(redeemable_until=date(2025, 12, 15))
    for occasion in (Occasion.HALLOWEEN, Occasion.CHRISTMAS, Occasion.BIRTHDAY):
        set_automated(clinic_a, in_clinic, occasion, active=True, published=True)

    # when the owner opens the Automated tab
    cards = find_all(dom(client_for(owner_a).get(url(clinic_a, "automated"))), testid="automated-row")

    # then the open offer comes first, then the active ones, then the inactive ones, each by next date
    assert [attr(card, "data-occasion") for card in cards] == [
        Occasion.BLACK_FRIDAY,  # open in the app now
        Occasion.BIRTHDAY, Occasion.CHRISTMAS, Occasion.HALLOWEEN,  # active: every day, 25 Dec, 31 Oct 2026
        Occasion.NEW_YEAR, Occasion.VALENTINES_DAY, Occasion.MOTHERS_DAY, Occasion.EASTER, Occasion.FATHERS_DAY,
        Occasion.SUMMER,  # inactive: 1 Jan, 14 Feb, 15 Mar, 5 Apr, 21 Jun, 1 Jul 2026
    ]
    # and each card shows its next occasion date in the clinic's calendar, and how far off it is
    by_occasion = {attr(card, "data-occasion"): card for card in cards}
    assert words(find(by_occasion[Occasion.CHRISTMAS], testid="next-date")) == "Next: Thu 25 Dec 2025 · in 12 days"
    assert words(find(by_occasion[Occasion.NEW_YEAR], testid="next-date")) == "Next: Thu 1 Jan 2026 · in 19 days"
    assert words(find(by_occasion[Occasion.EASTER], testid="next-date")) == "Next: Sun 5 Apr 2026 · in 4 months"
    assert words(find(by_occasion[Occasion.BIRTHDAY], testid="next-date")) == "Each patient's birthday"
    # and the open offer says until when patients can redeem it
    assert words(find(by_occasion[Occasion.BLACK_FRIDAY], testid="open-until")) == (
        "In the app now, redeemable until Mon 15 Dec")
    assert not find_all(by_occasion[Occasion.CHRISTMAS], testid="open-until")


@time_machine.travel(datetime(2025, 12, 25, 10, 0, tzinfo=timezone.UTC), tick=False)
def test_on_the_day_itself_the_next_date_says_today(clinic_a, owner_a, client_for, in_clinic):
    cards = find_all(dom(client_for(owner_a).get(url(clinic_a, "automated"))), testid="automated-row")
    [christmas] = [c for c in cards if attr(c, "data-occasion") == Occasion.CHRISTMAS]
    assert words(find(christmas, testid="next-date")) == "Next: Thu 25 Dec 2025 · today"


@time_machine.travel(NOW, tick=False)
def test_automated_edit_page_shows_the_next_occasion_and_a_breadcrumb_from_offers(
    clinic_a, owner_a, client_for, in_clinic,
):
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        birthday = AutomatedOffer.objects.get(occasion=Occasion.BIRTHDAY)
    client = client_for(owner_a)

    page = dom(client.get(url(clinic_a, "automated_edit", automated_id=christmas.pk)))

    crumbs = find(page, "nav", cls="crumbs")
    assert [(words(a), attr(a, "href")) for a in find_all(crumbs, "a")] == [
        ("Offers", url(clinic_a, "list")), ("Automated Offers", url(clinic_a, "automated"))]
    assert words(find(page, testid="next-date")) == (
        "Next occasion: Thursday 25 December 2025 (in 12 days), at 9:00 Europe/London.")
    page = dom(client.get(url(clinic_a, "automated_edit", automated_id=birthday.pk)))
    assert words(find(page, testid="next-date")) == "Fires on each patient's birthday, at 9:00 Europe/London."


@time_machine.travel(NOW, tick=False)
def test_a_us_clinic_sees_its_own_calendar_on_the_edit_page(clinic_b, owner_b, client_for, in_clinic):
    with in_clinic(clinic_b):
        mothers_day = AutomatedOffer.objects.get(occasion=Occasion.MOTHERS_DAY)
    page = dom(client_for(owner_b).get(url(clinic_b, "automated_edit", automated_id=mothers_day.pk)))
    assert words(find(page, testid="next-date")).startswith("Next occasion: Sunday 10 May 2026")
