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


class OffersConfig(AppConfig):
    name = "offers"

    def ready(self):
        from clinic_crm.tenancy.services import clinic_created_hooks
        from offers.catalogue import ensure_automated_offers
        from redemptions.registry import PromotionKind, register_promotion_kind

        if ensure_automated_offers not in clinic_created_hooks:
            clinic_created_hooks.append(ensure_automated_offers)
        register_promotion_kind(PromotionKind(key="offer", label="One-time offer", list_active=_active_offers,
                                              response_terms=_claimable_offer_terms))
        register_promotion_kind(PromotionKind(key="automated_offer", label="Automated offer",
                                              list_active=_active_automated_offers))
