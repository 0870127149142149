"""When each occasion falls, per clinic locale, and what a new automated offer starts with (OFF-3)."""

from __future__ import annotations

from datetime import date, timedelta

from offers.choices import Occasion

FIRE_HOUR = 9  # local time on the occasion date


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 — the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = ((h + l - 7 * m + 114) % 31) + 1
    return date(year, month, day)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (Monday=0) of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def occurrence_in(occasion: str, year: int, locale: str) -> date | None:
    """The date an occasion falls on in `year` for a clinic's locale; None for per-patient Birthday."""
    match occasion:
        case Occasion.NEW_YEAR:
            return date(year, 1, 1)
        case Occasion.VALENTINES_DAY:
            return date(year, 2, 14)
        case Occasion.MOTHERS_DAY:
            # UK: Mothering Sunday, three weeks before Easter. US: the second Sunday of May.
            return easter_sunday(year) - timedelta(days=21) if locale == "uk" else nth_weekday(year, 5, 6, 2)
        case Occasion.EASTER:
            return easter_sunday(year)
        case Occasion.FATHERS_DAY:
            return nth_weekday(year, 6, 6, 3)
        case Occasion.SUMMER:
            return date(year, 7, 1)
        case Occasion.HALLOWEEN:
            return date(year, 10, 31)
        case Occasion.BLACK_FRIDAY:
            return nth_weekday(year, 11, 3, 4) + timedelta(days=1)
        case Occasion.CHRISTMAS:
            return date(year, 12, 25)
        case Occasion.BIRTHDAY:
            return None
    raise ValueError(f"unknown occasion {occasion!r}")


def next_occurrence(occasion: str, today: date, locale: str) -> date | None:
    """The occasion's next date on or after `today`."""
    this_year = occurrence_in(occasion, today.year, locale)
    if this_year is None or this_year >= today:
        return this_year
    return occurrence_in(occasion, today.year + 1, locale)


DEFAULTS = {
    Occasion.NEW_YEAR: ("New year, new smile", "Start the year with {discount} on your next visit."),
    Occasion.VALENTINES_DAY: ("Treat yourself this Valentine's", "{discount} for you and your loved one."),
    Occasion.MOTHERS_DAY: ("For Mum", "Spoil her with {discount} this Mother's Day."),
    Occasion.EASTER: ("Happy Easter", "Enjoy {discount} over the Easter holidays."),
    Occasion.FATHERS_DAY: ("For Dad", "{discount} on treatments for Father's Day."),
    Occasion.SUMMER: ("Summer special", "Get summer-ready with {discount}."),
    Occasion.HALLOWEEN: ("No tricks, just treats", "{discount} this Halloween."),
    Occasion.BLACK_FRIDAY: ("Black Friday", "Our best offer of the year: {discount}."),
    Occasion.CHRISTMAS: ("Merry Christmas", "Our gift to you: {discount} this festive season."),
    Occasion.BIRTHDAY: ("Happy birthday!", "Celebrate with {discount} on us."),
}
