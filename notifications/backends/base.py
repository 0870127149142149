"""The push interface every backend implements (OFF-5, OFF-6)."""

from __future__ import annotations

from dataclasses import dataclass, field


# A push may greet each recipient by name: the backend turns this into its provider's per-recipient field
# (OneSignal: the `first_name` tag the patient app sets on its user), with "there" for someone untagged.
FIRST_NAME = "{first_name}"
FIRST_NAME_FALLBACK = "there"


@dataclass(frozen=True)
class PushMessage:
    title: str
    message: str
    # The audience, resolved by the caller in the clinic's scope: a backend never reads the database.
    external_ids: tuple[str, ...]
    # Stable per (clinic, push): lets the provider drop a repeated send (retries, double beats).
    idempotency_seed: str
    # Batches (by index) the provider accepted in an earlier attempt: a retry sends only the others.
    done_batches: frozenset[int] = frozenset()


@dataclass
class PushResult:
    """What a send achieved. `transient` errors are retried; others end the push as failed."""

    sent: bool
    provider_ids: list[str] = field(default_factory=list)
    recipients: int | None = None
    no_recipients: bool = False
    error: str = ""
    transient: bool = False
    retry_after: int | None = None
    # A batching backend's account of this attempt: each batch it sent that the provider accepted, by
    # index, as (provider id, recipients reached), and how many recipients are in batches still not
    # accepted (refused, or not tried after a transient error). None from a backend that does not batch.
    batches: dict[int, tuple[str, int, int]] | None = None  # index -> (provider id, reached, batch size)
    not_sent: int = 0


class PushError(Exception):
    def __init__(self, message: str, *, transient: bool, retry_after: int | None = None):
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class BasePushBackend:
    def send(self, *, clinic, push: PushMessage) -> PushResult:
        raise NotImplementedError

    def setup_problem(self, *, clinic) -> str:
        """Why nothing can be delivered for this clinic until it is set up, or "" when it can."""
        return ""

    def delivered_count(self, *, clinic, provider_id: str) -> int | None:
        """The provider's own figure of devices reached, or None when it has none."""
        return None
