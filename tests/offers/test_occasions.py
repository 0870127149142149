"""Occasion dates per clinic locale, fixed and computed (OFF-3)."""

from datetime import date

import pytest

from offers.choices import Occasion
from offers.occasions import easter_sunday, next_occurrence, occurrence_in


@pytest.mark.parametrize("year,expected", [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                           (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
                                           (2038, date(2038, 4, 25))])
def test_easter_sunday_matches_the_published_dates(year, expected):
    assert easter_sunday(year) == expected


@pytest.mark.parametrize("occasion,locale,expected", [
    (Occasion.CHRISTMAS, "uk", date(2026, 12, 25)),
    (Occasion.NEW_YEAR, "us", date(2026, 1, 1)),
    (Occasion.VALENTINES_DAY, "uk", date(2026, 2, 14)),
    (Occasion.MOTHERS_DAY, "uk", date(2026, 3, 15)),  # Mothering Sunday: three weeks before Easter
    (Occasion.MOTHERS_DAY, "us", date(2026, 5, 10)),  # second Sunday of May
    (Occasion.FATHERS_DAY, "uk", date(2026, 6, 21)),  # third Sunday of June
    (Occasion.FATHERS_DAY, "us", date(2026, 6, 21)),
    (Occasion.EASTER, "us", date(2026, 4, 5)),
    (Occasion.HALLOWEEN, "uk", date(2026, 10, 31)),
    (Occasion.BLACK_FRIDAY, "uk", date(2026, 11, 27)),  # the day after the fourth Thursday of November
    (Occasion.BIRTHDAY, "uk", None),  # per patient
])
def test_occasion_dates_per_locale(occasion, locale, expected):
    assert occurrence_in(occasion, 2026, locale) == expected


def test_the_next_occurrence_rolls_into_next_year_once_this_years_has_passed():
    assert next_occurrence(Occasion.CHRISTMAS, date(2026, 12, 25), "uk") == date(2026, 12, 25)
    assert next_occurrence(Occasion.CHRISTMAS, date(2026, 12, 26), "uk") == date(2027, 12, 25)
    assert next_occurrence(Occasion.BLACK_FRIDAY, date(2026, 11, 28), "us") == date(2027, 11, 26)
