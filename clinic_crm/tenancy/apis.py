"""Staff API: the JWT token endpoint and the caller's own identity (API.md, Authentication)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from clinic_crm.common import json_fields as fields
from clinic_crm.common.api import ClinicApi, PublicApi
from clinic_crm.common.errors import RateLimited, Unauthenticated
from clinic_crm.tenancy.auth import StaffJWTAuthentication
from clinic_crm.tenancy import lockout, two_factor
from clinic_crm.tenancy.lockout import LOCKED_MESSAGE, wait_text
from clinic_crm.tenancy.models import Membership
from clinic_crm.tenancy.permissions import HasStaffRole


class StaffTokenApi(PublicApi):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "staff_token"

    class InputSerializer(serializers.Serializer):
        email = fields.EmailField()
        password = fields.CharField(trim_whitespace=False)
        clinic = fields.SlugField(help_text="The clinic's slug.")
        otp = fields.CharField(required=False, max_length=16, help_text=(
            "The code from the login's authenticator app (or a recovery code), where two-factor sign-in "
            "is on for the login or required by the clinic."))

        class Meta:
            ref_name = "StaffTokenInput"

    class OutputSerializer(serializers.Serializer):
        access = fields.CharField()
        refresh = fields.CharField()
        token_type = fields.CharField()
        expires_in = fields.IntegerField()
        clinic = fields.CharField()
        role = fields.CharField()

        class Meta:
            ref_name = "StaffTokenOutput"

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, tags=["staff"],
                   summary="Exchange staff e-mail, password and clinic for a JWT")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, email=data.validated_data["email"], password=data.validated_data["password"])
        locked_for = getattr(request, "sign_in_locked_for", 0)
        if locked_for:
            raise RateLimited(LOCKED_MESSAGE.format(wait=wait_text(locked_for)), retry_after=locked_for)
        membership = None
        if user is not None:
            membership = (
                Membership.objects.select_related("clinic")
                .filter(user=user, clinic__slug=data.validated_data["clinic"], clinic__is_active=True)
                .first()
            )
        if membership is None:
            # One answer for a wrong password, an unknown login and another clinic's slug.
            raise Unauthenticated("The e-mail, password or clinic is not right.")
        self._check_second_factor(request, user, membership.clinic, data.validated_data.get("otp", ""))
        refresh = RefreshToken.for_user(user)
        # Claims on the refresh token are copied into every access token made from it.
        refresh["clinic_id"] = membership.clinic_id
        refresh["role"] = membership.role
        refresh["name"] = user.get_full_name() or user.email
        refresh["email"] = user.email
        access = refresh.access_token
        body = {
            "access": str(access), "refresh": str(refresh), "token_type": "Bearer",
            "expires_in": int(access.lifetime.total_seconds()), "clinic": membership.clinic.slug,
            "role": membership.role,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_200_OK)

    @staticmethod
    def _check_second_factor(request, user, clinic, otp: str) -> None:
        """A password alone gets no token where the login has an authenticator or the clinic requires one."""
        enabled = two_factor.has_two_factor(user)
        if not (enabled or clinic.require_two_factor):
            return
        if not enabled:
            raise Unauthenticated(f"{clinic.name} requires two-factor sign-in: set up an authenticator app in the "
                                  "dashboard first.", code="otp_required")
        if not otp:
            raise Unauthenticated("Send the code from your authenticator app as otp.", code="otp_required")
        account = lockout.account_key(user=user, login=user.email)
        if two_factor.verify(user, otp) is None:
            lockout.record_failure(request=request, account=account)
            raise Unauthenticated("That code is not right.", code="otp_invalid")
        lockout.record_success(account=account)




class StaffMeApi(ClinicApi):
    authentication_classes = [StaffJWTAuthentication]
    permission_classes = [HasStaffRole("viewer")]

    @extend_schema(
        responses={200: inline_serializer("StaffMe", {
            "email": fields.EmailField(), "name": fields.CharField(), "role": fields.CharField(),
            "clinic": inline_serializer("StaffMeClinic", {"id": fields.CharField(), "slug": fields.CharField(),
                                                           "name": fields.CharField()}),
        })},
        tags=["staff"], summary="Who the staff token belongs to",
    )
    def get(self, request):
        principal = request.user
        return Response({
            "email": principal.user.email, "name": principal.user.get_full_name() or principal.user.email,
            "role": principal.role,
            "clinic": {"id": str(principal.clinic.pk), "slug": principal.clinic.slug, "name": principal.clinic.name},
        })
