"""Refuse requests carrying NUL bytes before they reach a view or the database."""

from django.http import HttpResponseBadRequest, JsonResponse

from clinic_crm.common.api import error_body

MESSAGE = "The request contains a NUL character, which is never valid here."


class RejectNullBytesMiddleware:
    """PostgreSQL cannot store NUL in text, so such input would otherwise end as a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            if request.path.startswith("/api/"):
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
        if request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
            body = request.body
            return b"\\u0000" in body or b"\x00" in body
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                  "multipart/form-data"):
            return any("\x00" in v for values in request.POST.lists() for v in values[1] if isinstance(v, str))
        return False
