"""Patient endpoints: app sign-in by e-mailed code, the patient's own profile, POS upsert/read (API.md)."""

import hashlib
import re

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from clinic_crm.common import json_fields as fields
from clinic_crm.common.api import PAGE_PARAMETERS, ClinicApi, Pagination, paginate, query_text
from clinic_crm.common.emails import normalise_email
from clinic_crm.common.errors import NotFound, Unauthenticated
from clinic_crm.common.throttles import AppClientThrottle, ClinicThrottle
from clinic_crm.patients import selectors, services
from clinic_crm.patients.models import Patient
from clinic_crm.patients.serializers import PatientOutput, PatientUpsertInput
from clinic_crm.tenancy.auth import AppKeyAuthentication, ApiKeyAuthentication, mint_patient_token
from clinic_crm.tenancy.permissions import HasApiScope, IsAppCaller, IsSignedInPatient

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,64}$"
EXTERNAL_ID = re.compile(EXTERNAL_ID_PATTERN)
EXTERNAL_ID_PARAMETER = OpenApiParameter(
    "external_id", {"type": "string", "pattern": EXTERNAL_ID_PATTERN}, OpenApiParameter.PATH,
    description="The clinic's own id of the patient (booking system): 1 to 64 letters, digits or . _ : @ -.")


class _SignInThrottle(ScopedRateThrottle):
    def get_cache_key(self, request, view):
        # Throttles run before the serializer, so the body may still be any JSON value here.
        data = request.data
        # As the lookup compares addresses (normalise_email): every spelling that finds a patient
        # shares that patient's count.
        email = normalise_email(str(data.get("email", ""))) if isinstance(data, dict) else ""
        # Hashed: the address is caller input, and cache keys must stay short and plain (memcached).
        digest = hashlib.sha256(email.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": f"{request.user.clinic.pk}:{digest}"}


class _SignInPerClient(AppClientThrottle):
    scope = "sign_in_client"


class _SignInPerClinic(ClinicThrottle):
    scope = "sign_in_clinic"


class SignInCodeApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsAppCaller]
    # Per e-mail address, per client address (one place trying many addresses) and per clinic.
    throttle_classes = [_SignInThrottle, _SignInPerClient, _SignInPerClinic]
    throttle_scope = "sign_in_code"

    class InputSerializer(serializers.Serializer):
        email = fields.EmailField()

        class Meta:
            ref_name = "SignInCodeInput"

    @extend_schema(
        request=InputSerializer,
        responses={202: inline_serializer("SignInCodeSent", {"message": fields.CharField()})},
        tags=["app"], summary="E-mail a one-time sign-in code to a patient",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_sign_in_code(email=data.validated_data["email"])
        # The same answer whether or not the address is known, so the endpoint reveals no patients.
        return Response({"message": "If this address belongs to a patient of the clinic, a code is on its way."},
                        status=status.HTTP_202_ACCEPTED)


class SignInTokenApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsAppCaller]
    # With five tries per code and five codes a minute, guessing stays slow only if the
    # exchange itself is limited per address too.
    throttle_classes = [_SignInThrottle, _SignInPerClient, _SignInPerClinic]
    throttle_scope = "sign_in_token"

    class InputSerializer(serializers.Serializer):
        email = fields.EmailField()
        code = fields.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "The code has six digits."})

        class Meta:
            ref_name = "SignInTokenInput"

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("SignInToken", {"token": fields.CharField(), "patient": PatientOutput()})},
        tags=["app"], summary="Exchange an e-mailed code for a patient token",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = services.exchange_sign_in_code(email=data.validated_data["email"], code=data.validated_data["code"])
        token = mint_patient_token(clinic=self.clinic, patient_id=patient.pk)
        return Response({"token": token, "patient": PatientOutput(patient).data})


class AppMeApi(ClinicApi):
    authentication_classes = [AppKeyAuthentication]
    permission_classes = [IsSignedInPatient]

    @extend_schema(responses={200: PatientOutput}, tags=["app"], summary="The signed-in patient's own profile")
    def get(self, request):
        patient = Patient.objects.filter(pk=request.user.patient_id).first()
        if patient is None:
            # The token is sound but its patient is gone (or was never this clinic's): sign in again.
            raise Unauthenticated("This account no longer exists. Sign in again.")
        return Response(PatientOutput(patient).data)


def _external_id(value: str) -> str:
    if not EXTERNAL_ID.match(value):
        raise NotFound("No patient with that external id.")
    return value


class PosPatientListApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]
    pagination_class = Pagination  # what `paginate` uses; declared so the schema shows the paged envelope

    @extend_schema(
        parameters=[OpenApiParameter("search", {"type": "string", "maxLength": 100},
                                     description="Name, e-mail, phone or external id"), *PAGE_PARAMETERS],
        responses={200: PatientOutput(many=True)}, tags=["pos"], summary="List the clinic's patients",
    )
    def get(self, request):
        queryset = selectors.list_patients(search=query_text(request, "search", max_length=100))
        return paginate(view=self, queryset=queryset, serializer_class=PatientOutput)


class PosPatientDetailApi(ClinicApi):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiScope("pos")]

    @extend_schema(parameters=[EXTERNAL_ID_PARAMETER], responses={200: PatientOutput}, tags=["pos"],
                   summary="Read a patient by external id")
    def get(self, request, external_id):
        patient = Patient.objects.filter(external_id=_external_id(external_id)).first()
        if patient is None:
            raise NotFound("No patient with that external id.")
        return Response(PatientOutput(patient).data)

    @extend_schema(parameters=[EXTERNAL_ID_PARAMETER], request=PatientUpsertInput,
                   responses={200: PatientOutput, 201: PatientOutput}, tags=["pos"],
                   summary="Create or update a patient from the booking system")
    def put(self, request, external_id):
        if not EXTERNAL_ID.match(external_id):
            raise serializers.ValidationError(
                {"external_id": ["Use 1 to 64 letters, digits or . _ : @ - characters."]}
            )
        data = PatientUpsertInput(data=request.data)
        data.is_valid(raise_exception=True)
        patient, created = services.upsert_patient(external_id=external_id, data=data.validated_data)
        return Response(PatientOutput(patient).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
