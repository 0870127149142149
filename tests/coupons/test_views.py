"""Marketing → Coupon cards and a card's customer profile in the dashboard (COU-1 … COU-6)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from clinic_crm.tenancy.choices import Role
from coupons import services
from coupons.models import Card, CardTemplate
from redemptions.models import Redemption
from tests.conftest import make_staff
from tests.coupons.factories import SAM, make_template
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def url(clinic, name, **kwargs):
    return reverse(name, kwargs={"clinic_slug": clinic.slug, **kwargs})


@pytest.fixture
def staff(clinic_a, client_for, staff_a):
    return client_for(staff_a)


@pytest.fixture
def ann(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        return PatientFactory(first_name="Ann", last_name="Lee", email="ann@example.com", external_id="ann-1")


@pytest.fixture
def linked(clinic_a, in_clinic, ann):
    """A welcome coupon (£10 off, purchase amount required) that turns into a stamp card; Ann installed it."""
    with in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish", discount_type="free_treatment",
                               discount_value=None)
        stamp = make_template(clinic_a, kind="stamp", name="Loyalty", stamps_required=3, reward_template=reward)
        coupon = make_template(clinic_a, name="Welcome", discount_type="amount", discount_value=Decimal("10"),
                               linked_template=stamp, purchase_amount_required=True)
        card = services.issue_card(template=coupon, patient=ann, actor=SAM, installed_on="pwa", utm="instagram")
    return card


def test_staff_design_a_card_from_the_form(clinic_a, in_clinic, staff):
    response = staff.post(url(clinic_a, "cards:create"), {
        "kind": "coupon", "name": "Spring", "colour": "#7c3aed", "discount_type": "percent", "discount_value": "15",
        "validity_days": "60", "custom_fields": "Favourite treatment *\nPet's name"})
    with in_clinic(clinic_a):
        template = CardTemplate.objects.get(name="Spring")
    assert response.status_code == 302 and response["Location"] == url(clinic_a, "cards:detail",
                                                                        template_id=template.pk)
    assert template.custom_fields == [{"key": "favourite_treatment", "label": "Favourite treatment", "required": True},
                                      {"key": "pet_s_name", "label": "Pet's name", "required": False}]
    listing = staff.get(url(clinic_a, "cards:list")).content.decode()
    assert "Spring" in listing and "15% Off" in listing


def test_a_template_rule_broken_in_the_form_is_a_form_error(clinic_a, staff):
    response = staff.post(url(clinic_a, "cards:create"), {"kind": "stamp", "name": "No target", "colour": "#0f766e",
                                                          "discount_type": "percent"})
    assert response.status_code == 200
    assert "stamps_required" in response.context["form"].errors


def test_staff_issue_a_card_by_e_mail_and_land_on_its_profile(clinic_a, in_clinic, staff, ann):
    with in_clinic(clinic_a):
        template = make_template(clinic_a, name="Welcome")
    response = staff.post(url(clinic_a, "cards:issue", template_id=template.pk), {"patient": "ANN@example.com",
                                                                                 "utm": "front-desk"})
    with in_clinic(clinic_a):
        card = Card.objects.get(patient=ann)
    assert response["Location"] == url(clinic_a, "dashboard:card", serial=card.serial)
    assert card.utm == "front-desk"


def test_the_profile_shows_every_metric_of_the_card(clinic_a, staff, linked):
    page = staff.get(url(clinic_a, "dashboard:card", serial=linked.serial)).content.decode()
    for text in ("LTV", "Coupon status", "Active", "Card status", "Installed", "on PWA", "Expires", "Total visits",
                 "RFM segment", "Feedback rating", "No ratings", "Issued", linked.serial, "instagram", "View Custom Fields", "Card installation link", "Referral link",
                 f"/cards/{clinic_a.slug}/i/{linked.install_token}/", "£10.00 Off", " Information</a>", " Send Push</a>",
                 " Feedback</a>"):
        assert text in page, text


def test_redeeming_from_the_profile_changes_status_ltv_and_shows_the_linked_card(clinic_a, in_clinic, staff, linked,
                                                                               ann):
    # when staff redeem Ann's coupon on a £60 purchase
    response = staff.post(url(clinic_a, "cards:redeem", serial=linked.serial), {"purchase_amount": "60.00"})
    with in_clinic(clinic_a):
        stamp_card = Card.objects.get(patient=ann, template__name="Loyalty")
        assert Redemption.objects.get(promotion_key=linked.template.promotion_key).order.total == Decimal("50.00")
    # then they land on Ann's new stamp card, told so
    assert response["Location"] == url(clinic_a, "dashboard:card", serial=stamp_card.serial)
    page = staff.get(response["Location"]).content.decode()
    assert "now holds the Loyalty card" in page
    # and the coupon's own profile says Redeemed, with the purchase in its LTV
    coupon_page = staff.get(url(clinic_a, "dashboard:card", serial=linked.serial))
    assert "Redeemed" in coupon_page.content.decode()
    assert coupon_page.context["stats"].lifetime_value == Decimal("50.00")


def test_a_required_purchase_amount_left_empty_is_refused_with_a_message(clinic_a, in_clinic, staff, linked):
    response = staff.post(url(clinic_a, "cards:redeem", serial=linked.serial), {"purchase_amount": ""}, follow=True)
    assert "Enter the purchase amount: this card needs it." in response.content.decode()
    with in_clinic(clinic_a):
        assert Card.objects.get(pk=linked.pk).coupon_status == "active"


def test_the_linked_templates_page_explains_why_its_customer_is_not_an_installed_user(clinic_a, in_clinic, staff,
                                                                                       linked):
    staff.post(url(clinic_a, "cards:redeem", serial=linked.serial), {"purchase_amount": "60.00"})
    with in_clinic(clinic_a):
        stamp = CardTemplate.objects.get(name="Loyalty")
    response = staff.get(url(clinic_a, "cards:detail", template_id=stamp.pk))
    assert response.context["template"].installed_users == 0
    assert "not counted as installed users here" in response.content.decode()
    coupon = staff.get(url(clinic_a, "cards:detail", template_id=linked.template_id))
    assert coupon.context["template"].installed_users == 1


def test_deleting_and_changing_the_expiry_from_the_profile(clinic_a, in_clinic, staff, linked):
    staff.post(url(clinic_a, "cards:expiration", serial=linked.serial), {"expires_on": "2027-06-30"})
    staff.post(url(clinic_a, "cards:delete", serial=linked.serial))
    page = staff.get(url(clinic_a, "dashboard:card", serial=linked.serial)).content.decode()
    assert "30 Jun 2027" in page and "Deleted" in page and "Redeem</button>" not in page


def test_stamps_from_the_profile_earn_the_reward(clinic_a, in_clinic, staff, ann):
    with in_clinic(clinic_a):
        reward = make_template(clinic_a, kind="reward", name="Free polish")
        stamp = make_template(clinic_a, kind="stamp", name="Loyalty", stamps_required=2, reward_template=reward)
        card = services.issue_card(template=stamp, patient=ann, actor=SAM)
    staff.post(url(clinic_a, "cards:stamp", serial=card.serial))
    response = staff.post(url(clinic_a, "cards:stamp", serial=card.serial), follow=True)
    assert "earned “Free polish”" in response.content.decode()


def test_viewers_see_the_profile_but_cannot_redeem(clinic_a, in_clinic, client_for, linked):
    viewer = client_for(make_staff(clinic_a, Role.VIEWER))
    page = viewer.get(url(clinic_a, "dashboard:card", serial=linked.serial))
    assert page.status_code == 200 and "redeem-form" not in page.content.decode()
    assert viewer.post(url(clinic_a, "cards:redeem", serial=linked.serial), {"purchase_amount": "5"}).status_code == 403
