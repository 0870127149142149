from django.apps import AppConfig


def _active_promos():
    from django.db.models import Q
    from django.utils import timezone

    from promos.choices import PromoStatus
    from promos.models import Promo

    # Active and not past its end: the promos a customer could redeem now or once they start.
    return Promo.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now()), status=PromoStatus.ACTIVE)


def _promo_promotions(*, clinic):
    from promos.selectors.listing import list_promo_promotions

    return list_promo_promotions(clinic=clinic)


def _promo_promotion(*, clinic, promotion_id):
    from promos.selectors.listing import get_promo_promotion

    return get_promo_promotion(clinic=clinic, promotion_id=promotion_id)


class PromosConfig(AppConfig):
    name = "promos"

    def ready(self):
        from redemptions.registry import PromotionKind, register_promotion_kind

        register_promotion_kind(PromotionKind(key="promo", label="Promo code", list_active=_active_promos,
                                              list_promotions=_promo_promotions, get_promotion=_promo_promotion))
