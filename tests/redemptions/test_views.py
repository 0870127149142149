"""Marketing → Offer Responses: the list with its filters, sorting and columns, one response's history
and status change, an offer's Responses tab and a patient's Offers (RED-3)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from redemptions.models import OfferResponse, ResponseTransition
from redemptions.services import Actor, PromotionSnapshot, ResponseTerms, assign_response
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

WHITENING = PromotionSnapshot(key="offer_7", kind="offer", id=7, name="Spring whitening", discount_type="amount",
                              discount_value=Decimal("25"), discount_label="£25.00 Off")
POLISH = PromotionSnapshot(key="promo_3", kind="promo", id=3, name="Polish promo", discount_type="percent",
                           discount_value=Decimal("10"), discount_label="10% Off")


def url(clinic, name, **kwargs):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kwargs})


@pytest.fixture
def seeded(clinic_a, in_clinic):
    """Four responses: Ann's pending whitening (always), Bob's canceled whitening (ended), Cat's polish
    (current, clip required), Dan's completed polish (from tomorrow)."""
    today = clinic_a.today()
    with in_clinic(clinic_a):
        people = {n: PatientFactory(first_name=n, last_name="Lee") for n in ("Ann", "Bob", "Cat", "Dan")}

        def give(name, promotion, **terms):
            return assign_response(clinic=clinic_a, patient=people[name], source="claim", terms=ResponseTerms(
                promotion=promotion, title=promotion.name, allow_multiple=True, **terms))

        rows = {
            "ann": give("Ann", WHITENING),
            "bob": give("Bob", WHITENING, usage_until=today - timedelta(days=1)),
            "cat": give("Cat", POLISH, clip_required=True, usage_until=today + timedelta(days=5)),
            "dan": give("Dan", POLISH, usage_from=today + timedelta(days=1)),
        }
        OfferResponse.objects.filter(pk=rows["bob"].pk).update(status="canceled")
        OfferResponse.objects.filter(pk=rows["dan"].pk).update(status="completed")
    return rows, people


def shown(client, clinic, **params) -> list[int]:
    response = client.get(url(clinic, "responses:list"), params)
    assert response.status_code == 200
    return [r.pk for r in response.context["page"].object_list]


def test_the_list_filters_by_offer_type_status_usage_code_and_patient(clinic_a, viewer_a, client_for, seeded):
    rows, _ = seeded
    client = client_for(viewer_a)
    ids = {name: row.pk for name, row in rows.items()}
    assert shown(client, clinic_a) == [ids["dan"], ids["cat"], ids["bob"], ids["ann"]]  # newest first
    assert shown(client, clinic_a, offer="promo_3") == [ids["dan"], ids["cat"]]
    assert shown(client, clinic_a, kind="offer") == [ids["bob"], ids["ann"]]
    assert shown(client, clinic_a, status="canceled") == [ids["bob"]]
    assert shown(client, clinic_a, usage="passed") == [ids["bob"]]
    assert shown(client, clinic_a, usage="current") == [ids["cat"], ids["ann"]]
    assert shown(client, clinic_a, code=rows["cat"].certificate_code.lower()) == [ids["cat"]]
    assert shown(client, clinic_a, q="cat") == [ids["cat"]]
    assert shown(client, clinic_a, patient=rows["ann"].patient_id) == [ids["ann"]]
    assert shown(client, clinic_a, sort="created") == [ids["ann"], ids["bob"], ids["cat"], ids["dan"]]
    assert shown(client, clinic_a, sort="-patient") == [ids["dan"], ids["cat"], ids["bob"], ids["ann"]]
    assert shown(client, clinic_a, sort="patient") == [ids["ann"], ids["bob"], ids["cat"], ids["dan"]]  # first names
    # a value outside the choices is a message on the page, not a 500
    page = client.get(url(clinic_a, "responses:list"), {"status": "lost"}).content.decode()
    assert "Select a valid choice" in page


def test_each_row_shows_its_status_icon_and_usage_period_mark(clinic_a, viewer_a, client_for, seeded):
    rows, _ = seeded
    page = client_for(viewer_a).get(url(clinic_a, "responses:list")).content.decode()
    for name, status, usage in (("ann", "pending", "always"), ("bob", "canceled", "passed"),
                                ("cat", "pending", "current"), ("dan", "completed", "later")):
        row = page.split(f'data-response="{rows[name].pk}"')[1].split("</tr>")[0]
        assert f'data-status="{status}"' in row and f'data-usage="{usage}"' in row, name
        assert rows[name].certificate_code in row
    assert "usage-passed" in page and "usage-in" in page


def test_staff_change_a_status_with_a_reason_and_a_viewer_cannot(clinic_a, in_clinic, staff_a, viewer_a, client_for,
                                                                 seeded):
    rows, _ = seeded
    detail = url(clinic_a, "responses:detail", response_id=rows["cat"].pk)
    viewer = client_for(viewer_a)
    assert "Staff can change a response" in viewer.get(detail).content.decode()
    assert viewer.post(detail, {"to": "canceled"}).status_code == 403
    staff = client_for(staff_a)
    page = staff.get(detail)
    assert [value for value, _ in page.context["form"].fields["to"].choices] == ["", "clipped", "expired", "canceled"]
    # a move the lifecycle does not allow is a form error and changes nothing
    refused = staff.post(detail, {"to": "completed"})
    assert refused.status_code == 200 and refused.context["form"].errors["to"]
    response = staff.post(detail, {"to": "canceled", "reason": "Asked by phone"}, follow=True)
    assert "The response is now canceled." in response.content.decode()
    with in_clinic(clinic_a):
        last = ResponseTransition.objects.filter(response=rows["cat"]).latest("id")
    assert (last.from_status, last.to_status, last.actor_kind, last.reason) == ("pending", "canceled", "staff",
                                                                               "Asked by phone")
    page = staff.get(detail).content.decode()
    assert "Asked by phone" in page and "is final" in page


def test_an_offers_responses_tab_and_a_patients_offers(clinic_a, owner_a, client_for, seeded):
    rows, people = seeded
    client = client_for(owner_a)
    page = client.get(url(clinic_a, "responses:list"), {"offer": "offer_7"})
    assert [r.pk for r in page.context["page"].object_list] == [rows["bob"].pk, rows["ann"].pk]
    html = page.content.decode()
    assert "<h1>Spring whitening</h1>" in html and "Redemptions</a>" in html
    profile = client.get(reverse("dashboard:patient", args=[clinic_a.slug, people["Cat"].pk])).content.decode()
    offers = profile.split('data-testid="patient-offers"')[1]
    assert "Polish promo" in offers and rows["cat"].certificate_code in offers and "Spring whitening" not in offers


def test_the_list_stays_one_query_per_page_for_a_large_clinic(clinic_a, in_clinic, owner_a, client_for,
                                                                django_assert_max_num_queries):
    with in_clinic(clinic_a):
        patient = PatientFactory()
        for _ in range(120):
            assign_response(clinic=clinic_a, patient=patient, source="staff", actor=Actor(kind="staff", name="S"),
                            terms=ResponseTerms(promotion=WHITENING, title="W", allow_multiple=True))
    client = client_for(owner_a)
    with django_assert_max_num_queries(20):
        response = client.get(url(clinic_a, "responses:list"), {"page": 2})
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].paginator.count == 120
