from django.apps import AppConfig


def _active_offers():
    from django.db.models import Q

    from clinic_crm.tenancy.context import current_clinic_id
    from clinic_crm.tenancy.models import Clinic
    from offers.models import Offer

    # Active and not past its Until date in the clinic's own calendar.
    today = Clinic.objects.get(pk=current_clinic_id()).today()
    return Offer.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today), active=True)


def _active_automated_offers():
    from offers.models import AutomatedOffer

    return AutomatedOffer.objects.filter(active=True)


def _claimable_offer_terms(*, promotion_id, today):
    from offers.services.redemption import claimable_offer_terms

    return claimable_offer_terms(promotion_id=promotion_id, today=today)


def _take_use_for_response(*, response):
    from offers.services.redemption import take_use_for_response

    take_use_for_response(response=response)


def _offer_promotions(*, clinic):
    from offers.selectors import list_offer_promotions

    return list_offer_promotions(clinic=clinic)


def _offer_promotion(*, clinic, promotion_id):
    from offers.selectors import get_offer_promotion

    return get_offer_promotion(clinic=clinic, promotion_id=promotion_id)


def _automated_offer_promotions(*, clinic):
    from offers.selectors import list_automated_offer_promotions

    return list_automated_offer_promotions(clinic=clinic)


def _automated_offer_promotion(*, clinic, promotion_id):
    from offers.selectors import get_automated_offer_promotion

    return get_automated_offer_promotion(clinic=clinic, promotion_id=promotion_id)


class OffersConfig(AppConfig):
    name = "offers"

    def ready(self):
        from clinic_crm.tenancy.services import clinic_created_hooks
        from offers.catalogue import ensure_automated_offers
        from redemptions.registry import PromotionKind, register_promotion_kind

        if ensure_automated_offers not in clinic_created_hooks:
            clinic_created_hooks.append(ensure_automated_offers)
        register_promotion_kind(PromotionKind(key="offer", label="One-time offer", list_active=_active_offers,
                                              response_terms=_claimable_offer_terms,
                                              on_response_completed=_take_use_for_response,
                                              list_promotions=_offer_promotions, get_promotion=_offer_promotion))
        register_promotion_kind(PromotionKind(key="automated_offer", label="Automated offer",
                                              list_active=_active_automated_offers,
                                              list_promotions=_automated_offer_promotions,
                                              get_promotion=_automated_offer_promotion))
