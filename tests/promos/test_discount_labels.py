"""A tiered promo's discount in words: a compact range in the list and the archive page, every tier in
the detail header, never just "Tiered" (PRO-1, PRO-4, PRO-6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from promos import selectors
from tests.promos.factories import seed, url

pytestmark = pytest.mark.django_db


def tier(min_order: str, kind: str, value: str) -> dict:
    return {"min_order": Decimal(min_order), "discount_type": kind, "discount_value": Decimal(value)}


PERCENT_LADDER = [tier("100", "percent", "5"), tier("250", "percent", "10")]


@pytest.mark.parametrize("tiers, compact", [
    (PERCENT_LADDER, "5–10% Off from £100.00"),
    ([tier("250", "percent", "10"), tier("100", "percent", "5")], "5–10% Off from £100.00"),  # any order given
    ([tier("100", "amount", "10"), tier("300", "amount", "25")], "£10.00–£25.00 Off from £100.00"),
    ([tier("100", "percent", "12.5")], "12.5% Off from £100.00"),
    ([tier("100", "percent", "10"), tier("300", "amount", "50")], "10% to £50.00 Off from £100.00"),
    ([], "No tiers yet"),
])
def test_compact_tier_label_spans_the_tiers_from_the_lowest_threshold(tiers, compact):
    assert selectors.tier_range_label(tiers, "GBP") == compact


def test_tier_summary_names_every_tier_in_the_clinic_currency():
    mixed = [tier("300", "amount", "50"), tier("100", "percent", "5")]
    assert selectors.tier_summary(mixed, "GBP") == "5% Off from £100.00 · £50.00 Off from £300.00"
    assert selectors.tier_summary(mixed, "USD") == "5% Off from $100.00 · $50.00 Off from $300.00"


def test_list_shows_a_tiered_promos_range_not_just_tiered(clinic_a, in_clinic, viewer_a, client_for):
    # given a tiered promo of 5% from £100 and 10% from £250, and a plain one
    seed(clinic_a, in_clinic, "Spend more", code="TREAT", kind="tiered", tiers=PERCENT_LADDER)
    seed(clinic_a, in_clinic, "Plain", code="PLAIN")

    # when the list opens
    response = client_for(viewer_a).get(url(clinic_a, "list"))

    # then the tiered row's discount is the compact range, and the plain one keeps its label
    labels = {row.promo.name: row.discount_label for row in response.context["listing"].rows}
    assert labels == {"Spend more": "5–10% Off from £100.00", "Plain": "10% Off"}
    html = response.content.decode()
    assert 'data-testid="discount-label">5–10% Off from £100.00<' in html


def test_detail_header_lists_every_tier_and_the_archive_page_the_range(clinic_a, in_clinic, staff_a, client_for):
    # given a tiered promo with a percent tier and a fixed-amount tier
    promo = seed(clinic_a, in_clinic, "Spend more", code="TREAT", kind="tiered", active=True,
                 tiers=[tier("100", "percent", "5"), tier("300", "amount", "50")])
    client = client_for(staff_a)

    # when its page and its archive confirmation open
    detail = client.get(url(clinic_a, "detail", promo.pk)).content.decode()
    archive = client.get(url(clinic_a, "archive", promo.pk)).content.decode()

    # then the header names each tier and the confirmation the compact range
    assert 'data-testid="discount-summary">5% Off from £100.00 · £50.00 Off from £300.00<' in detail
    assert "5% to £50.00 Off from £100.00" in archive
