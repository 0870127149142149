"""The promo activity log: one function per action, who/what/when/diff (PRO-5).

Rows are append-only in PostgreSQL itself (a trigger refuses UPDATE and DELETE), so the actor's
name and e-mail are copied into each row as they are at the time of the change: renaming a user
later leaves the history as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from promos.choices import PromoAction
from promos.models import Promo, PromoActivity


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the log shows them."""

    id: int | None
    name: str
    email: str

    @classmethod
    def from_user(cls, user) -> "Actor":
        """A dashboard user signed in by session: their full name, or their e-mail when they have none."""
        email = getattr(user, "email", "") or ""
        name = (user.get_full_name() if hasattr(user, "get_full_name") else "") or email
        return cls(id=getattr(user, "pk", None), name=name, email=email)

    @classmethod
    def from_principal(cls, principal) -> "Actor":
        """A staff API caller: the name and e-mail claims of the JWT they called with."""
        user = getattr(principal, "user", None)
        email = principal.email or getattr(user, "email", "") or ""
        return cls(id=getattr(user, "pk", None), name=principal.name or email, email=email)


SYSTEM_ACTOR = Actor(id=None, name="System", email="")


def jsonable(value):
    """A field value as the log stores it: JSON with money as strings and times in ISO 8601."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def record_promo_event(*, promo: Promo, actor: Actor | None, action: str, diff: dict | None = None) -> PromoActivity:
    """Append one row to a promo's activity log (PRO-5)."""
    actor = actor or SYSTEM_ACTOR
    if action not in PromoAction.values:
        raise ValueError(f"Unknown promo action {action!r}")
    return PromoActivity.objects.create(
        clinic_id=promo.clinic_id, promo=promo, action=action, actor_id=actor.id,
        actor_name=(actor.name or actor.email or "Unknown")[:150], actor_email=(actor.email or "")[:254],
        diff=jsonable(diff or {}),
    )
