"""Writes on patients, and the app's e-mailed one-time-code sign-in (CORE-3, CORE-7)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from clinic_crm.common.emails import normalise_email
from clinic_crm.common.errors import ApplicationError
from clinic_crm.common.queueing import enqueue_on_commit
from clinic_crm.patients.models import Patient, SignInCode
from clinic_crm.tenancy.context import current_clinic_id

PATIENT_FIELDS = ("first_name", "last_name", "email", "phone", "date_of_birth", "push_enabled", "custom_fields")
MAX_CODE_ATTEMPTS = 5


def _apply(patient: Patient, data: dict, *, validate_constraints: bool = True) -> Patient:
    for field in PATIENT_FIELDS:
        if field in data:
            value = data[field]
            if field == "email" and value:
                value = value.strip().lower()
            setattr(patient, field, value if value is not None or field == "date_of_birth" else "")
    patient.full_clean(validate_constraints=validate_constraints)
    patient.save()
    return patient


@transaction.atomic
def create_patient(*, data: dict) -> Patient:
    """Add a patient to the clinic in scope (CORE-3)."""
    patient = Patient(clinic_id=current_clinic_id(), external_id=data.get("external_id") or _new_external_id())
    return _apply(patient, data)


@transaction.atomic
def update_patient(*, patient: Patient, data: dict) -> Patient:
    """Edit a patient's details (CORE-3)."""
    return _apply(patient, data)


def _new_external_id() -> str:
    return "p_" + secrets.token_hex(6)


def upsert_patient(*, external_id: str, data: dict) -> tuple[Patient, bool]:
    """Create or update the patient a booking system knows by `external_id`; True when created."""
    for _ in range(2):
        try:
            with transaction.atomic():
                patient = Patient.objects.select_for_update().filter(external_id=external_id).first()
                if patient is not None:
                    return _apply(patient, data), False
                if not data.get("first_name"):
                    raise ApplicationError(
                        "first_name is required to create a patient.", code="validation_error",
                        extra={"fields": {"first_name": ["This field is required."]}},
                    )
                patient = Patient(clinic_id=current_clinic_id(), external_id=external_id)
                # The unique index decides a race, not a read-then-check: a concurrent PUT that
                # commits first makes this insert fail, and the retry updates its row instead.
                return _apply(patient, data, validate_constraints=False), True
        except IntegrityError:
            continue  # a concurrent PUT created it first: update it instead
    raise ApplicationError("The patient changed while saving; try again.", code="conflict")


# --- app sign-in ---------------------------------------------------------------------------------


def _code_hash(code_id_seed: str, code: str) -> str:
    return salted_hmac("patient-sign-in-code", f"{code_id_seed}:{code}", algorithm="sha256").hexdigest()


@transaction.atomic
def request_sign_in_code(*, email: str) -> SignInCode | None:
    """E-mail a six-digit code to the patient with this address, if there is one (CORE-7).

    Returns None for unknown addresses; the API answers the same either way.
    """
    from clinic_crm.patients.tasks import send_sign_in_code_email

    patient = find_patient_by_email(email)
    if patient is None:
        return None
    code = f"{secrets.randbelow(1_000_000):06d}"
    sign_in = SignInCode.objects.create(
        clinic_id=patient.clinic_id, patient=patient, code_hash=_code_hash(str(patient.pk), code),
        expires_at=timezone.now() + timedelta(minutes=settings.SIGN_IN_CODE_MINUTES),
    )
    clinic_id = patient.clinic_id
    enqueue_on_commit(send_sign_in_code_email, clinic_id, patient.pk, code)
    return sign_in


class SignInFailed(ApplicationError):
    status_code = 400
    default_code = "invalid_code"


# One answer for every refusal (an unknown address, a wrong, used, expired or worn-out code), so
# the endpoint never tells whether an address belongs to a patient or has a code waiting.
SIGN_IN_REFUSED = "That code is not right, or no longer works. Check the e-mail, or ask for a new code."


def find_patient_by_email(email: str) -> Patient | None:
    """The clinic's patient with this address, compared as `normalise_email` spells it (CORE-7).

    PostgreSQL's case-insensitive match alone would also take look-alikes (`ı` matches `I`), each
    of which the rate limit would count apart; only a spelling that normalises to the stored
    address finds the patient. The oldest patient wins where two share an address.
    """
    key = normalise_email(email)
    candidates = Patient.objects.filter(email__iexact=email.strip()).order_by("id")
    return next((patient for patient in candidates if normalise_email(patient.email) == key), None)


@transaction.atomic
def _consume_sign_in_code(*, email: str, code: str) -> tuple[Patient | None, SignInFailed | None]:
    patient = find_patient_by_email(email)
    sign_in = None
    if patient is not None:
        sign_in = (
            SignInCode.objects.select_for_update()
            .filter(patient=patient, used_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
    if sign_in is None or sign_in.attempts >= MAX_CODE_ATTEMPTS:
        return None, SignInFailed(SIGN_IN_REFUSED)
    if not constant_time_compare(sign_in.code_hash, _code_hash(str(patient.pk), code.strip())):
        SignInCode.objects.filter(pk=sign_in.pk).update(attempts=F("attempts") + 1)
        return None, SignInFailed(SIGN_IN_REFUSED)
    sign_in.used_at = timezone.now()
    sign_in.save(update_fields=["used_at"])
    return patient, None


def exchange_sign_in_code(*, email: str, code: str) -> Patient:
    """Check an e-mailed code and return its patient; each code works once and a few tries only."""
    # Raised only once the atomic block has ended: raising inside it would roll the counted
    # attempt back, and a code could then be guessed without limit.
    patient, refusal = _consume_sign_in_code(email=email, code=code)
    if refusal is not None:
        raise refusal
    return patient
