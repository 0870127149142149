"""The manual push from a one-time offer and its history (OFF-5, OFF-6): only an offer patients can use
today gets a Push button, a push that can't help patients is refused with nothing queued, and the
history says which offer sent each push."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic_crm.common.errors import Conflict
from clinic_crm.tenancy.services import set_onesignal_credentials
from notifications.choices import PushStatus
from notifications.models import PushNotification
from offers.choices import Occasion
from offers.models import AutomatedOffer
from offers.services import delete_offer
from tests.factories import PatientFactory
from tests.offers.test_views import attr, dom, find, find_all, make_offer, rows, set_uses, url, words

pytestmark = pytest.mark.django_db

# Midday in London, Saturday 13 December 2025.
NOW = datetime(2025, 12, 13, 12, 0, tzinfo=timezone.UTC)
TODAY = date(2025, 12, 13)
PUSH = {"title": "Whitening week", "message": "£25 off, this week only"}


def offers_in_every_state(clinic, in_clinic):
    """One published offer per reason patients can or can't use it today, and a draft."""
    offers = {
        "live": make_offer(clinic, in_clinic, name="Live offer", valid_until=date(2025, 12, 31), published=True),
        "ended": make_offer(clinic, in_clinic, name="Ended offer", valid_from=date(2025, 11, 1),
                            valid_until=date(2025, 11, 20), published=True),
        "inactive": make_offer(clinic, in_clinic, name="Inactive offer", active=False, published=True),
        "scheduled": make_offer(clinic, in_clinic, name="Scheduled offer", valid_from=date(2026, 1, 5),
                                published=True),
        "cap_reached": make_offer(clinic, in_clinic, name="Full offer", max_uses=3, published=True),
        "draft": make_offer(clinic, in_clinic, name="Draft offer"),
    }
    set_uses(offers["cap_reached"], 3)
    return offers


def row_of(page, offer):
    [row] = [r for r in find_all(page, testid="offer-row") if attr(r, "data-offer-id") == str(offer.pk)]
    return row


# ---- The Push button ----

@time_machine.travel(NOW, tick=False)
def test_only_an_offer_patients_can_use_today_has_a_push_button(clinic_a, owner_a, client_for, in_clinic):
    # given a live offer and offers that are ended, inactive, not started yet, used up or unpublished
    offers = offers_in_every_state(clinic_a, in_clinic)

    # when the owner opens the One-time tab
    page = dom(client_for(owner_a).get(url(clinic_a, "list")))

    # then only the live offer has a Push button, and it opens that offer's push page
    has_push = {state: bool(find_all(row_of(page, offer), testid="push-button")) for state, offer in offers.items()}
    assert has_push == {"live": True, "ended": False, "inactive": False, "scheduled": False, "cap_reached": False,
                        "draft": False}
    button = find(row_of(page, offers["live"]), testid="push-button")
    assert attr(button, "href") == url(clinic_a, "push", offer_id=offers["live"].pk)


# ---- Refusing a push patients can't act on ----

def refused_push(client, clinic, offer):
    """Open the offer's push page and POST it anyway; assert what every refusal does: Send disabled,
    409, nothing queued. Returns the page's and the POST answer's push-blocked boxes."""
    page = dom(client.get(url(clinic, "push", offer_id=offer.pk)))
    send = find(page, testid="send-push")
    assert "disabled" in dict(send.attributes) and attr(send, "aria-describedby") == "push-blocked"
    response = client.post(url(clinic, "push", offer_id=offer.pk), PUSH)
    assert response.status_code == 409
    assert rows(clinic, PushNotification) == []
    return find(page, testid="push-blocked"), find(dom(response), testid="push-blocked")


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(("state", "reason"), [
    ("ended", "This offer ended on 20 Nov; patients can't see it."),
    ("inactive", "This offer is inactive; patients can't see it."),
    ("scheduled", "This offer starts on 5 Jan 2026; patients can't see it until then."),
    ("cap_reached", "This offer has used all 3 of its uses; patients can't redeem it any more."),
    ("draft", "This offer is not published; patients can't see it."),
])
def test_a_push_for_an_offer_that_is_not_live_is_refused_with_its_reason(
    clinic_a, owner_a, client_for, in_clinic, state, reason,
):
    # given an offer patients can't act on (ended 20 November but still published, inactive, ...)
    offer = offers_in_every_state(clinic_a, in_clinic)[state]
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2)

    # when the owner opens its push page and sends it anyway
    on_page, on_post = refused_push(client_for(owner_a), clinic_a, offer)

    # then both the page and the refused POST say why, and nothing was queued
    assert reason in words(on_page) and reason in words(on_post)


