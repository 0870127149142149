"""The API's shared parts: the ClinicApi base that enters the tenant scope, one error shape, pagination."""

from __future__ import annotations

import contextlib
import logging
import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic_crm.common.errors import ApplicationError
from clinic_crm.common.negotiation import JsonOnlyNegotiation
from clinic_crm.common.parsers import PayloadTooLarge
from clinic_crm.tenancy.context import clinic_context, clinic_scope

logger = logging.getLogger(__name__)

_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    PayloadTooLarge: "payload_too_large",
}


DB_RETRY_AFTER = 5  # seconds: a restarting PostgreSQL is usually back by then
RETRYABLE_PGCODES = {"40P01", "40001"}  # deadlock detected, serialization failure


def error_body(message: str, code: str, extra: dict | None = None) -> dict:
    return {"message": message, "code": code, "extra": extra or {}}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            if field in ("non_field_errors", "__all__"):
                return inner
            return f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _validation_fields(detail) -> dict:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def _log_refusal(response: Response, exc: ApplicationError, request) -> None:
    """A domain refusal (a cap reached, a paused code, an illegal transition) is an answer the API
    is there to give, not a fault: logged at INFO with its code, instead of Django's WARNING for
    every 4xx, so that a promo running out at a busy till does not flood the warnings."""
    path = getattr(request, "path", "")
    logger.info("Refused %s (%s %s): %s", path or "a request", response.status_code, exc.code, exc.message)
    response._has_been_logged = True  # read by django.utils.log.log_response


def exception_handler(exc, context):
    """Turn every handled error into the one API error shape; unknown errors stay 500s (bugs)."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # raised when DRF reads the body to parse it
        exc = PayloadTooLarge()
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The transaction is gone with everything it wrote, so the caller may safely send the same request
        # again: PostgreSQL broke a deadlock or a serialization conflict by cancelling it, or the connection
        # was lost (a restart, a failover).
        path = getattr(context.get("request"), "path", "a request")
        if getattr(exc.__cause__, "pgcode", None) in RETRYABLE_PGCODES:
            logger.warning("Conflict with a concurrent request during %s: %s", path, exc.__cause__.pgcode)
            return Response(error_body("Another request changed the same records at the same moment, so nothing "
                                       "of this request was stored. Send it again.", "conflict_retry"),
                            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"})
        logger.warning("Database unavailable during %s: %s", path, type(exc).__name__)
        return Response(error_body("The database could not be reached, so nothing of this request was stored. "
                                   "Send it again in a few seconds.", "database_unavailable"),
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(DB_RETRY_AFTER)})

    if isinstance(exc, ApplicationError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        response = Response(error_body(exc.message, exc.code, exc.extra), status=exc.status_code, headers=headers)
        if exc.status_code == status.HTTP_409_CONFLICT:
            _log_refusal(response, exc, context.get("request"))
        return response

    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)

    if isinstance(exc, exceptions.ParseError):  # a body that is not valid JSON: invalid input (API.md)
        exc = exceptions.ValidationError({"non_field_errors": [str(exc.detail)]})
    if isinstance(exc, exceptions.ValidationError):
        fields = _validation_fields(exc.detail)
        body = error_body(_first_message(fields), "validation_error", {"fields": fields})
        return Response(body, status=status.HTTP_400_BAD_REQUEST, headers=headers)

    code = _CODES.get(type(exc)) or next((c for k, c in _CODES.items() if isinstance(exc, k)), None)
    message = _first_message(exc.detail)
    if isinstance(exc, exceptions.Throttled):
        message = "Too many requests. Try again later."
    return Response(error_body(message, code or "error"), status=exc.status_code, headers=headers)


class ClinicApi(APIView):
    """Base of every clinic API: authenticates, then runs the handler inside the principal's clinic scope.

    Subclasses choose `authentication_classes` and `permission_classes`; they may not override
    `initial()` or `dispatch()`, where the scope is entered and left.

    `scope_transaction = False` is for handlers that mostly answer from a cache: the clinic is
    named for the ORM but no transaction or RLS setting is opened, so a cache hit costs no
    database round trip. Such a handler enters `clinic_scope` itself around its queries; one
    it forgets sees no tenant rows (row-level security fails closed).
    """

    scope_transaction = True
    content_negotiation_class = JsonOnlyNegotiation

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("initial", "dispatch"):
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {name}(): the tenant scope lives there")

    def dispatch(self, request, *args, **kwargs):
        self._scope_stack = contextlib.ExitStack()
        with self._scope_stack:
            try:
                return super().dispatch(request, *args, **kwargs)
            finally:
                timezone.deactivate()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        principal = request.user
        if principal is None:
            raise exceptions.NotAuthenticated("Authentication credentials were not provided.")
        scope = clinic_scope if self.scope_transaction else clinic_context
        self._scope_stack.enter_context(scope(principal.clinic.id))
        timezone.activate(principal.clinic.tzinfo)

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and request.user is None:
            raise exceptions.NotAuthenticated("Authentication credentials were not provided.")
        if code == "not_signed_in":
            raise exceptions.NotAuthenticated(message)
        raise exceptions.PermissionDenied(message or "You do not have permission to do this.")

    @property
    def clinic(self):
        return self.request.user.clinic


class PublicApi(APIView):
    """Base of the few endpoints that establish who the caller is (token endpoints)."""

    authentication_classes: list = []
    permission_classes: list = []
    content_negotiation_class = JsonOnlyNegotiation


# A row id in a path: "12" (API.md: ids are strings). Anything else is a 404 without a query.
ROW_ID_PATTERN = r"^[1-9][0-9]{0,17}$"
ROW_ID = re.compile(ROW_ID_PATTERN)
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    description="Up to 255 characters, not blank. A replay with the same key and body returns the first response.",
)


def row_id_parameter(name: str, what: str) -> OpenApiParameter:
    """The schema of a path's row id, e.g. `row_id_parameter("promo_id", "promo")`."""
    return OpenApiParameter(name, {"type": "string", "pattern": ROW_ID_PATTERN}, OpenApiParameter.PATH,
                            description=f'The {what}\'s id, e.g. "12".')


