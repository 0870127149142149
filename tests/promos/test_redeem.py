"""Redeeming a promo code at the till: the order, the ledger, idempotency and caps under concurrency (PRO-3)."""

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic_crm.orders.models import Order
from clinic_crm.tenancy.rows import statement_sent, statements_sent
from promos import services
from promos.events import Actor
from promos.models import Promo, PromoCustomerUsage
from redemptions.models import Redemption
from tests.conftest import assert_error
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor(id=None, name="Ann Owner", email="ann@example.com")


def make_promo(clinic, in_clinic, **data) -> Promo:
    values = {"name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
              "status": "active", **data}
    with in_clinic(clinic):
        return services.create_promo(clinic=clinic, data=values, actor=ACTOR)


def redeem(api, code="SPRING20", reference="ORD-1", total="150.00", headers=None, **who):
    body = {"code": code, "order": {"reference": reference, "total": total}, **(who or {"external_id": "ann"})}
    return api.post("/api/v1/pos/promos/redeem", body, format="json", **(headers or {}))


def test_a_redeem_records_the_order_through_the_core_flow_and_an_applied_ledger_row(
        clinic_a, in_clinic, ann, pos_client_for):
    # given an active 20% promo
    promo = make_promo(clinic_a, in_clinic)
    # when the POS redeems it on a £150 order, in lower case
    response = redeem(pos_client_for(clinic_a), code="spring20")
    # then the answer has the redemption, and the order, ledger and counters agree
    assert response.status_code == 201, response.content
    body = response.json()["redemption"]
    assert body["discount"] == "30.00" and body["currency"] == "GBP" and body["promo_id"] == promo.promotion_key
    with in_clinic(clinic_a):
        order = Order.objects.get(pk=int(body["order_id"]))
        redemption = Redemption.objects.get(pk=int(body["id"]))
        promo.refresh_from_db()
        usage = PromoCustomerUsage.objects.get(promo=promo, patient=ann)
    assert (order.reference, order.subtotal, order.discount_amount, order.total) == (
        "ORD-1", Decimal("150.00"), Decimal("30.00"), Decimal("120.00"))
    assert (order.discount_source, order.source_key, order.source_name, order.source_label) == (
        "promo", promo.promotion_key, "Spring", "20% Off")
    assert (redemption.status, redemption.promotion_kind, redemption.order_id, redemption.discount_amount) == (
        "applied", "promo", order.pk, Decimal("30.00"))
    assert (promo.uses, promo.discounted, usage.uses) == (1, Decimal("30.00"), 1)


def test_a_redeem_with_lines_discounts_their_sum(clinic_a, in_clinic, ann, pos_client_for):
    make_promo(clinic_a, in_clinic, discount_type="amount", discount_value=Decimal("15"))
    body = {"code": "SPRING20", "patient_id": ann.pk, "order": {"reference": "L-1", "lines": [
        {"description": "Whitening", "unit_price": "40.00", "quantity": 2}]}}
    response = pos_client_for(clinic_a).post("/api/v1/pos/promos/redeem", body, format="json")
    assert response.status_code == 201, response.content
    with in_clinic(clinic_a):
        order = Order.objects.get(reference="L-1")
    assert (order.subtotal, order.total) == (Decimal("80.00"), Decimal("65.00"))


@pytest.mark.parametrize("setup,status,code", [
    ({"status": "draft"}, 409, "code_not_started"),
    ({"max_uses": 1, "_uses": 1}, 409, "usage_limit_reached"),
    ({"min_order": Decimal("500")}, 409, "minimum_order_not_met"),
])
def test_a_refused_redeem_changes_nothing(clinic_a, in_clinic, ann, pos_client_for, setup, status, code):
    # given a promo that refuses this order
    uses = setup.pop("_uses", 0)
    promo = make_promo(clinic_a, in_clinic, **setup)
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(uses=uses)
    # when redeemed
    response = redeem(pos_client_for(clinic_a))
    # then it is refused with the domain code and nothing is recorded
    assert_error(response, status, code)
    with in_clinic(clinic_a):
        assert not Order.objects.exists() and not Redemption.objects.exists()
        assert Promo.objects.get(pk=promo.pk).uses == uses


