"""Managers that fail closed: no clinic in scope means an error, not every clinic's rows."""

from django.db import models

from clinic_crm.tenancy.context import TenantScopeError, current_clinic_id, is_unscoped


class ClinicScopedQuerySet(models.QuerySet):
    pass


class ClinicScopedManager(models.Manager.from_queryset(ClinicScopedQuerySet)):
    """`Model.objects`: only the clinic in scope; raises when there is none."""

    def get_queryset(self):
        queryset = super().get_queryset()
        clinic_id = current_clinic_id()
        if clinic_id is not None:
            return queryset.filter(clinic_id=clinic_id)
        if is_unscoped():
            return queryset
        raise TenantScopeError(
            f"{self.model.__name__}.objects used with no clinic in scope; "
            "wrap the code in clinic_scope(clinic_id)"
        )
