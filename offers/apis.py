"""Offer endpoints: the app's config and redeem, the POS redeem, and the staff offer resources (API.md)."""

from __future__ import annotations

import functools
import re

from django.http import HttpResponse
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response

from clinic_crm.common.api import ClinicApi, Pagination, paginate
from clinic_crm.common.errors import NotFound, Unauthenticated
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.auth import (
    ApiKeyAuthentication,
    AppKeyAuthentication,
    StaffJWTAuthentication,
)
from clinic_crm.tenancy.idempotency import idempotent
from clinic_crm.tenancy.permissions import HasApiScope, HasStaffRole, IsAppCaller, IsSignedInPatient
from clinic_crm.patients.selectors import get_patient_for_api
from offers import services
from offers.app_config import AppConfig, get_app_config, get_app_config_for_key, get_app_config_etag
from offers.models import AutomatedOffer, Offer
from offers.serializers import (
    AppConfigOutput,
    AppRedemptionOutput,
    AutomatedOfferInput,
    AutomatedOfferOutput,
    OfferInput,
    OfferOutput,
    PosRedeemInput,
    PosRedemptionOutput,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER,
    description="Up to 255 characters. A replay with the same key and body returns the first response.",
)
PROMOTION_ID = OpenApiParameter(
    "offer_id", str, OpenApiParameter.PATH,
    description='A promotion id, one id space for both kinds: "offer_12" (one-time) or "automated_offer_3".',
)
STAFF_ID = OpenApiParameter("offer_id", str, OpenApiParameter.PATH, description="The offer's id, e.g. \"12\".")
NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,17}$")


# --- patient app ---------------------------------------------------------------------------------


class AppConfigApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsAppCaller]
    # Usually answered from the cache: get_app_config opens the clinic's scope only to rebuild.
    scope_transaction = False

    @extend_schema(
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER,
                                     description="The ETag of the config the app holds; 304 when it is current."),
                    OpenApiParameter("ETag", str, OpenApiParameter.HEADER, response=[200, 304],
                                     description="The strong tag of this config; send it back in If-None-Match.")],
        responses={200: AppConfigOutput, 304: OpenApiResponse(description="The app's copy is current.")},
        tags=["app"], summary="What the app shows now: clinic branding and the live offers",
    )
    def get(self, request):
        """Published, active, in-window one-time offers and published automated offers (redeemable only
        inside the window their occasion opened). Offer ids are promotion ids ("offer_12",
        "automated_offer_3"). Every change is visible on the next fetch; send the ETag back in
        If-None-Match to get 304 while nothing changed."""
        return app_config_response(request, self.clinic)


def app_config_response(request, clinic) -> HttpResponse:
    """The config body, or 304 when the app's If-None-Match names the current one."""
    held = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
    if held:
        etag = get_app_config_etag(clinic=clinic)
        if _names(held, etag):
            return _not_modified(etag)
    return _config_response(get_app_config(clinic=clinic))


def _names(held: list[str], etag: str) -> bool:
    return etag in held or "*" in held or f"W/{etag}" in held


def _not_modified(etag: str) -> HttpResponse:
    return _with_cache_headers(HttpResponse(status=status.HTTP_304_NOT_MODIFIED), etag)


def _config_response(config: AppConfig) -> HttpResponse:
    return _with_cache_headers(HttpResponse(config.body, content_type="application/json"), config.etag)


def app_config_view():
    """The config endpoint's URL view: AppConfigApi, with the commonest request answered before DRF.

    The patient app fetches its config on every open, mostly with no patient signed in. Such a
    GET (an app key, no Authorization header) whose key names an active clinic gets exactly what
    AppConfigApi.get sends, without DRF's request wrapping and negotiation, from the answer the
    process keeps for that key (get_app_config_for_key). Everything else (a
    patient token, a missing or unknown key, another method) goes to AppConfigApi, which gives
    the errors; the schema is generated from AppConfigApi too.
    """
    api_view = AppConfigApi.as_view()

    @functools.wraps(api_view)  # keeps .cls and .initkwargs, which the schema generator reads
    def view(request, *args, **kwargs):
        if request.method == "GET" and "HTTP_AUTHORIZATION" not in request.META:
            app_key = request.META.get("HTTP_X_APP_KEY")
            config = get_app_config_for_key(app_key) if app_key else None
            if config is not None:
                held = request.META.get("HTTP_IF_NONE_MATCH")
                if held and _names(parse_etags(held), config.etag):
                    return _not_modified(config.etag)
                return _config_response(config)
        return api_view(request, *args, **kwargs)

    return view


def _with_cache_headers(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # Stored by the app but checked with us on every use, so a change shows on the next fetch.
    response["Cache-Control"] = "private, no-cache"
    return response


class AppOfferRedeemApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsSignedInPatient]

    @extend_schema(
        request=None, parameters=[PROMOTION_ID, IDEMPOTENCY_HEADER],
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
        request=PosRedeemInput, parameters=[PROMOTION_ID, IDEMPOTENCY_HEADER],
        responses={201: inline_serializer("PosOfferRedeemed", {"redemption": PosRedemptionOutput()})},
        tags=["pos"], summary="Apply an offer at checkout",
    )
    @idempotent
    def post(self, request, offer_id):
        """Applies the patient's pending redemption (or records one) and, with a purchase amount, the
        order with its discount. 409 `usage_limit_reached` when the cap is used up, `offer_inactive`
        when there is no pending redemption and the offer is not redeemable now."""
        data = PosRedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        patient = get_patient_for_api(clinic=self.clinic, patient_id=values.get("patient_id"),
                                      external_id=values.get("external_id"))
        result = services.redeem_offer_at_till(
            clinic=self.clinic, patient=patient, promotion_key=offer_id,
            purchase_amount=values.get("purchase_amount"), order_reference=values.get("order_reference", "").strip(),
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
    offer = Offer.objects.filter(pk=int(offer_id)).first() if NUMERIC_ID.match(offer_id) else None
    if offer is None:
        raise NotFound("No such offer.")
    return offer


def _get_automated_offer(offer_id: str) -> AutomatedOffer:
    offer = AutomatedOffer.objects.filter(pk=int(offer_id)).first() if NUMERIC_ID.match(offer_id) else None
    if offer is None:
        raise NotFound("No such automated offer.")
    return offer


class StaffOfferListApi(_StaffApi):
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
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

    @extend_schema(parameters=[STAFF_ID], request=OfferInput(partial=True), responses={200: OfferOutput},
                   tags=["staff"], summary="Edit a one-time offer")
    def patch(self, request, offer_id):
        offer = _get_offer(offer_id)
        data = OfferInput(data=request.data, partial=True)
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

    @extend_schema(parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
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

    @extend_schema(parameters=[STAFF_ID], request=AutomatedOfferInput, responses={200: AutomatedOfferOutput},
                   tags=["staff"], summary="Configure an automated offer (discount, push text, validity)")
    def patch(self, request, offer_id):
        offer = _get_automated_offer(offer_id)
        data = AutomatedOfferInput(data=request.data, partial=True)
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
