"""The Celery app: Redis in production, a no-server filesystem broker on a laptop."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")

app = Celery("clinic_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


_task_log_tokens: dict[str, object] = {}


@task_prerun.connect
def _log_under_task_id(task_id=None, **kwargs):
    from clinic_crm.common.logs import bind_task_id

    _task_log_tokens[task_id] = bind_task_id(task_id)


@task_postrun.connect
def _stop_logging_under_task_id(task_id=None, **kwargs):
    from clinic_crm.common.logs import unbind_task_id

    token = _task_log_tokens.pop(task_id, None)
    if token is not None:
        unbind_task_id(token)


@app.on_after_configure.connect
def _make_broker_folders(sender, **kwargs):
    # kombu's filesystem transport expects its folders to exist.
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        folder = (sender.conf.broker_transport_options or {}).get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
