"""Serializer fields shared by the API's apps."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_ID = 2**63 - 1


@extend_schema_field({"type": "string", "pattern": "^[1-9][0-9]{0,18}$", "example": "12"})
class IdInput(serializers.IntegerField):
    """A row id sent by a client: a string of digits, as API.md gives ids ("ids are strings in JSON").

    A JSON number is accepted too, so clients written before the schema said so keep working.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)
