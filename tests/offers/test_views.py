"""The Offers section of the dashboard (OFF-1 … OFF-3, OFF-5, OFF-6, OFF-9, OFF-12)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.template import Context, Template
from django.test.html import Element, parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource, DiscountType
from clinic_crm.tenancy.context import clinic_scope
from notifications.choices import PushStatus
from notifications.models import PushNotification
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from offers.services import configure_automated_offer, create_offer, publish_offer
from redemptions.choices import RedemptionStatus
from redemptions.models import Redemption
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db

# Midday in London on a Tuesday: Christmas is 12 days away, New Year 19.
NOW = datetime(2025, 12, 13, 12, 0, tzinfo=timezone.UTC)


def url(clinic, name, **kwargs):
    return reverse(f"offers:{name}", kwargs={"clinic_slug": clinic.slug, **kwargs})


def make_offer(clinic, in_clinic, *, published=False, **data):
    defaults = {"name": "Spring whitening", "title": "£25 off whitening", "discount_type": DiscountType.AMOUNT,
                "discount_value": Decimal("25.00")}
    with in_clinic(clinic):
        offer = create_offer(clinic=clinic, data={**defaults, **data})
        if published:
            publish_offer(offer=offer)
        return offer


def redeem(offer, patient, *, status=RedemptionStatus.PENDING, order=None, amount=None):
    return Redemption.objects.create(
        clinic_id=offer.clinic_id, promotion_key=offer.promotion_key, promotion_kind="offer", promotion_id=offer.pk,
        promotion_name=offer.name, patient=patient, status=status, discount_type=offer.discount_type,
        discount_value=offer.discount_value, discount_label="£25.00 Off", order=order, discount_amount=amount,
        applied_at=timezone.now() if status == RedemptionStatus.APPLIED else None,
    )


def reload(obj):
    # Rows are read inside their clinic's scope: outside it, PostgreSQL's row-level security hides them.
    with clinic_scope(obj.clinic_id):
        obj.refresh_from_db()
    return obj


def set_uses(offer, uses: int) -> None:
    with clinic_scope(offer.clinic_id):
        Offer.objects.filter(pk=offer.pk).update(current_uses=uses)


def rows(clinic, model, **filters):
    with clinic_scope(clinic.pk):
        return list(model.objects.filter(**filters))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def visible(response) -> str:
    """The page's words without markup, the way a reader sees them."""
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


# The page parsed with Django's own test HTML parser, so a test looks at one row, cell or badge.

def dom(response) -> Element:
    return parse_html(response.content.decode())


def attr(element: Element, name: str) -> str | None:
    return dict(element.attributes).get(name)


def classes(element: Element) -> set[str]:
    return set((attr(element, "class") or "").split())


def find_all(node: Element, tag: str | None = None, *, testid: str | None = None,
             cls: str | None = None) -> list[Element]:
    """Every element under node, in document order, with that tag, data-testid and class."""
    found = []
    for child in node.children:
        if not isinstance(child, Element):
            continue
        if ((tag is None or child.name == tag) and (testid is None or attr(child, "data-testid") == testid)
                and (cls is None or cls in classes(child))):
            found.append(child)
        found.extend(find_all(child, tag, testid=testid, cls=cls))
    return found


def find(node: Element, tag: str | None = None, **kwargs) -> Element:
    [element] = find_all(node, tag, **kwargs)
    return element


def words(node: Element | str) -> str:
    """An element's text the way a reader sees it."""
    if isinstance(node, str):
        return node
    return re.sub(r"\s+", " ", " ".join(words(child) for child in node.children)).strip()


def icon_shape(node: Element) -> list[str]:
    """The path data of the one Lucide icon inside node: which icon it is, whatever its size or class."""
    return [attr(path, "d") for path in find_all(find(node, "svg"), "path")]


def lucide_shape(name: str) -> list[str]:
    return icon_shape(parse_html(Template('{% load lucide %}<i>{% lucide "' + name + '" %}</i>').render(Context())))


# ---- One-time tab ----

