"""The staff API's cross-kind reads: `promotions/`, exactly what Marketing → Promotions shows (API.md, RED-7)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from clinic_crm.common import json_fields as fields
from clinic_crm.common.api import ClinicApi
from clinic_crm.dashboard import promotions
from clinic_crm.tenancy.auth import StaffJWTAuthentication
from clinic_crm.tenancy.permissions import HasStaffRole


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.4f}"


class PromotionOutput(serializers.Serializer):
    id = fields.CharField(help_text='The id the events API takes, e.g. "promo_12".')
    kind = fields.CharField(help_text='"offer", "automated_offer", "promo" or "card".')
    type = fields.ChoiceField(choices=["global", "tiered", "personalised"])
    name = fields.CharField()
    status = fields.CharField()
    reporting_start = fields.DateTimeField(help_text="Redemption events before it are refused.")
    assigned = fields.IntegerField(help_text="Patients who hold it.")
    redeemed = fields.IntegerField(help_text="Of them, those who used it.")
    redemptions = fields.IntegerField()
    redemption_rate = fields.DecimalField(max_digits=7, decimal_places=4, allow_null=True,
                                          help_text="redeemed ÷ assigned, 0 to 1; null when nothing was reported.")
    budget_usage = fields.DecimalField(max_digits=9, decimal_places=4, allow_null=True,
                                       help_text="Discount given ÷ budget; null without a budget.")
    cap_usage = fields.DecimalField(max_digits=9, decimal_places=4, allow_null=True,
                                    help_text="Uses ÷ cap; null without a cap.")

    class Meta:
        ref_name = "Promotion"


def promotion_body(row: promotions.PromotionRow) -> dict:
    info, counts = row.info, row.counts
    return {
        "id": info.key, "kind": info.kind, "type": info.type, "name": info.name, "status": info.status,
        "reporting_start": fields.DateTimeField().to_representation(info.reporting_start),
        "assigned": counts.assigned, "redeemed": counts.redeemed, "redemptions": counts.redemptions,
        "redemption_rate": _ratio(None if counts.rate is None else counts.rate / 100),
        "budget_usage": _ratio(info.budget_usage), "cap_usage": _ratio(info.cap_usage),
    }


class StaffPromotionListApi(ClinicApi):
    authentication_classes = [StaffJWTAuthentication]
    permission_classes = [HasStaffRole("viewer")]

    @extend_schema(responses={200: PromotionOutput(many=True)}, tags=["staff"], summary="Every promotion of the clinic")
    def get(self, request):
        """One-time and automated offers, promos and card templates, newest first, with what
        Marketing → Promotions shows; `id` is what the redemption events API takes."""
        return Response([promotion_body(row) for row in promotions.list_promotion_rows(clinic=self.clinic)])
