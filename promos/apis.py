"""Promo endpoints: the app's validate, the POS redeem, and the staff Promo resource (API.md, PRO-3)."""

from __future__ import annotations

import functools

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils import json as strict_json

from clinic_crm.common.api import (
    IDEMPOTENCY_KEY_PARAMETER,
    PAGE_PARAMETERS,
    ROW_ID,
    ClinicApi,
    Pagination,
    exception_handler,
    row_id_parameter,
)
from clinic_crm.common.throttles import AppClientThrottle, ClinicThrottle, PatientThrottle
from clinic_crm.common.errors import NotFound, Unauthenticated
from clinic_crm.common.schema import ErrorSerializer
from clinic_crm.orders.services import LineInput
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.auth import ApiKeyAuthentication, AppKeyAuthentication, StaffJWTAuthentication
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.idempotency import HEADER as IDEMPOTENCY_KEY
from clinic_crm.tenancy.idempotency import answer_idempotently, idempotent, is_usable_key, storing_statements
from clinic_crm.tenancy.permissions import HasApiScope, HasStaffRole, IsSignedInPatient
from clinic_crm.patients.selectors import get_patient_for_api
from promos import selectors, services
from promos.events import Actor
from promos.models import Promo, PromoCode, PromoTier
from promos.serializers import (
    PromoInput,
    PromoPatchInput,
    PromoOutput,
    PromoRedeemInput,
    PromoRedemptionOutput,
    PromoValidateInput,
    PromoValidateOutput,
    read_plain_redeem_input,
    redemption_output,
)

PROMO_ID = row_id_parameter("promo_id", "promo")


# --- patient app -----------------------------------------------------------------------------------


def _signed_in_patient(request) -> Patient:
    patient = Patient.objects.select_related("clinic").filter(pk=request.user.patient_id).first()
    if patient is None:
        raise Unauthenticated("This account no longer exists. Sign in again.")
    return patient


class _ValidatesPerClient(AppClientThrottle):
    scope = "promo_validate_client"


class _ValidatesPerPatient(PatientThrottle):
    scope = "promo_validate_patient"


class _ValidatesPerClinic(ClinicThrottle):
    scope = "promo_validate_clinic"


class AppPromoValidateApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsSignedInPatient]
    # Guessing codes is what a validate endpoint invites: limited per patient, per client address for many
    # patients' tokens used from one place, and per clinic for many tokens used from many places.
    throttle_classes = [_ValidatesPerPatient, _ValidatesPerClient, _ValidatesPerClinic]

    @extend_schema(request=PromoValidateInput, responses={200: PromoValidateOutput}, tags=["app"],
                   summary="Check a promo code against the patient's order")
    def post(self, request):
        """Always 200 for a well-formed request: `{"valid": true, "discount", "discount_label"}` or
        `{"valid": false, "code", "message"}` with a domain code (`code_unknown`, `code_paused`,
        `code_not_started`, `code_expired`, `code_archived`, `usage_limit_reached`,
        `customer_limit_reached`, `minimum_order_not_met`, `not_eligible`) and a sentence to show."""
        data = PromoValidateInput(data=request.data)
        data.is_valid(raise_exception=True)
        lines = [LineInput(description=l["description"], unit_price=l["unit_price"], quantity=l["quantity"],
                           category=l.get("category", "")) for l in data.validated_data.get("lines", [])]
        check = services.validate_promo_code(code=data.validated_data["code"], patient=_signed_in_patient(request),
                                             order_total=data.validated_data["order_total"], lines=lines or None)
        if check.valid:
            body = {"valid": True, "discount": f"{check.discount:.2f}", "currency": self.clinic.currency,
                    "discount_label": check.discount_label}
        else:
            body = {"valid": False, "code": check.code, "message": check.message}
        return Response(body)


# --- point of sale ---------------------------------------------------------------------------------


class PosPromoRedeemApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]

    @extend_schema(
        request=PromoRedeemInput, parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: inline_serializer("PosPromoRedeemed", {"redemption": PromoRedemptionOutput()})},
        tags=["pos"], summary="Redeem a promo code on an order",
    )
    @idempotent
    def post(self, request):
        """Records the order with the promo's discount and an applied redemption. 409 with the domain
        code when refused (`code_unknown` for a code the clinic does not have, `usage_limit_reached`,
        `customer_limit_reached`, `code_paused`, …); 404 `unknown_patient`. Caps hold exactly under
        concurrent redeems."""
        data = PromoRedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _redeemed(request, self.clinic, data.validated_data)