@time_machine.travel(datetime(2025, 7, 15, 12, 0, tzinfo=timezone.UTC), tick=False)
def test_one_time_tab_shows_each_offer_with_label_badges_dates_and_usage(clinic_a, owner_a, client_for, in_clinic):
    # given, in mid-July, a published summer percent offer with a cap, an amount offer and a draft free treatment
    glow = make_offer(clinic_a, in_clinic, name="Summer glow", discount_type=DiscountType.PERCENT,
                      discount_value=Decimal("20"), valid_from=date(2025, 6, 1), valid_until=date(2025, 8, 31),
                      max_uses=50, published=True)
    make_offer(clinic_a, in_clinic, name="Whitening", published=True)
    make_offer(clinic_a, in_clinic, name="Free consult", discount_type=DiscountType.FREE_TREATMENT, active=False)
    set_uses(glow, 12)

    # when the owner opens the One-time tab
    response = client_for(owner_a).get(url(clinic_a, "list"))

    # then every seed field and our additions are on the page
    assert response.status_code == 200
    page, words = text(response), visible(response)
    for expected in ("20% Off", "£25.00 Off", "Free Treatment", "12 / 50 used", "1 Jun 2025 – 31 Aug 2025",
                     "Inactive", "Draft", "New offer", "No end date"):
        assert expected in words, expected
    assert page.count('data-testid="push-button"') == 2  # only the two published, live offers
    assert page.count('data-testid="offer-menu"') == 3
    assert page.count("See redemptions") == 3


def test_one_time_tab_has_an_empty_state(clinic_a, owner_a, client_for):
    page = text(client_for(owner_a).get(url(clinic_a, "list")))
    assert "No one-time offers yet" in page and "Push Notification History" not in page


def test_push_history_shows_the_10_newest_in_the_clinic_timezone_and_failure_reasons(
    clinic_a, owner_a, client_for, in_clinic,
):
    # given 12 pushes, the newest a failure with a reason, sent just after midnight London summer time
    with in_clinic(clinic_a):
        for i in range(12):
            push = PushNotification.objects.create(clinic=clinic_a, title=f"Push {i:02d}", message="m",
                                                   status=PushStatus.SENT, sent_count=40 + i)
            created = datetime(2025, 7, 1, 23, 30, tzinfo=timezone.UTC) + timedelta(days=i)
            PushNotification.objects.filter(pk=push.pk).update(created_at=created)
        PushNotification.objects.filter(title="Push 11").update(
            status=PushStatus.FAILED, failure_reason="OneSignal credentials are not configured.")

    # when the history is shown
    response = client_for(owner_a).get(url(clinic_a, "list"))
    page = text(response)

    # then only the ten newest rows appear, newest first, dated in Europe/London
    assert page.count('data-testid="push-row"') == 10
    assert "Push 11" in page and "Push 02" in page and "Push 01" not in page and "Push 00" not in page
    assert page.index("Push 11") < page.index("Push 10")
    assert "13 Jul 2025" in page  # 23:30 UTC on 12 Jul is 00:30 on 13 Jul in London
    assert 'badge badge-red" data-testid="push-status">Failed' in page
    assert "OneSignal credentials are not configured." in page
    assert 'badge badge-green" data-testid="push-status">Sent' in page


def test_push_history_table_shows_date_title_sent_and_a_status_badge_per_row_in_the_clinic_timezone(
    clinic_b, owner_b, client_for, in_clinic,
):
    # given a New York clinic with a push that reached 37 of the 40 devices it targeted, one that failed
    # and one that found nobody to send to, each logged in the small hours UTC (the evening before in New York)
    pushes = [
        ("Summer glow", PushStatus.SENT, 37, "", datetime(2025, 7, 13, 2, 30, tzinfo=timezone.UTC)),
        ("Whitening week", PushStatus.FAILED, 0, "OneSignal is not configured for this clinic",
         datetime(2025, 7, 12, 3, 15, tzinfo=timezone.UTC)),
        ("Quiet week", PushStatus.NO_RECIPIENTS, 0, "No patient has push notifications turned on.",
         datetime(2025, 7, 10, 12, 0, tzinfo=timezone.UTC)),
    ]
    with in_clinic(clinic_b):
        for title, status, sent, reason, created in pushes:
            push = PushNotification.objects.create(clinic=clinic_b, title=title, message="m", status=status,
                                                   sent_count=sent, targeted_count=40, failure_reason=reason)
            PushNotification.objects.filter(pk=push.pk).update(created_at=created)

    # when the owner opens the One-time tab
    history = find(dom(client_for(owner_b).get(url(clinic_b, "list"))), testid="push-history")

    # then the table has the seed's four columns
    assert [words(th) for th in find_all(history, "th")] == ["Date", "Title", "Sent", "Status"]
    # and each row, newest first, shows its local date and time, its title, the stored Sent count and its status
    push_rows = find_all(history, testid="push-row")
    shown = [[words(find_all(row, "td")[0]), words(find(row, "span", cls="break")), words(find_all(row, "td")[2]),
              words(find(row, testid="push-status"))] for row in push_rows]
    assert shown == [
        ["12 Jul 2025 22:30", "Summer glow", "37", "Sent"],
        ["11 Jul 2025 23:15", "Whitening week", "0", "Failed"],
        ["10 Jul 2025 08:00", "Quiet week", "0", "No recipients"],
    ]
    # and the badge is green for sent, red for failed and grey (neither green nor red) for the neutral outcome
    badges = [classes(find(row, testid="push-status")) for row in push_rows]
    assert "badge-green" in badges[0] and not badges[0] & {"badge-red", "badge-grey"}
    assert "badge-red" in badges[1] and not badges[1] & {"badge-green", "badge-grey"}
    assert "badge-grey" in badges[2] and not badges[2] & {"badge-green", "badge-red"}
    # and a failed or neutral row expands (its badge is the summary) to its reason; a sent row has none
    assert not find_all(push_rows[0], "details")
    for row, (_, _, _, reason, _) in zip(push_rows[1:], pushes[1:]):
        expand = find(row, "details", cls="reason")
        assert find_all(find(expand, "summary"), testid="push-status")
        assert words(find(expand, "div", cls="reason-text")) == reason
    assert "neutral" in classes(find(push_rows[2], "div", cls="reason-text"))
    assert "neutral" not in classes(find(push_rows[1], "div", cls="reason-text"))


