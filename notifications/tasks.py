"""Delivery runs in Celery: transient errors retry with backoff, then the push is marked failed."""

from celery import shared_task

from clinic_crm.tenancy.context import with_clinic_scope
from notifications import services
from notifications.backends.base import PushError
from notifications.choices import PushStatus
from notifications.models import PushNotification

MAX_RETRIES = 5
# OneSignal's view endpoint allows about one request a second per app; read figures later, once.
DELIVERY_FIGURE_DELAY = 15 * 60


@shared_task(max_retries=MAX_RETRIES, acks_late=True)
@with_clinic_scope
def deliver_push_task(clinic_id: int, push_id: int) -> str:
    task = deliver_push_task
    push = PushNotification.objects.filter(pk=push_id).first()
    if push is None:
        return "gone"
    try:
        push = services.deliver_push(push=push)
    except PushError as error:
        if task.request.retries >= task.max_retries:
            services.mark_push_failed(push=push, reason=f"Gave up after {push.attempts} attempts: {error}")
            return PushStatus.FAILED
        # Retry-After when the provider gives one; otherwise 30 s, 60 s, … capped well under the
        # broker's visibility timeout so a retry is never redelivered as a duplicate.
        countdown = error.retry_after or min(600, 30 * 2 ** task.request.retries)
        raise task.retry(countdown=countdown, exc=error)
    if push.status == PushStatus.SENT and push.provider_ids:
        fetch_delivered_count_task.apply_async((clinic_id, push.pk), countdown=DELIVERY_FIGURE_DELAY)
    return push.status


@shared_task(rate_limit="1/s", acks_late=True)
@with_clinic_scope
def fetch_delivered_count_task(clinic_id: int, push_id: int) -> int | None:
    push = PushNotification.objects.filter(pk=push_id).first()
    if push is None:
        return None
    return services.record_delivered_count(push=push).sent_count
