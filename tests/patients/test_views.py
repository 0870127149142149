"""Client Profiles list and form (CORE-3): search, create, edit, roles, bad input."""

from datetime import date

import pytest
from django.urls import reverse

from clinic_crm.patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def url(name, clinic, **kw):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kw})


def test_search_matches_name_email_and_external_id(clinic_a, viewer_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        PatientFactory(first_name="Grace", last_name="Hopper", email="grace@navy.example", external_id="gh-1")
        PatientFactory(first_name="Ada", last_name="Lovelace", email="ada@engine.example", external_id="al-1")
    client = client_for(viewer_a)
    for term, expected in [("grace", ["Grace"]), ("engine", ["Ada"]), ("gh-1", ["Grace"]), ("zzz", [])]:
        response = client.get(url("patients:list", clinic_a), {"q": term})
        assert [p.first_name for p in response.context["page"].object_list] == expected, term


def test_htmx_search_returns_only_the_results_fragment(clinic_a, viewer_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        PatientFactory(first_name="Grace")
    response = client_for(viewer_a).get(url("patients:list", clinic_a), {"q": "grace"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "Grace" in page and "<html" not in page and 'class="sidebar"' not in page


def test_staff_adds_a_patient_and_an_external_id_is_generated(clinic_a, staff_a, client_for, in_clinic):
    response = client_for(staff_a).post(url("patients:create", clinic_a), {
        "first_name": "Lin", "last_name": "Wu", "email": "LIN@Example.com", "date_of_birth": "1991-04-02",
        "push_enabled": "on",
    })
    assert response.status_code == 302
    with in_clinic(clinic_a):
        patient = Patient.objects.get(first_name="Lin")
    assert patient.email == "lin@example.com" and patient.date_of_birth == date(1991, 4, 2)
    assert patient.external_id.startswith("p_") and patient.push_enabled


@pytest.mark.parametrize("data,field", [
    ({"first_name": ""}, "first_name"),
    ({"first_name": "A", "email": "not-an-email"}, "email"),
    ({"first_name": "A", "date_of_birth": "31/02/2020"}, "date_of_birth"),
    ({"first_name": "A", "external_id": "taken-1"}, "external_id"),
])
def test_bad_patient_input_shows_form_errors_and_saves_nothing(clinic_a, staff_a, client_for, in_clinic, data, field):
    with in_clinic(clinic_a):
        PatientFactory(external_id="taken-1")
    response = client_for(staff_a).post(url("patients:create", clinic_a), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    with in_clinic(clinic_a):
        assert Patient.objects.count() == 1


def test_an_external_id_taken_in_another_clinic_is_fine(clinic_a, clinic_b, staff_a, client_for, in_clinic):
    with in_clinic(clinic_b):
        PatientFactory(external_id="same-1")
    response = client_for(staff_a).post(url("patients:create", clinic_a), {"first_name": "A", "external_id": "same-1"})
    assert response.status_code == 302


def test_editing_keeps_the_external_id_when_left_empty(clinic_a, staff_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory(external_id="keep-1")
    response = client_for(staff_a).post(url("patients:edit", clinic_a, patient_id=patient.pk),
                                        {"first_name": "Renamed", "external_id": ""})
    assert response.status_code == 302
    with in_clinic(clinic_a):
        patient.refresh_from_db()
    assert (patient.first_name, patient.external_id) == ("Renamed", "keep-1")


def test_a_viewer_can_look_but_not_change(clinic_a, viewer_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory(first_name="Same")
    client = client_for(viewer_a)
    assert client.get(url("patients:create", clinic_a)).status_code == 403
    assert client.post(url("patients:edit", clinic_a, patient_id=patient.pk), {"first_name": "Hacked"}).status_code == 403
    with in_clinic(clinic_a):
        patient.refresh_from_db()
    assert patient.first_name == "Same"
    profile = client.get(url("dashboard:patient", clinic_a, patient_id=patient.pk)).content.decode()
    assert url("patients:edit", clinic_a, patient_id=patient.pk) not in profile  # no way to the form
    assert 'data-testid="locked-action"' in profile  # Edit details shown disabled, with the reason


def test_signed_out_visitors_are_sent_to_login(clinic_a, client):
    response = client.get(url("patients:list", clinic_a))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
