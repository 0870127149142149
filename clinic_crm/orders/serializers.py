"""Order serializers for the POS API (CORE-4)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_crm.common.serializers import DiscountOutput, IdInput
from clinic_crm.orders.models import Order, OrderLine


class OrderLineOutput(serializers.ModelSerializer):
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = OrderLine
        fields = ["description", "category", "quantity", "unit_price", "line_total"]
        ref_name = "OrderLine"


class OrderOutput(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    patient_id = serializers.CharField(read_only=True)
    external_id = serializers.CharField(source="patient.external_id", read_only=True)
    lines = OrderLineOutput(many=True, read_only=True)
    discount = serializers.SerializerMethodField()
    discount_label = serializers.CharField(source="source_label")

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


class OrderLineInput(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))

    class Meta:
        ref_name = "OrderLineInput"


class OrderInput(serializers.Serializer):
    reference = serializers.CharField(max_length=64)
    patient_id = IdInput(required=False)
    external_id = serializers.CharField(max_length=64, required=False)
    placed_at = serializers.DateTimeField(required=False)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False)
    lines = OrderLineInput(many=True, required=False)

    class Meta:
        ref_name = "OrderInput"

    def validate(self, data):
        if bool(data.get("patient_id")) == bool(data.get("external_id")):
            raise serializers.ValidationError({"patient_id": ["Give exactly one of patient_id or external_id."]})
        if not data.get("lines") and data.get("total") is None:
            raise serializers.ValidationError({"lines": ["Give the order's lines or its total."]})
        return data
