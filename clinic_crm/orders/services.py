"""The core order flow: every app applies its discount to an order through here (CORE-4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource, DiscountType
from clinic_crm.common.errors import ApplicationError, Conflict
from clinic_crm.common.models import discount_label
from clinic_crm.common.money import quantize
from clinic_crm.orders.models import Order, OrderLine
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from clinic_crm.tenancy.rows import insert_scoped_row, update_scoped_rows


@dataclass(frozen=True)
class AppliedDiscount:
    """What a promotion gives an order, with the snapshot the order keeps forever."""

    source: str  # DiscountSource
    discount_type: str  # DiscountType
    value: Decimal | None
    source_key: str = ""  # "promo_12"
    source_id: int | None = None
    source_name: str = ""
    amount: Decimal | None = None  # explicit amount (free treatment: the treatment's price)


@dataclass(frozen=True)
class LineInput:
    description: str
    unit_price: Decimal
    quantity: int = 1
    category: str = ""

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


def compute_discount_amount(*, discount: AppliedDiscount, subtotal: Decimal) -> Decimal:
    """How much a discount takes off a subtotal; never more than the subtotal."""
    if discount.amount is not None:
        amount = discount.amount
    elif discount.discount_type == DiscountType.PERCENT:
        amount = subtotal * (discount.value or Decimal("0")) / Decimal("100")
    elif discount.discount_type == DiscountType.AMOUNT:
        amount = discount.value or Decimal("0")
    else:  # a free treatment with no stated price covers the whole order
        amount = subtotal
    return quantize(min(max(amount, Decimal("0")), subtotal))


def create_order(*, clinic: Clinic, patient: Patient, reference: str, lines: list[LineInput] | None = None,
                 total: Decimal | None = None, placed_at: datetime | None = None,
                 discount: AppliedDiscount | None = None) -> Order:
    """Record an order with its lines and at most one discount, snapshotting the source (CORE-4).

    Atomic, but not with `@transaction.atomic`: its writes run in an `atomic(savepoint=False)` block
    and every refusal is raised outside that block, before or after it, so a caller's transaction is
    never marked for rollback by a refusal and no savepoint round trips are spent (the POS redeem).
    A refusal added inside the block would break that: raise it after the block, as below.
    """
    if patient.clinic_id != clinic.pk:
        raise ApplicationError("That patient belongs to another clinic.", code="not_found")
    lines = lines or []
    if lines:
        subtotal = quantize(sum((line.unit_price * line.quantity for line in lines), Decimal("0")))
    elif total is not None:
        subtotal = quantize(total)
    else:
        raise ApplicationError("An order needs lines or a total.", code="validation_error")
    if subtotal < 0:
        raise ApplicationError("An order total cannot be negative.", code="validation_error")

    order = Order(
        clinic=clinic, patient=patient, reference=reference.strip(), placed_at=placed_at or timezone.now(),
        currency=clinic.currency, subtotal=subtotal,
    )
    if discount is not None and discount.source != DiscountSource.NONE:
        amount = compute_discount_amount(discount=discount, subtotal=subtotal)
        order.discount_source = discount.source
        order.discount_type = discount.discount_type
        order.discount_value = discount.value
        order.discount_amount = amount
        order.source_key = discount.source_key
        order.source_id = discount.source_id
        order.source_name = discount.source_name
        order.source_label = discount_label(discount.discount_type, discount.value, clinic.currency)
    order.total = order.subtotal - order.discount_amount
    # The clinic and patient are loaded objects already checked above: skip re-reading them.
    order.full_clean(exclude=["clinic", "patient"], validate_constraints=False)
    # A taken reference inserts nothing instead of raising, and every refusal is raised outside the
    # atomic block, so a caller's transaction stays usable with no savepoint around this function.
    with transaction.atomic(savepoint=False):
        inserted = insert_scoped_row(order, unless_conflict=("clinic", "reference"))
        if inserted:
            if lines:
                OrderLine.objects.bulk_create(
                    [OrderLine(clinic=clinic, order=order, description=l.description, category=l.category,
                               quantity=l.quantity, unit_price=quantize(l.unit_price)) for l in lines]
                )
            # Only ever moves forward, decided by the row itself (two tills finishing out of order).
            update_scoped_rows(Patient, assignments="last_visit_at = %s", assignment_params=[order.placed_at],
                               where="id = %s AND (last_visit_at IS NULL OR last_visit_at < %s)",
                               where_params=[patient.pk, order.placed_at])
    if not inserted:
        raise Conflict(f"An order with reference “{order.reference}” already exists.", code="duplicate_reference")
    return order
