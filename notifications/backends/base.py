"""The push interface every backend implements (OFF-5, OFF-6)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PushMessage:
    title: str
    message: str
    # None means every push-enabled patient of the clinic; otherwise these external ids.
    external_ids: tuple[str, ...] | None
    # Stable per (clinic, push): lets the provider drop a repeated send (retries, double beats).
    idempotency_seed: str


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


class PushError(Exception):
    def __init__(self, message: str, *, transient: bool, retry_after: int | None = None):
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class BasePushBackend:
    def send(self, *, clinic, push: PushMessage) -> PushResult:
        raise NotImplementedError

    def delivered_count(self, *, clinic, provider_id: str) -> int | None:
        """The provider's own figure of devices reached, or None when it has none."""
        return None