def test_push_history_is_hidden_when_no_push_was_ever_sent(clinic_a, owner_a, client_for, in_clinic):
    make_offer(clinic_a, in_clinic, published=True)
    page = text(client_for(owner_a).get(url(clinic_a, "list")))
    assert "Push Notification History" not in page and 'data-testid="push-history"' not in page


# ---- Automated tab ----

@time_machine.travel(NOW, tick=False)
def test_automated_tab_lists_every_occasion_with_its_next_date_and_badges(clinic_a, owner_a, client_for, in_clinic):
    # given Christmas configured, active and published
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        configure_automated_offer(automated_offer=christmas, data={"discount_value": Decimal("15"), "active": True,
                                                                   "published": True})

    response = client_for(owner_a).get(url(clinic_a, "automated"))

    page = text(response)
    assert page.count('data-testid="automated-row"') == len(Occasion.values)
    row = re.search(r'data-occasion="christmas".*?</li>', page).group(0)
    assert "Christmas" in row and "15% Off" in row and "Next: Thu 25 Dec 2025" in row
    assert "Active" in row and "Published" in row and "Deactivate" in row and "Unpublish" in row
    birthday = re.search(r'data-occasion="birthday".*?</li>', page).group(0)
    assert "Each patient's birthday" in birthday and "Inactive" in birthday and "Activate" in birthday
    # UK Mothering Sunday 2026 is 15 March (three weeks before Easter)
    assert "Sun 15 Mar 2026" in re.search(r'data-occasion="mothers_day".*?</li>', page).group(0)
    assert "Delete" not in page


def test_automated_cards_show_a_muted_discount_label_and_a_green_tick_or_grey_cross_per_card(
    clinic_a, owner_a, client_for, in_clinic,
):
    # given Christmas and Halloween active, every other occasion inactive
    with in_clinic(clinic_a):
        for occasion, data in [(Occasion.CHRISTMAS, {"discount_value": Decimal("15")}),
                               (Occasion.HALLOWEEN, {"discount_type": DiscountType.AMOUNT,
                                                     "discount_value": Decimal("5")})]:
            configure_automated_offer(automated_offer=AutomatedOffer.objects.get(occasion=occasion),
                                      data={**data, "active": True})
        labels = {a.occasion: a.discount_label_in(clinic_a.currency) for a in AutomatedOffer.objects.all()}
    assert (labels[Occasion.CHRISTMAS], labels[Occasion.HALLOWEEN]) == ("15% Off", "£5.00 Off")

    # when the owner opens the Automated tab
    cards = find_all(dom(client_for(owner_a).get(url(clinic_a, "automated"))), testid="automated-row")

    # then every card shows its own discount label in muted text
    assert sorted(attr(card, "data-occasion") for card in cards) == sorted(Occasion.values)
    tick, cross = lucide_shape("check"), lucide_shape("x")
    for card in cards:
        occasion = attr(card, "data-occasion")
        discount = find(card, "span", cls="offer-discount")
        assert words(discount) == labels[occasion] and "is-muted" in classes(discount), occasion
        # and its Active badge is a green tick when active, a grey cross when not
        badge = find(card, testid="active-badge")
        if occasion in (Occasion.CHRISTMAS, Occasion.HALLOWEEN):
            assert (words(badge), icon_shape(badge)) == ("Active", tick), occasion
            assert "badge-green" in classes(badge) and "badge-grey" not in classes(badge), occasion
        else:
            assert (words(badge), icon_shape(badge)) == ("Inactive", cross), occasion
            assert "badge-grey" in classes(badge) and "badge-green" not in classes(badge), occasion


