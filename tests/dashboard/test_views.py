"""Main dashboard (CORE-5) and client profile (CORE-6): figures computed from real rows."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from clinic_crm.common.choices import DiscountSource
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db


def overview_of(client, clinic, **params):
    return client.get(reverse("dashboard:overview", kwargs={"clinic_slug": clinic.slug}), params).context["overview"]


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=timezone.UTC), tick=False)
def test_overview_cards_are_computed_from_orders_in_the_period(clinic_a, owner_a, client_for, in_clinic):
    now = timezone.now()
    with in_clinic(clinic_a):
        patient = PatientFactory()
        OrderFactory(patient=patient, placed_at=now - timedelta(days=1), subtotal=Decimal("100"),
                     discount_amount=Decimal("20"), discount_source=DiscountSource.PROMO, source_label="20% Off")
        OrderFactory(patient=patient, placed_at=now - timedelta(days=3), subtotal=Decimal("50"))
        OrderFactory(patient=patient, placed_at=now - timedelta(days=40), subtotal=Decimal("999"))  # previous period
    overview = overview_of(client_for(owner_a), clinic_a, period="30")
    assert overview.revenue == Decimal("130.00")
    assert overview.orders == 2
    assert overview.discount_given == Decimal("20.00")
    assert overview.rewarded_orders == 1
    # Rewards Unlocked and the rate read the redemption ledger: an order alone is not a redemption
    assert overview.rewards_unlocked == 0 and overview.redemption_rate is None
    assert overview.previous_revenue == Decimal("999.00")
    assert overview.active_promotions == 0
    assert len(overview.daily) == 30 and sum(amount for _, amount, _ in overview.daily) == Decimal("130.00")


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=timezone.UTC), tick=False)
def test_the_7_day_period_and_a_custom_range(clinic_a, owner_a, client_for, in_clinic):
    now = timezone.now()
    with in_clinic(clinic_a):
        OrderFactory(placed_at=now - timedelta(days=10), subtotal=Decimal("70"))
    client = client_for(owner_a)
    assert overview_of(client, clinic_a, period="7").orders == 0
    custom = overview_of(client, clinic_a, period="custom", start="2026-11-01", end="2026-11-15")
    assert (custom.start, custom.end, custom.orders) == (date(2026, 11, 1), date(2026, 11, 15), 1)


def test_an_inverted_custom_range_is_explained_not_a_500(clinic_a, owner_a, client_for):
    response = client_for(owner_a).get(reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug}),
                                       {"period": "custom", "start": "2026-11-10", "end": "2026-11-01"})
    assert response.status_code == 200
    assert "The start date must be on or before the end date." in response.content.decode()


def test_unknown_period_falls_back_to_30_days(clinic_a, owner_a, client_for):
    response = client_for(owner_a).get(reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug}),
                                       {"period": "1e9"})
    assert response.status_code == 200 and response.context["period"] == "30"


def test_attention_list_flags_missing_onesignal_until_configured(clinic_a, owner_a, client_for, settings):
    from clinic_crm.tenancy.services import set_onesignal_credentials

    url = reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug})
    settings.PUSH_BACKEND = "console"  # delivers without credentials: nothing to set up
    assert "Push notifications are off" not in client_for(owner_a).get(url).content.decode()
    settings.PUSH_BACKEND = "onesignal"
    assert "Push notifications are off" in client_for(owner_a).get(url).content.decode()
    set_onesignal_credentials(clinic=clinic_a, app_id="8c1b3f44-0000-4000-8000-000000000001", api_key="os_v2_secret")
    assert "Push notifications are off" not in client_for(owner_a).get(url).content.decode()


@time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=timezone.UTC), tick=False)
def test_upcoming_birthdays_are_listed_soonest_first(clinic_a, owner_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        PatientFactory(first_name="Later", date_of_birth=date(1980, 3, 20))
        PatientFactory(first_name="Today", date_of_birth=date(1990, 3, 10))
        PatientFactory(first_name="Past", date_of_birth=date(1990, 3, 9))
        PatientFactory(first_name="Far", date_of_birth=date(1990, 6, 1))
    response = client_for(owner_a).get(reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug}))
    assert [p.first_name for p, _ in response.context["birthdays"]] == ["Today", "Later"]


def test_client_profile_shows_ltv_visits_savings_and_history(clinic_a, owner_a, client_for, in_clinic):
    with in_clinic(clinic_a):
        patient = PatientFactory(first_name="Nia", last_name="Okafor")
        OrderFactory(patient=patient, reference="P-1", subtotal=Decimal("120"), discount_amount=Decimal("20"),
                     discount_source=DiscountSource.COUPON, source_label="£20.00 Off", source_name="First visit")
        OrderFactory(patient=patient, reference="P-2", subtotal=Decimal("80"))
        OrderFactory(reference="OTHER")  # another patient
    response = client_for(owner_a).get(reverse("dashboard:patient", kwargs={"clinic_slug": clinic_a.slug,
                                                                           "patient_id": patient.pk}))
    stats = response.context["stats"]
    assert (stats.lifetime_value, stats.visits, stats.saved, stats.discounted_orders) == (
        Decimal("180.00"), 2, Decimal("20.00"), 1)
    page = response.content.decode()
    assert "£180.00" in page and "P-1" in page and "P-2" in page and "OTHER" not in page
    assert "First visit" in page


def test_unknown_patient_profile_is_404(clinic_a, owner_a, client_for):
    response = client_for(owner_a).get(reverse("dashboard:patient", kwargs={"clinic_slug": clinic_a.slug,
                                                                           "patient_id": 999999}))
    assert response.status_code == 404


def test_a_viewer_reads_the_push_warning_as_a_fact_without_the_owners_instructions(clinic_a, viewer_a, client_for,
                                                                                   settings):
    # given a clinic without OneSignal credentials, with pushes going through OneSignal
    settings.PUSH_BACKEND = "onesignal"
    url = reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug})
    # when a read-only viewer opens the dashboard
    html = client_for(viewer_a).get(url).content.decode()
    # then the warning states what is wrong, without telling them to change settings they cannot reach
    assert "Occasion offers cannot reach patients yet." in html
    assert "Add the clinic&#x27;s OneSignal app id" not in html and "Add the clinic's OneSignal app id" not in html


def test_needs_attention_links_to_the_row_for_those_who_can_fix_it_and_tells_others_who_can(
        clinic_a, in_clinic, owner_a, client_for):
    from clinic_crm.tenancy.choices import Role
    from offers.choices import Occasion
    from offers.models import AutomatedOffer
    from offers.services import configure_automated_offer
    from tests.conftest import make_staff

    # given Christmas switched on but not published
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        configure_automated_offer(automated_offer=christmas, data={"active": True})
    row_link = f'/c/{clinic_a.slug}/offers/automated/#automated-{christmas.pk}'
    for role, can_fix in ((Role.OWNER, True), (Role.MANAGER, True), (Role.STAFF, True), (Role.VIEWER, False)):
        user = owner_a if role == Role.OWNER else make_staff(clinic_a, role)
        page = client_for(user).get(reverse("dashboard:overview", kwargs={"clinic_slug": clinic_a.slug}))
        item = page.content.decode().split('data-key="unpublished_automated:christmas"')[1].split("attention-item")[0]
        # then staff and above get a button to the very row; a viewer is told who can fix it
        assert (f'href="{row_link}"' in item) is can_fix, role
        assert ("Staff can fix this" in item) is (not can_fix), role
