"""Publishing Celery tasks so that a broker outage never fails a request or loses what it stored.

The row a task works on (a push, an export run, an import) is committed first; the task is published after
the commit. If the broker cannot be reached then, the request still succeeds, the row waits in its queued
state, and a periodic sweep publishes it again once the broker is back (`notifications.scheduled`).
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger("clinic_crm.queueing")

REQUEUE_QUIET_SECONDS = 30 * 60
# One quick retry: a request must not wait long on a broker that is down.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task, *args, **kwargs) -> bool:
    """Publish `task(*args, **kwargs)`; False (logged) when the broker cannot be reached."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY)
    except (OperationalError, OSError) as error:
        logger.warning("Could not queue %s (%s); it is kept and queued again when the broker is back",
                       task.name, error)
        return False
    return True


def enqueue_again(task, *args, key: str) -> bool:
    """Publish a stranded row's task again, at most once per half hour per row (`key`), so a sweep that finds
    the row still waiting behind a long queue does not pile up copies; False when not published."""
    if not cache.add(f"requeued:{key}", 1, timeout=REQUEUE_QUIET_SECONDS):
        return False
    return enqueue(task, *args)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Publish the task once the current transaction commits (never for a rolled-back one)."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
