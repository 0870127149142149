from django.apps import AppConfig


class OffersConfig(AppConfig):
    name = "offers"

    def ready(self):
        from clinic_crm.tenancy.services import clinic_created_hooks
        from offers.catalogue import ensure_automated_offers

        if ensure_automated_offers not in clinic_created_hooks:
            clinic_created_hooks.append(ensure_automated_offers)
