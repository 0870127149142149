"""Offer responses: assignment (RED-1) and the full lifecycle table with who may move what (RED-2)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from clinic_crm.common.errors import Conflict
from redemptions.choices import RedemptionStatus
from redemptions.models import OfferResponse, Redemption, ResponseTransition
from redemptions.services import (
    SYSTEM,
    Actor,
    PromotionSnapshot,
    ResponseTerms,
    assign_response,
    complete_response,
    expire_due_responses,
    transition_response,
)
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PROMOTION = PromotionSnapshot(key="offer_7", kind="offer", id=7, name="Spring whitening", discount_type="amount",
                              discount_value=Decimal("25.00"), discount_label="£25.00 Off")
STAFF = Actor(kind="staff", name="Sam Staff", id=3)
PATIENT = Actor(kind="patient", name="Ann Lee", id=1)
POS = Actor(kind="pos", name="Front desk till", id=9)
STATUSES = ["pending", "clipped", "processing", "shipping", "expired", "canceled", "completed"]

# The table of seed 003, written out by hand for each flow: every status a flow can reach, and
# exactly where it may go next. Anything not listed is refused.
FLOWS = {
    "plain": (dict(clip_required=False, ships=False), {
        "pending": {"completed", "expired", "canceled"},
    }),
    "clip": (dict(clip_required=True, ships=False), {
        "pending": {"clipped", "expired", "canceled"},
        "clipped": {"completed", "expired", "canceled"},
    }),
    "ship": (dict(clip_required=False, ships=True), {
        "pending": {"processing", "expired", "canceled"},
        "processing": {"shipping", "canceled"},
        "shipping": {"completed"},
    }),
    "clip+ship": (dict(clip_required=True, ships=True), {
        "pending": {"clipped", "expired", "canceled"},
        "clipped": {"processing", "expired", "canceled"},
        "processing": {"shipping", "canceled"},
        "shipping": {"completed"},
    }),
}
for _, table in FLOWS.values():
    table.update({"expired": set(), "canceled": set(), "completed": set()})  # terminal stays terminal


def terms(**overrides) -> ResponseTerms:
    return ResponseTerms(promotion=PROMOTION, title="£25 off whitening", **overrides)


def make_response(clinic, patient, *, status="pending", **flow) -> OfferResponse:
    response = assign_response(clinic=clinic, patient=patient, terms=terms(allow_multiple=True, **flow),
                               source="claim", actor=PATIENT)
    OfferResponse.objects.filter(pk=response.pk).update(status=status)
    response.refresh_from_db()
    return response


CASES = [(flow, start, to) for flow, (_, table) in FLOWS.items() for start in table for to in STATUSES]


@pytest.mark.parametrize(("flow", "start", "to"), CASES, ids=[f"{f}:{s}->{t}" for f, s, t in CASES])
def test_every_transition_of_the_table(clinic_a, in_clinic, flow, start, to):
    options, table = FLOWS[flow]
    with in_clinic(clinic_a):
        response = make_response(clinic_a, PatientFactory(), status=start, **options)
        transitions_before = ResponseTransition.objects.filter(response=response).count()
        if to in table[start]:
            # an allowed move succeeds and is recorded with who, from, to and why
            moved = transition_response(response=response, to=to, actor=STAFF, reason="Checked at the desk")
            assert moved.status == to
            last = ResponseTransition.objects.filter(response=response).latest("id")
            assert (last.from_status, last.to_status, last.actor_kind, last.actor_name, last.reason) == (
                start, to, "staff", "Sam Staff", "Checked at the desk")
            assert (to == "completed") == (moved.redemption_id is not None)
        else:
            # any other move is refused with a message and changes nothing
            with pytest.raises(Conflict) as refused:
                transition_response(response=response, to=to, actor=STAFF)
            assert refused.value.code in {"illegal_transition", "not_clipped"}
            assert refused.value.message
            response.refresh_from_db()
            assert response.status == start and response.redemption_id is None
            assert ResponseTransition.objects.filter(response=response).count() == transitions_before


def test_completing_records_a_ledger_redemption_with_the_snapshot_and_the_order(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory()
        response = make_response(clinic_a, patient)
        done = complete_response(response=response, actor=POS, order_reference="TILL-1", order_total=Decimal("300"))
        redemption = Redemption.objects.select_related("order").get(pk=done.redemption_id)
    order = redemption.order
    assert (redemption.promotion_key, redemption.status, redemption.discount_amount, redemption.discount_label) == (
        "offer_7", RedemptionStatus.APPLIED, Decimal("25.00"), "£25.00 Off")
    assert (order.reference, order.subtotal, order.total, order.discount_source, order.source_key) == (
        "TILL-1", Decimal("300.00"), Decimal("275.00"), "offer", "offer_7")


@pytest.mark.parametrize(("actor", "clip_required", "allowed"), [
    (PATIENT, True, {"clipped"}),
    (PATIENT, False, set()),
    (POS, False, {"completed", "canceled"}),
    (POS, True, {"canceled"}),
    (SYSTEM, False, {"expired"}),
    (STAFF, False, {"completed", "expired", "canceled"}),
    (STAFF, True, {"clipped", "expired", "canceled"}),
])
def test_each_actor_does_only_its_part(clinic_a, in_clinic, actor, clip_required, allowed):
    with in_clinic(clinic_a):
        patient = PatientFactory()
        for to in STATUSES:
            response = make_response(clinic_a, patient, clip_required=clip_required)
            if to in allowed:
                assert transition_response(response=response, to=to, actor=actor).status == to
            else:
                with pytest.raises(Conflict):
                    transition_response(response=response, to=to, actor=actor)
    # (pending → completed is no one's move while the offer asks for a clip; the POS is told why)
    with in_clinic(clinic_a):
        with pytest.raises(Conflict) as refused:
            transition_response(response=make_response(clinic_a, patient, clip_required=True), to="completed",
                                actor=POS)
    assert refused.value.code == "not_clipped"


def test_a_second_claim_is_refused_unless_the_offer_allows_several(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory(first_name="Ann")
        first = assign_response(clinic=clinic_a, patient=patient, terms=terms(), source="claim", actor=PATIENT)
        transition_response(response=first, to="canceled", actor=STAFF)
        with pytest.raises(Conflict, match="Ann already has a response to this offer.") as refused:
            assign_response(clinic=clinic_a, patient=patient, terms=terms(), source="claim", actor=PATIENT)
        assert refused.value.code == "already_claimed"
        several = [assign_response(clinic=clinic_a, patient=patient, terms=terms(allow_multiple=True),
                                   source="occasion") for _ in range(3)]
        assert len({r.pk for r in several}) == 3 and {r.status for r in several} == {"pending"}
        assert OfferResponse.objects.filter(patient=patient).count() == 4


def test_a_response_keeps_the_offer_as_assigned_with_a_unique_certificate_code(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory()
        response = assign_response(clinic=clinic_a, patient=patient, source="reward", terms=terms(
            description="Any whitening treatment", usage_from=date(2026, 12, 1), usage_until=date(2027, 1, 31),
            details={"image_url": "https://example.com/w.png"}, allow_multiple=True))
        codes = {assign_response(clinic=clinic_a, patient=patient, terms=terms(allow_multiple=True),
                                 source="claim").certificate_code for _ in range(20)}
        plain = assign_response(clinic=clinic_a, patient=patient, source="staff", actor=STAFF,
                                terms=terms(allow_multiple=True, uses_certificate_code=False))
        created = ResponseTransition.objects.get(response=response)
    assert (response.title, response.discount_label, response.promotion_name, response.usage_until,
            response.details) == ("£25 off whitening", "£25.00 Off", "Spring whitening", date(2027, 1, 31),
                                  {"image_url": "https://example.com/w.png"})
    assert len(response.certificate_code) == 14 and response.certificate_code.count("-") == 2
    assert len(codes) == 20 and response.certificate_code not in codes
    assert plain.certificate_code == ""
    assert (created.from_status, created.to_status, created.actor_kind) == ("", "pending", "system")


@time_machine.travel(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), tick=False)
def test_the_overdue_are_expired_once_and_the_rest_left(clinic_a, in_clinic):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with in_clinic(clinic_a):
        patient = PatientFactory()
        past_expiry = make_response(clinic_a, patient)
        OfferResponse.objects.filter(pk=past_expiry.pk).update(expires_at=now - timedelta(minutes=1))
        past_period = make_response(clinic_a, patient, status="clipped", clip_required=True)
        OfferResponse.objects.filter(pk=past_period.pk).update(usage_until=date(2026, 12, 6))
        last_day = make_response(clinic_a, patient)
        OfferResponse.objects.filter(pk=last_day.pk).update(usage_until=date(2026, 12, 7))
        shipping = make_response(clinic_a, patient, status="processing", ships=True)
        OfferResponse.objects.filter(pk=shipping.pk).update(expires_at=now - timedelta(days=1))
        assert expire_due_responses(clinic=clinic_a, now=now) == 2
        assert expire_due_responses(clinic=clinic_a, now=now) == 0
        statuses = dict(OfferResponse.objects.values_list("pk", "status"))
        expiry = ResponseTransition.objects.filter(response=past_period, to_status="expired").get()
    assert statuses == {past_expiry.pk: "expired", past_period.pk: "expired", last_day.pk: "pending",
                        shipping.pk: "processing"}
    assert (expiry.from_status, expiry.actor_kind) == ("clipped", "system")


def test_the_transition_log_is_append_only_in_postgresql(clinic_a, in_clinic, on_postgres):
    if not on_postgres:
        pytest.skip("the trigger is PostgreSQL's")
    from django.db import DatabaseError, transaction

    with in_clinic(clinic_a):
        response = make_response(clinic_a, PatientFactory())
        row = ResponseTransition.objects.get(response=response)
        for statement in (f"UPDATE {ResponseTransition._meta.db_table} SET reason = 'x' WHERE id = %s",
                          f"DELETE FROM {ResponseTransition._meta.db_table} WHERE id = %s"):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [row.pk])


def test_the_hourly_beat_entry_expires_each_clinics_overdue_responses(clinic_a, clinic_b, in_clinic, settings):
    from redemptions.tasks import expire_responses_for_all_clinics

    assert settings.CELERY_BEAT_SCHEDULE["expire-offer-responses"]["task"] == expire_responses_for_all_clinics.name
    made = []
    for clinic in (clinic_a, clinic_b):
        with in_clinic(clinic):
            response = make_response(clinic, PatientFactory())
            OfferResponse.objects.filter(pk=response.pk).update(usage_until=date(2020, 1, 1))
            made.append((clinic, response))
    assert expire_responses_for_all_clinics.delay().get() == 2
    for clinic, response in made:
        with in_clinic(clinic):
            assert OfferResponse.objects.get(pk=response.pk).status == "expired"