@time_machine.travel(NOW, tick=False)
def test_without_onesignal_credentials_the_send_button_is_disabled_and_links_to_the_settings(
    clinic_a, owner_a, client_for, in_clinic, settings,
):
    # given OneSignal as the push backend, a clinic that has not entered its credentials, and a live offer
    settings.PUSH_BACKEND = "onesignal"
    offer = offers_in_every_state(clinic_a, in_clinic)["live"]
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2)

    # when the owner opens the push page and sends it anyway
    blocked, _ = refused_push(client_for(owner_a), clinic_a, offer)

    # then Send was disabled and nothing queued, with the reason and a link to where the credentials go
    assert attr(blocked, "data-code") == "push_not_configured"
    assert "Push notifications are not set up for Clinic A" in words(blocked)
    link = find(blocked, testid="onesignal-settings-link")
    assert attr(link, "href") == reverse("settings:onesignal", kwargs={"clinic_slug": clinic_a.slug})


@time_machine.travel(NOW, tick=False)
def test_with_onesignal_credentials_or_another_backend_the_push_can_be_sent(
    clinic_a, owner_a, client_for, in_clinic, settings,
):
    # given a live offer and a clinic without OneSignal credentials on the console backend
    settings.PUSH_BACKEND = "console"
    offer = offers_in_every_state(clinic_a, in_clinic)["live"]
    client = client_for(owner_a)

    # then nothing blocks the push: the console backend needs no credentials
    page = dom(client.get(url(clinic_a, "push", offer_id=offer.pk)))
    assert not find_all(page, testid="push-blocked")
    assert "disabled" not in dict(find(page, testid="send-push").attributes)

    # and on OneSignal, once the credentials are in, neither does it
    settings.PUSH_BACKEND = "onesignal"
    set_onesignal_credentials(clinic=clinic_a, app_id="11111111-aaaa-4aaa-8aaa-111111111111", api_key="os_v2_key")
    page = dom(client.get(url(clinic_a, "push", offer_id=offer.pk)))
    assert not find_all(page, testid="push-blocked")


