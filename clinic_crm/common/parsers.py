"""The API's request parser: JSON only, every malformed body a 400, an oversized one a 413."""

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils import json

NUL_MESSAGE = "The request contains a NUL character, which is never valid here."


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser (NaN and Infinity refused), with what it leaves to the caller:

    - a NUL, raw or escaped, anywhere in the body is a 400 (PostgreSQL cannot store it);
    - a body nested a few thousand levels deep is a 400, not a RecursionError.

    A body over `DATA_UPLOAD_MAX_MEMORY_SIZE` never gets here: Django refuses to read it, and the
    exception handler answers 413. A parser runs only when the handler reads `request.data`,
    after authentication and the permission checks, so a request without credentials is a 401
    whatever its body.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if b"\x00" in raw or b"\\u0000" in raw:
            raise ParseError(NUL_MESSAGE)
        try:
            text = raw.decode((parser_context or {}).get("encoding", settings.DEFAULT_CHARSET))
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        except ValueError as error:  # also UnicodeDecodeError
            raise ParseError(f"JSON parse error - {error}") from None
