"""The Compare page leads with money per use, says each ratio once, and shows every column can be
sorted (PRO-7)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.factories import PatientFactory
from tests.promos.factories import add_use, seed, url

pytestmark = pytest.mark.django_db


def cell(html: str, testid: str, promo) -> str:
    row = re.search(rf'data-promo-id="{promo.pk}">(.*?)</tr>', html, flags=re.S).group(1)
    text = re.search(rf'data-testid="{testid}">(.*?)</td>', row, flags=re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


@pytest.fixture
def costed(clinic_a, in_clinic):
    """£100 of marketing bought 4 uses, each £10 off an order that came to £90."""
    promo = seed(clinic_a, in_clinic, "Costed", code="COSTED", active=True, marketing_cost=Decimal("100"))
    with in_clinic(clinic_a):
        for _ in range(4):
            add_use(promo, PatientFactory(), discount="10.00", order_total="90.00")
    return promo


def test_cost_per_use_is_the_main_figure_and_uses_per_cost_the_small_print(
    clinic_a, viewer_a, client_for, costed,
):
    html = client_for(viewer_a).get(url(clinic_a, "compare")).content.decode()
    # £100 ÷ 4 uses = £25.00 a use; turned round, 4 ÷ £100 = 0.04 uses per £1
    assert re.search(r'data-testid="cost-per-use"><span data-testid="cost-per-use-value">£25.00 per use</span>'
                     r'<div class="cell-sub" data-testid="uses-per-cost">0.04 uses per £1.00</div>', html)


def test_discount_to_revenue_is_said_once_as_a_percentage(clinic_a, viewer_a, client_for, costed):
    html = client_for(viewer_a).get(url(clinic_a, "compare")).content.decode()
    # £40 discount ÷ £360 revenue = 0.111…, shown once as 11.1%
    assert cell(html, "discount-to-revenue", costed) == "11.1%"
    assert "0.111" not in html


def test_every_column_shows_it_can_be_sorted_and_cost_per_use_sorts_cheapest_first(
    clinic_a, in_clinic, viewer_a, client_for, costed,
):
    # given a second costed promo that is dearer per use: £300 for 2 uses
    dear = seed(clinic_a, in_clinic, "Dear", code="DEAR", active=True, marketing_cost=Decimal("300"))
    with in_clinic(clinic_a):
        for _ in range(2):
            add_use(dear, PatientFactory(), discount="10.00", order_total="90.00")
    client = client_for(viewer_a)

    # when the page opens sorted by uses
    response = client.get(url(clinic_a, "compare"))
    html = response.content.decode()

    # then every header but the sorted one carries the neutral sort cue, and the sorted one its arrow
    columns = response.context["columns"]
    assert list(columns) == ["name", "uses", "cost_per_use", "discount_to_revenue", "unique_customer_ratio",
                             "total_discounted", "revenue"]
    assert html.count('data-testid="sort-cue"') == len(columns) - 1
    assert 'aria-sort="descending"><a class="sort-link on" href="?sort=uses" data-sort="uses"' in html

    # and a click on Cost per use lists the cheapest use first
    assert columns["cost_per_use"]["next"] == "cost_per_use"
    cheapest_first = client.get(url(clinic_a, "compare"), {"sort": "cost_per_use"})
    assert [r.promo.name for r in cheapest_first.context["rows"]] == ["Costed", "Dear"]
    assert cheapest_first.context["columns"]["cost_per_use"]["next"] == "-cost_per_use"


def test_the_formulas_are_still_explained(clinic_a, viewer_a, client_for, costed):
    html = client_for(viewer_a).get(url(clinic_a, "compare")).content.decode()
    for formula in ("marketing cost ÷ uses", "uses ÷ marketing cost", "total discounted ÷ revenue",
                    "uses ÷ unique patients"):
        assert f"<code>{formula}</code>" in html