@pytest.mark.parametrize("setup,uses,discounted", [
    ({"max_uses": 3}, 3, Decimal("90.00")),
    ({"budget": Decimal("100.00")}, 3, Decimal("90.00")),  # 20% of 150 would pass the budget
])
def test_a_promo_that_has_run_out_is_refused_before_anything_is_written(
        clinic_a, in_clinic, ann, pos_client_for, setup, uses, discounted):
    # given a promo whose cap or budget is used up
    promo = make_promo(clinic_a, in_clinic, **setup)
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(uses=uses, discounted=discounted)
    # when the till redeems it, with every statement recorded
    with CaptureQueriesContext(connection) as queries:
        response = redeem(pos_client_for(clinic_a))
    # then it is refused, and no order, usage count, ledger row or promo change was even attempted
    assert_error(response, 409, "usage_limit_reached")
    sent = [statement_sent(q["sql"]).lstrip() for q in queries.captured_queries]
    writes = [sql.split("(")[0].strip() for sql in sent if sql.startswith(("INSERT", "UPDATE", "DELETE"))
              and "tenancy_idempotencykey" not in sql and "tenancy_apikey" not in sql]
    assert writes == []
    assert any('FROM "patients_patient"' in sql for sql in sent)  # prepared statements were read as their SQL


def test_an_unknown_code_is_refused_and_an_unknown_patient_is_404(clinic_a, in_clinic, ann, pos_client_for):
    make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    # API.md: the redeem answers 409 with the domain code when refused, code_unknown among them
    body = assert_error(redeem(api, code="NOPE"), 409, "code_unknown")
    assert body["message"] == "We don't recognise this code."
    assert_error(redeem(api, external_id="nobody"), 404, "unknown_patient")


def test_a_second_redeem_over_the_per_customer_limit_is_refused(clinic_a, in_clinic, ann, pos_client_for):
    make_promo(clinic_a, in_clinic, max_uses_per_customer=1)
    api = pos_client_for(clinic_a)
    assert redeem(api, reference="A").status_code == 201
    assert_error(redeem(api, reference="B"), 409, "customer_limit_reached")


def test_a_personal_code_of_another_patient_is_not_eligible_at_the_till(clinic_a, in_clinic, ann, pos_client_for):
    promo = make_promo(clinic_a, in_clinic, kind="personalised", code="")
    with in_clinic(clinic_a):
        PatientFactory(external_id="bob")
        code = services.generate_personal_codes(promo=promo, patients=[ann], actor=ACTOR)[0].code
    api = pos_client_for(clinic_a)
    assert_error(redeem(api, code=code, external_id="bob"), 409, "not_eligible")
    assert redeem(api, code=code, external_id="ann").status_code == 201


def test_a_replayed_idempotency_key_returns_the_first_result_and_redeems_nothing_more(
        clinic_a, in_clinic, ann, pos_client_for):
    # given a redeem made with an Idempotency-Key
    promo = make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    first = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-7"})
    # when the same request is replayed, and the key is reused with another body
    replay = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-7"})
    mismatch = redeem(api, reference="ORD-2", headers={"HTTP_IDEMPOTENCY_KEY": "till-7"})
    # then the replay is the first answer, the mismatch is 409, and one use was taken
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert_error(mismatch, 409, "idempotency_mismatch")
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 1
        assert Redemption.objects.count() == 1 and Order.objects.count() == 1


def test_clinic_a_cannot_redeem_clinic_bs_code_or_patient(clinic_a, clinic_b, in_clinic, ann, pos_client_for):
    # given a code and a patient that only clinic B has
    make_promo(clinic_b, in_clinic, code="BONLY")
    with in_clinic(clinic_b):
        bob = PatientFactory(external_id="bob-b")
    api = pos_client_for(clinic_a)
    # then clinic A's key finds neither
    assert_error(redeem(api, code="BONLY"), 409, "code_unknown")
    assert_error(redeem(api, patient_id=bob.pk), 404, "unknown_patient")


# --- concurrency (PostgreSQL) ------------------------------------------------------------------------


