"""Offer endpoints: the app's redeem, the POS redeem, and the staff offer resources (API.md)."""

from __future__ import annotations

import functools

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response

from clinic_crm.common.api import (
    IDEMPOTENCY_KEY_PARAMETER,
    PAGE_PARAMETERS,
    ROW_ID,
    ClinicApi,
    Pagination,
    paginate,
    row_id_parameter,
)
from clinic_crm.common.errors import NotFound, Unauthenticated
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.auth import (
    ApiKeyAuthentication,
    AppKeyAuthentication,
    StaffJWTAuthentication,
)
from clinic_crm.tenancy.idempotency import idempotent
from clinic_crm.tenancy.permissions import HasApiScope, HasStaffRole, IsSignedInPatient
from clinic_crm.patients.selectors import get_patient_for_api
from clinic_crm.tenancy.events import StaffActor
from offers import services
from offers.models import AutomatedOffer, Offer
from redemptions.choices import ActorKind
from redemptions.services import Actor as ResponseActor
from offers.serializers import (
    AppRedemptionOutput,
    AutomatedOfferInput,
    AutomatedOfferOutput,
    OfferInput,
    OfferPatchInput,
    OfferOutput,
    PosRedeemInput,
    PosRedemptionOutput,
)

PROMOTION_ID = OpenApiParameter(
    "offer_id", {"type": "string", "pattern": r"^(offer|automated_offer)_[1-9][0-9]{0,17}$"}, OpenApiParameter.PATH,
    description='A promotion id, one id space for both kinds: "offer_12" (one-time) or "automated_offer_3".',
)
STAFF_ID = row_id_parameter("offer_id", "offer")


# --- patient app ---------------------------------------------------------------------------------


class AppOfferRedeemApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsSignedInPatient]

    @extend_schema(
        request=None, parameters=[PROMOTION_ID, IDEMPOTENCY_KEY_PARAMETER],
        responses={201: inline_serializer("AppOfferRedeemed", {"redemption": AppRedemptionOutput()})},
        tags=["app"], summary="Redeem an offer in the app: a pending redemption applied at checkout",
    )
    @idempotent
    def post(self, request, offer_id):
        """409 `offer_inactive` when the offer is not redeemable now; a second tap returns the pending one."""
        patient = Patient.objects.filter(pk=request.user.patient_id).first()
        if patient is None:
            raise Unauthenticated("This account no longer exists. Sign in again.")
        redemption = services.redeem_offer_in_app(clinic=self.clinic, patient=patient, promotion_key=offer_id)
        return Response({"redemption": AppRedemptionOutput(redemption).data}, status=status.HTTP_201_CREATED)


# --- point of sale -------------------------------------------------------------------------------


class PosOfferRedeemApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]

    @extend_schema(
        request=PosRedeemInput, parameters=[PROMOTION_ID, IDEMPOTENCY_KEY_PARAMETER],
        responses={201: inline_serializer("PosOfferRedeemed", {"redemption": PosRedemptionOutput()})},
        tags=["pos"], summary="Apply an offer at checkout",
    )
    @idempotent
    def post(self, request, offer_id):
        """Applies the patient's pending redemption (or records one) and, with a purchase amount, the
        order with its discount. A response the patient holds to the offer and could use now is completed
        with it (one use, one ledger row). 409 `usage_limit_reached` when the cap is used up,
        `offer_inactive` when there is no pending redemption and the offer is not redeemable now."""
        data = PosRedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        patient = get_patient_for_api(clinic=self.clinic, patient_id=values.get("patient_id"),
                                      external_id=values.get("external_id"))
        till = StaffActor.of_principal(request.user)
        result = services.redeem_offer_at_till(
            clinic=self.clinic, patient=patient, promotion_key=offer_id,
            purchase_amount=values.get("purchase_amount"), order_reference=values.get("order_reference", "").strip(),
            actor=ResponseActor(kind=ActorKind.POS, name=till.name, id=till.id),
        )
        body = PosRedemptionOutput(result.redemption).data
        return Response({"redemption": body}, status=status.HTTP_201_CREATED)


# --- staff ---------------------------------------------------------------------------------------


class _StaffApi(ClinicApi):
    authentication_classes = [StaffJWTAuthentication]
    permission_classes = [HasStaffRole("staff")]  # viewers read, staff and above write

    def output(self, serializer_class, instance, **kwargs):
        return serializer_class(instance, context={"currency": self.clinic.currency}, **kwargs).data


def _get_offer(offer_id: str) -> Offer:
    offer = Offer.objects.filter(pk=int(offer_id)).first() if ROW_ID.match(offer_id) else None
    if offer is None:
        raise NotFound("No such offer.")
    return offer


def _get_automated_offer(offer_id: str) -> AutomatedOffer:
    offer = AutomatedOffer.objects.filter(pk=int(offer_id)).first() if ROW_ID.match(offer_id) else None
    if offer is None:
        raise NotFound("No such automated offer.")
    return offer


