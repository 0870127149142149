from django.db import models


class Occasion(models.TextChoices):
    """The fixed catalogue of automated offers (OFF-3). Dates per clinic locale live in occasions.py."""

    NEW_YEAR = "new_year", "New Year"
    VALENTINES_DAY = "valentines_day", "Valentine's Day"
    MOTHERS_DAY = "mothers_day", "Mother's Day"
    EASTER = "easter", "Easter"
    FATHERS_DAY = "fathers_day", "Father's Day"
    SUMMER = "summer", "Summer Special"
    HALLOWEEN = "halloween", "Halloween"
    BLACK_FRIDAY = "black_friday", "Black Friday"
    CHRISTMAS = "christmas", "Christmas"
    BIRTHDAY = "birthday", "Birthday Special"
