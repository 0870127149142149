"""Beat's jobs run per clinic: one task per clinic, each in that clinic's own scope (DESIGN, Celery)."""

from __future__ import annotations

from clinic_crm.tenancy.models import Clinic


def fan_out_per_clinic(task, clinic_ids: list[int] | None = None) -> int:
    """Queue `task(clinic_id)` for each of `clinic_ids` (every active clinic by default); returns how many.

    The task itself enters the clinic's scope (`with_clinic_scope`), so one clinic's failure or
    retry never touches another's.
    """
    if clinic_ids is None:
        clinic_ids = list(Clinic.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    for clinic_id in clinic_ids:
        task.delay(clinic_id)
    return len(clinic_ids)
