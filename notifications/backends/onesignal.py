"""OneSignal through its official SDK, with each clinic's own app id and REST API key (OFF-5, OFF-6).

Patients are targeted by external id, never by segment: a OneSignal app may be shared by several
clinics, and only this clinic's push-enabled patients may be reached. Each batch of ids is one
create request carrying a deterministic idempotency key, so a Celery retry or a second beat
repeats the request and OneSignal answers with the earlier result instead of sending again.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import onesignal
import urllib3
from django.conf import settings
from django.core.cache import cache
from onesignal.api import default_api
from onesignal.exceptions import ApiException, OpenApiException
from onesignal.helpers import is_message_sent
from onesignal.model.include_aliases import IncludeAliases
from onesignal.model.notification import Notification

from notifications.backends.base import (
    FIRST_NAME,
    FIRST_NAME_FALLBACK,
    BasePushBackend,
    PushError,
    PushMessage,
    PushResult,
)

logger = logging.getLogger("notifications.onesignal")

NOT_CONFIGURED = "OneSignal is not configured for this clinic."
NOBODY_TO_REACH = "No patient has push notifications turned on."
# Fixed for good: changing it would give every pending retry a new key and let OneSignal send twice.
IDEMPOTENCY_NAMESPACE = uuid.UUID("cdb5ef5d-5424-4eab-9db5-f3bd9802e87e")


def idempotency_key(*, seed: str, chunk_index: int) -> str:
    """The same push and batch give the same UUID in every process, attempt and release."""
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{seed}:{chunk_index}"))


@dataclass
class _ChunkOutcome:
    size: int
    index: int = 0
    provider_id: str = ""
    reached: int = 0
    note: str = ""  # OneSignal's `errors` on a 200: why nobody, or not everybody, was reached
    error: PushError | None = None
    stop: bool = False  # later batches would fail the same way now (credentials refused, rate limited)


class OneSignalBackend(BasePushBackend):
    def setup_problem(self, *, clinic) -> str:
        if clinic.onesignal_configured:
            return ""
        return (f"Push notifications are not set up for {clinic.name}: the clinic's OneSignal app id and REST "
                "API key have not been entered, so a push can't be delivered.")

    def send(self, *, clinic, push: PushMessage) -> PushResult:
        app_id, api_key = _credentials(clinic)
        external_ids = list(push.external_ids)
        if not external_ids:
            return PushResult(sent=False, no_recipients=True, error=NOBODY_TO_REACH)
        size = settings.ONESIGNAL_CHUNK_SIZE
        chunks = [external_ids[start:start + size] for start in range(0, len(external_ids), size)]
        outcomes: list[_ChunkOutcome] = []
        with onesignal.ApiClient(_configuration(api_key)) as client:
            api = default_api.DefaultApi(client)
            for index, chunk in enumerate(chunks):
                if index in push.done_batches:
                    continue  # accepted in an earlier attempt: only the others are sent again
                outcome = _send_chunk(api, app_id=app_id, push=push, index=index, external_ids=chunk)
                outcomes.append(outcome)
                # A 5xx or a timeout fails this batch alone: the others still go, and the retry sends the
                # failed ones with the same keys (one OneSignal took without answering is replayed, never
                # sent twice). Refused credentials or a rate limit would fail every batch: stop there.
                if outcome.stop:
                    break
        not_tried = sum(len(chunk) for index, chunk in enumerate(chunks)
                        if index not in push.done_batches and index not in {o.index for o in outcomes})
        return _combine(outcomes, not_tried=not_tried)

    def delivered_count(self, *, clinic, provider_id: str) -> int | None:
        """OneSignal's count of devices reached, or None when it has none for this notification.

        The view endpoint allows about one request a second per app, whichever worker asks:
        without a free second (`_take_view_slot`), on a 429, a 5xx or a timeout this raises a
        transient PushError with the wait, and the caller tries again later. Any other refusal
        (a 404, say) means there is no figure to read.
        """
        if not clinic.onesignal_configured:
            return None
        if not _take_view_slot(clinic.onesignal_app_id):
            raise PushError("OneSignal's view limit for this app is in use; trying again shortly.",
                            transient=True, retry_after=VIEW_SLOT_SECONDS)
        try:
            with onesignal.ApiClient(_configuration(clinic.onesignal_api_key)) as client:
                notification = default_api.DefaultApi(client).get_notification(
                    clinic.onesignal_app_id, provider_id, _request_timeout=settings.ONESIGNAL_TIMEOUT)
        except ApiException as error:
            if error.status == 429:
                raise PushError("OneSignal limited the delivery-figure request (429).", transient=True,
                                retry_after=_retry_after(error.headers) or VIEW_SLOT_SECONDS)
            if error.status is not None and error.status >= 500:  # transient, as for a send
                raise PushError(f"OneSignal's delivery figure could not be read ({_describe(error)}).",
                                transient=True, retry_after=_retry_after(error.headers) or VIEW_RETRY_SECONDS)
            logger.warning("OneSignal delivery figure for %s unavailable: %s", provider_id, _describe(error))
            return None
        except urllib3.exceptions.TimeoutError as error:  # also a refused connection, in urllib3 2
            # Transient, as for a send: the task tries again later; giving up leaves the targeted count.
            raise PushError(f"OneSignal's delivery figure could not be read ({_describe(error)}).", transient=True,
                            retry_after=VIEW_RETRY_SECONDS) from error
        except (OpenApiException, urllib3.exceptions.HTTPError) as error:
            logger.warning("OneSignal delivery figure for %s unavailable: %s", provider_id, _describe(error))
            return None
        successful = notification.get("successful")
        return successful if isinstance(successful, int) else None


# OneSignal's view endpoints: about one request a second per app (its documented rate limits).
VIEW_SLOT_SECONDS = 1
VIEW_SLOT_WAIT = 3.0  # how long one call waits for a free second before handing back to its task
VIEW_RETRY_SECONDS = 30  # after a timed-out or 5xx figure request: give OneSignal time to recover


def _take_view_slot(app_id: str, *, wait: float | None = None) -> bool:
    """Claim this second's view request for the app, across every worker and process.

    The shared cache's atomic add (SET NX EX on Redis) holds the claim for one second. With a
    per-process cache (development) the limit holds per process only, and a cache that keeps
    nothing (DummyCache) does not limit at all.
    """
    key = f"onesignal:view-slot:{uuid.uuid5(IDEMPOTENCY_NAMESPACE, app_id)}"
    deadline = time.monotonic() + (VIEW_SLOT_WAIT if wait is None else wait)
    while True:
        if cache.add(key, 1, timeout=VIEW_SLOT_SECONDS):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _credentials(clinic) -> tuple[str, str]:
    if not clinic.onesignal_configured:
        raise PushError(NOT_CONFIGURED, transient=False)
    return clinic.onesignal_app_id, clinic.onesignal_api_key


def _configuration(api_key: str) -> onesignal.Configuration:
    configuration = onesignal.Configuration(rest_api_key=api_key, host=settings.ONESIGNAL_API_URL)
    # No transport-level retries: Celery retries on its own schedule, honouring Retry-After.
    configuration.retries = False
    return configuration


def _send_chunk(api, *, app_id: str, push: PushMessage, index: int, external_ids: list[str]) -> _ChunkOutcome:
    notification = Notification(
        app_id=app_id,
        headings={"en": _personalised(push.title)},
        contents={"en": _personalised(push.message)},
        target_channel="push",
        include_aliases=IncludeAliases(external_id=external_ids),
        idempotency_key=idempotency_key(seed=push.idempotency_seed, chunk_index=index),
    )
    size = len(external_ids)
    try:
        response = api.create_notification(notification, _request_timeout=settings.ONESIGNAL_TIMEOUT)
    except ApiException as error:
        return _ChunkOutcome(size, index, error=_push_error(error), stop=error.status in (401, 403, 429))
    except urllib3.exceptions.HTTPError as error:  # timeouts, refused or dropped connections
        return _ChunkOutcome(size, index, error=PushError(f"OneSignal could not be reached ({_describe(error)}).",
                                                          transient=True))
    except OpenApiException as error:  # an answer the SDK could not read; repeating it would not help
        return _ChunkOutcome(size, index, error=PushError(f"OneSignal gave an unreadable answer: {error}",
                                                          transient=False))
    errors = response.get("errors")
    note = "; ".join(_error_messages(errors))
    if not is_message_sent(response):
        # HTTP 200 with an empty id: nothing was created, e.g. no subscribed device among these ids.
        return _ChunkOutcome(size, index, note=note or "OneSignal created no notification.")
    unknown = _invalid_external_ids(errors)
    return _ChunkOutcome(size, index, provider_id=response["id"], reached=max(size - unknown, 0), note=note)


def _personalised(text: str) -> str:
    """{first_name} as OneSignal's Liquid, which it fills in per recipient from the user's `first_name` tag."""
    return text.replace(FIRST_NAME, f'{{{{ first_name | default: "{FIRST_NAME_FALLBACK}" }}}}')


def _combine(outcomes: list[_ChunkOutcome], *, not_tried: int = 0) -> PushResult:
    """One attempt's result: the batches OneSignal accepted, and how many recipients are in the others.

    A batch with an error is not accepted and counts as not sent; a batch answered 200 with no
    notification (nobody subscribed among its ids) is settled: it has no one to reach.
    """
    went = [o for o in outcomes if o.provider_id]
    errors = [o.error for o in outcomes if o.error is not None]
    transient = next((e for e in errors if e.transient), None)
    notes = _unique([str(e) for e in errors] + [o.note for o in outcomes if o.note])
    if not went:
        if transient is not None:
            raise transient
        if errors:
            raise errors[0]
        return PushResult(sent=False, no_recipients=True, error="; ".join(notes), batches={})
    return PushResult(
        sent=True,
        provider_ids=[o.provider_id for o in went],
        recipients=sum(o.reached for o in went),
        error="; ".join(notes),
        transient=transient is not None,
        retry_after=transient.retry_after if transient is not None else None,
        batches={o.index: (o.provider_id, o.reached, o.size) for o in went},
        not_sent=sum(o.size for o in outcomes if o.error is not None) + not_tried,
    )


def _push_error(error: ApiException) -> PushError:
    detail = "; ".join(error.error_messages) or (error.reason or "no details")
    status = error.status or 0
    if status == 429:
        return PushError(f"OneSignal is rate limiting this app: {detail}", transient=True,
                         retry_after=_retry_after(error.headers))
    if status == 0 or status >= 500:
        return PushError(f"OneSignal had a problem ({status or 'no answer'}): {detail}", transient=True)
    if status in (401, 403):
        return PushError(f"OneSignal refused the clinic's app id or REST API key: {detail}", transient=False)
    return PushError(f"OneSignal rejected the notification: {detail}", transient=False)


def _retry_after(headers) -> int | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
    value = None
    for name, header_value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = str(header_value).strip()
            break
    if not value:
        return None
    try:
        return max(1, math.ceil(float(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(1, math.ceil((when - datetime.now(timezone.utc)).total_seconds()))


def _error_messages(errors) -> list[str]:
    if not errors:
        return []
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, list):
        return [str(e) for e in errors]
    if isinstance(errors, dict):
        return [f"{key}: {value if isinstance(value, str) else json.dumps(value)}"
                for key, value in sorted(errors.items())]
    return [str(errors)]


def _invalid_external_ids(errors) -> int:
    """How many of the batch's external ids OneSignal did not know (a partial success)."""
    if not isinstance(errors, dict):
        return 0
    invalid = errors.get("invalid_aliases")
    if isinstance(invalid, dict):
        return len(invalid.get("external_id") or [])
    return len(errors.get("invalid_external_user_ids") or [])


def _describe(error: Exception) -> str:
    if isinstance(error, ApiException):
        return f"HTTP {error.status}"
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2, so it is tested first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "connection failed"
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return "timed out"
    return type(error).__name__


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
