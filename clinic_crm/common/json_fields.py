"""Serializer fields that hold the API's JSON types as the OpenAPI schema states them (API.md).

DRF's own fields are lenient: a CharField takes the number 12, a BooleanField takes 0, "yes" and
"false", an IntegerField takes "12", a DecimalField takes the float 12.5. The schema promises
strings, booleans and integers, and integrators build against it, so a value of another JSON
type is a 400 with the field named, never silently converted. Every serializer of the project
uses these (`from clinic_crm.common import json_fields as fields`), which `tests/test_conventions.py`
keeps so; output is unchanged, except that date-times always carry an hours:minutes offset.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import models
from django.utils import timezone
from rest_framework import serializers

MONEY_HINT = 'Send the amount as a string, e.g. "25.00".'
PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")


class _StringOnly:
    """Refuse any JSON type but a string before the field reads the value."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class CharField(_StringOnly, serializers.CharField):
    pass


class EmailField(_StringOnly, serializers.EmailField):
    pass


class URLField(_StringOnly, serializers.URLField):
    pass


class RegexField(_StringOnly, serializers.RegexField):
    pass


class SlugField(_StringOnly, serializers.SlugField):
    pass


class ChoiceField(_StringOnly, serializers.ChoiceField):
    pass


class DateField(_StringOnly, serializers.DateField):
    pass


class DecimalField(serializers.DecimalField):
    """Money and other exact amounts: a string of digits in JSON ("25.00"), as the schema says; a
    JSON number would have passed through a float on its way here, and "1e2", " 5" or ".5" are
    not what the schema's pattern allows."""

    default_error_messages = {"not_a_string": MONEY_HINT, "invalid": MONEY_HINT}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        if not PLAIN_DECIMAL.match(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if data is None and self.allow_null:
            return None
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class IntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def with_whole_minute_offset(moment: datetime) -> datetime:
    """`moment` as it is, unless its zone's offset then was not whole minutes: then in UTC.

    RFC 3339 offsets are hours and minutes. Zones used local mean time before standard time
    (Europe/London: -00:01:15 until 1847), which Python would write with seconds.
    """
    offset = moment.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        return moment.astimezone(dt_timezone.utc)
    return moment


class DateTimeField(_StringOnly, serializers.DateTimeField):
    """A date-time: read from an RFC 3339 string, written with an hours:minutes offset."""

    def enforce_timezone(self, value):
        try:
            return with_whole_minute_offset(super().enforce_timezone(value))
        except OverflowError:  # a naive time near year 1 or 9999 that UTC takes out of range
            self.fail("overflow")


class HappenedAtField(DateTimeField):
    """When something happened (an order placed, a redemption made): from 1900 to a day ahead.

    A day ahead leaves room for a till whose clock runs fast or is set in another zone; anything
    further, or before 1900, is a typo or a placeholder, and would skew every report it lands in.
    """

    default_error_messages = {
        "too_early": "Give a date-time from 1900 on.",
        "too_late": "Give a date-time no more than a day ahead.",
    }

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if moment < datetime(1900, 1, 1, tzinfo=dt_timezone.utc):
            self.fail("too_early")
        if moment > timezone.now() + timedelta(days=1):
            self.fail("too_late")
        return moment


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with the fields above for the model fields it maps."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: CharField,
        models.TextField: CharField,
        models.EmailField: EmailField,
        models.URLField: URLField,
        models.SlugField: SlugField,
        models.BooleanField: BooleanField,
        models.IntegerField: IntegerField,
        models.BigIntegerField: IntegerField,
        models.PositiveIntegerField: IntegerField,
        models.PositiveSmallIntegerField: IntegerField,
        models.SmallIntegerField: IntegerField,
        models.DecimalField: DecimalField,
        models.DateField: DateField,
        models.DateTimeField: DateTimeField,
    }
    serializer_choice_field = ChoiceField

