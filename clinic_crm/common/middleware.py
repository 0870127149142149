"""Requests the views never see: refused NUL bytes, and errors under /api/ in the API's JSON shape."""

from http import HTTPStatus

from django.http import HttpResponseBadRequest, JsonResponse

from clinic_crm.common.api import error_body

MESSAGE = "The request contains a NUL character, which is never valid here."
API_PREFIX = "/api/"

# The API's code for each status an error may leave with when no API view produced it.
_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 408: "request_timeout", 413: "payload_too_large",
    414: "uri_too_long", 415: "unsupported_media_type", 429: "rate_limited",
}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class ApiErrorsAsJsonMiddleware:
    """Under /api/, every error response leaves as `{"message", "code", "extra"}` JSON (API.md).

    API views answer in that shape themselves. This is for what answers before or around them:
    Django's CSRF page, a 400 for a host it does not serve, the schema view's YAML 405, a handler
    of Django's. It keeps the status and the headers a client acts on (Allow, Retry-After).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or not is_api(request):
            return response
        if response.get("Content-Type", "").split(";")[0] == "application/json":
            return response
        status = response.status_code
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        code = _CODES.get(status, "server_error" if status >= 500 else "error")
        message = "Something went wrong on our side." if status >= 500 else f"{reason}."
        answer = JsonResponse(error_body(message, code), status=status)
        for header in _KEPT_HEADERS:
            if header in response:
                answer[header] = response[header]
        return answer


class RejectNullBytesMiddleware:
    """PostgreSQL cannot store NUL in text, so such input would otherwise end as a 500.

    The path, query and headers are checked here for every request. A body is checked here only
    for the dashboard: the API checks its JSON bodies in its parser, after authentication, so a
    request without credentials is a 401 whatever its body (API.md).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            if is_api(request):
                return JsonResponse(error_body(MESSAGE, "validation_error", {"fields": {}}), status=400)
            return HttpResponseBadRequest(MESSAGE)
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.META.get(
            "QUERY_STRING", ""
        ):
            return True
        if any("\x00" in str(value) for key, value in request.META.items() if key.startswith("HTTP_")):
            return True
        if is_api(request):
            return False
        if request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
            body = request.body
            return b"\\u0000" in body or b"\x00" in body
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                  "multipart/form-data"):
            return any("\x00" in v for values in request.POST.lists() for v in values[1] if isinstance(v, str))
        return False
