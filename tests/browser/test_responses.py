"""Offer responses and exports in Chromium: filter by status and usage period, change a status with a
reason, start an export and download it once its progress bar is full (RED-3, RED-5)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta


import pytest
from playwright.sync_api import Page, expect

from clinic_crm.tenancy.context import clinic_scope
from redemptions.models import OfferResponse
from redemptions.services import PromotionSnapshot, ResponseTerms, assign_response
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXAM = PromotionSnapshot(key="offer_5", kind="offer", id=5, name="New patient exam", discount_type="free_treatment",
                         discount_value=None, discount_label="Free Treatment")


@pytest.fixture
def responses(clinic_a, settings, tmp_path):
    settings.EXPORTS_DIR = str(tmp_path / "exports")
    today = clinic_a.today()
    made = {}
    with clinic_scope(clinic_a.pk):
        for name, status, until in (("Ann", "pending", None), ("Bob", "clipped", today + timedelta(days=9)),
                                    ("Cat", "pending", today - timedelta(days=3)), ("Dan", "completed", None)):
            patient = PatientFactory(first_name=name, last_name="Lee")
            response = assign_response(clinic=clinic_a, patient=patient, source="claim", terms=ResponseTerms(
                promotion=EXAM, title="Your first exam on us", clip_required=True, usage_until=until))
            OfferResponse.objects.filter(pk=response.pk).update(status=status)
            made[name] = response
    return made


def test_filter_change_a_status_and_export(clinic_a, owner_a, login, page: Page, live_server, responses,
                                          screenshot):
    login(owner_a)
    page.goto(f"{live_server.url}/c/{clinic_a.slug}/responses/")
    rows = page.get_by_test_id("response-row")
    expect(rows).to_have_count(4)
    # filter: pending, inside the usage period
    page.get_by_label("Status").select_option("pending")
    page.get_by_label("Usage period").select_option("current")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ann Lee")
    expect(rows.first.get_by_test_id("usage")).to_contain_text("Always")
    page.get_by_label("Usage period").select_option("passed")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Cat Lee")
    expect(rows.first.locator(".usage-passed")).to_be_visible()
    screenshot("responses-filtered")

    # change Cat's status with a reason
    rows.first.get_by_role("link", name="Your first exam on us").click()
    page.get_by_label("New status").select_option("expired")
    page.get_by_label("Reason").fill("Validity ended; patient told")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text("The response is now expired.")).to_be_visible()
    expect(page.get_by_test_id("history")).to_contain_text("Validity ended; patient told")
    expect(page.get_by_test_id("terminal")).to_be_visible()
    screenshot("response-detail")

    # define an export of the clipped and pending responses, run it, and download the file
    page.get_by_role("link", name="Exports").click()
    page.get_by_role("link", name="New export").first.click()
    page.get_by_label("Name").fill("Open exam responses")
    page.get_by_label("Certificate code").check()
    page.get_by_label("Offer id").check()
    screenshot("export-new")
    page.get_by_role("button", name="Save export").click()
    page.get_by_test_id("run-export").click()
    expect(page.get_by_test_id("progress").first).to_have_attribute("value", "100")
    screenshot("export-ready")
    with page.expect_download() as download_info:
        page.get_by_test_id("download").first.click()
    download = download_info.value
    assert download.suggested_filename == "open-exam-responses.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0] == ["Offer id", "Offer", "Patient", "Certificate code", "Status", "Created"]
    assert len(rows) == 5 and {r[2] for r in rows[1:]} == {"Ann Lee", "Bob Lee", "Cat Lee", "Dan Lee"}