@time_machine.travel(NOW, tick=False)
def test_us_clinic_sees_us_occasion_dates(clinic_b, owner_b, client_for):
    page = text(client_for(owner_b).get(url(clinic_b, "automated")))
    assert "Sun 10 May 2026" in re.search(r'data-occasion="mothers_day".*?</li>', page).group(0)


@pytest.mark.parametrize(("action", "field", "value"), [
    ("automated_activate", "active", True), ("automated_publish", "published", True),
])
def test_automated_menu_actions_toggle_the_offer(clinic_a, owner_a, client_for, in_clinic, action, field, value):
    with in_clinic(clinic_a):
        halloween = AutomatedOffer.objects.get(occasion=Occasion.HALLOWEEN)
    client = client_for(owner_a)

    response = client.post(url(clinic_a, action, automated_id=halloween.pk))

    assert response.status_code == 302 and response.url == url(clinic_a, "automated")
    reload(halloween)
    assert getattr(halloween, field) is value
    undo = action.replace("activate", "deactivate").replace("publish", "unpublish")
    client.post(url(clinic_a, undo, automated_id=halloween.pk))
    reload(halloween)
    assert getattr(halloween, field) is not value


def test_automated_edit_configures_discount_push_and_validity(clinic_a, owner_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        easter = AutomatedOffer.objects.get(occasion=Occasion.EASTER)
    client = client_for(owner_a)
    assert client.get(url(clinic_a, "automated_edit", automated_id=easter.pk)).status_code == 200

    response = client.post(url(clinic_a, "automated_edit", automated_id=easter.pk), {
        "discount_type": "amount", "discount_value": "30", "push_title": "Happy Easter",
        "push_message": "£30 off this Easter", "validity_days": "10", "active": "on", "published": "on",
    })

    assert response.status_code == 302
    reload(easter)
    assert (easter.discount_type, easter.discount_value, easter.validity_days) == ("amount", Decimal("30"), 10)
    assert easter.push_title == "Happy Easter" and easter.active and easter.published


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"discount_type": "percent", "discount_value": "150"}, "discount_value", "cannot be more than 100"),
    ({"discount_type": "amount", "discount_value": ""}, "discount_value", "Enter the discount"),
    ({"validity_days": "0"}, "validity_days", "greater than or equal to 1"),
    ({"validity_days": "91"}, "validity_days", "less than or equal to 90"),
    ({"push_title": ""}, "push_title", "required"),
])
def test_automated_edit_with_bad_input_shows_errors(clinic_a, owner_a, client_for, in_clinic, data, field, message):
    with in_clinic(clinic_a):
        easter = AutomatedOffer.objects.get(occasion=Occasion.EASTER)
    valid = {"discount_type": "percent", "discount_value": "10", "push_title": "Hi", "push_message": "Hello",
             "validity_days": "7"}

    response = client_for(owner_a).post(url(clinic_a, "automated_edit", automated_id=easter.pk), {**valid, **data})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    reload(easter)
    assert easter.discount_value == Decimal("10") and easter.validity_days == 7


