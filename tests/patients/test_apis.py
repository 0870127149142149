"""POS patients: upsert by the booking system's external id, read, list; never across clinics (API.md, POS)."""

import threading

import pytest
from django.db import connection

from clinic_crm.patients.models import Patient
from tests.factories import PatientFactory
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

PATIENTS = "/api/v1/pos/patients"
PATIENT_FIELDS = {"id", "external_id", "first_name", "last_name", "email", "phone", "date_of_birth", "push_enabled"}


def patient_url(external_id: str) -> str:
    return f"{PATIENTS}/{external_id}"


# --- upsert ----------------------------------------------------------------------------------------


def test_put_creates_a_new_patient_with_201(clinic_a, in_clinic, pos_client_for):
    # given a POS key and an external id the clinic has never seen
    api = pos_client_for(clinic_a)
    # when the booking system PUTs the patient
    response = api.put(patient_url("bk-100"), {
        "first_name": "Ann", "last_name": "Lee", "email": " Ann@Example.com", "phone": "+44 20 7946 0000",
        "date_of_birth": "1990-06-15", "push_enabled": True,
    }, format="json")
    # then it is created and returned in the API's patient shape
    assert response.status_code == 201
    body = response.json()
    assert PATIENT_FIELDS <= set(body)
    assert body["external_id"] == "bk-100"
    assert body["email"] == "ann@example.com"
    assert body["date_of_birth"] == "1990-06-15"
    with in_clinic(clinic_a):
        patient = Patient.objects.get(external_id="bk-100")
    assert body["id"] == str(patient.pk)
    assert (patient.first_name, patient.push_enabled) == ("Ann", True)


def test_put_again_updates_the_same_patient_with_200(clinic_a, in_clinic, pos_client_for):
    # given a patient the booking system created earlier
    api = pos_client_for(clinic_a)
    created = api.put(patient_url("bk-1"), {"first_name": "Ann", "phone": "111"}, format="json")
    # when it PUTs the same external id with new details
    updated = api.put(patient_url("bk-1"), {"last_name": "Lee-Smith", "phone": "222"}, format="json")
    # then the same row changes and fields not sent are kept
    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["id"] == created.json()["id"]
    with in_clinic(clinic_a):
        patient = Patient.objects.get(external_id="bk-1")
        assert Patient.objects.count() == 1
    assert (patient.first_name, patient.last_name, patient.phone) == ("Ann", "Lee-Smith", "222")


def test_creating_a_patient_needs_a_first_name(clinic_a, in_clinic, pos_client_for):
    # given a new external id
    api = pos_client_for(clinic_a)
    # when it is PUT without a first name
    response = api.put(patient_url("bk-2"), {"last_name": "Lee"}, format="json")
    # then the field is named and nothing is created
    body = assert_error(response, 400, "validation_error")
    assert "first_name" in body["extra"]["fields"]
    with in_clinic(clinic_a):
        assert not Patient.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"first_name": "Ann", "email": "not-an-address"}, "email"),
    ({"first_name": "Ann", "date_of_birth": "1990-02-30"}, "date_of_birth"),
    ({"first_name": "Ann", "date_of_birth": "15/06/1990"}, "date_of_birth"),
    ({"first_name": "Ann", "push_enabled": "perhaps"}, "push_enabled"),
    ({"first_name": "A" * 81}, "first_name"),
    ({"first_name": "Ann", "custom_fields": ["not", "a", "dict"]}, "custom_fields"),
])
def test_invalid_patient_fields_are_a_validation_error_naming_the_field(
    clinic_a, in_clinic, pos_client_for, payload, field
):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when a patient with one bad field is PUT
    response = api.put(patient_url("bk-3"), payload, format="json")
    # then the 400 names that field and nothing is stored
    body = assert_error(response, 400, "validation_error")
    assert field in body["extra"]["fields"]
    with in_clinic(clinic_a):
        assert not Patient.objects.exists()