MAX_OFFSET = 10**9
WHOLE_NUMBER = re.compile(r"^[0-9]{1,10}$")


def query_text(request, name: str, *, max_length: int) -> str:
    """A query parameter given at most once and no longer than `max_length`; "" when left out."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise exceptions.ValidationError({name: [f"Give {name} once."]})
    value = values[0] if values else ""
    if len(value) > max_length:
        raise exceptions.ValidationError({name: [f"Use at most {max_length} characters."]})
    return value


def query_int(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A whole-number query parameter, given at most once, from `minimum` to `maximum`: anything else
    is a 400, as the schema says, rather than quietly the default."""
    values = request.query_params.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise exceptions.ValidationError({name: [f"Give {name} once."]})
    if not WHOLE_NUMBER.match(values[0]) or not minimum <= int(values[0]) <= maximum:
        raise exceptions.ValidationError({name: [f"Give a whole number from {minimum} to {maximum}."]})
    return int(values[0])


class Pagination(LimitOffsetPagination):
    """`limit` (1–200, default 50) and `offset` (from 0); anything else is a 400."""

    default_limit = 50
    max_limit = 200

    def get_limit(self, request):
        return query_int(request, self.limit_query_param, default=self.default_limit, minimum=1,
                         maximum=self.max_limit)

    def get_offset(self, request):
        return query_int(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET)


PAGE_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": Pagination.max_limit},
                     description=f"Rows per page, 1–{Pagination.max_limit} (default {Pagination.default_limit})."),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                     description="Rows to skip (default 0)."),
]


def paginate(*, view: APIView, queryset, serializer_class) -> Response:
    """Paginate a queryset with the shared `limit`/`offset` scheme: {count, next, previous, results}."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@csrf_exempt  # the API authenticates by token or key, never by a session cookie
def api_not_found(request, exception=None, **kwargs):
    return JsonResponse(error_body("Not found.", "not_found"), status=404)


def api_server_error(request):
    return JsonResponse(error_body("Something went wrong on our side.", "server_error"), status=500)
