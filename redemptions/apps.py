from django.apps import AppConfig


class RedemptionsConfig(AppConfig):
    name = "redemptions"

    def ready(self):
        # The scheduled-exports beat task is not in `tasks` (it sits above it): register it here.
        from redemptions import scheduled  # noqa: F401