@pytest.mark.parametrize("external_id", ["has%20space", "semi;colon", "x" * 65, "%C3%A9t%C3%A9"])
def test_an_external_id_outside_the_allowed_characters_is_a_validation_error(
    clinic_a, in_clinic, pos_client_for, external_id
):
    # given a POS key
    api = pos_client_for(clinic_a)
    # when an external id with spaces, punctuation, accents or too many characters is PUT
    response = api.put(patient_url(external_id), {"first_name": "Ann"}, format="json")
    # then it is refused as a validation error on external_id
    body = assert_error(response, 400, "validation_error")
    assert "external_id" in body["extra"]["fields"]
    with in_clinic(clinic_a):
        assert not Patient.objects.exists()


def test_an_updated_patient_keeps_fields_valid(clinic_a, in_clinic, pos_client_for):
    # given an existing patient
    api = pos_client_for(clinic_a)
    api.put(patient_url("bk-4"), {"first_name": "Ann", "email": "ann@example.com"}, format="json")
    # when an update sends a bad e-mail
    response = api.put(patient_url("bk-4"), {"email": "nope"}, format="json")
    # then it is refused and the stored e-mail is unchanged
    assert_error(response, 400, "validation_error")
    with in_clinic(clinic_a):
        assert Patient.objects.get(external_id="bk-4").email == "ann@example.com"


# --- read and list -------------------------------------------------------------------------------


def test_get_reads_one_patient_by_external_id(clinic_a, in_clinic, pos_client_for):
    # given a patient
    with in_clinic(clinic_a):
        patient = PatientFactory(external_id="bk-5", first_name="Ann")
    # when the POS reads it
    response = pos_client_for(clinic_a).get(patient_url("bk-5"))
    # then it gets that patient
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["first_name"]) == (str(patient.pk), "Ann")


@pytest.mark.parametrize("external_id", ["bk-missing", "has%20space"])
def test_get_of_an_unknown_or_impossible_external_id_is_404(clinic_a, pos_client_for, external_id):
    # given a POS key and no such patient
    api = pos_client_for(clinic_a)
    # when it reads the id
    response = api.get(patient_url(external_id))
    # then it is not found
    assert_error(response, 404, "not_found")


def test_the_list_searches_names_emails_and_external_ids(clinic_a, in_clinic, pos_client_for):
    # given three patients
    with in_clinic(clinic_a):
        PatientFactory(first_name="Ann", last_name="Lee", email="ann@example.com", external_id="bk-10")
        PatientFactory(first_name="Bob", last_name="Stone", email="bob@example.com", external_id="bk-11")
        PatientFactory(first_name="Cara", last_name="Lee", email="cara@example.org", external_id="bk-12")
    api = pos_client_for(clinic_a)
    # when the POS searches
    def external_ids(search):
        response = api.get(PATIENTS, {"search": search})
        assert response.status_code == 200
        return sorted(row["external_id"] for row in response.json()["results"])
    # then each search finds the matching patients only
    assert external_ids("lee") == ["bk-10", "bk-12"]
    assert external_ids("example.org") == ["bk-12"]
    assert external_ids("BK-11") == ["bk-11"]
    assert external_ids("ann lee") == ["bk-10"]
    assert external_ids("nobody") == []


def test_the_list_pages_with_limit_and_offset(clinic_a, in_clinic, pos_client_for):
    # given five patients
    with in_clinic(clinic_a):
        for n in range(5):
            PatientFactory(first_name=f"P{n}", last_name=f"L{n}", external_id=f"bk-{n}")
    api = pos_client_for(clinic_a)
    # when the POS reads them two at a time
    first = api.get(PATIENTS, {"limit": 2}).json()
    second = api.get(PATIENTS, {"limit": 2, "offset": 2}).json()
    last = api.get(PATIENTS, {"limit": 2, "offset": 4}).json()
    # then the pages cover everyone once, with the total and links
    assert first["count"] == second["count"] == last["count"] == 5
    pages = [row["external_id"] for page in (first, second, last) for row in page["results"]]
    assert pages == [f"bk-{n}" for n in range(5)]
    assert "offset=2" in first["next"] and first["previous"] is None
    assert last["next"] is None


@pytest.mark.parametrize("query,field", [({"limit": "lots"}, "limit"), ({"offset": "-3"}, "offset"),
                                         ({"offset": ""}, "offset"), ({"limit": "0"}, "limit"),
                                         ({"limit": "201"}, "limit"), ({"limit": ["5", "6"]}, "limit")])
