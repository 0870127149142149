import logging

from notifications.backends.base import BasePushBackend, PushMessage, PushResult

logger = logging.getLogger("notifications.console")


class ConsoleBackend(BasePushBackend):
    """The embedded default: writes each push to the log instead of sending it."""

    def send(self, *, clinic, push: PushMessage) -> PushResult:
        logger.info("push for %s to %s patients: %s — %s", clinic.slug, len(push.external_ids), push.title,
                    push.message)
        return PushResult(sent=True, provider_ids=[f"console-{push.idempotency_seed}"])
