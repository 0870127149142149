"""Fault scenarios reuse the fake OneSignal and its clinics (tests/notifications/conftest.py)."""

from tests.notifications.conftest import (  # noqa: F401  (fixtures, found by pytest by name)
    clinic_a_on_onesignal,
    onesignal,
    retry_countdowns,
)
