"""Something the patient app shows changed: the per-clinic config version every kind bumps (OFF-7).

The patient app's configuration (`clinic_crm.patient_app`) is cached per clinic under this
version. Offers, promos and coupons call `app_config_changed_on_commit` from their services, and
their Django admin classes take `InvalidatesAppConfigAdmin`, so the next fetch rebuilds without
any of them knowing how the configuration is put together.
"""

import time

from django.core.cache import cache

from clinic_crm.common.tracked_cache import bump_tracked_int, get_tracked_int
from clinic_crm.tenancy.context import on_commit

VERSION_KEY = "app-config:version:{clinic_id}"


def config_version(clinic_id: int) -> int:
    """The clinic's current config version. With Redis as the cache, a process keeps the version it
    read until Redis reports a change (tracked_cache), so a warm fetch makes no round trip."""
    key = VERSION_KEY.format(clinic_id=clinic_id)
    version = get_tracked_int(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = get_tracked_int(key)
        if version is None:  # a cache that keeps nothing (DummyCache): no two fetches share a tag
            version = time.time_ns()
    return version


def invalidate_app_config(clinic_id: int) -> None:
    """Make the next config fetch rebuild: a new version means a new cache key and a new ETag."""
    # Not cached (or evicted): restart from a value no earlier version can have held, so an old
    # cached body or ETag is never mistaken for the current one.
    bump_tracked_int(VERSION_KEY.format(clinic_id=clinic_id), initial=time.time_ns())


def app_config_changed_on_commit(clinic_id: int) -> None:
    """Bump the clinic's config version once the current transaction commits (OFF-7).

    After the commit, so a fetch that rebuilds at once reads the change; a rolled-back change
    bumps nothing.
    """
    on_commit(lambda: invalidate_app_config(clinic_id))


class InvalidatesAppConfigAdmin:
    """Django admin mixin: saving or deleting a row the app config shows bumps its clinic's version.

    Platform admins edit outside the services, so the services' own bump does not run; without
    this the app would keep showing the old config until the clinic's date changes.
    """

    def _invalidate_on_commit(self, clinic_ids) -> None:
        for clinic_id in {cid for cid in clinic_ids if cid is not None}:
            app_config_changed_on_commit(clinic_id)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._invalidate_on_commit([obj.clinic_id])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self._invalidate_on_commit([form.instance.clinic_id])

    def delete_model(self, request, obj):
        clinic_id = obj.clinic_id
        super().delete_model(request, obj)
        self._invalidate_on_commit([clinic_id])

    def delete_queryset(self, request, queryset):
        clinic_ids = list(queryset.values_list("clinic_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        self._invalidate_on_commit(clinic_ids)