def test_automated_offers_have_no_delete_route(clinic_a, owner_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    response = client_for(owner_a).post(f"/c/{clinic_a.slug}/offers/automated/{christmas.pk}/delete/")
    assert response.status_code == 404
    assert rows(clinic_a, AutomatedOffer, pk=christmas.pk)


# ---- Create and edit ----

def test_creating_an_offer_saves_a_draft_and_returns_to_the_list(clinic_a, staff_a, client_for, in_clinic):
    client = client_for(staff_a)
    assert client.get(url(clinic_a, "create")).status_code == 200

    response = client.post(url(clinic_a, "create"), {
        "name": "Autumn peel", "title": "20% off peels", "description": "All October", "discount_type": "percent",
        "discount_value": "20", "valid_from": "2025-10-01", "valid_until": "2025-10-31", "max_uses": "40",
        "active": "on",
    }, follow=True)

    [offer] = rows(clinic_a, Offer, name="Autumn peel")
    assert offer.clinic_id == clinic_a.pk and not offer.published and offer.active and offer.max_uses == 40
    assert "was created as a draft" in text(response)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"valid_from": "2025-10-31", "valid_until": "2025-10-01"}, "valid_until", "on or after"),
    ({"discount_type": "percent", "discount_value": "101"}, "discount_value", "cannot be more than 100"),
    ({"discount_type": "percent", "discount_value": ""}, "discount_value", "Enter the discount"),
    ({"discount_type": "amount", "discount_value": ""}, "discount_value", "Enter the discount"),
    ({"discount_type": "amount", "discount_value": "-5"}, "discount_value", "above zero"),
    ({"discount_type": "amount", "discount_value": "0"}, "discount_value", "above zero"),
    ({"discount_type": "bogus"}, "discount_type", "Select a valid choice"),
    ({"max_uses": "0"}, "max_uses", "greater than or equal to 1"),
    ({"image_url": "not a url"}, "image_url", "valid URL"),
    ({"name": ""}, "name", "required"),
    ({"valid_from": "31/31/2025"}, "valid_from", "valid date"),
])
def test_creating_an_offer_with_bad_input_shows_errors_not_a_500(clinic_a, owner_a, client_for, data, field, message):
    valid = {"name": "Autumn peel", "title": "20% off peels", "discount_type": "percent", "discount_value": "20",
             "active": "on"}

    response = client_for(owner_a).post(url(clinic_a, "create"), {**valid, **data})

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    assert len(errors) == len(set(errors))  # the same mistake is reported once
    assert 'class="field has-error"' in response.content.decode()
    assert not rows(clinic_a, Offer)


def test_a_free_treatment_needs_no_value(clinic_a, owner_a, client_for):
    response = client_for(owner_a).post(url(clinic_a, "create"), {
        "name": "Free consult", "title": "A free consultation", "discount_type": "free_treatment",
        "discount_value": "15"})
    assert response.status_code == 302
    [offer] = rows(clinic_a, Offer)
    assert offer.discount_value is None and not offer.active  # an unticked toggle posts nothing


def test_editing_an_offer_saves_and_the_active_toggle_switches_it_off(clinic_a, owner_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic, published=True)
    client = client_for(owner_a)
    page = text(client.get(url(clinic_a, "edit", offer_id=offer.pk)))
    assert 'value="Spring whitening"' in page
    assert page.index('name="active"') > page.index('name="max_uses"')  # the toggle is at the bottom

    response = client.post(url(clinic_a, "edit", offer_id=offer.pk), {
        "name": "Spring whitening", "title": "£30 off whitening", "discount_type": "amount", "discount_value": "30"})

    assert response.status_code == 302
    reload(offer)
    assert offer.title == "£30 off whitening" and offer.discount_value == Decimal("30") and not offer.active
    assert offer.published  # Published is the menu's business, not the form's


def test_a_cap_below_the_uses_already_made_is_refused(clinic_a, owner_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic, max_uses=10)
    set_uses(offer, 6)

    response = client_for(owner_a).post(url(clinic_a, "edit", offer_id=offer.pk), {
        "name": "Spring whitening", "title": "t", "discount_type": "amount", "discount_value": "25", "max_uses": "5",
        "active": "on"})

    assert response.status_code == 200 and "already been used 6 times" in text(response)
    reload(offer)
    assert offer.max_uses == 10


# ---- Publish, unpublish, delete ----

def test_publish_and_unpublish_from_the_menu(clinic_a, staff_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic)
    client = client_for(staff_a)

    response = client.post(url(clinic_a, "publish", offer_id=offer.pk), follow=True)
    reload(offer)
    assert offer.published and "is published" in text(response)
    assert 'data-testid="push-button"' in text(response)

    response = client.post(url(clinic_a, "unpublish", offer_id=offer.pk), follow=True)
    reload(offer)
    assert not offer.published and "kept here as a draft" in text(response)


@pytest.mark.parametrize("user", ["owner_a", "staff_a"])
def test_the_offer_menu_has_an_edit_item_linking_to_that_offers_edit_form(clinic_a, client_for, in_clinic,
                                                                           request, user):
    # given a published and a draft offer
    offers = [make_offer(clinic_a, in_clinic, name="Whitening", published=True),
              make_offer(clinic_a, in_clinic, name="Peel")]

    # when an owner or staff member opens the One-time tab
    page = dom(client_for(request.getfixturevalue(user)).get(url(clinic_a, "list")))

    # then each offer's ⋮ menu has one Edit item, and it opens that offer's edit form
    for offer in offers:
        [row] = [r for r in find_all(page, testid="offer-row") if attr(r, "data-offer-id") == str(offer.pk)]
        menu = find(row, testid="offer-menu")
        edits = [a for a in find_all(menu, "a") if words(a) == "Edit"]
        assert [attr(a, "href") for a in edits] == [url(clinic_a, "edit", offer_id=offer.pk)], offer.name