def _rush(api_for_each, send, count):
    start = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def worker(i):
        try:
            api = api_for_each(i)
            start.wait()
            response = send(api, i)
            with lock:
                results.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def uses_card(client, clinic, promo) -> str:
    """The text of the detail page's Uses card."""
    html = client.get(reverse("promos:detail", args=[clinic.slug, promo.pk])).content.decode()
    return re.search(r'data-testid="metric-uses">([^<]*)<', html).group(1).strip()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_redeems_on_a_cap_of_ten_give_exactly_ten(clinic_a, in_clinic, pos_client_for, staff_a,
                                                                    client_for):
    # Real row locks and concurrent transactions are PostgreSQL's; SQLite serialises all writers.
    # given a promo capped at 10 uses and 50 patients at 50 tills
    promo = make_promo(clinic_a, in_clinic, max_uses=10)
    with in_clinic(clinic_a):
        patients = [PatientFactory(external_id=f"rush-{i}") for i in range(50)]
    clients = [pos_client_for(clinic_a) for _ in range(50)]
    # when they all redeem at once
    results = _rush(lambda i: clients[i],
                    lambda api, i: redeem(api, reference=f"R-{i}", external_id=patients[i].external_id), 50)
    # then exactly 10 succeed and 40 are told the cap is reached, and counters and ledger agree
    assert sorted(results, key=str) == sorted([(201, None)] * 10 + [(409, "usage_limit_reached")] * 40, key=str)
    with in_clinic(clinic_a):
        promo.refresh_from_db()
        assert promo.uses == 10 and promo.discounted == Decimal("300.00")
        assert Redemption.objects.filter(promotion_key=promo.promotion_key, status="applied").count() == 10
        assert Order.objects.filter(source_key=promo.promotion_key).count() == 10
    # and the detail page's Uses card says 10
    assert uses_card(client_for(staff_a), clinic_a, promo) == "10"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_redeems_by_one_patient_with_a_limit_of_one_give_exactly_one(
        clinic_a, in_clinic, ann, pos_client_for, staff_a, client_for):
    # given a promo each patient may use once, and one patient at 20 tills at once
    promo = make_promo(clinic_a, in_clinic, max_uses_per_customer=1)
    clients = [pos_client_for(clinic_a) for _ in range(20)]
    # when they all redeem
    results = _rush(lambda i: clients[i], lambda api, i: redeem(api, reference=f"P-{i}"), 20)
    # then one succeeds and the others hit the per-customer limit
    assert sorted(results, key=str) == sorted([(201, None)] + [(409, "customer_limit_reached")] * 19, key=str)
    with in_clinic(clinic_a):
        promo.refresh_from_db()
        assert promo.uses == 1
        assert PromoCustomerUsage.objects.get(promo=promo, patient=ann).uses == 1
        assert Redemption.objects.count() == 1
    assert uses_card(client_for(staff_a), clinic_a, promo) == "1"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_idempotency_key_redeem_once(clinic_a, in_clinic, ann, pos_client_for):
    # given one till sending the same request 5 times at once
    promo = make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    key = api.key
    from rest_framework.test import APIClient

    def client(_):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return c

    results = _rush(client, lambda c, i: redeem(c, headers={"HTTP_IDEMPOTENCY_KEY": "same"}), 5)
    # then one use was taken; the others replayed it or were told it is in progress
    assert (201, None) in results
    assert all(r in ((201, None), (409, "idempotency_in_progress")) for r in results), results
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 1 and Redemption.objects.count() == 1


# --- applies to chosen services or categories ------------------------------------------------------


@pytest.fixture
def whitening_only(clinic_a, in_clinic):
    from promos.events import Actor
    from promos.services import create_promo

    with in_clinic(clinic_a):
        return create_promo(clinic=clinic_a, actor=Actor(id=None, name="T", email="t@example.com"), data={
            "name": "Whitening week", "code": "WHITE20", "discount_type": "percent", "discount_value": "20",
            "status": "active", "applies_to": "services", "applies_to_items": ["Teeth whitening"]})


def test_a_services_promo_discounts_only_its_services_lines(clinic_a, in_clinic, whitening_only):
    from clinic_crm.orders.services import LineInput
    from promos.services import redeem_promo_code
    from tests.factories import PatientFactory

    with in_clinic(clinic_a):
        # given an order with a whitening line and a check-up line
        patient = PatientFactory()
        lines = [LineInput("Teeth whitening", Decimal("300.00")), LineInput("Check-up", Decimal("60.00"))]
        # when the whitening code is redeemed on it
        redemption = redeem_promo_code(code="white20", patient=patient, order_reference="W-1",
                                       order_total=Decimal("0"), lines=lines)
        # then 20% comes off the whitening line only
        assert redemption.discount_amount == Decimal("60.00")
        assert redemption.order.total == Decimal("300.00")
        # and the ledger row keeps the order's total, which the promo metrics read without a join
        assert redemption.order_total == Decimal("300.00")


def test_a_services_promo_on_an_order_without_its_services_is_not_eligible(clinic_a, in_clinic, whitening_only):
    from clinic_crm.common.errors import Conflict
    from clinic_crm.orders.services import LineInput
    from promos.services import redeem_promo_code, validate_promo_code
    from tests.factories import PatientFactory

    with in_clinic(clinic_a):
        patient = PatientFactory()
        check = validate_promo_code(code="WHITE20", patient=patient, order_total=Decimal("60"),
                                    lines=[LineInput("Check-up", Decimal("60.00"))])
        assert (check.valid, check.code) == (False, "not_eligible")
        assert "Teeth whitening" in check.message
        # without the lines nothing can be checked, so the code is refused with the reason
        assert validate_promo_code(code="WHITE20", patient=patient, order_total=Decimal("60")).code == "not_eligible"
        with pytest.raises(Conflict):
            redeem_promo_code(code="WHITE20", patient=patient, order_reference="W-2", order_total=Decimal("60"))
        assert Promo.objects.get(pk=whitening_only.pk).uses == 0


