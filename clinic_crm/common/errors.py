"""Domain errors. Every API error body is {"message", "code", "extra"} (API.md, Errors)."""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400
    default_code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra or {}


class Unauthenticated(ApplicationError):
    status_code = 401
    default_code = "authentication_failed"


class NotFound(ApplicationError):
    status_code = 404
    default_code = "not_found"


class Forbidden(ApplicationError):
    status_code = 403
    default_code = "permission_denied"


class Conflict(ApplicationError):
    """A cap reached, an illegal transition, a replay with different data (409)."""

    status_code = 409
    default_code = "conflict"


class LimitReached(Conflict):
    default_code = "usage_limit_reached"


class RateLimited(ApplicationError):
    status_code = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after  # seconds, sent as Retry-After
