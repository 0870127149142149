"""Layout on a phone (390 × 844) and shared form styling, measured in a real Chromium: confirmation footers,
the Promos status tabs, the Needs attention panel, icon-only buttons, inputs and chart labels.

Each check reads the browser's own geometry (bounding boxes) or computed style, because what broke was
layout, which the HTML alone can't show: buttons pushed off the left edge, a tab clipped by a hidden scroll.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.choices import Role
from offers.choices import Occasion
from offers.models import AutomatedOffer
from offers.services import configure_automated_offer, create_offer, publish_offer
from tests.conftest import make_staff
from tests.factories import PatientFactory
from tests.promos.factories import add_use, seed, url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def on_phone(page: Page) -> Page:
    page.set_viewport_size(PHONE)
    return page


def box(locator: Locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def assert_inside_viewport(locator: Locator, name: str) -> None:
    b = box(locator)
    assert b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"], f"{name} lies outside the screen: {b}"


def seed_offer(clinic, in_clinic, name: str):
    """A published 20% offer, live in the app."""
    with in_clinic(clinic):
        offer = create_offer(clinic=clinic, data={"name": name, "title": f"{name} in the app",
                                                  "discount_type": DiscountType.PERCENT, "discount_value": Decimal("20")})
        return publish_offer(offer=offer)


def activate_unpublished_christmas(clinic, in_clinic) -> None:
    """Christmas switched on but not published: the Offers page flags it under Needs attention (OFF-12)."""
    with in_clinic(clinic):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        configure_automated_offer(automated_offer=christmas, data={"active": True})


def luminance(css_rgb: str) -> float:
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (float(n) for n in re.findall(r"[\d.]+", css_rgb)[:3])
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# ---- Finding 1: confirmation footers ----

def test_every_button_of_the_delete_offer_footer_is_on_screen_on_a_phone(clinic_a, in_clinic, login, page,
                                                                          live_server):
    # given a published offer, whose delete page offers Keep it, Unpublish instead and Delete offer
    offer = seed_offer(clinic_a, in_clinic, "Spring whitening with a long enough name")
    login(make_staff(clinic_a, Role.STAFF))

    # when a phone opens its delete confirmation
    on_phone(page).goto(f"{live_server.url}/c/{clinic_a.slug}/offers/{offer.pk}/delete/")

    # then all three buttons lie fully inside the screen
    buttons = page.get_by_test_id("delete-confirmation").locator(".card-foot > .btn")
    expect(buttons).to_have_count(3)
    for i in range(3):
        assert_inside_viewport(buttons.nth(i), buttons.nth(i).inner_text())
    expect(page.get_by_role("link", name="Keep it")).to_be_in_viewport()


def test_every_button_of_the_archive_promo_footer_is_on_screen_on_a_phone(clinic_a, in_clinic, login, page,
                                                                          live_server):
    # given an active promo, whose archive page offers Keep it, Pause instead and Archive for good
    promo = seed(clinic_a, in_clinic, "Summer smile", code="SUMMER", active=True)
    login(make_staff(clinic_a, Role.STAFF))

    # when a phone opens its archive confirmation
    on_phone(page).goto(live_server.url + url(clinic_a, "archive", promo.pk))

    # then all three buttons lie fully inside the screen
    buttons = page.get_by_test_id("archive-confirm").locator(".card-foot > .btn")
    expect(buttons).to_have_count(3)
    for i in range(3):
        assert_inside_viewport(buttons.nth(i), buttons.nth(i).inner_text())


# ---- Finding 2: the Promos status tabs ----

def test_every_promos_status_tab_is_visible_on_a_phone_without_a_sideways_scroll(clinic_a, in_clinic, login, page,
                                                                                  live_server):
    # given a clinic with promos in several states
    seed(clinic_a, in_clinic, "Live one", code="LIVE1", active=True)
    seed(clinic_a, in_clinic, "Draft one", code="DRAFT1")
    login(make_staff(clinic_a, Role.STAFF))

    # when a phone opens the Promos list
    on_phone(page).goto(live_server.url + url(clinic_a, "list"))

    # then each status tab, the last one included, lies inside the tab bar and the screen
    tabs_bar = page.get_by_test_id("status-filter")
    bar = box(tabs_bar)
    tabs = tabs_bar.locator("a")
    assert tabs.count() >= 5
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        expect(tab).to_be_visible()
        b = box(tab)
        assert bar["x"] <= b["x"] and b["x"] + b["width"] <= bar["x"] + bar["width"], f"{tab.inner_text()} is clipped"
        assert_inside_viewport(tab, tab.inner_text())
    # and nothing hides behind a sideways scroll
    assert tabs_bar.evaluate("e => e.scrollWidth <= e.clientWidth")


# ---- Finding 4: inputs share one look ----

def test_date_and_time_inputs_look_like_the_text_inputs(clinic_a, login, page, live_server):
    # given the promo form, with a text input (Name) and datetime-local inputs (Starts, Ends)
    login(make_staff(clinic_a, Role.STAFF))
    page.goto(live_server.url + url(clinic_a, "create"))
    properties = ["border-top-width", "border-top-style", "border-top-color", "border-top-left-radius",
                  "font-family", "font-size", "height", "background-color"]
    read = "(e, props) => props.map(p => getComputedStyle(e).getPropertyValue(p))"

    # when the browser styles them
    text_style = page.locator("input[type=text]").first.evaluate(read, properties)
    for selector in ("input[type=datetime-local]", "input[type=number]", "select"):
        field = page.locator(selector).first
        expect(field).to_be_attached()

        # then each has the text input's border, radius, font, height and background
        assert dict(zip(properties, field.evaluate(read, properties))) == dict(zip(properties, text_style)), selector


# ---- Findings 5 and 7: Needs attention ----

def test_needs_attention_gives_its_text_the_full_width_on_a_phone(clinic_a, in_clinic, login, page, live_server):
    # given an attention item with a Review button for staff
    activate_unpublished_christmas(clinic_a, in_clinic)
    login(make_staff(clinic_a, Role.STAFF))

    # when a phone opens Offers
    on_phone(page).goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")

    # then the item's text takes the row and its button sits below the text, not beside it
    item = page.get_by_test_id("offer-attention").locator(".attention-item[data-key^='unpublished_automated']")
    text, button = box(item.locator(":scope > div")), box(item.get_by_role("link", name="Open its row"))
    assert text["width"] >= box(item)["width"] - 80, f"the text is squeezed to {text['width']:.0f}px"
    assert button["y"] >= text["y"] + text["height"] - 1


def test_a_viewer_reads_needs_attention_as_information_with_nothing_to_act_on(clinic_a, in_clinic, login, page,
                                                                              live_server):
    # given an active but unpublished Christmas offer, which staff are told to publish or deactivate
    activate_unpublished_christmas(clinic_a, in_clinic)
    offers = f"{live_server.url}/c/{clinic_a.slug}/offers/"
    login(make_staff(clinic_a, Role.VIEWER))

    # when a read-only viewer opens Offers
    page.goto(offers)

    # then the panel states the facts, with no buttons, links or advice to act
    panel = page.get_by_test_id("offer-attention")
    expect(panel).to_contain_text("Christmas is active but not published")
    expect(panel).to_contain_text("It will send a push patients can't see in the app.")
    expect(panel.get_by_role("link")).to_have_count(0)
    expect(panel.get_by_role("button")).to_have_count(0)
    for advice in ("Publish it", "deactivate it", "Unpublish it", "Raise the cap"):
        expect(panel).not_to_contain_text(advice)
    expect(panel.get_by_test_id("read-only-note")).to_be_visible()


def test_staff_still_get_the_advice_and_the_link_to_the_row(clinic_a, in_clinic, login, page, live_server):
    # given the same item
    activate_unpublished_christmas(clinic_a, in_clinic)
    login(make_staff(clinic_a, Role.STAFF))

    # when staff open Offers, then they get the advice and a way to act on it
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")
    panel = page.get_by_test_id("offer-attention")
    expect(panel).to_contain_text("Publish it (patients see it from the day it fires), or deactivate it.")
    expect(panel.get_by_role("link", name="Open its row")).to_be_visible()
    expect(panel.get_by_test_id("read-only-note")).to_have_count(0)


# ---- Finding 15: icon-only buttons keep their names ----

def test_the_icon_only_push_button_keeps_its_name_on_a_phone(clinic_a, in_clinic, login, page, live_server):
    # given a live offer, which gets a Push button
    seed_offer(clinic_a, in_clinic, "Spring whitening")
    login(make_staff(clinic_a, Role.STAFF))

    # when a phone shows the button as an icon only
    on_phone(page).goto(f"{live_server.url}/c/{clinic_a.slug}/offers/")
    push = page.get_by_test_id("push-button").first
    expect(push).to_be_visible()
    assert box(push)["width"] < 50  # the word is not drawn

    # then assistive technology still finds it by name
    expect(page.get_by_role("link", name=re.compile("push", re.I))).to_have_count(1)


# ---- Finding 6: charts label their values ----

def test_chart_dates_and_axis_values_are_readable(clinic_a, in_clinic, login, page, live_server):
    # given a promo used once this week
    promo = seed(clinic_a, in_clinic, "Spring", code="SPRING", active=True)
    with in_clinic(clinic_a):
        add_use(promo, PatientFactory(), discount="5.00", order_total="45.00")
    login(make_staff(clinic_a, Role.VIEWER))

    # when the portfolio charts a week of uses on a phone
    on_phone(page).goto(live_server.url + url(clinic_a, "portfolio") + "?period=7")
    chart = page.get_by_test_id("portfolio-chart")

    # then y-axis values, several dates and the summary show, each label at 4.5:1 contrast or more on white
    expect(chart.get_by_test_id("chart-y-label")).to_have_text(["2", "1", "0"])
    expect(chart.get_by_test_id("chart-date")).to_have_count(4)
    expect(chart.get_by_test_id("chart-summary")).to_contain_text("Total over 7 days: 1 use. Highest: 1 use on ")
    for label in (chart.get_by_test_id("chart-date").first, chart.get_by_test_id("chart-y-label").first):
        assert contrast(label.evaluate("e => getComputedStyle(e).color"), "rgb(255, 255, 255)") >= 4.5
        assert_inside_viewport(label, label.inner_text())
    # and the figures of every day are one tap away
    chart.get_by_text("Figures by day").click()
    expect(chart.get_by_test_id("chart-table").locator("tbody tr")).to_have_count(7)


# ---- Compare on a phone ----

def test_compare_reads_as_cards_on_a_phone_and_sorts_from_a_menu(clinic_a, in_clinic, login, page, live_server):
    # given two promos, the one with more uses named later in the alphabet
    zest = seed(clinic_a, in_clinic, "Zest", code="ZEST", active=True, marketing_cost=Decimal("90.00"))
    seed(clinic_a, in_clinic, "Apple", code="APPLE", active=True)
    with in_clinic(clinic_a):
        for _ in range(3):
            add_use(zest, PatientFactory(), discount="10.00", order_total="90.00")
    login(make_staff(clinic_a, Role.VIEWER))

    # when a phone opens Compare
    on_phone(page).goto(live_server.url + url(clinic_a, "compare"))

    # then nothing scrolls sideways, and each figure sits on screen under its own label
    table = page.get_by_test_id("compare-table")
    assert table.evaluate("e => e.closest('.table-wrap').scrollWidth <= e.closest('.table-wrap').clientWidth")
    expect(table.locator("thead")).to_be_hidden()
    first = page.get_by_test_id("compare-row").first
    expect(first).to_contain_text("Zest")
    cost = first.get_by_test_id("cost-per-use")
    assert cost.evaluate("e => getComputedStyle(e, '::before').content") == '"Cost per use"'
    assert_inside_viewport(cost, "cost per use")
    expect(cost).to_contain_text("£30.00 per use")
    # and the menu that replaces the column headings sorts the cards (the page submits it on change)
    menu = page.get_by_test_id("compare-sort")
    expect(menu).to_be_visible()
    menu.select_option(label="Name, A–Z")
    page.wait_for_url(re.compile(r"sort=name"))
    expect(page.get_by_test_id("compare-row").first).to_contain_text("Apple")
    expect(page.get_by_test_id("compare-sort")).to_have_value("name")


def test_compare_keeps_its_sortable_headings_on_a_desk(clinic_a, in_clinic, login, page, live_server):
    # given a promo to compare
    seed(clinic_a, in_clinic, "Apple", code="APPLE", active=True)
    login(make_staff(clinic_a, Role.VIEWER))
    # when a desktop browser opens Compare
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(live_server.url + url(clinic_a, "compare"))
    # then the table keeps its clickable headings, and the phone's sort menu stays out of the way
    expect(page.get_by_test_id("compare-table").locator("thead")).to_be_visible()
    expect(page.get_by_test_id("compare-sort")).to_be_hidden()


# ---- Money on the overview cards ----

def test_money_on_the_overview_cards_stays_on_one_line_at_1400_px(clinic_a, in_clinic, login, page, live_server):
    # given a period whose revenue runs to seven figures and pence
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import OrderFactory

    with in_clinic(clinic_a):
        patient = PatientFactory()
        for n in range(4):
            OrderFactory(patient=patient, placed_at=timezone.now() - timedelta(days=n + 1),
                         subtotal=Decimal("308641.97"), discount_amount=Decimal("0.25"))
    login(make_staff(clinic_a, Role.OWNER))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/")
    revenue = page.get_by_test_id("stat-revenue")
    expect(revenue).to_have_text("£1,234,566.88")
    # then the figure is one line inside its card (no break inside the number, nothing cut off)
    height = box(revenue)["height"]
    line = float(revenue.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert height < line * 1.5, f"the revenue wraps: {height}px for a {line}px line"
    card = box(revenue.locator("xpath=.."))
    assert box(revenue)["x"] + box(revenue)["width"] <= card["x"] + card["width"]


def test_the_sidebar_headings_are_readable(clinic_a, login, page, live_server):
    login(make_staff(clinic_a, Role.OWNER))
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/")
    heading = page.locator(".nav-title").first
    colour = heading.evaluate("e => getComputedStyle(e).color")
    background = page.locator(".sidebar").evaluate("e => getComputedStyle(e).backgroundColor")
    size = float(heading.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert contrast(colour, background) >= 4.5, (colour, background)
    assert size >= 12


def test_the_promo_table_fits_1400_px_with_its_actions(clinic_a, in_clinic, login, page, live_server, screenshot):
    seed(clinic_a, in_clinic, "Spend more, save more on whitening", code="TREAT", kind="tiered", active=True)
    seed(clinic_a, in_clinic, "VIP thank-you for our loyal patients", kind="personalised", active=True)
    seed(clinic_a, in_clinic, "Welcome 10%", code="SMILE10", active=True, max_uses=500)
    login(make_staff(clinic_a, Role.OWNER))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(live_server.url + url(clinic_a, "list"))
    wrap = page.get_by_test_id("promo-table").locator("xpath=..")
    overflow = wrap.evaluate("e => e.scrollWidth - e.clientWidth")
    screenshot("promo-list-1400")
    assert overflow <= 0, f"the promo table scrolls sideways by {overflow}px"
    actions = box(page.get_by_test_id("promo-row").first.locator(".row-actions"))
    assert actions["x"] + actions["width"] <= box(wrap)["x"] + box(wrap)["width"]
