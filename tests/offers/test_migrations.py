"""Clinics that existed before automated offers get one per occasion from a data migration (OFF-3)."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer

pytestmark = pytest.mark.django_db

MIGRATION = "0002_automated_offers_for_existing_clinics"


def run_migration_forward():
    """The migration's forward function, with the models as they were at that migration."""
    migration = importlib.import_module(f"offers.migrations.{MIGRATION}")
    historical = MigrationExecutor(connection).loader.project_state(("offers", MIGRATION)).apps
    with connection.schema_editor() as schema_editor:
        migration.create_missing(historical, schema_editor)


def occasions_of(clinic, in_clinic) -> list[str]:
    with in_clinic(clinic):
        return sorted(AutomatedOffer.objects.values_list("occasion", flat=True))


# SQLite's schema editor refuses to run inside the test's transaction (foreign key checks are on). The
# migration runs as the owner of the tables, as `migrate` does, so the clinics' rows are committed first.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_clinics_exactly_one_automated_offer_per_occasion_even_when_run_twice(
        clinic_a, clinic_b, in_clinic, as_schema_owner):
    # given a clinic whose automated offers are all gone, and one that kept only a configured Christmas
    with in_clinic(clinic_a):
        AutomatedOffer.objects.all().delete()
    with in_clinic(clinic_b):
        christmas = services.configure_automated_offer(
            automated_offer=AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS),
            data={"push_title": "Merry Christmas from B", "active": True})
        AutomatedOffer.objects.exclude(pk=christmas.pk).delete()
    assert occasions_of(clinic_a, in_clinic) == []
    # when the data migration runs, and runs again
    with as_schema_owner():
        run_migration_forward()
        run_migration_forward()
    # then each clinic has exactly one automated offer per occasion, created inactive and unpublished
    every_occasion = sorted(Occasion.values)
    assert occasions_of(clinic_a, in_clinic) == every_occasion
    assert occasions_of(clinic_b, in_clinic) == every_occasion
    with in_clinic(clinic_a):
        assert not AutomatedOffer.objects.filter(active=True).exists()
        assert not AutomatedOffer.objects.filter(published=True).exists()
    # and the offer the clinic had kept is left as it was configured
    with in_clinic(clinic_b):
        kept = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        assert (kept.pk, kept.push_title, kept.active) == (christmas.pk, "Merry Christmas from B", True)
        assert AutomatedOffer.objects.filter(active=True).count() == 1
