"""Exports of offer responses (RED-5): definitions, runs that stream in chunks with progress, exactly
the filtered rows, the schedule, kept files, and files for that clinic's staff only."""

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from clinic_crm.common.errors import ApplicationError
from redemptions.dispatch import start_export
from redemptions.models import ExportRun, OfferResponse
from redemptions.services import PromotionSnapshot, ResponseTerms, assign_responses
from redemptions.services.exports import execute_export, save_export_definition
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

WHITENING = PromotionSnapshot(key="offer_7", kind="offer", id=7, name="Spring whitening", discount_type="amount",
                              discount_value=Decimal("25"), discount_label="£25.00 Off")
POLISH = PromotionSnapshot(key="promo_3", kind="promo", id=3, name="Polish, \"best\"", discount_type="percent",
                           discount_value=Decimal("10"), discount_label="10% Off")


def seed(clinic, in_clinic, *, whitening=7, polish=5):
    with in_clinic(clinic):
        patients = [PatientFactory(first_name=f"P{n}", last_name="Lee, Jr") for n in range(max(whitening, polish))]
        ids = [p.pk for p in patients]
        from clinic_crm.patients.models import Patient

        assign_responses(clinic=clinic, patients=Patient.objects.filter(pk__in=ids[:whitening]), source="claim",
                         terms=ResponseTerms(promotion=WHITENING, title="£25 off", allow_multiple=True))
        assign_responses(clinic=clinic, patients=Patient.objects.filter(pk__in=ids[:polish]), source="claim",
                         terms=ResponseTerms(promotion=POLISH, title="10% off", allow_multiple=True))
        completed = list(OfferResponse.objects.filter(promotion_key="offer_7").order_by("id")[:3])
        OfferResponse.objects.filter(pk__in=[r.pk for r in completed]).update(status="completed")
    return completed


def define(clinic, in_clinic, **data):
    values = {"name": "Completed whitening", "fields": ["id", "offer_name", "patient_name", "status", "created_at"],
              "format": "csv", "filters": {}, **data}
    with in_clinic(clinic):
        return save_export_definition(clinic=clinic, data=values, created_by="Sam")


def run_now(clinic, in_clinic, definition, **kwargs):
    with in_clinic(clinic):
        run = ExportRun.objects.create(clinic=clinic, definition=definition)
    return execute_export(clinic_id=clinic.pk, run_id=run.pk, **kwargs)


def read_file(run):
    from redemptions.services.exports import export_file_path

    return export_file_path(run).read_text(encoding="utf-8")


def test_a_csv_export_holds_exactly_the_filtered_rows_and_reports_progress_per_chunk(clinic_a, in_clinic,
                                                                                      monkeypatch):
    completed = seed(clinic_a, in_clinic)
    definition = define(clinic_a, in_clinic, filters={"status": "completed", "offer": "offer_7"})
    progress = []
    from redemptions.models import ExportRun as Run

    real_update = Run.objects.filter

    def spy(*args, **kwargs):
        queryset = real_update(*args, **kwargs)
        original = queryset.update

        def update(**values):
            if "rows_done" in values:
                progress.append(values["rows_done"])
            return original(**values)

        queryset.update = update
        return queryset

    monkeypatch.setattr(Run.objects, "filter", spy)
    run = run_now(clinic_a, in_clinic, definition, chunk_size=2)
    assert (run.status, run.rows_total, run.rows_done, run.percent) == ("done", 3, 3, 100)
    assert progress[:2] == [2, 3]  # after each chunk, then the final count
    rows = list(csv.reader(io.StringIO(read_file(run))))
    assert rows[0] == ["Response id", "Offer", "Patient", "Status", "Created"]
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(r.pk for r in completed)
    assert {(r[1], r[2], r[3]) for r in rows[1:]} == {("Spring whitening", "P0 Lee, Jr", "completed"),
                                                      ("Spring whitening", "P1 Lee, Jr", "completed"),
                                                      ("Spring whitening", "P2 Lee, Jr", "completed")}
    assert rows[1][4].endswith("+00:00")  # the clinic's timezone (London in winter)


def test_a_json_lines_export_by_type_and_only_this_clinics_rows(clinic_a, clinic_b, in_clinic):
    seed(clinic_a, in_clinic)
    seed(clinic_b, in_clinic, whitening=4, polish=9)
    definition = define(clinic_a, in_clinic, format="jsonl", fields=["offer_id", "offer_name", "certificate_code"],
                        filters={"kind": "promo"})
    run = run_now(clinic_a, in_clinic, definition, chunk_size=3)
    lines = [json.loads(line) for line in read_file(run).splitlines()]
    assert len(lines) == 5 and {line["offer_id"] for line in lines} == {"promo_3"}
    assert {line["offer_name"] for line in lines} == {'Polish, "best"'}
    with in_clinic(clinic_a):
        codes = set(OfferResponse.objects.filter(promotion_key="promo_3").values_list("certificate_code", flat=True))
    assert {line["certificate_code"] for line in lines} == codes


