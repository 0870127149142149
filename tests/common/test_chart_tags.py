"""The server-rendered charts (bar_chart, line_chart): y-axis values on round numbers, evenly spaced date
labels, and figures readable without hovering, in a summary and a table of every day (CORE-5, PRO-8)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template

from clinic_crm.common.templatetags.ui import (
    bar_chart,
    chart_axis_top,
    chart_date_ticks,
    line_chart,
)

START = date(2026, 11, 1)  # a Sunday


def days(values, start=START):
    return [(start + timedelta(days=i), value) for i, value in enumerate(values)]


def by_testid(html: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}">([^<]*)<', html)


def table_rows(html: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


# ---- the y axis ----

@pytest.mark.parametrize(("peak", "whole", "top"), [
    ("4", True, "4"),        # 0 / 2 / 4
    ("5", True, "6"),        # 0 / 3 / 6: counts keep whole halves
    ("1", True, "2"),        # 0 / 1 / 2, never "0.5 uses"
    ("0", True, "2"),        # an empty week still has a scale
    ("312.50", False, "400"),
    ("120", False, "120"),
    ("1518.25", False, "1600"),
    ("0", False, "1"),
])
def test_the_axis_tops_out_at_a_round_number_with_a_round_half(peak, whole, top):
    assert chart_axis_top(Decimal(peak), whole=whole) == Decimal(top)


def test_a_line_chart_of_counts_labels_its_axis_top_middle_and_zero():
    # given a week of uses peaking at 4
    html = line_chart(days([0, 1, 4, 2, 0, 3, 1]), label="Promo uses per day", unit="uses")

    # then the axis reads 4, 2 and 0, from the top
    assert by_testid(html, "chart-y-label") == ["4", "2", "0"]


def test_a_money_chart_labels_its_axis_in_whole_pounds():
    # given revenue peaking at £312.50
    html = line_chart(days([Decimal("312.50"), Decimal("80")]), "GBP", label="Revenue")

    # then the axis reads £400, £200 and £0
    assert by_testid(html, "chart-y-label") == ["£400", "£200", "£0"]


def test_the_highest_point_is_drawn_at_its_value_on_the_axis():
    # given a peak of 4 on an axis topping out at 4
    html = line_chart(days([0, 4]), unit="uses")

    # then the peak sits on the top gridline and zero on the baseline
    gridlines = re.findall(r'y1="([\d.]+)" y2="[\d.]+" class="chart-(?:grid|axis)"', html)
    points = re.search(r'<polyline class="chart-stroke" points="([^"]+)"', html).group(1).split()
    assert [p.split(",")[1] for p in points] == [gridlines[2], gridlines[0]]


# ---- the dates ----

@pytest.mark.parametrize(("n", "ticks"), [
    (1, [0]),
    (2, [0, 1]),
    (7, [0, 2, 4, 6]),            # every other day: evenly spaced
    (30, [0, 7, 15, 22, 29]),
    (31, [0, 6, 12, 18, 24, 30]),
    (90, [0, 22, 45, 67, 89]),
])
def test_date_labels_fall_on_the_first_last_and_evenly_spaced_days(n, ticks):
    assert chart_date_ticks(n) == ticks


def test_a_ninety_day_chart_labels_five_dates_not_just_the_ends():
    # when 90 days are charted
    html = line_chart(days([1] * 90, start=date(2026, 8, 25)), unit="uses")

    # then five dates are labelled, from the first day to the last
    assert by_testid(html, "chart-date") == ["25 Aug", "16 Sep", "9 Oct", "31 Oct", "22 Nov"]
    # and each sits in its own day's slot, one slot per day
    assert len(re.search(r'<div class="chart-x"[^>]*>(.*?)</div>', html, re.S).group(1).split("</span><span>")) == 90


def test_a_week_labels_every_other_day():
    html = bar_chart([(START + timedelta(days=i), Decimal("10"), 1) for i in range(7)], "GBP")
    assert by_testid(html, "chart-date") == ["1 Nov", "3 Nov", "5 Nov", "7 Nov"]


# ---- figures without hovering ----

def test_a_line_chart_states_its_total_and_highest_day_in_words():
    # given a week of uses
    html = line_chart(days([0, 1, 4, 2, 0, 3, 1]), label="Promo uses per day", unit="uses")

    # then a visible summary says the total and the busiest day, and the SVG's accessible name says it too
    summary = "Total over 7 days: 11 uses. Highest: 4 uses on Tue 3 Nov."
    assert by_testid(html, "chart-summary") == [summary]
    assert f'role="img" aria-label="Promo uses per day. {summary}"' in html


def test_a_line_chart_lists_every_day_in_a_table():
    html = line_chart(days([0, 1, 4]), label="Promo uses per day", unit="uses")

    assert re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', html) == ["Day", "Uses"]
    assert table_rows(html) == [["Sun 1 Nov", "0 uses"], ["Mon 2 Nov", "1 use"], ["Tue 3 Nov", "4 uses"]]


def test_a_money_line_chart_shows_amounts_in_the_currency():
    html = line_chart(days([Decimal("12.50"), Decimal("0")]), "GBP", label="Discount given")

    assert by_testid(html, "chart-summary") == ["Total over 2 days: £12.50. Highest: £12.50 on Sun 1 Nov."]
    assert table_rows(html) == [["Sun 1 Nov", "£12.50"], ["Mon 2 Nov", "£0.00"]]


def test_a_bar_chart_gives_revenue_and_orders_per_day():
    # given two days of revenue
    series = [(START, Decimal("120.50"), 3), (START + timedelta(days=1), Decimal("0"), 0)]

    # when the page already shows the totals above the chart
    html = bar_chart(series, "GBP", caption=False)

    # then there is no second visible summary, but the SVG's name and the table carry the figures
    assert by_testid(html, "chart-summary") == []
    assert ('aria-label="Revenue per day. Total over 2 days: £120.50 from 3 orders. '
            'Highest: £120.50 on Sun 1 Nov (3 orders)."') in html
    assert by_testid(html, "chart-y-label") == ["£150", "£75", "£0"]
    assert table_rows(html) == [["Sun 1 Nov", "£120.50", "3"], ["Mon 2 Nov", "£0.00", "0"]]
    assert "<title>Sun 1 Nov: £120.50 · 3 orders</title>" in html


def test_an_empty_period_says_so_without_a_highest_day():
    html = line_chart(days([0, 0, 0]), unit="uses")

    assert by_testid(html, "chart-summary") == ["Total over 3 days: 0 uses."]
    assert by_testid(html, "chart-y-label") == ["2", "1", "0"]


def test_no_series_draws_nothing():
    assert line_chart([]) == "" and bar_chart([]) == ""


def test_the_tags_render_from_a_template_with_the_figures_escaped():
    html = Template('{% line_chart series label=label unit="uses" %}').render(
        Context({"series": days([1, 2]), "label": "<Uses>"}))

    assert 'aria-label="&lt;Uses&gt;. Total over 2 days: 3 uses.' in html and "<Uses>" not in html

