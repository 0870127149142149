"""A card's activity log: who changed what and when, kept as at the time (COU-6)."""

from __future__ import annotations

from clinic_crm.tenancy.events import StaffActor
from coupons.models import Card, CardActivity

SYSTEM = StaffActor(id=None, name="Clinic CRM", email="")


def record_card_event(*, card: Card, actor: StaffActor, action: str, details: dict | None = None) -> CardActivity:
    """Append one row to the card's log; PostgreSQL refuses UPDATE and DELETE on the table."""
    return CardActivity.objects.create(
        clinic_id=card.clinic_id, card=card, action=action, actor_id=actor.id, actor_name=actor.name[:150],
        actor_email=actor.email or "", details=details or {},
    )
