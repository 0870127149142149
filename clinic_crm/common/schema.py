"""OpenAPI: every operation documents the shared error shape beside its own responses."""

import inspect

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from clinic_crm.common import json_fields as fields

ErrorSerializer = inline_serializer(
    "Error",
    {
        "message": fields.CharField(help_text="A sentence for a human."),
        "code": fields.CharField(help_text="Stable snake_case code, e.g. validation_error, code_paused."),
        "extra": serializers.DictField(help_text="Details; validation errors put per-field messages in extra.fields."),
    },
)

_ERRORS = {
    "400": "Invalid input (validation_error, with extra.fields)",
    "401": "Missing or invalid credentials",
    "403": "Authenticated but not allowed",
    "404": "Missing, or another clinic's",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}


class ClinicAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """What the request fields refuse, in the schema: an amount is digits (no sign where it may
        not be negative, no exponent, at least one digit); a text that may not be blank has a
        character other than space (the field trims it)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if isinstance(field, serializers.DecimalField) and schema.get("format") == "decimal":
            sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
            schema["pattern"] = fr"^{sign}\d{{1,{field.max_whole_digits}}}(?:\.\d{{1,{field.decimal_places}}})?$"
        elif (isinstance(field, serializers.CharField) and not field.allow_blank and field.trim_whitespace
              and "pattern" not in schema):
            schema["pattern"] = r"\S"
        return schema

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        """A request body's rules across its fields (exactly one of two, one or the other), which a
        serializer states as `schema_rules`, a JSON Schema fragment beside its `validate()`."""
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        rules = getattr(serializer, "schema_rules", None)
        if rules and direction == "request":
            schema.update(rules)
        return schema

    def get_description(self):
        # Only the endpoint's own docstrings: the ClinicApi/PublicApi docstrings it would otherwise
        # inherit describe our internals, not the operation.
        handler_doc = get_doc(getattr(self.view, self.method.lower(), None))
        own_doc = type(self.view).__dict__.get("__doc__")
        return handler_doc or (inspect.cleandoc(own_doc) if own_doc else "")

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        from clinic_crm.common.api import PublicApi

        error = self._get_response_for_code(ErrorSerializer, "400")
        codes = dict(_ERRORS)
        if isinstance(self.view, PublicApi):  # token endpoints: no clinic yet, so nothing to forbid or hide
            codes.pop("403")
            codes.pop("404")
        handler = getattr(self.view, self.method.lower(), None)
        if getattr(handler, "idempotent", False):
            codes["409"] = ("Conflict: a cap reached, an illegal transition, a duplicate, or an "
                            "Idempotency-Key replayed with a different body")
        elif self.method not in ("GET", "HEAD", "OPTIONS") and _is_staff_api(self.view):
            codes["409"] = "Conflict: the change is not allowed in the resource's current state"
        for code, description in codes.items():
            if code not in responses:
                responses[code] = {**error, "description": description}
        if self.method in ("POST", "PUT", "PATCH") and "413" not in responses:
            responses["413"] = {**error, "description": "The body is over the size limit (payload_too_large)"}
        if self.view.get_throttles() and "429" not in responses:  # only where a rate limit applies
            responses["429"] = {**error, "description": "Rate limited (rate_limited)", "headers": _RETRY_AFTER}
        return responses


def _is_staff_api(view) -> bool:
    from clinic_crm.tenancy.auth import StaffJWTAuthentication

    return any(issubclass(cls, StaffJWTAuthentication) for cls in getattr(view, "authentication_classes", []))
