from django.apps import AppConfig


def _active_card_templates():
    from coupons.models import CardTemplate

    return CardTemplate.objects.all()


def _cards_for_app(*, clinic, today):
    from coupons.selectors import list_app_card_templates

    return list_app_card_templates(clinic=clinic, today=today)


def _settle_completed_reward(*, response):
    from coupons.services.cards import settle_completed_reward

    settle_completed_reward(response=response)


def _template_promotions(*, clinic):
    from coupons.selectors import list_card_template_promotions

    return list_card_template_promotions(clinic=clinic)


def _template_promotion(*, clinic, promotion_id):
    from coupons.selectors import get_card_template_promotion

    return get_card_template_promotion(clinic=clinic, promotion_id=promotion_id)


class CouponsConfig(AppConfig):
    name = "coupons"

    def ready(self):
        from redemptions.registry import PromotionKind, register_promotion_kind

        # Card templates are promotions like offers and promos ("card_7"): Rewards Unlocked, the
        # Promotions page and a patient's history read them through the registry and the ledger.
        # The patient app's config lists them under "cards" without patient_app importing coupons.
        register_promotion_kind(PromotionKind(key="card", label="Card", list_active=_active_card_templates,
                                              app_section="cards", list_for_app=_cards_for_app,
                                              on_response_completed=_settle_completed_reward,
                                              list_promotions=_template_promotions,
                                              get_promotion=_template_promotion))
