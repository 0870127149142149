"""The console push backend, the embedded default: it logs each push and reports it sent (OFF-5, OFF-6)."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notifications.choices import PushStatus
from notifications.dispatch import queue_push
from tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def console_backend(settings):
    settings.PUSH_BACKEND = "console"


def test_console_is_the_push_backend_when_none_is_configured(tmp_path):
    # given the environment without PUSH_BACKEND
    env = {k: v for k, v in os.environ.items() if k != "PUSH_BACKEND"}
    # when Django starts and picks the push backend
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from notifications.backends import get_backend; "
                               "print(type(get_backend()).__module__, type(get_backend()).__name__)"],
        cwd=ROOT, env={**env, "DEBUG": "1", "CLINIC_CRM_VAR_DIR": str(tmp_path),
                       "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"},
        capture_output=True, text=True, timeout=60,
    )
    # then it is the console backend
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["notifications.backends.console", "ConsoleBackend"]


@pytest.mark.django_db
def test_a_push_through_the_console_logs_its_title_message_and_recipients_and_ends_sent(
        console_backend, clinic_a, in_clinic, caplog, django_capture_on_commit_callbacks):
    # given a clinic with two push-enabled patients and one without push
    with in_clinic(clinic_a):
        PatientFactory.create_batch(2, push_enabled=True)
        PatientFactory(push_enabled=False)
    # when a push is queued and delivered
    with caplog.at_level(logging.INFO, logger="notifications.console"), in_clinic(clinic_a):
        with django_capture_on_commit_callbacks(execute=True):
            push = queue_push(clinic=clinic_a, title="Christmas", message="20% off all week")
        push.refresh_from_db()
    # then the log names the clinic, the two recipients, the title and the message
    [record] = [r for r in caplog.records if r.name == "notifications.console"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "push for clinic-a to 2 patients: Christmas — 20% off all week"
    # and the history row is sent, to the targeted count, with a provider id kept for the figure follow-up
    assert (push.status, push.targeted_count, push.sent_count) == (PushStatus.SENT, 2, 2)
    assert len(push.provider_ids) == 1 and push.sent_at is not None and push.failure_reason == ""