@time_machine.travel(NOW, tick=False)
def test_the_service_refuses_a_push_patients_cant_act_on_with_a_stable_code(clinic_a, in_clinic, settings):
    from offers.services.lifecycle import send_offer_push

    offers = offers_in_every_state(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        with pytest.raises(Conflict) as ended:
            send_offer_push(clinic=clinic_a, offer=offers["ended"], today=TODAY, **PUSH)
        settings.PUSH_BACKEND = "onesignal"
        with pytest.raises(Conflict) as unconfigured:
            send_offer_push(clinic=clinic_a, offer=offers["live"], today=TODAY, **PUSH)
    assert (ended.value.code, unconfigured.value.code) == ("offer_not_live", "push_not_configured")
    assert rows(clinic_a, PushNotification) == []


# ---- After sending ----

@time_machine.travel(NOW, tick=False)
def test_after_sending_the_message_says_queued_not_delivered(clinic_a, owner_a, client_for, in_clinic):
    # given a live offer and three patients with push on
    offer = offers_in_every_state(clinic_a, in_clinic)["live"]
    with in_clinic(clinic_a):
        PatientFactory.create_batch(3)

    # when the owner sends a push about it
    response = client_for(owner_a).post(url(clinic_a, "push", offer_id=offer.pk), PUSH, follow=True)

    # then the message says it was queued, and where its delivery will show; it claims no delivery
    [push] = rows(clinic_a, PushNotification)
    assert push.status == PushStatus.QUEUED and push.targeted_count == 3
    message = words(find(dom(response), "ul", cls="messages"))
    assert message == "Push “Whitening week” queued for 3 patients; the history below shows when it's sent."
    assert "on its way" not in message


# ---- Push Notification History names the offer ----

def test_push_history_rows_link_to_the_offer_that_sent_them(clinic_a, owner_a, client_for, in_clinic):
    # given pushes from a one-time offer, from Christmas, from an offer deleted since, and one with no source
    offer = make_offer(clinic_a, in_clinic, name="Spring whitening", published=True)
    gone = make_offer(clinic_a, in_clinic, name="Old offer", published=True)
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        for title, key in [("No source", ""), ("Gone", gone.promotion_key),
                           ("Merry Christmas", christmas.promotion_key), ("Whitening week", offer.promotion_key)]:
            PushNotification.objects.create(clinic=clinic_a, title=title, message="m", source_key=key,
                                            status=PushStatus.SENT, sent_count=4)
        delete_offer(offer=gone)

    # when the owner opens the One-time tab
    history = find(dom(client_for(owner_a).get(url(clinic_a, "list"))), testid="push-history")

    # then each row says which offer sent it and links to that offer
    by_title = {words(find(row, "span", cls="break")): row for row in find_all(history, testid="push-row")}
    source = find(by_title["Whitening week"], testid="push-source")
    assert words(source) == "From Spring whitening"
    assert attr(find(source, "a"), "href") == url(clinic_a, "redemptions", offer_id=offer.pk)
    source = find(by_title["Merry Christmas"], testid="push-source")
    assert words(source) == "From Christmas (automated)"
    assert attr(find(source, "a"), "href") == f"{url(clinic_a, 'automated')}#automated-{christmas.pk}"
    assert words(find(by_title["Gone"], testid="push-source")) == "From an offer since deleted"
    assert not find_all(by_title["Gone"], "a")
    assert not find_all(by_title["No source"], testid="push-source")


def test_the_automated_tab_has_the_anchor_a_history_link_points_at(clinic_a, owner_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    page = dom(client_for(owner_a).get(url(clinic_a, "automated")))
    [card] = [c for c in find_all(page, testid="automated-row") if attr(c, "data-occasion") == Occasion.CHRISTMAS]
    assert attr(card, "id") == f"automated-{christmas.pk}"


def test_push_history_costs_the_same_queries_however_many_offers_sent_pushes(clinic_a, owner_a, client_for,
                                                                           in_clinic):
    # given ten pushes, each from a different offer
    with in_clinic(clinic_a):
        for i in range(10):
            offer = make_offer(clinic_a, in_clinic, name=f"Offer {i}", discount_value=Decimal("5"))
            PushNotification.objects.create(clinic=clinic_a, title=f"Push {i}", message="m",
                                            source_key=offer.promotion_key, status=PushStatus.SENT)
    client = client_for(owner_a)
    client.get(url(clinic_a, "list"))

    # when the list is shown with all ten, and again with one
    with CaptureQueriesContext(connection) as ten:
        response = client.get(url(clinic_a, "list"))
    assert len(find_all(dom(response), testid="push-source")) == 10
    with in_clinic(clinic_a):
        PushNotification.objects.all().delete()
        PushNotification.objects.create(clinic=clinic_a, title="One", message="m", source_key="offer_1",
                                        status=PushStatus.SENT)
    with CaptureQueriesContext(connection) as one:
        client.get(url(clinic_a, "list"))

    # then the page costs the same number of queries
    assert len(ten) == len(one)
