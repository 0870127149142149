"""The ORM wall: tenant managers fail closed and saves stay in their clinic (CORE-1)."""

import pytest

from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.context import TenantScopeError, clinic_scope, current_clinic_id, unscoped, with_clinic_scope
from tests.conftest import platform_db
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_objects_without_a_clinic_in_scope_raises():
    with pytest.raises(TenantScopeError):
        Patient.objects.count()


def test_objects_in_scope_returns_only_that_clinic(clinic_a, clinic_b):
    with clinic_scope(clinic_a.pk):
        PatientFactory.create_batch(2)
    with clinic_scope(clinic_b.pk):
        PatientFactory()
        assert Patient.objects.count() == 1
    with clinic_scope(clinic_a.pk):
        assert Patient.objects.count() == 2


def test_saving_a_row_of_another_clinic_raises(clinic_a, clinic_b):
    with clinic_scope(clinic_a.pk):
        patient = PatientFactory()
    with clinic_scope(clinic_b.pk):
        patient.first_name = "Changed"
        with pytest.raises(TenantScopeError):
            patient.save()


def test_saving_with_no_scope_raises(clinic_a):
    with pytest.raises(TenantScopeError):
        Patient(clinic=clinic_a, first_name="X", external_id="x").save()


def test_a_new_row_takes_the_clinic_in_scope(clinic_a):
    with clinic_scope(clinic_a.pk):
        patient = Patient(first_name="Ann", external_id="ann-1")
        patient.save()
    assert patient.clinic_id == clinic_a.pk


def test_scope_is_reset_after_an_exception(clinic_a):
    with pytest.raises(RuntimeError):
        with clinic_scope(clinic_a.pk):
            raise RuntimeError("boom")
    assert current_clinic_id() is None


def test_task_decorator_enters_the_clinic_from_its_first_argument(clinic_a, clinic_b):
    with clinic_scope(clinic_b.pk):
        PatientFactory()

    @with_clinic_scope
    def count_patients(clinic_id):
        return current_clinic_id(), Patient.objects.count()

    assert count_patients(clinic_a.pk) == (clinic_a.pk, 0)
    assert count_patients(clinic_b.pk) == (clinic_b.pk, 1)
    assert current_clinic_id() is None


@platform_db
def test_unscoped_reads_all_clinics(clinic_a, clinic_b):
    for clinic in (clinic_a, clinic_b):
        with clinic_scope(clinic.pk):
            PatientFactory()
    with unscoped():
        assert Patient.objects.count() == 2
