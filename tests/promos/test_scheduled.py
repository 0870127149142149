"""A promo activated before its start is "Scheduled", in its badge, its list segment, the Promotions page
and the message staff get; after its end it is "Expired" (statuses tell the truth)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic_crm.dashboard.promotions import list_promotion_rows
from tests.promos.factories import seed, url

pytestmark = pytest.mark.django_db


def test_an_active_promo_before_its_start_is_scheduled_everywhere(clinic_a, in_clinic, owner_a, client_for):
    # given a draft promo that starts in three days, and one live now
    starts = timezone.now() + timedelta(days=3)
    later = seed(clinic_a, in_clinic, "Spring", code="SPRING", starts_at=starts)
    seed(clinic_a, in_clinic, "Now", code="NOW10", active=True)
    client = client_for(owner_a)
    # when staff activate the first
    response = client.post(url(clinic_a, "activate", later.pk), follow=True)
    # then the message says when its code works, not that customers can use it now
    text = response.content.decode()
    assert "is scheduled: its code works from" in text and "can use it" not in text
    # and the list badges it Scheduled, under its own segment, never under Active
    listing = client.get(url(clinic_a, "list")).content.decode()
    row = listing.split(f'data-promo-id="{later.pk}"')[1].split("</tr>")[0]
    assert "Scheduled · from" in row
    scheduled = client.get(url(clinic_a, "list"), {"status": "scheduled"}).context["listing"].rows
    active = client.get(url(clinic_a, "list"), {"status": "active"}).context["listing"].rows
    assert [r.promo.name for r in scheduled] == ["Spring"] and [r.promo.name for r in active] == ["Now"]
    segments = {s.key: s.count for s in client.get(url(clinic_a, "list")).context["listing"].segments}
    assert (segments["active"], segments["scheduled"]) == (1, 1)
    # and the detail page and the Promotions page say the same
    assert "Scheduled (active, starts" in client.get(url(clinic_a, "detail", later.pk)).content.decode()
    with in_clinic(clinic_a):
        statuses = {row.info.name: row.info.status for row in list_promotion_rows(clinic=clinic_a)}
    assert statuses["Spring"] == "Scheduled" and statuses["Now"] == "Active"


def test_every_form_error_shows_in_one_submit_duplicate_code_and_caps_included(clinic_a, in_clinic, owner_a,
                                                                                client_for):
    from tests.promos.factories import form_data

    seed(clinic_a, in_clinic, "Welcome", code="SMILE10")
    # when a new promo reuses the code in another case, with a per-patient cap above its total cap and
    # an end before its start, all in one submit
    data = form_data(name="Copy", code="Smile10", max_uses="5", max_uses_per_customer="10",
                     starts_at="2026-12-20T10:00", ends_at="2026-12-10T10:00")
    response = client_for(owner_a).post(url(clinic_a, "create"), data)
    # then the one answer names every problem
    errors = response.context["form"].errors
    assert "already uses SMILE10" in " ".join(errors["code"])
    assert "while the promo allows 5 uses" in " ".join(errors["max_uses_per_customer"])
    assert "end must be after the start" in " ".join(errors["ends_at"])


def test_the_promo_page_lists_who_used_it_and_links_to_their_orders(clinic_a, in_clinic, owner_a, client_for):
    from decimal import Decimal

    from promos.services import redeem_promo_code
    from tests.factories import PatientFactory

    promo = seed(clinic_a, in_clinic, "Welcome", code="SMILE10", active=True)
    with in_clinic(clinic_a):
        for name in ("Ann", "Bob"):
            redeem_promo_code(code="SMILE10", patient=PatientFactory(first_name=name, last_name="Lee"),
                              order_reference=f"O-{name}", order_total=Decimal("100.00"))
    page = client_for(owner_a).get(url(clinic_a, "detail", promo.pk)).content.decode()
    used = page.split('data-testid="used-by"')[1].split("</section>")[0]
    assert "Ann Lee" in used and "Bob Lee" in used and "O-Ann" in used
    assert f"?promotion={promo.promotion_key}" in used
