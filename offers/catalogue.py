"""Every clinic has exactly one automated offer per occasion, created with the clinic (OFF-3)."""

from decimal import Decimal

from clinic_crm.common.choices import DiscountType
from clinic_crm.tenancy.context import clinic_scope
from offers.choices import Occasion
from offers.occasions import DEFAULTS


def automated_offer_defaults(occasion: str) -> dict:
    title, message = DEFAULTS[Occasion(occasion)]
    return {
        "discount_type": DiscountType.PERCENT, "discount_value": Decimal("10"),
        "push_title": title, "push_message": message,  # {discount} is filled in when it is sent
        "validity_days": 7, "active": False, "published": False,
    }


def ensure_automated_offers(clinic) -> int:
    """Create the clinic's missing automated offers (a `create_clinic` hook); returns how many."""
    from offers.models import AutomatedOffer

    with clinic_scope(clinic.pk):
        existing = set(AutomatedOffer.objects.values_list("occasion", flat=True))
        missing = [o for o in Occasion.values if o not in existing]
        AutomatedOffer.objects.bulk_create(
            [AutomatedOffer(clinic_id=clinic.pk, occasion=o, **automated_offer_defaults(o)) for o in missing]
        )
    return len(missing)
