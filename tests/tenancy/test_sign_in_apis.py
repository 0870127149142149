"""The patient app's sign-in: an e-mailed one-time code exchanged for a patient token (API.md, Authentication)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from clinic_crm.patients.models import SignInCode
from tests.factories import PatientFactory
from tests.conftest import assert_error

pytestmark = pytest.mark.django_db

CODE = "/api/v1/app/auth/code"
TOKEN = "/api/v1/app/auth/token"
ME = "/api/v1/app/me"
EMAIL = "ann@example.com"


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", email=EMAIL)


@pytest.fixture
def request_code(django_capture_on_commit_callbacks):
    """Ask for a code the way the app does; the mail task runs on commit."""

    def _request(api, email=EMAIL):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(CODE, {"email": email}, format="json")

    return _request


def code_in(message) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_signing_in_by_e_mailed_code_gives_a_token_that_reads_the_patients_profile(
    clinic_a, ann, app_client_for, request_code
):
    # given the clinic's app, not signed in
    api = app_client_for(clinic_a)
    # when the patient asks for a code (in any letter case) and sends back the one e-mailed
    sent = request_code(api, "Ann@Example.COM")
    assert sent.status_code == 202
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EMAIL]
    code = code_in(mail.outbox[0])
    exchanged = api.post(TOKEN, {"email": EMAIL, "code": code}, format="json")
    # then the token returned works on the signed-in endpoints
    assert exchanged.status_code == 200
    assert exchanged.json()["patient"]["id"] == str(ann.pk)
    api.credentials(HTTP_X_APP_KEY=clinic_a.app_key, HTTP_AUTHORIZATION=f"Bearer {exchanged.json()['token']}")
    me = api.get(ME)
    assert me.status_code == 200
    assert me.json()["email"] == EMAIL


def test_the_code_is_stored_only_as_a_hash(clinic_a, ann, in_clinic, app_client_for, request_code):
    # given a code was requested
    request_code(app_client_for(clinic_a))
    code = code_in(mail.outbox[0])
    # when the stored row is read
    with in_clinic(clinic_a):
        stored = SignInCode.objects.get(patient=ann)
    # then the code itself is nowhere in it
    assert code not in stored.code_hash


def test_an_unknown_address_gets_the_same_answer_and_no_mail(clinic_a, ann, app_client_for, request_code):
    # given the app and a known patient
    api = app_client_for(clinic_a)
    known = request_code(api, EMAIL)
    mail.outbox.clear()
    # when an address nobody has asks for a code
    unknown = request_code(api, "stranger@example.com")
    # then the answer is identical and nothing is sent
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert mail.outbox == []


def test_a_patient_of_another_clinic_gets_no_code_from_this_clinics_app(
    clinic_a, clinic_b, in_clinic, app_client_for, request_code
):
    # given a patient who exists only in clinic B
    with in_clinic(clinic_b):
        PatientFactory(email="bella@example.com")
    # when clinic A's app asks for a code for that address
    response = request_code(app_client_for(clinic_a), "bella@example.com")
    # then clinic A reveals nothing and sends nothing
    assert response.status_code == 202
    assert mail.outbox == []


def test_a_malformed_address_is_a_validation_error(clinic_a, app_client_for, request_code):
    # given the app
    api = app_client_for(clinic_a)
    # when it sends something that is not an e-mail address
    response = request_code(api, "not-an-address")
    # then the field is named
    body = assert_error(response, 400, "validation_error")
    assert "email" in body["extra"]["fields"]


def test_a_wrong_code_is_400_and_the_right_one_still_works(clinic_a, ann, app_client_for, request_code):
    # given a code was sent
    api = app_client_for(clinic_a)
    request_code(api)
    code = code_in(mail.outbox[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    # when a wrong code is tried first
    refused = api.post(TOKEN, {"email": EMAIL, "code": wrong}, format="json")
    # then it is refused, and the right code then works
    assert_error(refused, 400, "invalid_code")
    assert api.post(TOKEN, {"email": EMAIL, "code": code}, format="json").status_code == 200


def test_five_wrong_codes_lock_the_code(clinic_a, ann, in_clinic, app_client_for, request_code):
    # given a code was sent
    api = app_client_for(clinic_a)
    request_code(api)
    code = code_in(mail.outbox[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    # when five wrong codes are tried
    for _ in range(5):
        assert_error(api.post(TOKEN, {"email": EMAIL, "code": wrong}, format="json"), 400, "invalid_code")
    # then even the right code is refused from now on, with the answer every refusal gets
    locked = api.post(TOKEN, {"email": EMAIL, "code": code}, format="json")
    assert_error(locked, 400, "invalid_code")
    with in_clinic(clinic_a):
        assert SignInCode.objects.get(patient=ann).attempts == 5


def test_a_used_code_cannot_be_used_again(clinic_a, ann, app_client_for, request_code):
    # given a code that was exchanged once
    api = app_client_for(clinic_a)
    request_code(api)
    code = code_in(mail.outbox[0])
    assert api.post(TOKEN, {"email": EMAIL, "code": code}, format="json").status_code == 200
    # when it is sent again
    again = api.post(TOKEN, {"email": EMAIL, "code": code}, format="json")
    # then it is refused
    assert_error(again, 400, "invalid_code")


def test_a_code_expires_after_its_lifetime(clinic_a, ann, app_client_for, request_code, settings):
    # given a code was sent
    api = app_client_for(clinic_a)
    request_code(api)
    code = code_in(mail.outbox[0])
    # when it is sent back after its lifetime
    later = timezone.now() + timedelta(minutes=settings.SIGN_IN_CODE_MINUTES, seconds=1)
    with time_machine.travel(later):
        response = api.post(TOKEN, {"email": EMAIL, "code": code}, format="json")
    # then it no longer works
    assert_error(response, 400, "invalid_code")


def test_a_code_sent_by_clinic_a_does_not_sign_in_through_clinic_bs_app(
    clinic_a, clinic_b, ann, app_client_for, request_code
):
    # given a code sent to a patient of clinic A
    request_code(app_client_for(clinic_a))
    code = code_in(mail.outbox[0])
    # when it is sent to clinic B's app
    response = app_client_for(clinic_b).post(TOKEN, {"email": EMAIL, "code": code}, format="json")
    # then clinic B knows no such code
    assert_error(response, 400, "invalid_code")


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", ""])
def test_a_code_that_is_not_six_digits_is_a_validation_error(clinic_a, app_client_for, code):
    # given the app
    api = app_client_for(clinic_a)
    # when a code of the wrong shape is sent
    response = api.post(TOKEN, {"email": EMAIL, "code": code}, format="json")
    # then the code field is named
    body = assert_error(response, 400, "validation_error")
    assert "code" in body["extra"]["fields"]


def test_exchanging_a_code_needs_the_app_key(clinic_a, ann):
    # given no app key
    api = APIClient()
    # when a code is sent
    response = api.post(TOKEN, {"email": EMAIL, "code": "123456"}, format="json")
    # then the caller is not authenticated
    assert_error(response, 401, "not_authenticated")


def test_guessing_codes_is_rate_limited_per_address(clinic_a, ann, app_client_for):
    # given the app of clinic A
    api = app_client_for(clinic_a)
    # when one address tries codes many times in a minute
    answers = [api.post("/api/v1/app/auth/token", {"email": ann.email, "code": f"{n:06d}"}, format="json")
               for n in range(11)]
    # then the eleventh is refused before any code is checked
    assert [a.status_code for a in answers[:10]] == [400] * 10
    limited = answers[10]
    assert assert_error(limited, 429, "rate_limited") and int(limited["Retry-After"]) > 0


def test_a_token_of_a_deleted_patient_asks_to_sign_in_again(clinic_a, in_clinic, app_client_for):
    with in_clinic(clinic_a):
        from tests.factories import PatientFactory

        gone = PatientFactory()
    api = app_client_for(clinic_a, gone)
    with in_clinic(clinic_a):
        gone.delete()
    assert_error(api.get("/api/v1/app/me"), 401, "authentication_failed")


def test_an_unknown_address_and_a_wrong_code_get_byte_identical_answers(clinic_a, ann, app_client_for, request_code):
    # given a code sent to a real patient
    api = app_client_for(clinic_a)
    request_code(api)
    right = code_in(mail.outbox[0])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    # when a wrong code is sent for the patient, and any code for an address nobody has
    for_patient = api.post(TOKEN, {"email": EMAIL, "code": wrong}, format="json")
    for_nobody = api.post(TOKEN, {"email": "nobody@example.com", "code": wrong}, format="json")
    # then the two answers are the same, byte for byte
    assert (for_patient.status_code, for_patient.content) == (for_nobody.status_code, for_nobody.content)
    # and so is the answer once the patient's code is worn out by wrong tries
    for _ in range(5):
        api.post(TOKEN, {"email": EMAIL, "code": wrong}, format="json")
    worn_out = api.post(TOKEN, {"email": EMAIL, "code": right}, format="json")
    assert (worn_out.status_code, worn_out.content) == (for_nobody.status_code, for_nobody.content)


@pytest.fixture
def kim(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Kim", email="kim@kiss.example")


# The long s (ſ) casefolds to s, and PostgreSQL's case-insensitive match folds it too; the
# dotless ı only PostgreSQL folds (to I). Both pass the e-mail field in a domain (IDNA).
LONG_S_SPELLINGS = ["kim@kiſs.example", "kim@kisſ.example", "kim@kiſſ.example", "KIM@KIſS.EXAMPLE",
                    "Kim@Kiſs.example", "kim@KISſ.example", "kim@kiſs.EXAMPLE", "KIM@kiſſ.example",
                    "kim@Kiſs.Example", "kIm@kiſs.example"]


def test_look_alike_spellings_share_one_limit(clinic_a, kim, app_client_for, request_code):
    # given a code sent to kim@kiss.example
    api = app_client_for(clinic_a)
    request_code(api)
    request_code(api, email="kim@kiss.example")
    code = code_in(mail.outbox[-1])
    # when ten wrong codes come under ten spellings that all name the address
    answers = [api.post(TOKEN, {"email": spelling, "code": "000000"}, format="json").status_code
               for spelling in LONG_S_SPELLINGS]
    # then they counted as one address: the next try, right code and plain spelling, is limited
    assert answers == [400] * 10
    assert_error(api.post(TOKEN, {"email": "kim@kiss.example", "code": code}, format="json"), 429, "rate_limited")


def test_a_dotless_i_spelling_does_not_find_the_patient(clinic_a, kim, app_client_for, request_code):
    # when a code is asked for under the dotless-ı spelling (PostgreSQL's case-insensitive match takes it)
    api = app_client_for(clinic_a)
    mail.outbox.clear()
    response = request_code(api, email="kım@kıss.example")
    # then the answer is the usual one, and no code goes to Kim
    assert response.status_code == 202
    assert mail.outbox == []


@pytest.mark.postgres  # SQLite matches case-insensitively in ASCII only, so it finds no patient under "ſ"
def test_a_code_asked_for_under_one_spelling_is_accepted_under_another(clinic_a, kim, app_client_for, request_code):
    api = app_client_for(clinic_a)
    request_code(api, email="KIM@kiſs.example")
    code = code_in(mail.outbox[-1])
    assert mail.outbox[-1].to == ["kim@kiss.example"]
    assert api.post(TOKEN, {"email": "kim@kiss.example", "code": code}, format="json").status_code == 200


def test_one_address_trying_many_e_mail_addresses_is_limited(clinic_a, app_client_for, monkeypatch):
    # given the per-address limit (30 a minute) at 5
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "sign_in_client", "5/min")
    api = app_client_for(clinic_a)
    # when one address asks codes for six different e-mail addresses (each under its own limit)
    answers = [api.post(TOKEN, {"email": f"guess{n}@example.com", "code": "123456"}, format="json").status_code
               for n in range(6)]
    # then the sixth is refused
    assert answers == [400] * 5 + [429]


def test_a_clinic_is_limited_across_addresses(clinic_a, clinic_b, app_client_for, monkeypatch):
    # given the per-clinic limit (300 a minute) at 5
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "sign_in_clinic", "5/min")
    # when six addresses each try one e-mail address with clinic A's app
    answers = [app_client_for(clinic_a).post(TOKEN, {"email": f"guess{n}@example.com", "code": "123456"},
                                             format="json", REMOTE_ADDR=f"10.0.1.{n}").status_code
               for n in range(6)]
    # then the sixth is refused, and clinic B's app is not
    assert answers == [400] * 5 + [429]
    assert app_client_for(clinic_b).post(TOKEN, {"email": "x@example.com", "code": "123456"},
                                         format="json").status_code == 400