@pytest.mark.parametrize(("data", "field"), [
    ({"fields": []}, "fields"),
    ({"fields": ["id", "password"]}, "fields"),
    ({"filters": {"status": "lost"}}, "filters"),
    ({"filters": {"created_from": "2026-02-01", "created_to": "2026-01-01"}}, "filters"),
])
def test_a_wrong_definition_is_refused(clinic_a, in_clinic, data, field):
    with pytest.raises(ApplicationError) as refused:
        define(clinic_a, in_clinic, **data)
    assert field in refused.value.extra["fields"]


def test_staff_run_an_export_from_the_dashboard_and_download_it_and_others_cannot(
        clinic_a, clinic_b, in_clinic, client_for, staff_a, viewer_a, owner_b, django_capture_on_commit_callbacks):
    seed(clinic_a, in_clinic)
    staff = client_for(staff_a)
    response = staff.post(reverse("exports:create", args=[clinic_a.slug]), {
        "name": "All responses", "columns": ["patient_name", "id"], "format": "csv", "schedule": "none",
        "keep_files": "5", "status": "", "offer": "", "kind": "", "usage": ""})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    with in_clinic(clinic_a):
        from redemptions.models import ExportDefinition

        definition = ExportDefinition.objects.get()
    assert definition.fields == ["id", "patient_name"]  # the catalogue's order
    with django_capture_on_commit_callbacks(execute=True):  # Celery is eager in tests
        staff.post(reverse("exports:run", args=[clinic_a.slug, definition.pk]))
    with in_clinic(clinic_a):
        run = ExportRun.objects.get()
    assert (run.status, run.rows_done) == ("done", 12)
    page = staff.get(reverse("exports:detail", args=[clinic_a.slug, definition.pk])).content.decode()
    assert 'data-status="done"' in page and "Download" in page
    file = staff.get(reverse("exports:download", args=[clinic_a.slug, run.pk]))
    assert file.status_code == 200 and file["Content-Disposition"] == 'attachment; filename="all-responses.csv"'
    assert b"".join(file.streaming_content).decode().count("\n") == 13
    # a viewer of the clinic, and another clinic's owner under either address, get nothing
    assert client_for(viewer_a).get(reverse("exports:download", args=[clinic_a.slug, run.pk])).status_code == 403
    other = client_for(owner_b)
    assert other.get(reverse("exports:download", args=[clinic_b.slug, run.pk])).status_code == 404
    assert other.get(reverse("exports:download", args=[clinic_a.slug, run.pk])).status_code == 404


def test_only_the_newest_files_are_kept(clinic_a, in_clinic):
    seed(clinic_a, in_clinic, whitening=2, polish=0)
    definition = define(clinic_a, in_clinic, keep_files=2)
    runs = [run_now(clinic_a, in_clinic, definition) for _ in range(3)]
    from redemptions.services.exports import export_file_path

    with in_clinic(clinic_a):
        kept = [export_file_path(ExportRun.objects.get(pk=r.pk)) is not None for r in runs]
    assert kept == [False, True, True]


@time_machine.travel(datetime(2026, 12, 7, 3, 20, tzinfo=UTC), tick=False)  # a Monday
def test_the_schedule_runs_daily_and_monday_exports(clinic_a, in_clinic, django_capture_on_commit_callbacks):
    from redemptions.scheduled import run_scheduled_exports_for_all_clinics

    seed(clinic_a, in_clinic, whitening=1, polish=0)
    daily = define(clinic_a, in_clinic, name="Daily", schedule="daily")
    weekly = define(clinic_a, in_clinic, name="Weekly", schedule="weekly")
    define(clinic_a, in_clinic, name="By hand")
    with django_capture_on_commit_callbacks(execute=True):
        run_scheduled_exports_for_all_clinics.delay()
    with in_clinic(clinic_a):
        runs = {run.definition_id: run for run in ExportRun.objects.all()}
    assert set(runs) == {daily.pk, weekly.pk}
    assert all(run.scheduled and run.status == "done" for run in runs.values())
    with time_machine.travel(datetime(2026, 12, 8, 3, 20, tzinfo=UTC), tick=False):  # Tuesday
        with django_capture_on_commit_callbacks(execute=True):
            run_scheduled_exports_for_all_clinics.delay()
    with in_clinic(clinic_a):
        assert ExportRun.objects.filter(definition=weekly).count() == 1
        assert ExportRun.objects.filter(definition=daily).count() == 2


