"""Card endpoints: staff card templates and cards, the POS's coupon read and redeem, the app's
feedback (API.md)."""

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
from clinic_crm.common.errors import Conflict, NotFound, Unauthenticated
from clinic_crm.common.throttles import PatientThrottle
from clinic_crm.patients.models import Patient
from clinic_crm.patients.selectors import get_patient_for_api
from clinic_crm.tenancy.auth import ApiKeyAuthentication, AppKeyAuthentication, StaffJWTAuthentication
from clinic_crm.tenancy.events import StaffActor
from clinic_crm.tenancy.idempotency import idempotent
from clinic_crm.tenancy.permissions import HasApiScope, HasStaffRole, IsSignedInPatient
from coupons import selectors, services
from coupons.models import Card, CardTemplate
from coupons.serializers import (
    CardIssueInput,
    CardOutput,
    CardTemplateInput,
    CardTemplateOutput,
    CardTemplatePatchInput,
    CouponRedeemInput,
    CouponRedemptionOutput,
    CouponStampInput,
    FeedbackInput,
    FeedbackOutput,
)

TEMPLATE_ID = row_id_parameter("template_id", "card template")
SERIAL = OpenApiParameter("serial", {"type": "string", "pattern": r"^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$"},
                          OpenApiParameter.PATH, description='The card\'s serial, e.g. "K7QM-3XCA-9PLD-ZT4W".')


def _template(template_id) -> CardTemplate:
    template = selectors.get_card_template(template_id=int(template_id)) if ROW_ID.match(str(template_id)) else None
    if template is None:
        raise NotFound("No such card template.")
    return template


def _card(serial: str) -> Card:
    card = selectors.get_card(serial=serial)
    if card is None:
        raise NotFound("No such card.")
    return card


class _StaffApi(ClinicApi):
    authentication_classes = [StaffJWTAuthentication]
    permission_classes = [HasStaffRole("staff")]  # viewers read, staff and above write

    def context(self) -> dict:
        return {"currency": self.clinic.currency, "request": self.request}


# --- staff: card templates -------------------------------------------------------------------------


