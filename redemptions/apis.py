"""Offer response endpoints: the app claims, clips and lists; the point of sale lists the usable,
completes and cancels; staff list and move them (API.md, RED-1 … RED-4)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from clinic_crm.common.api import (
    IDEMPOTENCY_KEY_PARAMETER,
    PAGE_PARAMETERS,
    ROW_ID,
    ClinicApi,
    Pagination,
    query_text,
    row_id_parameter,
)
from clinic_crm.common.errors import NotFound, Unauthenticated
from clinic_crm.patients.models import Patient
from clinic_crm.patients.selectors import get_patient_for_api
from clinic_crm.tenancy.auth import ApiKeyAuthentication, AppKeyAuthentication, StaffJWTAuthentication
from clinic_crm.tenancy.events import StaffActor
from clinic_crm.tenancy.idempotency import idempotent
from clinic_crm.tenancy.permissions import HasApiScope, HasStaffRole, IsSignedInPatient
from redemptions import selectors, services
from redemptions.choices import ActorKind, ResponseSource, ResponseStatus
from redemptions.registry import claimable_terms
from redemptions.serializers import CancelInput, CompleteInput, OfferResponseOutput, TransitionInput

RESPONSE_ID = row_id_parameter("response_id", "offer response")
CLAIMABLE_ID = OpenApiParameter(
    "offer_id", {"type": "string", "pattern": r"^[a-z_]+_[1-9][0-9]{0,17}$"}, OpenApiParameter.PATH,
    description='A promotion id, e.g. "offer_12".')


def _body(view, responses) -> list[dict] | dict:
    """The responses as API.md gives them, each with its history (one query for the whole page)."""
    single = not isinstance(responses, list)
    rows = [responses] if single else responses
    context = {"today": view.clinic.today(), "history": selectors.list_response_history(responses=rows)}
    data = OfferResponseOutput(rows, many=True, context=context).data
    return data[0] if single else data


def _response(response_id, **lookup):
    response = selectors.get_response(response_id=int(response_id)) if ROW_ID.match(str(response_id)) else None
    if response is None or any(getattr(response, k) != v for k, v in lookup.items()):
        raise NotFound("No such offer response.", code="not_found")
    return response


def _patient(request) -> Patient:
    patient = Patient.objects.filter(pk=request.user.patient_id).first()
    if patient is None:
        raise Unauthenticated("This account no longer exists. Sign in again.")
    return patient


def _patient_actor(patient: Patient) -> services.Actor:
    return services.Actor(kind=ActorKind.PATIENT, name=patient.full_name or "Patient", id=patient.pk)


def _api_actor(request) -> services.Actor:
    who = StaffActor.of_principal(request.user)
    kind = ActorKind.STAFF if request.user.kind == "staff" else ActorKind.POS
    return services.Actor(kind=kind, name=who.name, id=who.id)


class _ResponsePage:
    """Paginates responses and serializes the page with its history."""

    pagination_class = Pagination  # so the schema describes the page: {count, next, previous, results}

    def page(self, queryset):
        paginator = Pagination()
        rows = list(paginator.paginate_queryset(queryset, self.request, view=self))
        return paginator.get_paginated_response(_body(self, rows))


# --- patient app ---------------------------------------------------------------------------------


class _AppApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsSignedInPatient]


class AppOfferClaimApi(_AppApi):
    @extend_schema(request=None, parameters=[CLAIMABLE_ID, IDEMPOTENCY_KEY_PARAMETER],
                   responses={201: OfferResponseOutput}, tags=["app"], summary="Claim an offer: a new offer response")
    @idempotent
    def post(self, request, offer_id):
        """404 when there is no such offer or it cannot be claimed now; 409 `already_claimed` when the
        offer allows one response per patient and this patient has one."""
        terms = claimable_terms(promotion_key=offer_id, today=self.clinic.today())
        if terms is None:
            raise NotFound("No such offer to claim now.", code="offer_inactive")
        patient = _patient(request)
        response = services.assign_response(clinic=self.clinic, patient=patient, terms=terms,
                                            source=ResponseSource.CLAIM, actor=_patient_actor(patient))
        return Response(_body(self, response), status=status.HTTP_201_CREATED)


class AppResponseListApi(_AppApi, _ResponsePage):
    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: OfferResponseOutput(many=True)}, tags=["app"],
                   summary="The signed-in patient's offer responses")
    def get(self, request):
        return self.page(selectors.list_responses(today=self.clinic.today(), patient_id=request.user.patient_id))


class AppResponseClipApi(_AppApi):
    @extend_schema(request=None, parameters=[RESPONSE_ID], responses={200: OfferResponseOutput}, tags=["app"],
                   summary="Clip an offer response so it can be used")
    def post(self, request, response_id):
        """Only the patient's own response, and only one whose offer asks for the clip and that is
        still pending; otherwise 409 `illegal_transition`."""
        patient = _patient(request)
        response = _response(response_id, patient_id=patient.pk)
        moved = services.transition_response(response=response, to=ResponseStatus.CLIPPED,
                                             actor=_patient_actor(patient))
        return Response(_body(self, moved))


# --- point of sale -------------------------------------------------------------------------------


class _PosApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]


class PosUsableResponsesApi(_PosApi, _ResponsePage):
    @extend_schema(
        parameters=[OpenApiParameter("external_id", {"type": "string", "maxLength": 64}, OpenApiParameter.PATH,
                                     description="The patient's id in the booking system."),
                    OpenApiParameter("usable", {"type": "boolean"},
                                     description="true: only the responses the till can complete now."),
                    *PAGE_PARAMETERS],
        responses={200: OfferResponseOutput(many=True)}, tags=["pos"], summary="A patient's offer responses",
    )
    def get(self, request, external_id):
        """With `usable=true`, only those the till can complete now: pending (or clipped, where the
        offer asks for a clip), for an item not shipped, inside the usage period and not expired."""
        patient = get_patient_for_api(clinic=self.clinic, external_id=external_id)
        usable = query_text(request, "usable", max_length=5)
        if usable not in ("true", "false") and "usable" in request.query_params:
            raise ValidationError({"usable": ["Use true or false."]})
        today = self.clinic.today()
        queryset = (selectors.list_usable_responses(patient_id=patient.pk, today=today) if usable == "true"
                    else selectors.list_responses(today=today, patient_id=patient.pk))
        return self.page(queryset)


class PosResponseCompleteApi(_PosApi):
    @extend_schema(request=CompleteInput, parameters=[RESPONSE_ID, IDEMPOTENCY_KEY_PARAMETER],
                   responses={200: OfferResponseOutput}, tags=["pos"], summary="Use an offer response in a purchase")
    @idempotent
    def post(self, request, response_id):
        """Once: a second completion is 409 `illegal_transition`; a clip-required response not clipped
        `not_clipped`; outside its usage period `outside_usage_period`. Send an `Idempotency-Key`: a
        replay returns the first answer."""
        data = CompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = data.validated_data.get("order") or {}
        response = services.complete_response(response=_response(response_id), actor=_api_actor(request),
                                              order_reference=order.get("reference", ""),
                                              order_total=order.get("total"))
        return Response(_body(self, response))


class PosResponseCancelApi(_PosApi):
    @extend_schema(request=CancelInput, parameters=[RESPONSE_ID, IDEMPOTENCY_KEY_PARAMETER],
                   responses={200: OfferResponseOutput}, tags=["pos"], summary="Cancel an offer response")
    @idempotent
    def post(self, request, response_id):
        """409 `illegal_transition` once it is completed, expired, canceled or shipping."""
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.transition_response(response=_response(response_id), to=ResponseStatus.CANCELED,
                                                actor=_api_actor(request), reason=data.validated_data.get("reason", ""))
        return Response(_body(self, response))


# --- staff ---------------------------------------------------------------------------------------


STAFF_OFFER_ID = OpenApiParameter(
    "offer_id", {"type": "string", "pattern": r"^([1-9][0-9]{0,17}|[a-z_]+_[1-9][0-9]{0,17})$"},
    OpenApiParameter.PATH, description='The offer\'s id ("12"), or any promotion id ("automated_offer_3").')

STAFF_FILTERS = [
    OpenApiParameter("status", {"type": "string", "enum": ResponseStatus.values}),
    OpenApiParameter("offer", {"type": "string", "maxLength": 40}, description='A promotion id, e.g. "offer_12".'),
    OpenApiParameter("patient", {"type": "string", "pattern": r"^[1-9][0-9]{0,17}$"}, description="A patient's id."),
    OpenApiParameter("code", {"type": "string", "maxLength": 24}, description="A certificate code."),
    OpenApiParameter("usage_period", {"type": "string", "enum": ["current", "passed"]}),
    *PAGE_PARAMETERS,
]


def _staff_filters(request) -> dict:
    # The lengths the schema states (STAFF_FILTERS): longer is a 400, as a client was told.
    limits = {"status": 12, "offer": 40, "patient": 18, "code": 24, "usage_period": 12}
    values = {name: query_text(request, name, max_length=limit) for name, limit in limits.items()}
    errors = {name: ["Give a value, or leave the parameter out."] for name in ("status", "usage_period", "patient")
              if name in request.query_params and not values[name]}
    if values["status"] and values["status"] not in ResponseStatus.values:
        errors["status"] = [f"Choose one of: {', '.join(ResponseStatus.values)}."]
    if values["usage_period"] and values["usage_period"] not in selectors.USAGE_PERIODS:
        errors["usage_period"] = ["Choose current or passed."]
    if values["patient"] and not ROW_ID.match(values["patient"]):
        errors["patient"] = ["Give a patient's id."]
    if errors:
        raise ValidationError(errors)
    return {"status": values["status"], "promotion_key": values["offer"], "code": values["code"],
            "usage_period": values["usage_period"],
            "patient_id": int(values["patient"]) if values["patient"] else None}


class _StaffApi(ClinicApi):
    authentication_classes = [StaffJWTAuthentication]
    permission_classes = [HasStaffRole("staff")]  # viewers read, staff and above move


class StaffResponseListApi(_StaffApi, _ResponsePage):
    @extend_schema(parameters=STAFF_FILTERS, responses={200: OfferResponseOutput(many=True)}, tags=["staff"],
                   summary="The clinic's offer responses")
    def get(self, request):
        return self.page(selectors.list_responses(today=self.clinic.today(), **_staff_filters(request)))


class StaffOfferResponseListApi(_StaffApi, _ResponsePage):
    @extend_schema(parameters=[STAFF_OFFER_ID, *STAFF_FILTERS], responses={200: OfferResponseOutput(many=True)},
                   tags=["staff"], summary="One offer's responses")
    def get(self, request, offer_id):
        """The offer's id as the staff offers API gives it ("12"), or its promotion id ("offer_12")."""
        key = f"offer_{offer_id}" if ROW_ID.match(offer_id) else offer_id
        filters = {**_staff_filters(request), "promotion_key": key}
        return self.page(selectors.list_responses(today=self.clinic.today(), **filters))


class StaffResponseTransitionApi(_StaffApi):
    @extend_schema(request=TransitionInput, parameters=[RESPONSE_ID], responses={200: OfferResponseOutput},
                   tags=["staff"], summary="Move an offer response to another status")
    def post(self, request, response_id):
        """Any move the lifecycle allows, with an optional reason; anything else is 409
        `illegal_transition` (or `not_clipped`) and changes nothing."""
        data = TransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.transition_response(
            response=_response(response_id), to=data.validated_data["to"], actor=_api_actor(request),
            reason=data.validated_data.get("reason", ""))
        return Response(_body(self, response))
