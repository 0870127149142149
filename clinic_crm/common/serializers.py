"""Serializer pieces shared by the API's apps: ids, and the Discount every promotion kind carries."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common.choices import DiscountType

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


# --- the Discount resource (API.md): {"type", "value"} beside its rendered discount_label ---------


def discount_body(discount_type: str, value: Decimal | None) -> dict:
    """The API's discount: a percent as "20", an amount with its pence "25.00", a free treatment null."""
    if discount_type == DiscountType.FREE_TREATMENT or value is None:
        return {"type": discount_type, "value": None}
    if discount_type == DiscountType.PERCENT:
        return {"type": discount_type, "value": f"{value.normalize():f}"}
    return {"type": discount_type, "value": f"{value.quantize(Decimal('0.01')):f}"}


class DiscountOutput(serializers.Serializer):
    type = serializers.ChoiceField(source="discount_type", choices=DiscountType.choices)
    value = serializers.DecimalField(source="discount_value", max_digits=10, decimal_places=2, allow_null=True)

    class Meta:
        ref_name = "Discount"


class DiscountInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=DiscountType.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), allow_null=True,
                                     required=False)

    class Meta:
        ref_name = "DiscountInput"


def discount_fields(discount: dict) -> dict:
    """A validated DiscountInput as the models' `discount_type` / `discount_value`."""
    return {"discount_type": discount["type"], "discount_value": discount.get("value")}


def flatten_discount(validated: dict) -> dict:
    """The services' shape of validated input: its `discount` object as discount_type/discount_value."""
    data = dict(validated)
    discount = data.pop("discount", None)
    if discount is not None:
        data.update(discount_fields(discount))
    return data