class StaffCardTemplateListApi(_StaffApi):
    pagination_class = Pagination

    @extend_schema(parameters=PAGE_PARAMETERS, responses={200: CardTemplateOutput(many=True)}, tags=["staff"],
                   summary="List card templates (coupon, stamp and reward cards)")
    def get(self, request):
        serializer = functools.partial(CardTemplateOutput, context=self.context())
        return paginate(view=self, queryset=selectors.list_card_templates(), serializer_class=serializer)

    @extend_schema(request=CardTemplateInput, responses={201: CardTemplateOutput}, tags=["staff"],
                   summary="Create a card template")
    def post(self, request):
        data = CardTemplateInput(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.create_card_template(clinic=self.clinic, data=data.service_data(_template),
                                                 actor=StaffActor.of_principal(request.user))
        return Response(CardTemplateOutput(_template(template.pk), context=self.context()).data,
                        status=status.HTTP_201_CREATED)


class StaffCardTemplateDetailApi(_StaffApi):
    @extend_schema(parameters=[TEMPLATE_ID], responses={200: CardTemplateOutput}, tags=["staff"],
                   summary="Read a card template")
    def get(self, request, template_id):
        return Response(CardTemplateOutput(_template(template_id), context=self.context()).data)

    @extend_schema(parameters=[TEMPLATE_ID], request=CardTemplatePatchInput(partial=True),
                   responses={200: CardTemplateOutput}, tags=["staff"], summary="Edit a card template")
    def patch(self, request, template_id):
        """Cards already issued keep their serial and expiry; `kind` cannot change."""
        template = _template(template_id)
        data = CardTemplatePatchInput(template, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_card_template(template=template, data=data.service_data(_template),
                                      actor=StaffActor.of_principal(request.user))
        return Response(CardTemplateOutput(_template(template.pk), context=self.context()).data)


# --- staff: cards -------------------------------------------------------------------------------------


class StaffCardIssueApi(_StaffApi):
    @extend_schema(request=CardIssueInput, responses={201: CardOutput}, tags=["staff"],
                   summary="Issue a card to a patient")
    def post(self, request):
        data = CardIssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        patient = Patient.objects.filter(pk=values["patient_id"]).first()
        if patient is None:
            raise NotFound("No such patient in this clinic.", code="unknown_patient")
        card = services.issue_card(
            template=_template(values["template_id"]), patient=patient, actor=StaffActor.of_principal(request.user),
            utm=values.get("utm", ""), installed_on=values.get("installed_on", ""),
            custom_fields=values.get("custom_fields") or {})
        return Response(CardOutput(_card(card.serial), context=self.context()).data, status=status.HTTP_201_CREATED)


class StaffCardDetailApi(_StaffApi):
    @extend_schema(parameters=[SERIAL], responses={200: CardOutput}, tags=["staff"], summary="Read a card")
    def get(self, request, serial):
        return Response(CardOutput(_card(serial), context=self.context()).data)

    @extend_schema(parameters=[SERIAL], responses={200: CardOutput}, tags=["staff"],
                   summary="Delete a card: it stops working (the row stays, with its history)")
    def delete(self, request, serial):
        """The card's status becomes `deleted`. It stays on the customer's phone until they remove it,
        but no till or app can use it any more."""
        card = services.delete_card(card=_card(serial), actor=StaffActor.of_principal(request.user))
        return Response(CardOutput(_card(card.serial), context=self.context()).data)


# --- point of sale ------------------------------------------------------------------------------------


class _PosApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]


class PosCouponDetailApi(_PosApi):
    @extend_schema(parameters=[SERIAL], responses={200: CardOutput}, tags=["pos"],
                   summary="Read a card by its serial (as the staff API shows it)")
    def get(self, request, serial):
        return Response(CardOutput(_card(serial), context={"request": request}).data)


class PosCouponRedeemApi(_PosApi):
    @extend_schema(
        parameters=[SERIAL, IDEMPOTENCY_KEY_PARAMETER], request=CouponRedeemInput,
        responses={201: inline_serializer("PosCouponRedeemed", {"redemption": CouponRedemptionOutput(),
                                                                "card": CardOutput()})},
        tags=["pos"], summary="Redeem a coupon or reward card at checkout",
    )
    @idempotent
    def post(self, request, serial):
        """Once per card: a second redeem is 409 `already_redeemed`, a deleted card `card_deleted`, an
        expired one `card_expired`, a card of another patient `not_eligible`. A template that needs
        the purchase amount and none sent is a 400 on `purchase_amount`."""
        data = CouponRedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        card = _card(serial)
        patient = get_patient_for_api(clinic=self.clinic, patient_id=values.get("patient_id"),
                                      external_id=values.get("external_id"))
        if patient.pk != card.patient_id:
            raise Conflict("This card belongs to another patient.", code="not_eligible")
        result = services.redeem_card(card=card, actor=StaffActor.of_principal(request.user),
                                      purchase_amount=values.get("purchase_amount"),
                                      order_reference=values.get("order_reference", ""))
        redemption = result.redemption
        body = {
            "id": redemption.pk, "card_serial": card.serial, "status": redemption.status,
            "discount_type": redemption.discount_type, "discount_value": redemption.discount_value,
            "discount_label": redemption.discount_label, "discount_amount": redemption.discount_amount,
            "currency": self.clinic.currency, "order_id": redemption.order_id,
            "linked_card": result.linked_card.serial if result.linked_card else None,
        }
        return Response({"redemption": CouponRedemptionOutput(body).data,
                         "card": CardOutput(_card(card.serial), context={"request": request}).data},
                        status=status.HTTP_201_CREATED)


class PosCouponStampApi(_PosApi):
    @extend_schema(
        parameters=[SERIAL, IDEMPOTENCY_KEY_PARAMETER], request=CouponStampInput,
        responses={200: inline_serializer("PosCouponStamped", {"card": CardOutput(), "reward_card": CardOutput(
            allow_null=True, help_text="The reward card a full stamp card just gave, else null.")})},
        tags=["pos"], summary="Add a visit's stamp to a stamp card",
    )
    @idempotent
    def post(self, request, serial):
        """One stamp per call (send an `Idempotency-Key` so a retried request does not stamp twice).
        When the card fills up the patient gets its reward card and the stamps start again. A card
        that is not a stamp card is 409 `not_a_stamp_card`; deleted or expired, `card_deleted` or
        `card_expired`; a card of another patient `not_eligible`."""
        data = CouponStampInput(data=request.data)
        data.is_valid(raise_exception=True)
        card = _card(serial)
        patient = get_patient_for_api(clinic=self.clinic, patient_id=data.validated_data.get("patient_id"),
                                      external_id=data.validated_data.get("external_id"))
        if patient.pk != card.patient_id:
            raise Conflict("This card belongs to another patient.", code="not_eligible")
        outcome = services.add_stamp(card=card, actor=StaffActor.of_principal(request.user))
        context = {"request": request}
        return Response({
            "card": CardOutput(_card(card.serial), context=context).data,
            "reward_card": CardOutput(_card(outcome.reward_card.serial), context=context).data
            if outcome.reward_card else None,
        })


# --- patient app: feedback (COU-8) ------------------------------------------------------------------


class _FeedbackPerPatient(PatientThrottle):
    scope = "feedback_patient"


class AppFeedbackApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsSignedInPatient]
    throttle_classes = [_FeedbackPerPatient]

    @extend_schema(request=FeedbackInput, responses={201: FeedbackOutput}, tags=["app"],
                   summary="Leave a rating and comment")
    def post(self, request):
        """A rating from 1 to 5, an optional comment, and optionally the serial of one of the patient's
        own cards it is about (another card's serial is 404 `unknown_card`). It shows on the patient's
        profile (the Feedback tab) and in the feedback rating of their cards."""
        data = FeedbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        patient = Patient.objects.filter(pk=request.user.patient_id).first()
        if patient is None:
            raise Unauthenticated("This account no longer exists. Sign in again.")
        card = None
        if data.validated_data.get("card_serial"):
            card = selectors.get_card(serial=data.validated_data["card_serial"])
            if card is None or card.patient_id != patient.pk:
                raise NotFound("No such card of yours.", code="unknown_card")
        feedback = services.leave_feedback(patient=patient, rating=data.validated_data["rating"],
                                           comment=data.validated_data.get("comment", ""), card=card)
        return Response(FeedbackOutput(feedback).data, status=status.HTTP_201_CREATED)
