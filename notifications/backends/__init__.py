"""Push backends, chosen by the PUSH_BACKEND setting, the way Django chooses an e-mail backend."""

from django.conf import settings
from django.utils.module_loading import import_string

BACKENDS = {
    "console": "notifications.backends.console.ConsoleBackend",
    "memory": "notifications.backends.memory.MemoryBackend",
    "onesignal": "notifications.backends.onesignal.OneSignalBackend",
}


def get_backend():
    name = settings.PUSH_BACKEND
    return import_string(BACKENDS.get(name, name))()