def _redeemed(request, clinic, values: dict) -> Response:
    """Redeem as PromoRedeemInput's validated `values` say, in the clinic's scope: the 201 answer."""
    patient = get_patient_for_api(clinic=clinic, patient_id=values.get("patient_id"),
                                  external_id=values.get("external_id"))
    order = values["order"]
    lines = [LineInput(description=l["description"], unit_price=l["unit_price"], quantity=l["quantity"],
                       category=l.get("category", ""))
             for l in order.get("lines", [])]
    answer = []

    def respond(redemption) -> list[str]:
        # The response is stored for the Idempotency-Key with the redeem's last write, and both
        # are committed in one round trip with it.
        answer.append(Response({"redemption": redemption_output(redemption)}, status=status.HTTP_201_CREATED))
        return storing_statements(request, answer[0])

    services.redeem_promo_code(
        code=values["code"], patient=patient, order_reference=order["reference"],
        order_total=order.get("total") or 0, lines=lines or None, commit_with=respond,
    )
    return answer[0]


# A till's redeem is small; a larger body goes to DRF, which reads it like any other.
PLAIN_REDEEM_MAX_BYTES = 4096


def pos_promo_redeem_view():
    """The redeem's URL view: PosPromoRedeemApi, with the tills' common request answered before DRF.

    The redeem is the API's hottest write, and DRF's request wrapping, serializers and response
    finalising were about a fifth of its CPU in the app. A POST of JSON with an API key that has the
    `pos` scope, a usable Idempotency-Key (or none) and a body in the plain form
    `read_plain_redeem_input` reads gets exactly what PosPromoRedeemApi answers, through the same
    authentication, scope, idempotency and service, and the same error handler and renderer.
    Everything else (another method or content type, a key that is not valid, a body in any
    other form) goes to PosPromoRedeemApi, which gives the errors; the schema is generated from
    it too.
    """
    api_view = PosPromoRedeemApi.as_view()
    allow = ", ".join(PosPromoRedeemApi().allowed_methods)

    @functools.wraps(api_view)  # keeps .cls, .initkwargs and csrf_exempt, which Django and the schema read
    def view(request, *args, **kwargs):
        answer = _redeem_plainly(request)
        if answer is None:
            return api_view(request, *args, **kwargs)
        answer.accepted_renderer = JSONRenderer()
        answer.accepted_media_type = JSONRenderer.media_type
        answer.renderer_context = {}
        answer["Allow"] = allow
        return answer

    return view


