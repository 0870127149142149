"""The clinic's staff log: one function records every staff change (CORE-2)."""

from __future__ import annotations

from dataclasses import dataclass

from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic, StaffActivity


@dataclass(frozen=True)
class StaffActor:
    """Who made a staff change, as the log keeps them (as at the time)."""

    id: int | None
    name: str
    email: str

    @classmethod
    def of(cls, user) -> StaffActor:
        return cls(id=user.pk, name=user.get_full_name() or user.email, email=user.email)

    @classmethod
    def of_principal(cls, principal) -> StaffActor:
        """An API caller: a staff JWT's name and e-mail claims, or an integration key by its name."""
        if principal.kind == "staff":
            user = principal.user
            email = principal.email or getattr(user, "email", "") or ""
            return cls(id=getattr(user, "pk", None), name=principal.name or email, email=email)
        if principal.kind == "api_key":
            return cls(id=None, name=f"API key “{principal.api_key.name}”", email="")
        return cls(id=None, name="Patient app", email="")


OPERATOR = StaffActor(id=None, name="Platform operator", email="")


def record_staff_event(*, clinic: Clinic, actor: StaffActor, action: str, subject_email: str,
                       details: dict | None = None) -> StaffActivity:
    """Append one row to the clinic's staff log (CORE-2); the table refuses UPDATE and DELETE."""
    with clinic_scope(clinic.pk):
        return StaffActivity.objects.create(
            clinic=clinic, action=action, actor_id=actor.id, actor_name=actor.name[:150],
            actor_email=actor.email or "", subject_email=subject_email, details=details or {},
        )
