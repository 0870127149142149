"""The promo detail page as staff read it: the Archived badge, the window as configured, the Activity
log's values formatted by type and currency, and a personalised promo's codes with their uses and a
patient picker that copes with a whole clinic (PRO-1, PRO-2, PRO-4, PRO-5, PRO-6)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from promos.services import archive_promo, generate_personal_codes, update_promo
from tests.factories import PatientFactory
from tests.promos.factories import ACTOR, add_use, seed, url

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def details(html: str) -> dict[str, str]:
    """The Details panel as {label: text}, tags stripped."""
    panel = html[html.index('data-testid="promo-details"'):]
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", panel, flags=re.S)
    return {re.sub(r"<[^>]+>", "", k).strip(): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", v)).strip()
            for k, v in pairs}


def badge(html: str) -> str:
    match = re.search(r'data-testid="status-badge"[^>]*>(?:<svg.*?</svg>)?\s*([^<]+)<', html, flags=re.S)
    return match.group(1).strip()


# ---- Archived is badged Archived, and still counted under Expired --------------------------------------

def test_archived_promo_is_badged_archived_while_the_expired_segment_still_counts_it(
    clinic_a, in_clinic, staff_a, client_for,
):
    # given an archived promo and one whose end date has passed
    gone = seed(clinic_a, in_clinic, "Gone", code="GONE")
    with in_clinic(clinic_a):
        archive_promo(promo=gone, actor=ACTOR)
    seed(clinic_a, in_clinic, "Ended", code="ENDED", active=True, starts_at=timezone.now() - timedelta(days=9),
         ends_at=timezone.now() - timedelta(days=1))
    client = client_for(staff_a)

    # when the Expired segment of the list opens
    response = client.get(url(clinic_a, "list"), {"status": "expired"})

    # then both sit under Expired (the seed's "past end date or archived"), each badged for what it is
    counts = {s.key or "all": s.count for s in response.context["listing"].segments}
    assert counts == {"all": 2, "active": 0, "scheduled": 0, "draft": 0, "paused": 0, "expired": 2}
    rows = {r.promo.name: (r.badge, r.badge_label) for r in response.context["listing"].rows}
    assert rows == {"Gone": ("archived", "Archived"), "Ended": ("expired", "Expired")}
    html = response.content.decode()
    assert html.count("</svg> Archived</span>") == 1 and html.count("</svg> Expired</span>") == 1

    # and the archived promo's own page says Archived in its header and why in its Details
    page = client.get(url(clinic_a, "detail", gone.pk)).content.decode()
    assert badge(page) == "Archived"
    assert details(page)["Status"] == "Archived for good, listed under Expired"


# ---- The window as configured --------------------------------------------------------------------------

def test_window_reads_as_configured_never_now(clinic_a, in_clinic, staff_a, client_for):
    # given a draft and an archived promo without dates, and one with both dates
    draft = seed(clinic_a, in_clinic, "Draft", code="DRAFTED")
    archived = seed(clinic_a, in_clinic, "Archived", code="ARCHIVED")
    with in_clinic(clinic_a):
        archive_promo(promo=archived, actor=ACTOR)
    dated = seed(clinic_a, in_clinic, "Dated", code="DATED", starts_at=datetime(2031, 3, 1, 9, 0, tzinfo=LONDON),
                 ends_at=datetime(2031, 3, 31, 18, 0, tzinfo=LONDON))
    client = client_for(staff_a)

    # when their pages open, then the Window says what is set, in the clinic's time
    windows = {promo.name: details(client.get(url(clinic_a, "detail", promo.pk)).content.decode())["Window"]
               for promo in (draft, archived, dated)}
    assert windows == {
        "Draft": "Starts when activated · No end date",
        "Archived": "No start date · No end date",
        "Dated": "From 1 Mar 2031, 09:00 · Until 31 Mar 2031, 18:00",
    }


def test_details_use_one_wording_for_each_kind_of_empty_value(clinic_a, in_clinic, staff_a, client_for):
    # given a promo with no minimum, caps, budget or marketing cost
    promo = seed(clinic_a, in_clinic, "Plain", code="PLAIN")

    # when its page opens
    panel = details(client_for(staff_a).get(url(clinic_a, "detail", promo.pk)).content.decode())

    # then limits that are not set say "No limit", and the optional figure "Not set"
    assert [panel[k] for k in ("Min order", "Max uses", "Per patient", "Budget")] == ["No limit"] * 4
    assert panel["Marketing cost"] == "Not set"
    assert "None" not in panel.values()


# ---- Activity log values ---------------------------------------------------------------------------------

def diff_lines(response, action="updated") -> list[dict[str, tuple[str, str]]]:
    return [{c.field: (c.before, c.after) for c in row.changes}
            for row in response.context["activity"] if row.action == action]


def test_activity_diff_shows_discounts_by_type_and_money_in_the_clinic_currency(
    clinic_a, in_clinic, staff_a, client_for,
):
    # given a 20% promo with an £80 minimum, raised to 25% and £100, then turned into £15 off
    promo = seed(clinic_a, in_clinic, "Friend", code="FRIEND", discount_value=Decimal("20"),
                 min_order=Decimal("80"))
    with in_clinic(clinic_a):
        update_promo(promo=promo, actor=ACTOR, data={"discount_value": Decimal("25"), "min_order": Decimal("100")})
        update_promo(promo=promo, actor=ACTOR, data={"discount_type": "amount", "discount_value": Decimal("15")})

    # when its page opens
    response = client_for(staff_a).get(url(clinic_a, "detail", promo.pk))

    # then each value reads by the type it had at the time: 20% → 25%, then 25% → £15.00
    newest, older = diff_lines(response)
    assert newest == {"Discount type": ("Percent", "Fixed amount"), "Discount value": ("25%", "£15.00")}
    assert older == {"Discount value": ("20%", "25%"), "Minimum order": ("£80.00", "£100.00")}
    html = response.content.decode()
    assert "<del>20%</del>" in html and "<ins>£15.00</ins>" in html and "20.00 " not in html
    # and the settings it started with read the same way
    created = next(row for row in response.context["activity"] if row.action == "created")
    assert ("Discount value", "20%") in created.snapshot and ("Minimum order", "£80.00") in created.snapshot


def test_tiered_activity_diff_shows_the_tiers_not_their_mirrored_discount(clinic_a, in_clinic, staff_a, client_for):
    # given a tiered promo whose entry tier changes from 10% to £20 off
    promo = seed(clinic_a, in_clinic, "Ladder", code="LADDER", kind="tiered")
    with in_clinic(clinic_a):
        update_promo(promo=promo, actor=ACTOR, data={"tiers": [
            {"min_order": Decimal("100"), "discount_type": "amount", "discount_value": Decimal("20")},
            {"min_order": Decimal("300"), "discount_type": "amount", "discount_value": Decimal("50")}]})

    # when its page opens
    response = client_for(staff_a).get(url(clinic_a, "detail", promo.pk))

    # then the log has one Tiers line in words, and no copy of the entry tier as "Discount value"
    [lines] = diff_lines(response)
    assert lines == {"Tiers": ("10% Off from £100.00 · £50.00 Off from £300.00",
                               "£20.00 Off from £100.00 · £50.00 Off from £300.00")}


# ---- Personal codes: uses per code, and a picker for many patients -------------------------------------

def test_personal_codes_table_shows_how_often_each_code_was_used(clinic_a, in_clinic, staff_a, client_for):
    # given a personalised promo with codes for Ann and Bob; Ann used hers twice, Bob has one pending use
    promo = seed(clinic_a, in_clinic, "VIP", kind="personalised", active=True)
    with in_clinic(clinic_a):
        ann, bob = PatientFactory(first_name="Ann", last_name="Able"), PatientFactory(first_name="Bob")
        generate_personal_codes(promo=promo, patients=[ann, bob], actor=ACTOR)
        add_use(promo, ann, discount="30.00", order_total="120.00")
        add_use(promo, ann, discount="30.00", order_total="90.00")
        add_use(promo, bob, discount="30.00", order_total="0", status="pending")

    # when the promo's page opens
    response = client_for(staff_a).get(url(clinic_a, "detail", promo.pk))

    # then the codes table has a Used column counting applied uses only
    assert {c.patient_id: c.uses for c in response.context["codes"]} == {ann.pk: 2, bob.pk: 0}
    html = response.content.decode()
    assert '<th scope="col" class="num">Used</th>' in html
    uses = re.findall(r'data-testid="code-uses">(.*?)</td>', html, flags=re.S)
    assert sorted(re.sub(r"<[^>]+>", " ", u).split()[0] for u in uses) == ["0", "2"]


def test_generate_form_has_a_heading_and_a_searchable_patient_list(clinic_a, in_clinic, staff_a, client_for):
    # given 30 patients, two of whom already hold a code, one of them named Zephyr
    promo = seed(clinic_a, in_clinic, "VIP", kind="personalised")
    with in_clinic(clinic_a):
        patients = [PatientFactory(last_name=f"Patient{i:02d}") for i in range(28)]
        zed = PatientFactory(first_name="Zed", last_name="Zephyr", email="zed@example.com")
        other_zephyr = PatientFactory(first_name="Zara", last_name="Zephyr")
        generate_personal_codes(promo=promo, patients=patients[:1] + [other_zephyr], actor=ACTOR)
    client = client_for(staff_a)

    # when the page opens, the form has its heading and offers a first page of patients without a code
    response = client.get(url(clinic_a, "detail", promo.pk))
    html = response.content.decode()
    assert '<h3 id="generate-title">Generate codes</h3>' in html
    candidates = response.context["candidates"]
    assert (len(candidates.patients), candidates.total) == (12, 28)
    assert "Showing 12 of 28 patients without a code" in html
    assert 'form="find-patients"' in html and "<select" not in html[html.index('id="generate-title"'):]

    # and a search finds the one Zephyr who still needs a code
    found = client.get(url(clinic_a, "detail", promo.pk), {"find": "zephyr"})
    assert [p.pk for p in found.context["candidates"].patients] == [zed.pk]
    assert f'name="patients" value="{zed.pk}"' in found.content.decode()

    # and ticking them generates their code
    client.post(url(clinic_a, "generate_codes", promo.pk), {"patients": [zed.pk]})
    with in_clinic(clinic_a):
        assert promo.codes.filter(patient=zed).exists()