def scheduled_runs(clinic, in_clinic) -> int:
    with in_clinic(clinic):
        return ExportRun.objects.filter(scheduled=True).count()


def test_scheduled_exports_start_in_each_clinics_own_night_once_a_day(
        clinic_a, clinic_b, in_clinic, django_capture_on_commit_callbacks):
    from redemptions.scheduled import run_scheduled_exports_for_all_clinics

    # given a daily export in London (UTC in December) and one in New York (UTC-5)
    define(clinic_a, in_clinic, name="London daily", schedule="daily")
    define(clinic_b, in_clinic, name="New York daily", schedule="daily")

    def tick(hour: int) -> int:
        with time_machine.travel(datetime(2026, 12, 8, hour, 20, tzinfo=UTC), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                return run_scheduled_exports_for_all_clinics.delay().get()

    # when the hourly tick runs through the day
    started = {hour: tick(hour) for hour in range(24)}
    # then London's starts at 03:20 its time, New York's at 03:20 its time (08:20 UTC), each once
    assert {hour: n for hour, n in started.items() if n} == {3: 1, 8: 1}
    assert (scheduled_runs(clinic_a, in_clinic), scheduled_runs(clinic_b, in_clinic)) == (1, 1)
    # and a tick delivered again the same night queues nothing twice
    tick(3)
    tick(8)
    assert (scheduled_runs(clinic_a, in_clinic), scheduled_runs(clinic_b, in_clinic)) == (1, 1)


def test_a_redelivered_run_is_not_written_twice(clinic_a, in_clinic):
    seed(clinic_a, in_clinic, whitening=2, polish=0)
    definition = define(clinic_a, in_clinic)
    run = run_now(clinic_a, in_clinic, definition)
    again = execute_export(clinic_id=clinic_a.pk, run_id=run.pk)
    assert (again.status, again.finished_at) == ("done", run.finished_at)


def test_start_export_queues_a_run(clinic_a, in_clinic, django_capture_on_commit_callbacks):
    seed(clinic_a, in_clinic, whitening=1, polish=1)
    definition = define(clinic_a, in_clinic)
    with django_capture_on_commit_callbacks(execute=False) as callbacks, in_clinic(clinic_a):
        run = start_export(definition=definition, created_by="Sam")
        assert run.status == "queued"
    assert len(callbacks) == 1



@pytest.mark.parametrize("zone", ["Europe/London", "Europe/Athens", "America/New_York", "America/St_Johns",
                                  "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"])
def test_every_day_of_a_year_has_exactly_one_export_tick_on_the_clinics_clock(zone):
    from clinic_crm.tenancy.models import Clinic
    from redemptions.scheduled import export_due

    # given a clinic in a zone with half-hour or 45-minute offsets, or clocks that skip 03:00 once a year
    clinic = Clinic(timezone=zone)
    # when the hourly ticks of 2026 are asked, one by one
    due_days = Counter()
    tick = datetime(2026, 1, 1, 0, 20, tzinfo=UTC)
    while tick < datetime(2027, 1, 1, tzinfo=UTC):
        if export_due(clinic, tick):
            local = tick.astimezone(ZoneInfo(zone))
            assert (3, 0) <= (local.hour, local.minute) < (5, 0), local  # in the night (4:xx only after a jump)
            due_days[local.date()] += 1
        tick += timedelta(hours=1)
    # then every day of the clinic's calendar has exactly one
    days = [date(2026, 1, 2) + timedelta(days=n) for n in range(363)]
    assert {day: due_days[day] for day in days if due_days[day] != 1} == {}


@time_machine.travel(datetime(2026, 12, 9, 4, 5, tzinfo=UTC), tick=False)
def test_a_tick_that_runs_late_still_starts_the_exports_of_the_hour_it_stands_for(
        clinic_a, in_clinic, django_capture_on_commit_callbacks):
    from redemptions.scheduled import run_scheduled_exports_for_all_clinics

    # given London's daily export, and the 03:20 tick only running at 04:05
    define(clinic_a, in_clinic, name="Daily", schedule="daily")
    with django_capture_on_commit_callbacks(execute=True):
        started = run_scheduled_exports_for_all_clinics.delay().get()
    # then it still counts as the 03:20 tick, whose hour held London's 03:00
    assert started == 1 and scheduled_runs(clinic_a, in_clinic) == 1