def test_menu_actions_refuse_get(clinic_a, owner_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic)
    assert client_for(owner_a).get(url(clinic_a, "publish", offer_id=offer.pk)).status_code == 405
    reload(offer)
    assert not offer.published


def test_delete_asks_for_confirmation_stating_what_happens_to_redemptions(clinic_a, owner_a, client_for, in_clinic):
    # given an offer with two pending redemptions and one applied to an order
    offer = make_offer(clinic_a, in_clinic, published=True)
    with in_clinic(clinic_a):
        patient = PatientFactory()
        order = OrderFactory(patient=patient, discount_amount=Decimal("25.00"), discount_source=DiscountSource.OFFER,
                             source_key=offer.promotion_key)
        redeem(offer, patient)
        redeem(offer, PatientFactory())
        applied = redeem(offer, patient, status=RedemptionStatus.APPLIED, order=order, amount=Decimal("25.00"))
    client = client_for(owner_a)

    # when the owner opens Delete, nothing is deleted yet and the page says what will happen
    page = text(client.get(url(clinic_a, "delete", offer_id=offer.pk)))
    assert rows(clinic_a, Offer, pk=offer.pk)
    assert "2 pending redemptions will be removed" in page
    assert "1 applied redemption stay on its order" in page
    assert "cannot be undone" in page

    # and confirming deletes the offer and its pending redemptions, keeping the applied one
    response = client.post(url(clinic_a, "delete", offer_id=offer.pk), follow=True)
    assert not rows(clinic_a, Offer, pk=offer.pk)
    assert rows(clinic_a, Redemption, promotion_key=offer.promotion_key) == [applied]
    assert "was deleted. 2 pending redemptions removed." in text(response)


# ---- Manual push ----

def test_push_confirmation_states_the_reach_and_prefills_from_the_offer(clinic_a, owner_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic, published=True, description="Book before Easter.")
    with in_clinic(clinic_a):
        PatientFactory.create_batch(3)
        PatientFactory(push_enabled=False)

    response = client_for(owner_a).get(url(clinic_a, "push", offer_id=offer.pk))

    page = text(response)
    assert response.context["recipients"] == 3
    assert 'data-testid="recipient-count">3<' in page and "Send to 3 patients" in page
    assert 'value="£25 off whitening"' in page and "Book before Easter." in page
    assert not rows(clinic_a, PushNotification)


def test_sending_a_push_queues_it_with_the_offer_key_and_returns_to_offers(clinic_a, owner_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic, published=True)
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2)

    response = client_for(owner_a).post(url(clinic_a, "push", offer_id=offer.pk),
                                        {"title": "Whitening week", "message": "£25 off, this week only"}, follow=True)

    [push] = rows(clinic_a, PushNotification)
    assert (push.clinic_id, push.title, push.source_key, push.targeted_count) == (
        clinic_a.pk, "Whitening week", offer.promotion_key, 2)
    assert response.redirect_chain[-1][0] == url(clinic_a, "list")
    page = text(response)
    assert "queued for 2 patients; the history below shows when it&#x27;s sent" in page
    assert 'data-testid="push-history"' in page


def test_a_push_with_an_empty_title_is_refused_on_the_form(clinic_a, owner_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic, published=True)
    response = client_for(owner_a).post(url(clinic_a, "push", offer_id=offer.pk), {"title": " ", "message": "x"})
    assert response.status_code == 200 and "title" in response.context["form"].errors
    assert not rows(clinic_a, PushNotification)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unpublished_offer_cannot_be_pushed(clinic_a, owner_a, client_for, in_clinic, method):
    offer = make_offer(clinic_a, in_clinic)

    response = getattr(client_for(owner_a), method)(url(clinic_a, "push", offer_id=offer.pk),
                                                    {"title": "t", "message": "m"} if method == "post" else None,
                                                    follow=True)

    assert "is not published" in text(response)
    assert not rows(clinic_a, PushNotification)


# ---- Redemptions (OFF-9) ----

