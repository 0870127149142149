"""Running a queued push's delivery task and reading the push back, for the task tests."""

from clinic_crm.tenancy.context import clinic_scope
from notifications.models import PushNotification
from notifications.tasks import deliver_push_task


def deliver(push):
    deliver_push_task.apply((push.clinic_id, push.pk))
    return reload(push)


def reload(push):
    with clinic_scope(push.clinic_id):
        return PushNotification.objects.get(pk=push.pk)
