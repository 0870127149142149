from notifications.backends.base import BasePushBackend, PushMessage, PushResult

outbox: list[tuple[int, PushMessage]] = []


class MemoryBackend(BasePushBackend):
    """Keeps pushes in `notifications.backends.memory.outbox` for unit tests."""

    def send(self, *, clinic, push: PushMessage) -> PushResult:
        outbox.append((clinic.pk, push))
        return PushResult(sent=True, provider_ids=[f"memory-{len(outbox)}"])