def test_redemption_view_lists_who_redeemed_when_and_on_which_order_with_totals(
    clinic_a, owner_a, client_for, in_clinic,
):
    offer = make_offer(clinic_a, in_clinic, published=True, max_uses=50)
    with in_clinic(clinic_a):
        ada = PatientFactory(first_name="Ada", last_name="Lovelace")
        order = OrderFactory(patient=ada, reference="HAR-7001", subtotal=Decimal("180.00"),
                             discount_amount=Decimal("25.00"), discount_source=DiscountSource.OFFER)
        redeem(offer, ada, status=RedemptionStatus.APPLIED, order=order, amount=Decimal("25.00"))
        for _ in range(5):
            redeem(offer, PatientFactory())
        other = make_offer(clinic_a, in_clinic, name="Other")
        redeem(other, ada)
    response = client_for(owner_a).get(url(clinic_a, "redemptions", offer_id=offer.pk))

    page = text(response)
    assert page.count('data-testid="redemption-row"') == 6
    assert reverse("dashboard:patient", kwargs={"clinic_slug": clinic_a.slug, "patient_id": ada.pk}) in page
    assert reverse("revenue:detail", kwargs={"clinic_slug": clinic_a.slug, "order_id": order.pk}) in page
    summary = response.context["summary"]
    assert (summary.redemptions, summary.applied, summary.pending) == (6, 1, 5)
    assert (summary.discount_given, summary.revenue) == (Decimal("25.00"), Decimal("155.00"))
    assert "£155.00" in page and "£25.00" in page
    assert f"?promotion={offer.promotion_key}" in page


def test_redemption_view_shows_when_each_redemption_happened_in_the_clinic_timezone(
    clinic_a, owner_a, client_for, in_clinic,
):
    # given a redemption made at 23:40 UTC on 30 June and applied at 23:15 UTC on 1 July (past midnight in
    # London both times), and one still pending from 23:05 UTC on 4 July
    offer = make_offer(clinic_a, in_clinic, published=True)
    with in_clinic(clinic_a):
        ada, bob = PatientFactory(first_name="Ada", last_name="Lovelace"), PatientFactory(first_name="Bob",
                                                                                        last_name="Lee")
        order = OrderFactory(patient=ada, reference="HAR-7001", subtotal=Decimal("180.00"),
                             discount_amount=Decimal("25.00"), discount_source=DiscountSource.OFFER)
        applied = redeem(offer, ada, status=RedemptionStatus.APPLIED, order=order, amount=Decimal("25.00"))
        pending = redeem(offer, bob)
        Redemption.objects.filter(pk=applied.pk).update(created_at=datetime(2025, 6, 30, 23, 40, tzinfo=timezone.UTC),
                                                        applied_at=datetime(2025, 7, 1, 23, 15, tzinfo=timezone.UTC))
        Redemption.objects.filter(pk=pending.pk).update(created_at=datetime(2025, 7, 4, 23, 5, tzinfo=timezone.UTC))

    # when the owner opens the offer's redemptions
    table = find(dom(client_for(owner_a).get(url(clinic_a, "redemptions", offer_id=offer.pk))),
                 testid="redemptions-table")

    # then each row shows who, when (in Europe/London, on wide and narrow screens), the order, the discount
    # and the revenue
    assert [words(th) for th in find_all(table, "th")] == ["Patient", "Redeemed", "Status", "Order", "Discount",
                                                           "Revenue"]
    shown = {words(find_all(row, "a")[0]): [words(td) for td in find_all(row, "td")]
             for row in find_all(table, testid="redemption-row")}
    assert shown == {
        "Ada Lovelace": ["Ada Lovelace 1 Jul 2025 · HAR-7001", "1 Jul 2025 Applied 2 Jul, 00:15", "Applied",
                         "HAR-7001", "£25.00", "£155.00"],
        "Bob Lee": ["Bob Lee 5 Jul 2025", "5 Jul 2025 00:05", "Pending", "–", "£25.00 Off", "–"],
    }


def test_redemption_view_queries_do_not_grow_with_its_rows(clinic_a, owner_a, client_for, in_clinic):
    # given an offer with two applied redemptions, looked at once
    offer = make_offer(clinic_a, in_clinic, published=True)

    def add_applied(count):
        with in_clinic(clinic_a):
            for _ in range(count):
                order = OrderFactory(discount_source=DiscountSource.OFFER, discount_amount=Decimal("5.00"))
                redeem(offer, order.patient, status=RedemptionStatus.APPLIED, order=order, amount=Decimal("5.00"))

    add_applied(2)
    client = client_for(owner_a)
    client.get(url(clinic_a, "redemptions", offer_id=offer.pk))
    with CaptureQueriesContext(connection) as two_rows:
        client.get(url(clinic_a, "redemptions", offer_id=offer.pk))

    # when twenty more arrive
    add_applied(20)
    with CaptureQueriesContext(connection) as many_rows:
        response = client.get(url(clinic_a, "redemptions", offer_id=offer.pk))

    # then the page costs the same number of queries
    assert text(response).count('data-testid="redemption-row"') == 22
    assert len(many_rows) == len(two_rows)


