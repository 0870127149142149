from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        # The scheduled-push beat task is not in `tasks` (it sits above it): register it here.
        from notifications import scheduled  # noqa: F401
