from django.apps import AppConfig


def _active_card_templates():
    from coupons.models import CardTemplate

    return CardTemplate.objects.all()


class CouponsConfig(AppConfig):
    name = "coupons"

    def ready(self):
        from redemptions.registry import PromotionKind, register_promotion_kind

        # Card templates are promotions like offers and promos ("card_7"): Rewards Unlocked, the
        # Promotions page and a patient's history read them through the registry and the ledger.
        register_promotion_kind(PromotionKind(key="card", label="Card", list_active=_active_card_templates))
