"""Template helpers every dashboard page uses: money, percentages, badges, server-rendered SVG charts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from clinic_crm.common.money import format_money

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


@register.filter
def age_on(dob: date | None, today: date) -> int | str:
    if not dob:
        return ""
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


@register.simple_tag
def bar_chart(series, currency: str = "", height: int = 160, label: str = "Revenue per day"):
    """An accessible SVG bar chart of [(date, amount, count)], rendered on the server (no JS)."""
    series = list(series)
    if not series:
        return ""
    width = 720
    top, bottom, left = 12, 24, 4
    plot_h = height - top - bottom
    peak = max((amount for _, amount, _ in series), default=Decimal("0")) or Decimal("1")
    slot = (width - left) / len(series)
    bar_w = max(2.0, slot * 0.72)
    bars = []
    for i, (day, amount, count) in enumerate(series):
        h = float(Decimal(amount) / peak) * plot_h if amount else 0.0
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        title = f"{day:%a %d %b}: {format_money(amount, currency) if currency else amount} · {count} orders"
        bars.append((f"{x:.1f}", f"{y:.1f}", f"{bar_w:.1f}", f"{max(h, 1.5 if amount else 0):.1f}", title))
    ticks = []
    step = max(1, len(series) // 6)
    for i in range(0, len(series), step):
        day = series[i][0]
        x = left + i * slot + slot / 2
        ticks.append((f"{x:.1f}", str(height - 6), f"{day:%d %b}"))
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}" preserveAspectRatio="none">'
        '<line x1="0" x2="{w}" y1="{base}" y2="{base}" class="chart-axis"/>{bars}{ticks}</svg>',
        w=width, h=height, label=label, base=f"{top + plot_h:.1f}",
        bars=format_html_join(
            "", '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}</title></rect>', bars
        ),
        ticks=format_html_join("", '<text class="chart-tick" x="{}" y="{}" text-anchor="middle">{}</text>', ticks),
    )


@register.simple_tag
def share_bar(part, whole):
    """A thin horizontal bar showing part/whole."""
    ratio = (Decimal(part) / Decimal(whole) * 100) if whole else Decimal("0")
    return format_html('<progress class="share" value="{}" max="100">{}%</progress>', f"{ratio:.0f}", f"{ratio:.0f}")


@register.filter
def initials(name: str) -> str:
    parts = [p for p in (name or "").split() if p]
    return mark_safe("".join(p[0].upper() for p in parts[:2]) or "?")


@register.filter
def humanize_key(key: str) -> str:
    """`referred_by` → "Referred by" for custom-field labels."""
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@register.simple_tag
def line_chart(series, currency: str = "", height: int = 180, label: str = "Per day", unit: str = ""):
    """An accessible SVG line chart of [(date, value)], rendered on the server: an area, a line and a
    point per day whose <title> gives the exact figure on hover."""
    series = list(series)
    if not series:
        return ""
    width, top, bottom = 720, 14, 8
    plot_h = height - top - bottom
    peak = max((Decimal(value) for _, value in series), default=Decimal("0")) or Decimal("1")
    step = width / max(1, len(series) - 1)

    def point(i, value):
        x = i * step if len(series) > 1 else width / 2
        y = top + plot_h - float(Decimal(value) / peak) * plot_h
        return f"{x:.1f}", f"{y:.1f}"

    points = [point(i, value) for i, (_, value) in enumerate(series)]
    line = " ".join(f"{x},{y}" for x, y in points)
    base = f"{top + plot_h:.1f}"
    area = f"{points[0][0]},{base} {line} {points[-1][0]},{base}"

    def shown(value):
        if currency:
            return format_money(Decimal(value), currency)
        return f"{value} {unit}".strip()

    dots = [(x, y, f"{day:%a %d %b}: {shown(value)}") for (x, y), (day, value) in zip(points, series)]
    grid = [f"{top + plot_h * f:.1f}" for f in (0, 0.5)]
    return format_html(
        '<svg class="chart chart-line" viewBox="0 0 {w} {h}" role="img" aria-label="{label}" '
        'preserveAspectRatio="none">{grid}<line x1="0" x2="{w}" y1="{base}" y2="{base}" class="chart-axis"/>'
        '<polygon class="chart-area" points="{area}"/><polyline class="chart-stroke" points="{line}" '
        'vector-effect="non-scaling-stroke"/>{dots}</svg>',
        w=width, h=height, label=label, base=base, area=area, line=line,
        grid=format_html_join("", '<line x1="0" x2="{}" y1="{}" y2="{}" class="chart-grid"/>',
                              ((width, y, y) for y in grid)),
        dots=format_html_join(
            "", '<circle class="chart-dot" cx="{}" cy="{}" r="3" vector-effect="non-scaling-stroke">'
                '<title>{}</title></circle>', dots),
    )
