"""Order serializers for the POS API (CORE-4)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common import json_fields as fields
from clinic_crm.common.serializers import (
    PATIENT_EITHER_WAY,
    DiscountOutput,
    IdInput,
    ensure_one_patient_reference,
)
from clinic_crm.orders.models import Order, OrderLine


class OrderLineOutput(fields.ModelSerializer):
    line_total = fields.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = OrderLine
        fields = ["description", "category", "quantity", "unit_price", "line_total"]
        ref_name = "OrderLine"


class OrderOutput(fields.ModelSerializer):
    id = fields.CharField(read_only=True)
    patient_id = fields.CharField(read_only=True)
    external_id = fields.CharField(source="patient.external_id", read_only=True)
    lines = OrderLineOutput(many=True, read_only=True)
    discount = serializers.SerializerMethodField()
    discount_label = fields.CharField(source="source_label")

    class Meta:
        model = Order
        fields = ["id", "reference", "patient_id", "external_id", "placed_at", "currency", "subtotal",
                  "discount_amount", "total", "discount_source", "discount", "discount_label", "source_key",
                  "source_name", "lines"]
        ref_name = "Order"

    @extend_schema_field(DiscountOutput(allow_null=True))
    def get_discount(self, order) -> dict | None:
        if not order.has_discount:
            return None
        value = order.discount_value
        return {"type": order.discount_type, "value": None if value is None else f"{value.normalize():f}"}


# An order is given by its total, or by its lines (at least one) to add up.
TOTAL_OR_LINES = {"anyOf": [{"required": ["total"]},
                            {"required": ["lines"], "properties": {"lines": {"minItems": 1}}}]}


class OrderLineInput(serializers.Serializer):
    description = fields.CharField(max_length=200)
    category = fields.CharField(max_length=80, required=False, allow_blank=True, default="")
    quantity = fields.IntegerField(min_value=1, max_value=1000, default=1)
    unit_price = fields.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))

    class Meta:
        ref_name = "OrderLineInput"


class OrderInput(serializers.Serializer):
    reference = fields.CharField(max_length=64)
    patient_id = IdInput(required=False)
    external_id = fields.CharField(max_length=64, required=False)
    placed_at = fields.HappenedAtField(required=False,
                                       help_text="When the order was placed: from 1900 to a day ahead; now if left out.")
    total = fields.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False)
    lines = OrderLineInput(many=True, required=False, max_length=500)

    schema_rules = {"allOf": [PATIENT_EITHER_WAY, TOTAL_OR_LINES]}

    class Meta:
        ref_name = "OrderInput"

    def validate(self, data):
        ensure_one_patient_reference(data)
        if not data.get("lines") and data.get("total") is None:
            raise serializers.ValidationError({"lines": ["Give the order's lines or its total."]})
        return data
