"""NUL characters are refused with a 400 everywhere, never passed on to PostgreSQL as a 500."""

import pytest
from django.urls import reverse

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_api_query_path_header_and_body_with_nul_are_400_in_the_error_shape(clinic_a, pos_client_for, in_clinic):
    api = pos_client_for(clinic_a)
    with in_clinic(clinic_a):
        PatientFactory(external_id="n-1")
    for response in (
        api.get("/api/v1/pos/patients", {"search": "a\x00b"}),
        api.get("/api/v1/pos/orders/A%00B"),
        api.put("/api/v1/pos/patients/n-1", {"first_name": "Ann", "custom_fields": {"note": "x\x00y"}}, format="json"),
        api.post("/api/v1/pos/orders", {"reference": "R-1", "external_id": "n-1", "total": "1"}, format="json",
                 HTTP_IDEMPOTENCY_KEY="k\x00"),
    ):
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
    with in_clinic(clinic_a):
        from clinic_crm.patients.models import Patient

        assert Patient.objects.get(external_id="n-1").custom_fields == {}


def test_dashboard_search_with_nul_is_400(clinic_a, owner_a, client_for):
    response = client_for(owner_a).get(reverse("patients:list", kwargs={"clinic_slug": clinic_a.slug}),
                                       {"q": "\x00"})
    assert response.status_code == 400