class StaffOfferListApi(_StaffApi):
    pagination_class = Pagination

    @extend_schema(parameters=PAGE_PARAMETERS,
                   responses={200: OfferOutput(many=True)}, tags=["staff"], summary="List one-time offers")
    def get(self, request):
        serializer = functools.partial(OfferOutput, context={"currency": self.clinic.currency})
        return paginate(view=self, queryset=Offer.objects.order_by("-created_at", "-id"), serializer_class=serializer)

    @extend_schema(request=OfferInput, responses={201: OfferOutput}, tags=["staff"],
                   summary="Create a one-time offer")
    def post(self, request):
        data = OfferInput(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.create_offer(clinic=self.clinic, data=data.service_data(), actor=request.user)
        return Response(self.output(OfferOutput, offer), status=status.HTTP_201_CREATED)


class StaffOfferDetailApi(_StaffApi):
    @extend_schema(parameters=[STAFF_ID], responses={200: OfferOutput}, tags=["staff"],
                   summary="Read a one-time offer")
    def get(self, request, offer_id):
        return Response(self.output(OfferOutput, _get_offer(offer_id)))

    @extend_schema(parameters=[STAFF_ID], request=OfferPatchInput(partial=True), responses={200: OfferOutput},
                   tags=["staff"], summary="Edit a one-time offer")
    def patch(self, request, offer_id):
        offer = _get_offer(offer_id)
        data = OfferPatchInput(offer, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        offer = services.update_offer(offer=offer, data=data.service_data(), actor=request.user)
        return Response(self.output(OfferOutput, offer))

    @extend_schema(parameters=[STAFF_ID], responses={204: None}, tags=["staff"],
                   summary="Delete a one-time offer")
    def delete(self, request, offer_id):
        """Removes the offer and its pending redemptions; applied ones stay on their orders."""
        services.delete_offer(offer=_get_offer(offer_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _offer_action(service, summary: str):
    @extend_schema(parameters=[STAFF_ID], request=None, responses={200: OfferOutput}, tags=["staff"],
                   summary=summary)
    def post(self, request, offer_id):
        offer = service(offer=_get_offer(offer_id), actor=request.user)
        return Response(self.output(OfferOutput, offer))

    return post


class StaffOfferPublishApi(_StaffApi):
    post = _offer_action(services.publish_offer, "Publish a one-time offer (show it in the app)")


class StaffOfferUnpublishApi(_StaffApi):
    post = _offer_action(services.unpublish_offer, "Unpublish a one-time offer (keep it as a draft)")


class StaffOfferActivateApi(_StaffApi):
    post = _offer_action(services.activate_offer, "Activate a one-time offer (allow new redemptions)")


class StaffOfferDeactivateApi(_StaffApi):
    post = _offer_action(services.deactivate_offer, "Deactivate a one-time offer (redemptions already made stand)")


class StaffAutomatedOfferListApi(_StaffApi):
    pagination_class = Pagination

    @extend_schema(parameters=PAGE_PARAMETERS,
                   responses={200: AutomatedOfferOutput(many=True)}, tags=["staff"],
                   summary="List the automated offers (one per occasion)")
    def get(self, request):
        serializer = functools.partial(AutomatedOfferOutput, context={"currency": self.clinic.currency})
        return paginate(view=self, queryset=AutomatedOffer.objects.order_by("occasion"), serializer_class=serializer)


class StaffAutomatedOfferDetailApi(_StaffApi):
    @extend_schema(parameters=[STAFF_ID], responses={200: AutomatedOfferOutput}, tags=["staff"],
                   summary="Read an automated offer")
    def get(self, request, offer_id):
        return Response(self.output(AutomatedOfferOutput, _get_automated_offer(offer_id)))

    @extend_schema(parameters=[STAFF_ID], request=AutomatedOfferInput(partial=True), responses={200: AutomatedOfferOutput},
                   tags=["staff"], summary="Configure an automated offer (discount, push text, validity)")
    def patch(self, request, offer_id):
        offer = _get_automated_offer(offer_id)
        data = AutomatedOfferInput(offer, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        offer = services.configure_automated_offer(automated_offer=offer, data=data.service_data(),
                                                   actor=request.user)
        return Response(self.output(AutomatedOfferOutput, offer))


def _automated_action(service, summary: str):
    @extend_schema(parameters=[STAFF_ID], request=None, responses={200: AutomatedOfferOutput}, tags=["staff"],
                   summary=summary)
    def post(self, request, offer_id):
        offer = service(automated_offer=_get_automated_offer(offer_id), actor=request.user)
        return Response(self.output(AutomatedOfferOutput, offer))

    return post


class StaffAutomatedOfferPublishApi(_StaffApi):
    post = _automated_action(services.publish_automated_offer, "Publish an automated offer (show it in the app)")


class StaffAutomatedOfferUnpublishApi(_StaffApi):
    post = _automated_action(services.unpublish_automated_offer, "Unpublish an automated offer (it still fires)")


class StaffAutomatedOfferActivateApi(_StaffApi):
    post = _automated_action(services.activate_automated_offer,
                             "Activate an automated offer (it fires on its next occasion)")


class StaffAutomatedOfferDeactivateApi(_StaffApi):
    post = _automated_action(services.deactivate_automated_offer, "Deactivate an automated offer (it stops firing)")