def test_redemption_view_is_one_click_from_the_offer_and_has_an_empty_state(clinic_a, viewer_a, client_for,
                                                                             in_clinic):
    offer = make_offer(clinic_a, in_clinic)
    client = client_for(viewer_a)
    assert url(clinic_a, "redemptions", offer_id=offer.pk) in text(client.get(url(clinic_a, "list")))
    assert "No redemptions yet" in text(client.get(url(clinic_a, "redemptions", offer_id=offer.pk)))


# ---- Roles ----

def test_a_viewer_sees_offers_with_their_actions_disabled(clinic_a, viewer_a, client_for, in_clinic):
    make_offer(clinic_a, in_clinic, published=True)
    client = client_for(viewer_a)

    one_time = text(client.get(url(clinic_a, "list")))
    automated = text(client.get(url(clinic_a, "automated")))

    assert "Spring whitening" in one_time and "£25.00 Off" in one_time and "Published" in one_time
    for page in (one_time, automated):
        assert "row-menu" not in page and 'data-testid="push-button"' not in page
        assert "/edit/" not in page and "/offers/new/" not in page
    # New offer and Push are shown disabled, with the reason
    assert one_time.count('data-testid="locked-action"') == 2
    assert automated.count('data-testid="automated-row"') == len(Occasion.values)


def test_a_viewer_cannot_open_forms_or_change_anything(clinic_a, viewer_a, client_for, in_clinic):
    offer = make_offer(clinic_a, in_clinic, published=True)
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
    client = client_for(viewer_a)

    for name, kwargs in [("create", {}), ("edit", {"offer_id": offer.pk}), ("delete", {"offer_id": offer.pk}),
                         ("push", {"offer_id": offer.pk}), ("automated_edit", {"automated_id": christmas.pk})]:
        assert client.get(url(clinic_a, name, **kwargs)).status_code == 403, name
    for name, kwargs in [("unpublish", {"offer_id": offer.pk}), ("delete", {"offer_id": offer.pk}),
                         ("push", {"offer_id": offer.pk}), ("create", {}),
                         ("automated_activate", {"automated_id": christmas.pk}),
                         ("automated_publish", {"automated_id": christmas.pk})]:
        assert client.post(url(clinic_a, name, **kwargs), {"title": "t", "message": "m"}).status_code == 403, name

    reload(offer)
    reload(christmas)
    assert offer.published and not christmas.active and not christmas.published
    assert len(rows(clinic_a, Offer)) == 1 and not rows(clinic_a, PushNotification)


def test_another_clinics_offer_is_not_found(clinic_a, clinic_b, owner_a, client_for, in_clinic):
    offer_b = make_offer(clinic_b, in_clinic, published=True)
    client = client_for(owner_a)
    for name in ("edit", "delete", "push", "redemptions"):
        assert client.get(url(clinic_a, name, offer_id=offer_b.pk)).status_code == 404, name
    assert client.post(url(clinic_a, "unpublish", offer_id=offer_b.pk)).status_code == 404
    reload(offer_b)
    assert offer_b.published


# ---- Attention (OFF-12) ----

@time_machine.travel(NOW, tick=False)
def test_attention_items_show_on_the_offers_page_and_the_main_dashboard(clinic_a, owner_a, client_for, in_clinic,
                                                                        settings):
    settings.PUSH_BACKEND = "onesignal"
    # given Christmas active but unpublished and due in 12 days without OneSignal,
    # a published offer past its Until date, and an offer at 45 of 50 uses
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        configure_automated_offer(automated_offer=christmas, data={"active": True})
    make_offer(clinic_a, in_clinic, name="Autumn peel", valid_until=date(2025, 11, 30), published=True)
    busy = make_offer(clinic_a, in_clinic, name="Whitening week", max_uses=50, published=True)
    set_uses(busy, 45)
    client = client_for(owner_a)

    offers_page = text(client.get(url(clinic_a, "list")))
    dashboard = text(client.get(reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug})))

    for page in (offers_page, dashboard):
        assert "Christmas is active but not published" in page
        assert "push patients can" in page
        assert "Christmas fires on 25 Dec 2025 without push" in page
        assert "“Autumn peel” ended on 30 Nov 2025 but is still published" in page
        assert "“Whitening week” is nearly used up" in page
    assert "Push notifications are off" in dashboard  # the dashboard's own item stays
    assert "Needs attention" in text(client.get(url(clinic_a, "automated")))
