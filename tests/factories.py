"""Factories for tenant rows. Call them inside `in_clinic(clinic)` (or pass clinic=)."""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from clinic_crm.orders.models import Order
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.context import current_clinic_id


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic_id = factory.LazyFunction(current_clinic_id)
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = factory.Sequence(lambda n: f"Ient{n}")
    email = factory.LazyAttribute(lambda p: f"{p.first_name}.{p.last_name}@example.com".lower())
    external_id = factory.Sequence(lambda n: f"ext-{n}")
    date_of_birth = date(1990, 6, 15)
    push_enabled = True


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    clinic_id = factory.LazyFunction(current_clinic_id)
    patient = factory.SubFactory(PatientFactory)
    reference = factory.Sequence(lambda n: f"ORD-{n}")
    placed_at = factory.LazyFunction(timezone.now)
    currency = "GBP"
    subtotal = Decimal("100.00")
    discount_amount = Decimal("0.00")
    total = factory.LazyAttribute(lambda o: o.subtotal - o.discount_amount)