def test_paging_parameters_the_schema_refuses_are_a_400_with_the_field(clinic_a, in_clinic, pos_client_for,
                                                                        query, field):
    # given one patient
    with in_clinic(clinic_a):
        PatientFactory()
    # when a paging parameter is not a whole number in its range, or is given twice
    response = pos_client_for(clinic_a).get(PATIENTS, query)
    # then it is refused with the parameter named, not quietly paged by default
    body = assert_error(response, 400, "validation_error")
    assert list(body["extra"]["fields"]) == [field]


def test_paging_parameters_in_range_page_the_list(clinic_a, in_clinic, pos_client_for):
    # given three patients
    with in_clinic(clinic_a):
        PatientFactory.create_batch(3)
    # when the second page of two is asked for
    body = pos_client_for(clinic_a).get(PATIENTS, {"limit": "2", "offset": "2"}).json()
    # then it holds the last one
    assert (body["count"], len(body["results"])) == (3, 1)


# --- tenancy ---------------------------------------------------------------------------------------


def test_clinic_a_gets_404_for_clinic_bs_patient(clinic_a, clinic_b, in_clinic, pos_client_for):
    # given a patient who exists only in clinic B
    with in_clinic(clinic_b):
        PatientFactory(external_id="bk-b")
    # when clinic A's key reads that external id
    response = pos_client_for(clinic_a).get(patient_url("bk-b"))
    # then it is the same 404 as a missing one, never a 403
    assert_error(response, 404, "not_found")


def test_clinic_as_list_never_contains_or_counts_clinic_bs_patients(clinic_a, clinic_b, in_clinic, pos_client_for):
    # given patients in both clinics, with a search that would match both
    with in_clinic(clinic_a):
        PatientFactory(first_name="Shared", external_id="a-1")
    with in_clinic(clinic_b):
        PatientFactory.create_batch(3, first_name="Shared")
    # when clinic A lists and searches
    listed = pos_client_for(clinic_a).get(PATIENTS).json()
    searched = pos_client_for(clinic_a).get(PATIENTS, {"search": "shared"}).json()
    # then only A's patient is listed and counted
    assert listed["count"] == searched["count"] == 1
    assert [row["external_id"] for row in listed["results"]] == ["a-1"]


def test_upserting_an_external_id_that_exists_in_b_creates_a_new_patient_in_a(
    clinic_a, clinic_b, in_clinic, pos_client_for
):
    # given clinic B's patient with the same external id as A's booking system uses
    with in_clinic(clinic_b):
        patient_b = PatientFactory(external_id="bk-shared", first_name="Bella")
    # when clinic A's key PUTs that external id
    response = pos_client_for(clinic_a).put(patient_url("bk-shared"), {"first_name": "Ann"}, format="json")
    # then A gets a new patient of its own and B's is untouched
    assert response.status_code == 201
    assert response.json()["id"] != str(patient_b.pk)
    with in_clinic(clinic_a):
        assert Patient.objects.get(external_id="bk-shared").first_name == "Ann"
    with in_clinic(clinic_b):
        refreshed = Patient.objects.get(pk=patient_b.pk)
    assert (refreshed.first_name, refreshed.updated_at) == ("Bella", patient_b.updated_at)


# --- concurrency -------------------------------------------------------------------------------------


@pytest.mark.postgres  # SQLite serialises writers, so it cannot show the race this guards against
@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_of_one_new_external_id_create_exactly_one_patient(clinic_a, in_clinic, pos_client_for):
    # given several booking-system workers that PUT the same new patient at the same moment
    workers = 6
    clients = [pos_client_for(clinic_a) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    statuses = []

    def put(api, n):
        try:
            barrier.wait()
            statuses.append(api.put(patient_url("bk-race"), {"first_name": "Ann", "phone": str(n)},
                                    format="json").status_code)
        finally:
            connection.close()

    # when they all run
    threads = [threading.Thread(target=put, args=(api, n)) for n, api in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one created it, the rest updated it, and there is exactly one row
    assert sorted(statuses) == [200] * (workers - 1) + [201]
    with in_clinic(clinic_a):
        assert Patient.objects.filter(external_id="bk-race").count() == 1