def test_a_categories_promo_matches_the_lines_category_through_the_pos_api(clinic_a, in_clinic, pos_client_for):
    from promos.events import Actor
    from promos.services import create_promo
    from tests.factories import PatientFactory

    with in_clinic(clinic_a):
        create_promo(clinic=clinic_a, actor=Actor(id=None, name="T", email="t@example.com"), data={
            "name": "Hygiene month", "code": "CLEAN10", "discount_type": "amount", "discount_value": "10.00",
            "status": "active", "applies_to": "categories", "applies_to_items": ["Hygiene"]})
        PatientFactory(external_id="cat-1")
    response = pos_client_for(clinic_a).post("/api/v1/pos/promos/redeem", {
        "code": "CLEAN10", "external_id": "cat-1", "order": {"reference": "C-1", "lines": [
            {"description": "Scale and polish", "category": "Hygiene", "unit_price": "85.00"},
            {"description": "X-ray", "category": "Diagnostics", "unit_price": "40.00"}]}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["redemption"]["discount"] == "10.00"
    with in_clinic(clinic_a):
        from clinic_crm.orders.models import Order

        order = Order.objects.get(reference="C-1")
        assert [l.category for l in order.lines.all()] == ["Hygiene", "Diagnostics"]
        assert order.total == Decimal("115.00")


@pytest.mark.postgres  # the round trips of PostgreSQL (row-level security's setting, prepared statements)
@pytest.mark.redis  # API keys are kept per process with Redis as the cache, as in production
@pytest.mark.django_db(transaction=True)  # the request's transaction is its own, as in production
def test_a_warm_redeem_makes_nine_round_trips_commits_with_its_last_write_and_reads_no_api_key(clinic_a, in_clinic, ann, pos_client_for,
                                                                   redis_cache):
    # given a promo and a till whose key has already been used once
    make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    assert redeem(api, reference="WARM-1", headers={"HTTP_IDEMPOTENCY_KEY": "warm-1"}).status_code == 201
    # when it redeems again, with an idempotency key
    with CaptureQueriesContext(connection) as queries:
        response = redeem(api, reference="WARM-2", headers={"HTTP_IDEMPOTENCY_KEY": "warm-2"})
    # then these nine round trips ran: the clinic's setting and the savepoint each sent ahead of the
    # next statement, the ledger row counted for the redemption rate in the statement that inserts it,
    # the promo's use taken with the patient's in one statement (WITH), and that
    # statement sent with the idempotent response before it and the commit after it, so the promo
    # row's lock is held for no round trip. A change that adds a round trip to the hot path (or reads
    # the key again) shows here
    assert response.status_code == 201

    def label(sql: str) -> str:
        sql = " ".join(sql.split())
        found = re.search(r'^(SELECT set_config|SAVEPOINT|RELEASE SAVEPOINT|INSERT INTO "(\w+)"|UPDATE "(\w+)"|'
                          r'SELECT .*? FROM "(\w+)"|WITH taken AS \( UPDATE "(\w+)".* INSERT INTO "(\w+)"|'
                          r'WITH ledger AS \(INSERT INTO "(\w+)".* INSERT INTO "(\w+)" \(clinic_id, promotion_key, day)', sql)
        if found is None:
            return sql[:40]
        return " with ".join(g for g in found.groups()[1:] if g) or found.group(1)

    round_trips = [" + ".join(label(sql) for sql in statements_sent(q["sql"])) for q in queries.captured_queries]
    assert round_trips == [
        "BEGIN", "SELECT set_config + tenancy_idempotencykey", "patients_patient", "SAVEPOINT + promos_promocode",
        "orders_order", "patients_patient", "redemptions_redemption with redemptions_promotiontally",
        "tenancy_idempotencykey + promos_promo with promos_promocustomerusage + COMMIT AND CHAIN + SELECT set_config",
        "COMMIT",
    ]


# --- the commit sent with the promo's use (PostgreSQL, the request's own transaction) ---------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_redeem_committed_with_its_last_write_replays_its_stored_response(clinic_a, in_clinic, ann,
                                                                            pos_client_for):
    # given a redeem whose response was stored and committed with the promo's use
    promo = make_promo(clinic_a, in_clinic)
    api = pos_client_for(clinic_a)
    first = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-9"})
    # when the till replays it
    replay = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-9"})
    # then the replay is the first answer, byte for byte, and one use was taken
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 1 and Redemption.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_use_refused_at_the_last_write_replays_the_refusal_and_keeps_nothing(clinic_a, in_clinic, ann,
                                                                               pos_client_for):
    # given a patient who has used a once-per-customer promo (the checks before the writes pass:
    # only the last write, the patient's use, can refuse)
    promo = make_promo(clinic_a, in_clinic, max_uses_per_customer=1)
    api = pos_client_for(clinic_a)
    assert redeem(api, reference="A").status_code == 201
    # when they redeem again with an Idempotency-Key, and the till replays it
    refused = redeem(api, reference="B", headers={"HTTP_IDEMPOTENCY_KEY": "till-b"})
    replay = redeem(api, reference="B", headers={"HTTP_IDEMPOTENCY_KEY": "till-b"})
    # then both say the limit is reached: the success response sent ahead was rolled back with the
    # order and the ledger row, and the refusal was stored instead
    assert_error(refused, 409, "customer_limit_reached")
    assert_error(replay, 409, "customer_limit_reached")
    assert replay.headers["Idempotent-Replayed"] == "true"
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 1
        assert list(Order.objects.values_list("reference", flat=True)) == ["A"]
        assert Redemption.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_commit_answers_with_what_was_committed(clinic_a, in_clinic, ann, pos_client_for,
                                                                    monkeypatch):
    # given a redeem whose handler fails after its last write has been committed
    promo = make_promo(clinic_a, in_clinic)
    real = services.redeem_promo_code

    def then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("after the commit")

    monkeypatch.setattr(services, "redeem_promo_code", then_fail)
    api = pos_client_for(clinic_a)
    # when the till sends it, and replays it
    first = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-c"})
    monkeypatch.setattr(services, "redeem_promo_code", real)
    replay = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-c"})
    # then it is told what happened (the redeem is committed), not a 500 that would invite a second try
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    with in_clinic(clinic_a):
        assert Promo.objects.get(pk=promo.pk).uses == 1 and Redemption.objects.count() == 1


@pytest.mark.parametrize("plain", [True, False])
def test_a_refusal_is_logged_as_information_with_its_code_not_as_a_warning(
        clinic_a, in_clinic, ann, pos_client_for, caplog, plain):
    # given a promo that has run out
    promo = make_promo(clinic_a, in_clinic, max_uses=1)
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(uses=1)
    api = pos_client_for(clinic_a)
    # when a till redeems it, in the tills' plain form or in one DRF reads (with order lines)
    caplog.set_level("INFO")
    if plain:
        response = redeem(api)
    else:
        response = api.post("/api/v1/pos/promos/redeem", {"code": "SPRING20", "external_id": "ann", "order": {
            "reference": "L-1", "lines": [{"description": "Whitening", "unit_price": "150.00", "quantity": 1}]}},
            format="json")
    # then the refusal is an INFO line naming the path and the code, and Django adds no WARNING
    assert_error(response, 409, "usage_limit_reached")
    refusals = [r for r in caplog.records if r.name == "clinic_crm.common.api"]
    assert [(r.levelname, r.getMessage()) for r in refusals] == [
        ("INFO", "Refused /api/v1/pos/promos/redeem (409 usage_limit_reached): " + response.json()["message"])]
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_a_request_that_is_wrong_is_still_a_warning(clinic_a, in_clinic, ann, pos_client_for, caplog):
    make_promo(clinic_a, in_clinic)
    response = redeem(pos_client_for(clinic_a), code="")
    assert response.status_code == 400
    assert [r.levelname for r in caplog.records if r.name == "django.request"] == ["WARNING"]


def test_a_replayed_refusal_is_logged_as_information_too(clinic_a, in_clinic, ann, pos_client_for, caplog):
    promo = make_promo(clinic_a, in_clinic, max_uses=1)
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(uses=1)
    api = pos_client_for(clinic_a)
    first = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-7"})
    caplog.clear()
    caplog.set_level("INFO")
    replay = redeem(api, headers={"HTTP_IDEMPOTENCY_KEY": "till-7"})
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "clinic_crm.tenancy.idempotency"] == [
        ("INFO", "Replayed refusal /api/v1/pos/promos/redeem (409 usage_limit_reached)")]
    assert not [r for r in caplog.records if r.name == "django.request"]
