"""Template helpers every dashboard page uses: money, percentages, badges, server-rendered SVG charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import format_currency
from django import template
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils.html import format_html

from clinic_crm.common.money import CURRENCY_LOCALES, format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """{{ order.total|money:clinic.currency }} → "£1,250.00"."""
    if amount in (None, ""):
        return "–"
    return format_money(Decimal(amount), currency)


@register.filter
def percent(value, digits=0):
    if value is None:
        return "–"
    return f"{Decimal(value):.{int(digits)}f}%"


@register.filter
def change(current, previous):
    """Relative change as a signed percent string, or "" when there is nothing to compare with."""
    if not previous:
        return ""
    delta = (Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)
    return f"{delta:+.0f}%"


@register.simple_tag
def querystring_with(query: str, **params) -> str:
    """Keep the current filters and change a few (pagination links)."""
    from django.http import QueryDict

    q = QueryDict(query, mutable=True)
    for key, value in params.items():
        q[key] = value
    return "?" + q.urlencode()


@register.simple_tag
def sort_header(key: str, label: str, current: str, query: str, css: str = ""):
    """A column heading that sorts the list by it: ascending first, then descending; says which in aria-sort."""
    ascending, descending = current == key, current == f"-{key}"
    link = querystring_with(query, sort=f"-{key}" if ascending else key, page=1)
    state = "ascending" if ascending else "descending" if descending else "none"
    arrow = " ↑" if ascending else " ↓" if descending else ""
    return format_html('<th scope="col" class="{}" aria-sort="{}"><a class="sort-link" href="{}">{}{}</a></th>',
                       css, state, link, label, arrow)


@register.filter
def age_on(dob: date | None, today: date) -> int | str:
    if not dob:
        return ""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


@register.simple_tag
def share_bar(part, whole):
    """A thin horizontal bar showing part/whole."""
    ratio = (Decimal(part) / Decimal(whole) * 100) if whole else Decimal("0")
    return format_html('<progress class="share" value="{}" max="100">{}%</progress>', f"{ratio:.0f}", f"{ratio:.0f}")


@register.simple_tag
def page_numbers(page) -> list:
    """The page links of a list: the first and last, and the ones around this page, with gaps as "…"."""
    return [None if n == page.paginator.ELLIPSIS else n
            for n in page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)]


@register.filter
def lookup(mapping, key):
    """{{ rates|lookup:promo.promotion_key }}: a dict's value for a key, or None."""
    return mapping.get(key) if mapping else None


@register.filter
def initials(name: str) -> str:
    """"Ann Lee" → "AL". Plain text: autoescaping applies, since a name is whatever someone typed."""
    parts = [p for p in (name or "").split() if p]
    return "".join(p[0].upper() for p in parts[:2]) or "?"


@register.filter
def humanize_key(key: str) -> str:
    """`referred_by` → "Referred by" for custom-field labels."""
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


# ---- Charts ----------------------------------------------------------------------------------------
# Server-rendered SVG, no JS. The SVG stretches to its box (preserveAspectRatio="none"), which would squash
# any text drawn inside it, so every label is HTML around it (components/chart.html): the y-axis values in a
# column on the left, the dates in a row underneath, a one-line summary and a table of every day's figure,
# so the numbers can be read without hovering, on a phone and by a screen reader.
# The plot's top and bottom margins are fractions of its height, matching the CSS that sets the y-axis
# labels on the gridlines (.chart-y in app.css): change them together.
CHART_WIDTH = 720
PLOT_TOP = Decimal("0.08")
PLOT_BOTTOM = Decimal("0.06")
MAX_DATE_TICKS = 5
# Half the axis is one of these times a power of ten, so the labels read 0 / 150 / 300 or 0 / 2 / 4.
NICE_HALVES = tuple(Decimal(m) for m in ("1", "1.5", "2", "2.5", "3", "4", "5", "6", "7.5", "8", "10"))


