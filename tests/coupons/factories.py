"""Card templates for tests, made through the service so every rule applies."""

from decimal import Decimal

from clinic_crm.tenancy.events import StaffActor
from coupons import services

SAM = StaffActor(id=None, name="Sam Staff", email="sam@example.com")


def make_template(clinic, **data):
    """A card template of the clinic in scope: a 20% coupon unless `data` says otherwise."""
    values = {"kind": "coupon", "name": "Welcome 20%", "discount_type": "percent", "discount_value": Decimal("20"),
              **data}
    return services.create_card_template(clinic=clinic, data=values, actor=SAM)
