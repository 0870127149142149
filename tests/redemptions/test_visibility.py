"""Redemption visibility (RED-6, RED-7): redemption events in, rates, breakdowns and the Promotions page out."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic_crm.dashboard import promotions
from promos import services as promo_services
from promos.events import Actor
from promos.models import Promo
from redemptions.models import Assignment, PromotionTally, Redemption
from redemptions.selectors import count_promotion, count_rewards_unlocked, get_promotion_breakdown
from redemptions.services import compact_tallies
from tests.conftest import assert_error, staff_api_client
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor(id=None, name="Ann Owner", email="ann@example.com")


def make_promo(clinic, in_clinic, **data):
    """An active promo, created three days ago: events of the last three days are inside its reporting."""
    values = {"name": "Spring", "code": "SPRING20", "discount_type": "percent", "discount_value": Decimal("20"),
              "status": "active", **data}
    with in_clinic(clinic):
        promo = promo_services.create_promo(clinic=clinic, data=values, actor=ACTOR)
        Promo.objects.filter(pk=promo.pk).update(created_at=timezone.now() - timedelta(days=3))
        promo.refresh_from_db()
        return promo


def make_patients(clinic, in_clinic, n, prefix="p"):
    with in_clinic(clinic):
        return [PatientFactory(first_name=f"P{i}", external_id=f"{prefix}-{i}") for i in range(n)]


def event(event_id, promotion_id, external_id, when=None, **extra):
    when = when or timezone.now() - timedelta(minutes=5)
    return {"event_id": event_id, "promotion_id": promotion_id, "external_id": external_id,
            "redeemed_at": when.isoformat(), **extra}


def batch(api, events):
    return api.post("/api/v1/events/redemptions/batch", {"events": events}, format="json")


def test_a_mixed_batch_stores_the_valid_events_once_and_says_why_it_refused_each_other(
        clinic_a, in_clinic, pos_client_for):
    # given a promo created an hour ago and two patients
    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 2)
    key = promo.promotion_key
    api = pos_client_for(clinic_a)
    events = [
        event("e-1", key, "p-0", amount="120.00"),
        event("e-2", key, "p-1"),
        event("e-1", key, "p-0"),  # the same id again in the batch
        event("e-3", "promo_999999", "p-0"),
        event("e-4", key, "nobody"),
        {"event_id": "e-5", "promotion_id": key, "external_id": "p-0", "redeemed_at": "yesterday"},
        event("e-6", key, "p-1", when=promo.created_at - timedelta(days=1)),
        {"promotion_id": key, "external_id": "p-0", "redeemed_at": timezone.now().isoformat()},
        event("e-7", key, "p-0", amount=120),
    ]
    # when the batch is sent
    response = batch(api, events)
    # then the counts and every event's outcome are exact
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 6)
    outcomes = [(r["event_id"], r["status"], r.get("code")) for r in body["results"]]
    assert outcomes == [
        ("e-1", "accepted", None), ("e-2", "accepted", None), ("e-1", "duplicate", None),
        ("e-3", "rejected", "unknown_promotion"), ("e-4", "rejected", "unknown_patient"),
        ("e-5", "rejected", "validation_error"), ("e-6", "rejected", "before_reporting_start"),
        (None, "rejected", "validation_error"), ("e-7", "rejected", "validation_error"),
    ]
    assert "redeemed_at" in body["results"][5]["message"] and "amount" in body["results"][8]["message"]
    # and the two valid events count once each, with the amount as revenue
    with in_clinic(clinic_a):
        counts = count_promotion(promotion_key=key)
        stored = Redemption.objects.filter(promotion_key=key, channel="event").count()
    assert (counts.assigned, counts.redeemed, counts.redemptions, counts.revenue) == (2, 2, 2, Decimal("120.00"))
    assert stored == 2
    # when the same batch is sent again, nothing changes
    again = batch(api, events).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 6)
    with in_clinic(clinic_a):
        assert count_promotion(promotion_key=key) == counts
        assert Redemption.objects.filter(promotion_key=key).count() == 2


def test_one_event_at_a_time(clinic_a, clinic_b, in_clinic, pos_client_for):
    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 1)
    api = pos_client_for(clinic_a)
    url = "/api/v1/events/redemptions"
    first = api.post(url, event("one", promo.promotion_key, "p-0"), format="json")
    assert first.status_code == 202 and first.json() == {"status": "accepted"}
    assert api.post(url, event("one", promo.promotion_key, "p-0"), format="json").json() == {"status": "duplicate"}
    assert_error(api.post(url, event("two", "promo_0", "p-0"), format="json"), 404, "unknown_promotion")
    assert_error(api.post(url, event("two", promo.promotion_key, "nobody"), format="json"), 404, "unknown_patient")
    early = api.post(url, event("two", promo.promotion_key, "p-0", when=promo.created_at - timedelta(hours=2)),
                     format="json")
    assert_error(early, 409, "before_reporting_start")
    wrong = assert_error(api.post(url, {**event("two", promo.promotion_key, "p-0"), "tier": 3}, format="json"),
                         400, "validation_error")
    assert "tier" in wrong["extra"]["fields"]
    # another clinic's key cannot report on this clinic's promotion, nor learn that it exists
    make_patients(clinic_b, in_clinic, 1)
    other = pos_client_for(clinic_b).post(url, event("b-1", promo.promotion_key, "p-0"), format="json")
    assert_error(other, 404, "unknown_promotion")
    # a POS-only key may not report events at all
    assert pos_client_for(clinic_a, scopes=("pos",)).post(
        url, event("three", promo.promotion_key, "p-0"), format="json").status_code == 403
    with in_clinic(clinic_a):
        assert count_promotion(promotion_key=promo.promotion_key).redemptions == 1


def test_the_rate_is_redeemed_patients_over_assigned_and_the_breakdown_sums_to_it(
        clinic_a, in_clinic, pos_client_for):
    # given a personalised promo whose audience is four patients, and a promo nobody reported on
    patients = make_patients(clinic_a, in_clinic, 5)
    promo = make_promo(clinic_a, in_clinic, kind="personalised", code="", audience="patients",
                       audience_patient_ids=[p.pk for p in patients[:4]])
    quiet = make_promo(clinic_a, in_clinic, name="Quiet", code="QUIET5")
    with in_clinic(clinic_a):
        promo_services.generate_personal_codes(promo=promo, patients=patients[:4], actor=ACTOR)
    key = promo.promotion_key
    # when two of the four redeem (one of them twice) and a fifth patient, never given it, redeems too
    now = timezone.now()
    events = [event("r-1", key, "p-0", when=now - timedelta(days=1), amount="50.00"),
              event("r-2", key, "p-0", when=now - timedelta(minutes=1), amount="70.00"),
              event("r-3", key, "p-1", when=now - timedelta(minutes=2)),
              event("r-4", key, "p-4", when=now - timedelta(minutes=3))]
    assert batch(pos_client_for(clinic_a), events).json()["accepted"] == 4
    # then by hand: five patients hold it (four given, one who used it unprompted), three redeemed
    with in_clinic(clinic_a):
        counts = count_promotion(promotion_key=key)
        breakdown = get_promotion_breakdown(promotion_key=key)
        rows = {row.info.key: row for row in promotions.list_promotion_rows(clinic=clinic_a)}
    assert (counts.assigned, counts.redeemed, counts.redemptions) == (5, 3, 4)
    assert counts.rate == Decimal(3) * 100 / 5
    assert rows[key].counts == counts and rows[quiet.promotion_key].counts.rate is None
    # and each split of the breakdown sums to the total
    for split in (breakdown.by_day, breakdown.by_segment, breakdown.by_channel, breakdown.by_tier):
        total = sum((c for _, c in split), start=type(counts)())
        assert total == counts
    assert sum(c.redemptions for day, c in breakdown.by_day) == 4 and len(breakdown.by_day) >= 1


def test_a_redeem_at_the_till_counts_a_walk_in_once_however_often_they_come_back(
        clinic_a, in_clinic, pos_client_for):
    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 1, prefix="ann")
    api = pos_client_for(clinic_a)
    for n in range(3):
        body = {"code": "SPRING20", "external_id": "ann-0", "order": {"reference": f"W-{n}", "total": "100.00"}}
        assert api.post("/api/v1/pos/promos/redeem", body, format="json").status_code == 201
    with in_clinic(clinic_a):
        counts = count_promotion(promotion_key=promo.promotion_key)
        assignment = Assignment.objects.get(promotion_key=promo.promotion_key)
        rewards = count_rewards_unlocked(start=timezone.localdate() - timedelta(days=1), end=timezone.localdate())
    assert (counts.assigned, counts.redeemed, counts.redemptions, counts.revenue) == (1, 1, 3, Decimal("240.00"))
    assert (assignment.source, assignment.redemptions) == ("redemption", 3)
    assert rewards == 3


def test_compaction_folds_rows_and_keeps_every_sum(clinic_a, in_clinic, pos_client_for):
    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 30)
    api = pos_client_for(clinic_a)
    for n in range(30):
        api.post("/api/v1/events/redemptions", event(f"c-{n}", promo.promotion_key, f"p-{n}", amount="10.00"),
                 format="json")
    with in_clinic(clinic_a):
        before = count_promotion(promotion_key=promo.promotion_key)
        rows_before = PromotionTally.objects.count()
        removed = compact_tallies(clinic=clinic_a, chunk=7)
        compact_tallies(clinic=clinic_a)
        after = count_promotion(promotion_key=promo.promotion_key)
        rows_after = PromotionTally.objects.count()
    assert before == after and before.redemptions == 30 and before.revenue == Decimal("300.00")
    assert removed > 0 and rows_after < rows_before and rows_after <= 2


def test_the_staff_api_lists_what_the_page_shows_and_its_ids_are_what_events_take(
        clinic_a, in_clinic, owner_a, client_for, pos_client_for):
    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 2)
    batch(pos_client_for(clinic_a), [event("s-1", promo.promotion_key, "p-0")])
    listed = staff_api_client(clinic_a, owner_a).get("/api/v1/staff/promotions/")
    assert listed.status_code == 200, listed.content
    body = {row["id"]: row for row in listed.json()}
    assert body[promo.promotion_key] | {"reporting_start": None} == {
        "id": promo.promotion_key, "kind": "promo", "type": "global", "name": "Spring", "status": "Active",
        "reporting_start": None, "assigned": 1, "redeemed": 1, "redemptions": 1, "redemption_rate": "1.0000",
        "budget_usage": None, "cap_usage": None}
    assert {k.rpartition("_")[0] for k in body} >= {"promo", "automated_offer"}
    page = client_for(owner_a).get(reverse("dashboard:promotions", args=[clinic_a.slug])).content.decode()
    for key in body:
        assert f'data-promotion="{key}"' in page
    # every id listed is one the events API takes
    for n, key in enumerate(body):
        answer = pos_client_for(clinic_a).post("/api/v1/events/redemptions", event(f"id-{n}", key, "p-1"),
                                               format="json")
        assert answer.status_code in (202, 409), (key, answer.content)  # 409: created after the event time


def test_the_promotions_page_and_a_breakdown(clinic_a, in_clinic, owner_a, viewer_a, client_for, pos_client_for):
    promo = make_promo(clinic_a, in_clinic, max_uses=10)
    make_patients(clinic_a, in_clinic, 2)
    batch(pos_client_for(clinic_a), [event("b-1", promo.promotion_key, "p-0", amount="80.00")])
    page = client_for(viewer_a).get(reverse("dashboard:promotions", args=[clinic_a.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    row = html.split(f'data-promotion="{promo.promotion_key}"')[1].split("</tr>")[0]
    assert "100.0%" in row and "0 / 10 uses" in row
    detail = client_for(owner_a).get(reverse("dashboard:promotion", args=[clinic_a.slug, promo.promotion_key]))
    text = detail.content.decode()
    assert detail.status_code == 200
    assert 'data-testid="breakdown-chart"' in text and "<svg" in text.split('data-testid="breakdown-chart"')[1]
    assert "Reported event" in text and "£80.00" in text
    assert f"?promotion={promo.promotion_key}" in text
    missing = client_for(owner_a).get(reverse("dashboard:promotion", args=[clinic_a.slug, "promo_999999"]))
    assert missing.status_code == 404


def test_another_clinics_promotion_page_is_a_404(clinic_a, clinic_b, in_clinic, owner_b, client_for):
    promo = make_promo(clinic_a, in_clinic)
    response = client_for(owner_b).get(reverse("dashboard:promotion", args=[clinic_b.slug, promo.promotion_key]))
    assert response.status_code == 404


def test_the_dashboard_counts_ledger_redemptions_of_the_period_and_the_rate_across_promotions(
        clinic_a, in_clinic, owner_a, client_for, pos_client_for):
    # given two patients given a card-less promo by redeeming it, and one reported event 40 days ago
    promo = make_promo(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        Promo.objects.filter(pk=promo.pk).update(created_at=timezone.now() - timedelta(days=60))
    make_patients(clinic_a, in_clinic, 3)
    api = pos_client_for(clinic_a)
    batch(api, [event("d-1", promo.promotion_key, "p-0"), event("d-2", promo.promotion_key, "p-1"),
                event("d-3", promo.promotion_key, "p-2", when=timezone.now() - timedelta(days=40))])
    response = client_for(owner_a).get(reverse("dashboard:overview", args=[clinic_a.slug]), {"period": "30"})
    overview = response.context["overview"]
    # then Rewards Unlocked counts the two of the last 30 days, and the rate is 3 of 3 patients to date
    assert overview.rewards_unlocked == 2 and overview.redemption_rate == Decimal("100")
    assert 'data-testid="stat-rewards">2<' in response.content.decode()


def test_revenue_filters_everyone_who_redeemed_a_promotion_and_exports_that_list(
        clinic_a, in_clinic, owner_a, client_for, pos_client_for):
    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 2)
    api = pos_client_for(clinic_a)
    for n in range(2):
        body = {"code": "SPRING20", "external_id": f"p-{n}", "order": {"reference": f"R-{n}", "total": "50.00"}}
        assert api.post("/api/v1/pos/promos/redeem", body, format="json").status_code == 201
    api.post("/api/v1/pos/orders", {"reference": "PLAIN-1", "external_id": "p-0", "total": "30.00"}, format="json")
    client = client_for(owner_a)
    page = client.get(reverse("revenue:list", args=[clinic_a.slug]))
    assert f'<option value="{promo.promotion_key}">Spring</option>' in page.content.decode()
    filtered = client.get(reverse("revenue:list", args=[clinic_a.slug]), {"promotion": promo.promotion_key})
    summary = filtered.context["summary"]
    assert (summary.orders, summary.revenue, summary.discount_given) == (2, Decimal("80.00"), Decimal("20.00"))
    export = client.get(reverse("revenue:export", args=[clinic_a.slug]), {"promotion": promo.promotion_key})
    lines = b"".join(export.streaming_content).decode().strip().splitlines()
    assert export["Content-Type"].startswith("text/csv") and lines[0].startswith("placed_at,reference,patient")
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["R-0", "R-1"]
    assert all(promo.promotion_key in line for line in lines[1:])


def test_the_beat_entry_folds_each_clinics_tallies_and_the_rates_stay(clinic_a, clinic_b, in_clinic, settings,
                                                                      pos_client_for):
    from redemptions.tasks import compact_tallies_for_all_clinics

    assert settings.CELERY_BEAT_SCHEDULE["compact-promotion-tallies"]["task"] == compact_tallies_for_all_clinics.name
    made = []
    for clinic in (clinic_a, clinic_b):
        promo = make_promo(clinic, in_clinic, code=f"FOLD{clinic.pk}")
        make_patients(clinic, in_clinic, 5)
        api = pos_client_for(clinic)
        for n in range(5):
            api.post("/api/v1/events/redemptions", event(f"f-{n}", promo.promotion_key, f"p-{n}"), format="json")
        with in_clinic(clinic):
            made.append((clinic, promo, count_promotion(promotion_key=promo.promotion_key),
                         PromotionTally.objects.count()))
    assert compact_tallies_for_all_clinics.delay().get() == 2
    for clinic, promo, counts, rows in made:
        with in_clinic(clinic):
            assert count_promotion(promotion_key=promo.promotion_key) == counts
            assert PromotionTally.objects.count() < rows


def test_the_offer_and_promo_lists_show_each_rate_linked_to_its_breakdown(
        clinic_a, in_clinic, owner_a, client_for, pos_client_for):
    from offers.services import create_offer

    promo = make_promo(clinic_a, in_clinic)
    with in_clinic(clinic_a):
        offer = create_offer(clinic=clinic_a, data={"name": "Glow", "title": "Glow", "discount_type": "percent",
                                                    "discount_value": "10", "published": True})
    make_patients(clinic_a, in_clinic, 4)
    batch(pos_client_for(clinic_a), [event("l-1", promo.promotion_key, "p-0")])
    client = client_for(owner_a)
    promos_page = client.get(reverse("promos:list", args=[clinic_a.slug])).content.decode()
    row = promos_page.split(f'data-promo-id="{promo.pk}"')[1].split("</tr>")[0]
    assert "100.0% redemption rate" in row
    assert reverse("dashboard:promotion", args=[clinic_a.slug, promo.promotion_key]) in row
    offers_page = client.get(reverse("offers:list", args=[clinic_a.slug])).content.decode()
    assert reverse("dashboard:promotion", args=[clinic_a.slug, offer.promotion_key]) in offers_page
    assert "Redemption rate –" in offers_page


def test_a_backfill_file_is_read_in_batches_with_every_line_accounted_for(
        clinic_a, clinic_b, in_clinic, pos_client_for, django_capture_on_commit_callbacks):
    # given a file of 25,004 lines: valid events, a replay, a line that is not JSON, a blank line, an unknown promotion
    from redemptions.services import imports

    promo = make_promo(clinic_a, in_clinic)
    make_patients(clinic_a, in_clinic, 50)
    when = (timezone.now() - timedelta(hours=1)).isoformat()
    lines = [json.dumps({"event_id": f"b-{n}", "promotion_id": promo.promotion_key, "external_id": f"p-{n % 50}",
                         "redeemed_at": when, "amount": "10.00"}) for n in range(25_000)]
    lines += [lines[0], "{not json}", "", json.dumps({"event_id": "late", "promotion_id": "promo_0",
                                                     "external_id": "p-1", "redeemed_at": when})]
    body = ("\n".join(lines) + "\n").encode()
    api = pos_client_for(clinic_a)
    # when it is sent
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.generic("POST", "/api/v1/events/redemptions/imports", body, content_type="application/x-ndjson")
    assert sent.status_code == 202, sent.content and sent.json()["status"] == "queued"
    import_id = sent.json()["id"]
    # then the worker read it all: 25,000 stored once, one duplicate, two rejected lines with their numbers
    done = api.get(f"/api/v1/events/redemptions/imports/{import_id}").json()
    assert (done["status"], done["accepted"], done["duplicates"], done["rejected"]) == ("done", 25_000, 1, 2)
    assert [(r["line"], r["code"]) for r in done["rejections"]] == [(25_002, "validation_error"),
                                                                    (25_004, "unknown_promotion")]
    assert done["lines_done"] == 25_004
    with in_clinic(clinic_a):
        counts = count_promotion(promotion_key=promo.promotion_key)
    assert (counts.redemptions, counts.redeemed, counts.revenue) == (25_000, 50, Decimal("250000.00"))
    assert not list(imports.imports_dir(clinic_a.pk).glob("*.jsonl"))  # the file is gone once read
    # and another clinic's key cannot see the import
    assert pos_client_for(clinic_b).get(f"/api/v1/events/redemptions/imports/{import_id}").status_code == 404


def test_an_empty_or_oversized_file_is_refused(clinic_a, in_clinic, pos_client_for, settings):
    api = pos_client_for(clinic_a)
    empty = api.generic("POST", "/api/v1/events/redemptions/imports", b"", content_type="application/x-ndjson")
    assert_error(empty, 400, "validation_error")
    not_lines = api.generic("POST", "/api/v1/events/redemptions/imports", b'{"a": 1}\n[1, 2]\n',
                            content_type="application/x-ndjson")
    assert "Line 2" in assert_error(not_lines, 400, "validation_error")["message"]
    settings.EVENT_IMPORT_MAX_BYTES = 1000
    big = api.generic("POST", "/api/v1/events/redemptions/imports", b"{}\n" * 600, content_type="application/x-ndjson")
    assert_error(big, 413, "payload_too_large")
    from redemptions.models import EventImport

    with in_clinic(clinic_a):
        assert not EventImport.objects.exists()


def test_the_funnel_shows_each_stage_that_has_data(clinic_a, in_clinic, owner_a, client_for, app_client_for,
                                                   pos_client_for):
    # given an offer pushed to 120 devices, claimed in the app by two patients, one of whom used it
    from notifications.models import PushNotification
    from offers.services import create_offer

    with in_clinic(clinic_a):
        offer = create_offer(clinic=clinic_a, data={"name": "Glow", "title": "Glow", "discount_type": "percent",
                                                    "discount_value": "10", "published": True})
        PushNotification.objects.create(clinic=clinic_a, title="Glow", message="10% off", source_key=offer.promotion_key,
                                        status="sent", sent_count=120, targeted_count=130)
    ann, bob = make_patients(clinic_a, in_clinic, 2)
    ids = [app_client_for(clinic_a, p).post(f"/api/v1/app/offers/{offer.promotion_key}/claim").json()["id"]
           for p in (ann, bob)]
    done = pos_client_for(clinic_a).post(f"/api/v1/pos/responses/{ids[0]}/complete",
                                         {"order": {"reference": "G-1", "total": "200.00"}}, format="json")
    assert done.status_code == 200, done.content
    # when its page is opened
    response = client_for(owner_a).get(reverse("dashboard:promotion", args=[clinic_a.slug, offer.promotion_key]))
    funnel = [(stage.label, stage.value) for stage in response.context["page"].funnel]
    # then targeted → delivered → claimed → redeemed → revenue, each from its own rows
    assert funnel == [("Targeted", 2), ("Delivered", 120), ("Claimed", 2), ("Redeemed", 1),
                      ("Revenue", Decimal("180.00"))]
    assert 'data-testid="funnel"' in response.content.decode()


def test_assigning_many_patients_costs_the_same_few_queries_as_assigning_a_few(clinic_a, in_clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from redemptions.services import record_assignments

    patients = make_patients(clinic_a, in_clinic, 60)
    counts = []
    for key, group in (("promo_901", patients[:3]), ("promo_902", patients)):
        with in_clinic(clinic_a), CaptureQueriesContext(connection) as queries:
            assert record_assignments(clinic=clinic_a, promotion_key=key, patient_ids=[p.pk for p in group],
                                      source="audience") == len(group)
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts


def test_a_redeem_tap_in_the_app_counts_as_claimed_before_and_after_the_till_applies_it(
        clinic_a, in_clinic, app_client_for, pos_client_for):
    from offers.services import create_offer
    from redemptions.selectors import count_claimed

    # given an offer Ann taps Redeem on in the app (no claim), and one Bob is only given at the till
    with in_clinic(clinic_a):
        offer = create_offer(clinic=clinic_a, data={"name": "Glow", "title": "Glow", "discount_type": "percent",
                                                    "discount_value": "10", "published": True})
    ann, bob = make_patients(clinic_a, in_clinic, 2)
    tapped = app_client_for(clinic_a, ann).post(f"/api/v1/app/offers/{offer.promotion_key}/redeem")
    assert tapped.status_code == 201, tapped.content
    pos = pos_client_for(clinic_a)
    assert pos.post(f"/api/v1/pos/offers/{offer.promotion_key}/redeem", {"patient_id": str(bob.pk)},
                    format="json").status_code == 201
    # then Ann counts as having taken it up in the app, Bob does not
    with in_clinic(clinic_a):
        assert count_claimed(promotion_key=offer.promotion_key) == 1
    # and she still counts once the till has applied her pending redemption
    assert pos.post(f"/api/v1/pos/offers/{offer.promotion_key}/redeem", {"patient_id": str(ann.pk)},
                    format="json").status_code == 201
    with in_clinic(clinic_a):
        assert count_claimed(promotion_key=offer.promotion_key) == 1