@dataclass(frozen=True)
class AxisTick:
    position: str  # "top", "mid" or "base": the CSS class that sets the label on its gridline
    y: str  # the gridline, in SVG units
    label: str


def chart_axis_top(peak: Decimal, *, whole: bool) -> Decimal:
    """The smallest round number at or above `peak` whose half is round too (and whole, for counts)."""
    half = max(Decimal(peak) / 2, Decimal(1) if whole else Decimal("0.5"))
    exponent = half.adjusted()
    for multiple in NICE_HALVES:
        candidate = multiple.scaleb(exponent)
        if candidate >= half and (not whole or candidate == candidate.to_integral_value()):
            return candidate * 2
    return NICE_HALVES[-1].scaleb(exponent) * 2


def chart_date_ticks(n: int) -> list[int]:
    """Indices of the points that get a date label: the first, the last and evenly spaced ones between."""
    if n <= 2:
        return list(range(n))
    # A count that splits the gaps exactly keeps the labels evenly spaced (7 days → every other day).
    count = next((c for c in (MAX_DATE_TICKS, MAX_DATE_TICKS + 1, MAX_DATE_TICKS - 1)
                  if c <= n and (n - 1) % (c - 1) == 0), min(n, MAX_DATE_TICKS))
    return sorted({(2 * k * (n - 1) + count - 1) // (2 * (count - 1)) for k in range(count)})  # rounds half up


def _plain_number(value) -> str:
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value.normalize():,f}"


def _axis_label(value: Decimal, currency: str) -> str:
    if not currency:
        return _plain_number(value)
    if value == value.to_integral_value():  # "£400", not "£400.00": the axis is a scale, not a price
        return format_currency(value, currency, locale=CURRENCY_LOCALES.get(currency, "en_GB"),
                               format="¤#,##0", currency_digits=False)
    return format_money(value, currency)


def _with_unit(value, unit: str) -> str:
    if not unit:
        return _plain_number(value)
    if Decimal(value) == 1 and unit.endswith("s"):
        unit = unit[:-1]  # "1 use", "4 uses"
    return f"{_plain_number(value)} {unit}"


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _is_whole(values: list[Decimal]) -> bool:
    return all(v == v.to_integral_value() for v in values)


def _highest(values: list[Decimal]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def _render_chart(*, kind: str, days: list[date], top_value: Decimal, currency: str, height: int, label: str,
                  summary: str, caption: bool, headings: list[str], rows: list[list[str]], marks: dict) -> str:
    top = PLOT_TOP * height
    base = height - PLOT_BOTTOM * height
    axis = [
        AxisTick("top", f"{top:.1f}", _axis_label(top_value, currency)),
        AxisTick("mid", f"{(top + base) / 2:.1f}", _axis_label(top_value / 2, currency)),
        AxisTick("base", f"{base:.1f}", _axis_label(Decimal(0), currency)),
    ]
    ticks = set(chart_date_ticks(len(days)))
    return render_to_string("components/chart.html", {
        "kind": kind, "width": CHART_WIDTH, "height": height, "label": label, "summary": summary, "caption": caption,
        # A day's slot is narrower than its date: the first and last dates then align to the plot's edges.
        "dense": len(days) > 12, "axis": axis, "gridlines": axis[:2], "base": axis[2].y,
        "date_labels": [f"{day.day} {day:%b}" if i in ticks else "" for i, day in enumerate(days)],
        "headings": headings, "rows": rows, **marks,
    })


def _plot_y(value: Decimal, top_value: Decimal, height: int) -> float:
    """How far above the baseline `value` sits, in SVG units."""
    return float(Decimal(value) / top_value * (1 - PLOT_TOP - PLOT_BOTTOM) * height)


@register.simple_tag
def bar_chart(series, currency: str = "", height: int = 180, label: str = "Revenue per day",
              value_heading: str = "Revenue", caption: bool = True):
    """A bar chart of [(date, amount, order count)] with y-axis values, date labels, a summary and a table of
    every day, rendered on the server (CORE-5). caption=False where the page already shows the totals."""
    series = list(series)
    if not series:
        return ""
    days = [day for day, _, _ in series]
    values = [Decimal(amount or 0) for _, amount, _ in series]
    counts = [count for _, _, count in series]

    def show(amount):
        return format_money(amount, currency) if currency else _plain_number(amount)

    def orders(n):
        return f"{n} order{pluralize(n)}"

    top_value, base, slot = _plot_frame(values, currency=currency, height=height)
    bar_w = max(2.0, slot * 0.72)
    bars = []
    for i, (day, amount, count) in enumerate(zip(days, values, counts)):
        h = max(_plot_y(amount, top_value, height), 1.5) if amount else 0.0
        bars.append({"x": f"{i * slot + (slot - bar_w) / 2:.1f}", "y": f"{base - h:.1f}", "w": f"{bar_w:.1f}",
                     "h": f"{h:.1f}", "title": f"{_day(day)}: {show(amount)} · {orders(count)}"})
    summary = _chart_summary(days, values, show, counts=counts, orders=orders)
    return _render_chart(
        kind="bar", days=days, top_value=top_value, currency=currency, height=height, label=label,
        summary=summary, caption=caption, headings=["Day", value_heading, "Orders"],
        rows=[[_day(day), show(amount), str(count)] for day, amount, count in zip(days, values, counts)],
        marks={"bars": bars},
    )


def _chart_summary(days, values, show, *, counts=None, orders=None) -> str:
    """The line under a chart: the total over the days and the highest day (with order counts for bars)."""
    total = sum(values)
    text = f"Total over {len(days)} day{pluralize(len(days))}: {show(total)}"
    text += f" from {orders(sum(counts))}." if counts is not None else "."
    if total:
        best = _highest(values)
        text += f" Highest: {show(values[best])} on {_day(days[best])}"
        text += f" ({orders(counts[best])})." if counts is not None else "."
    return text


def _plot_frame(values: list[Decimal], *, currency: str, height: int) -> tuple[Decimal, float, float]:
    """The y-axis top, the baseline's y and the width each day gets."""
    top_value = chart_axis_top(max(values), whole=not currency and _is_whole(values))
    return top_value, float(height - PLOT_BOTTOM * height), CHART_WIDTH / len(values)


@register.simple_tag
def line_chart(series, currency: str = "", height: int = 180, label: str = "Per day", unit: str = "",
               value_heading: str = "", caption: bool = True):
    """A line chart of [(date, value)] with y-axis values, date labels, a summary and a table of every day,
    rendered on the server; each point's <title> gives its figure on hover too (PRO-8)."""
    series = list(series)
    if not series:
        return ""
    days = [day for day, _ in series]
    values = [Decimal(value or 0) for _, value in series]

    def show(value):
        return format_money(value, currency) if currency else _with_unit(value, unit)

    top_value, base, slot = _plot_frame(values, currency=currency, height=height)
    # Each point sits in the middle of its day's slot, as a bar would, so its date label can sit under it.
    points = [(f"{(i + 0.5) * slot:.1f}", f"{base - _plot_y(v, top_value, height):.1f}") for i, v in enumerate(values)]
    line = " ".join(f"{x},{y}" for x, y in points)
    summary = _chart_summary(days, values, show)
    return _render_chart(
        kind="line", days=days, top_value=top_value, currency=currency, height=height, label=label,
        summary=summary, caption=caption,
        headings=["Day", value_heading or (unit[:1].upper() + unit[1:] if unit else label)],
        rows=[[_day(day), show(value)] for day, value in zip(days, values)],
        marks={"line": line, "area": f"{points[0][0]},{base:.1f} {line} {points[-1][0]},{base:.1f}",
               "dots": [{"x": x, "y": y, "title": f"{_day(day)}: {show(v)}"}
                        for (x, y), day, v in zip(points, days, values)]},
    )
