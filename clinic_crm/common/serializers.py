"""Serializer pieces shared by the API's apps: ids, and the Discount every promotion kind carries."""

import re
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.choices import DiscountType
from clinic_crm.common.models import discount_value_problem

ID_PATTERN = r"^[1-9][0-9]{0,17}$"
ID = re.compile(ID_PATTERN)
MAX_ID = 10**18 - 1


@extend_schema_field({"oneOf": [{"type": "string", "pattern": ID_PATTERN},
                                {"type": "integer", "minimum": 1, "maximum": MAX_ID}], "example": "12"})
class IdInput(serializers.IntegerField):
    """A row id sent by a client: a string of digits, as API.md gives ids ("ids are strings in JSON").

    A JSON number is accepted too, so clients written before the schema said so keep working.
    """

    default_error_messages = {"invalid": 'Give an id, e.g. "12".'}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, str) and ID.match(data))):
            self.fail("invalid")
        return super().to_internal_value(data)


def exactly_one_of(*names: str) -> dict:
    """`schema_rules` for a body that names its patient (or anything) exactly one way."""
    return {"oneOf": [{"required": [name]} for name in names]}


PATIENT_EITHER_WAY = exactly_one_of("patient_id", "external_id")


def ensure_one_patient_reference(data: dict) -> None:
    """The rule `PATIENT_EITHER_WAY` states: a patient named by our id or the clinic's, not both."""
    if ("patient_id" in data) == ("external_id" in data):
        raise serializers.ValidationError({"patient_id": ["Give exactly one of patient_id or external_id."]})


# --- the Discount resource (API.md): {"type", "value"} beside its rendered discount_label ---------


def discount_body(discount_type: str, value: Decimal | None) -> dict:
    """The API's discount: a percent as "20", an amount with its pence "25.00", a free treatment null."""
    if discount_type == DiscountType.FREE_TREATMENT or value is None:
        return {"type": discount_type, "value": None}
    if discount_type == DiscountType.PERCENT:
        return {"type": discount_type, "value": f"{value.normalize():f}"}
    return {"type": discount_type, "value": f"{value.quantize(Decimal('0.01')):f}"}


class DiscountOutput(serializers.Serializer):
    type = fields.ChoiceField(source="discount_type", choices=DiscountType.choices)
    value = fields.DecimalField(source="discount_value", max_digits=10, decimal_places=2, allow_null=True)

    class Meta:
        ref_name = "Discount"


class WholeObjectInput(serializers.Serializer):
    """A nested object that is always sent whole, also in a partial update (PATCH).

    DRF lets a partial update leave out any field at any depth, so a nested object would arrive
    with parts missing. An object that replaces the stored one as a whole (each item of a list
    that replaces the stored list, such as a promo's tiers) is validated as on create instead:
    a missing part is a 400 with its field, never a KeyError further on.
    """

    def to_internal_value(self, data):
        if getattr(self.root, "partial", False) and self.root is not self:
            return validate_whole(type(self), data, self.context)
        return super().to_internal_value(data)


def validate_whole(serializer_class, data, context) -> dict:
    """Validate `data` with `serializer_class` as on create: every required field, and `validate()`."""
    whole = serializer_class(data=data, context=context)
    if not whole.is_valid():
        raise serializers.ValidationError(whole.errors)
    return whole.validated_data


POSITIVE_AMOUNT = r"^(?=.*[1-9])[0-9]{1,8}(?:\.[0-9]{1,2})?$"
PERCENT = r"^(?=.*[1-9])(?:100(?:\.0{1,2})?|[0-9]{1,2}(?:\.[0-9]{1,2})?)$"


class DiscountInput(serializers.Serializer):
    """The Discount of API.md as input, checked as a whole (a percent from 1 to 100, an amount
    above zero, a free treatment with no value)."""

    type = fields.ChoiceField(choices=DiscountType.choices)
    value = fields.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), allow_null=True,
                                required=False, help_text="A percent (1–100) or an amount; null for a free treatment.")

    # The value a type needs: none for a free treatment, above zero for an amount, 1 to 100 for a percent.
    # (The type is matched by a pattern: an `enum` here would be turned into a component of its own.)
    schema_rules = {"anyOf": [
        {"properties": {"type": {"pattern": f"^{DiscountType.FREE_TREATMENT}$"}}},
        {"required": ["value"], "properties": {"type": {"pattern": f"^{DiscountType.AMOUNT}$"},
                                               "value": {"type": "string", "pattern": POSITIVE_AMOUNT}}},
        {"required": ["value"], "properties": {"type": {"pattern": f"^{DiscountType.PERCENT}$"},
                                               "value": {"type": "string", "pattern": PERCENT}}},
    ]}

    class Meta:
        ref_name = "DiscountInput"

    def validate(self, data):
        problem = discount_value_problem(data["type"], data.get("value"))
        if problem:
            raise serializers.ValidationError({"value": [problem]})
        if data["type"] == DiscountType.FREE_TREATMENT:
            data = {**data, "value": None}
        return data


class DiscountPatchInput(DiscountInput):
    """A discount in a partial update (PATCH): the parts left out are the stored ones.

    `{"value": "15"}` keeps the stored type; `{"type": "free_treatment"}` needs no value; a new
    percent or amount type needs its value. The merged discount is checked as on create, so a
    PATCH never stores a discount a create would refuse. The stored one is the `discount_type` /
    `discount_value` of the object the parent serializer updates (its `instance`).
    """

    type = fields.ChoiceField(choices=DiscountType.choices, required=False,
                              help_text="The stored type when left out.")
    value = fields.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), allow_null=True,
                                required=False, help_text="The stored value when left out and the type is unchanged.")

    schema_rules = None  # what it may leave out depends on the stored discount

    class Meta:
        ref_name = "DiscountPatchInput"

    def to_internal_value(self, data):
        stored = getattr(self.parent, "instance", None)
        if isinstance(data, dict) and stored is not None:
            merged = {"type": stored.discount_type, **data}
            if "value" not in data:
                # The stored value means something only for the stored type.
                merged["value"] = stored.discount_value if merged["type"] == stored.discount_type else None
                if merged["value"] is not None:
                    merged["value"] = str(merged["value"])
            data = merged
        return validate_whole(DiscountInput, data, self.context)


@extend_schema_field({"readOnly": True})
class NotEditable(serializers.Field):
    """A field a partial update may not change: sending it is a 400 saying what to do instead."""

    def __init__(self, *, message: str, **kwargs):
        self.message = message
        super().__init__(required=False, help_text=f"Read-only here. {message}", **kwargs)

    def to_internal_value(self, data):
        raise serializers.ValidationError(self.message)

    def to_representation(self, value):
        return value


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