def read_plain_redeem(request) -> tuple[dict, dict] | None:
    """The parsed body of a plain redeem and PromoRedeemInput's values for it, or None.

    Plain: a POST whose Content-Type PosPromoRedeemApi's parser takes (it matches the header as
    sent) in UTF-8, a usable Idempotency-Key or none, a small body that DRF's JSON parser would
    read the same way (no NaN or Infinity), in the form `read_plain_redeem_input` reads.
    """
    if (request.method != "POST" or not request.META.get("CONTENT_TYPE", "").startswith("application/json")
            or request.content_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8")
            or not is_usable_key(request.headers.get(IDEMPOTENCY_KEY))):
        return None
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > PLAIN_REDEEM_MAX_BYTES:
            return None
        data = strict_json.loads(request.body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    values = read_plain_redeem_input(data)
    return None if values is None else (data, values)


def _redeem_plainly(request) -> Response | None:
    """PosPromoRedeemApi's answer to a plain redeem (see pos_promo_redeem_view), or None for DRF to answer."""
    plain = read_plain_redeem(request)
    if plain is None:
        return None
    data, values = plain
    principal = _authenticated(request, PosPromoRedeemApi)
    if principal is None:
        return None
    clinic = principal.clinic
    with clinic_scope(clinic.id), timezone.override(clinic.tzinfo):
        try:
            return answer_idempotently(request, principal_id=principal.principal_id, read_data=lambda: data,
                                       handle=lambda: _redeemed(request, clinic, values),
                                       handle_exception=lambda exc: _handled(exc, request))
        except Exception as exc:  # noqa: BLE001 - handled as DRF's dispatch does; unknown errors re-raise
            return _handled(exc, request)


class _Caller:
    """What a permission reads of a request: its authenticated principal."""

    def __init__(self, principal):
        self.user = principal


def _authenticated(request, api: type[ClinicApi]):
    """The principal `api`'s authentication finds for the request if its permissions let it in,
    else None (`api` then gives the answer: 401, 403)."""
    for authentication in api.authentication_classes:
        try:
            found = authentication().authenticate(request)
        except exceptions.APIException:
            return None
        if found is not None:
            caller = _Caller(found[0])
            allowed = all(permission().has_permission(caller, None) for permission in api.permission_classes)
            return found[0] if allowed else None
    return None


def _handled(exc: Exception, request) -> Response:
    """The API's error response for `exc`, as DRF's dispatch gives it; anything unknown is raised."""
    response = exception_handler(exc, {"request": request})
    if response is None:
        raise exc
    return response


# --- staff -----------------------------------------------------------------------------------------


def _promos():
    return Promo.objects.prefetch_related(
        Prefetch("codes", queryset=PromoCode.objects.filter(patient__isnull=True).order_by("id")),
        Prefetch("tiers", queryset=PromoTier.objects.order_by("min_order")),
    )


def _metrics(promos) -> dict:
    """Unique customers and average order value of each promo, as the detail page counts them."""
    return {pk: {"unique_customers": customers, "avg_order_value": average}
            for pk, (customers, average) in selectors.list_promo_customer_figures(promos=promos).items()}


def _get_promo(promo_id: str) -> Promo:
    promo = _promos().filter(pk=int(promo_id)).first() if ROW_ID.match(promo_id) else None
    if promo is None:
        raise NotFound("No such promo.")
    return promo


class _StaffApi(ClinicApi):
    authentication_classes = [StaffJWTAuthentication]
    permission_classes = [HasStaffRole("staff")]  # viewers read, staff and above write

    def output(self, promo: Promo) -> dict:
        promo = _get_promo(str(promo.pk))  # fresh, with codes and tiers as the write left them
        return PromoOutput(promo, context={"currency": self.clinic.currency, "metrics": _metrics([promo])}).data

    @property
    def actor(self) -> Actor:
        return Actor.from_principal(self.request.user)


class StaffPromoListApi(_StaffApi):
    pagination_class = Pagination

    @extend_schema(parameters=PAGE_PARAMETERS,
                   responses={200: PromoOutput(many=True)}, tags=["staff"], summary="List promos")
    def get(self, request):
        paginator = Pagination()
        page = paginator.paginate_queryset(_promos().order_by("-created_at", "-id"), request, view=self)
        context = {"currency": self.clinic.currency, "metrics": _metrics(page)}
        return paginator.get_paginated_response(PromoOutput(page, many=True, context=context).data)

    @extend_schema(request=PromoInput, responses={201: PromoOutput}, tags=["staff"], summary="Create a promo")
    def post(self, request):
        """Logged in the promo's activity log with the token's name and e-mail."""
        data = PromoInput(data=request.data)
        data.is_valid(raise_exception=True)
        promo = services.create_promo(clinic=self.clinic, data=data.service_data(), actor=self.actor)
        return Response(self.output(promo), status=status.HTTP_201_CREATED)


class StaffPromoDetailApi(_StaffApi):
    @extend_schema(parameters=[PROMO_ID], responses={200: PromoOutput}, tags=["staff"], summary="Read a promo")
    def get(self, request, promo_id):
        return Response(self.output(_get_promo(promo_id)))

    @extend_schema(parameters=[PROMO_ID], request=PromoPatchInput(partial=True), responses={200: PromoOutput},
                   tags=["staff"], summary="Edit a promo")
    def patch(self, request, promo_id):
        """One activity-log row with the before and after of every changed field; archived promos
        cannot be edited (409 `code_archived`)."""
        promo = _get_promo(promo_id)
        data = PromoPatchInput(promo, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        promo = services.update_promo(promo=promo, data=data.service_data(), actor=self.actor)
        return Response(self.output(promo))


def _promo_action(service, summary: str, description: str):
    @extend_schema(parameters=[PROMO_ID], request=None,
                   responses={200: PromoOutput, 409: OpenApiResponse(ErrorSerializer, description="Not allowed from this status.")},
                   tags=["staff"], summary=summary, description=description)
    def post(self, request, promo_id):
        promo = service(promo=_get_promo(promo_id), actor=self.actor)
        return Response(self.output(promo))

    return post


class StaffPromoPauseApi(_StaffApi):
    post = _promo_action(services.pause_promo, "Pause a promo",
                         "Active → paused; its code answers \"This code is paused.\". 409 `illegal_transition`.")


class StaffPromoActivateApi(_StaffApi):
    post = _promo_action(services.activate_promo, "Activate a promo",
                         "Draft or paused → active. 409 `code_archived` for an archived promo.")


class StaffPromoArchiveApi(_StaffApi):
    post = _promo_action(services.archive_promo, "Archive a promo (final)",
                         "Kept for the audit trail and never redeemable again. 409 `illegal_transition`.")
