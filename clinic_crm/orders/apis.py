"""POS API for orders: record a completed order (idempotent) and read one back (CORE-4)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from clinic_crm.common.api import IDEMPOTENCY_KEY_PARAMETER, ClinicApi
from clinic_crm.common.errors import NotFound
from clinic_crm.orders.models import Order
from clinic_crm.orders.serializers import OrderInput, OrderOutput
from clinic_crm.orders.services import LineInput, create_order
from clinic_crm.tenancy.auth import ApiKeyAuthentication
from clinic_crm.tenancy.idempotency import idempotent
from clinic_crm.tenancy.permissions import HasApiScope
from clinic_crm.patients.selectors import get_patient_for_api

REFERENCE = OpenApiParameter("reference", {"type": "string", "minLength": 1, "maxLength": 64},
                            OpenApiParameter.PATH, description="The order's reference in the POS.")


def _order_output(order_id) -> dict:
    order = Order.objects.select_related("patient").prefetch_related("lines").get(pk=order_id)
    return OrderOutput(order).data


class PosOrderCreateApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]

    @extend_schema(request=OrderInput, responses={201: OrderOutput}, parameters=[IDEMPOTENCY_KEY_PARAMETER], tags=["pos"],
                   summary="Record a completed order from the POS")
    @idempotent
    def post(self, request):
        data = OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        patient = get_patient_for_api(clinic=self.clinic, patient_id=values.get("patient_id"),
                                      external_id=values.get("external_id"))
        order = create_order(
            clinic=self.clinic, patient=patient, reference=values["reference"], placed_at=values.get("placed_at"),
            total=values.get("total"),
            lines=[LineInput(description=l["description"], unit_price=l["unit_price"], quantity=l["quantity"],
                      category=l.get("category", ""))
                   for l in values.get("lines", [])],
        )
        return Response(_order_output(order.pk), status=status.HTTP_201_CREATED)


class PosOrderDetailApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]

    @extend_schema(parameters=[REFERENCE], responses={200: OrderOutput}, tags=["pos"],
                   summary="Read an order by its POS reference")
    def get(self, request, reference):
        order = Order.objects.filter(reference=reference).first()
        if order is None:
            raise NotFound("No order with that reference.")
        return Response(_order_output(order.pk))
