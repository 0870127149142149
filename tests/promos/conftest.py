"""Fixtures shared by the promo tests."""

import pytest

from tests.factories import PatientFactory


@pytest.fixture
def ann(clinic_a, in_clinic):
    """A patient of clinic A whose booking-system id is "ann"."""
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", external_id="ann")
