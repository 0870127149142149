"""The patient app's configuration endpoint: `GET /api/v1/app/config`, with ETag and 304 (OFF-7, API.md)."""

from __future__ import annotations

import functools

from django.http import HttpResponse
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status

from clinic_crm.common.api import ClinicApi
from clinic_crm.patient_app.config import AppConfig, get_app_config, get_app_config_etag, get_app_config_for_key
from clinic_crm.patient_app.serializers import AppConfigOutput
from clinic_crm.tenancy.auth import AppKeyAuthentication
from clinic_crm.tenancy.permissions import IsAppCaller


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
