"""Push texts say the offer's own figure: {discount} and {clinic} are filled in when sent, {first_name} is
left for the push provider to fill in per recipient, an unknown placeholder is a form error, and a text naming
another figure than the discount is flagged."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from notifications.models import PushNotification
from offers import services
from offers.choices import Occasion
from offers.models import AutomatedOffer
from offers.push_text import mismatched_figures, unknown_placeholders

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text,kind,value,wrong", [
    ("Celebrate with 10% off on us", "percent", Decimal("15"), ["10%"]),
    ("Celebrate with 15 % off", "percent", Decimal("15"), []),
    ("Celebrate with {discount}", "percent", Decimal("15"), []),
    ("£25 off, or 20% for two", "amount", Decimal("20.00"), ["£25"]),
    ("£20.00 off whitening", "amount", Decimal("20.00"), []),
    ("A free clean-up", "free_treatment", None, []),
])
def test_figures_that_differ_from_the_discount_are_found(text, kind, value, wrong):
    assert mismatched_figures(text, discount_type=kind, discount_value=value) == wrong


def test_only_our_placeholders_are_known():
    assert unknown_placeholders("Hi from {clinic}: {discount}") == []
    assert unknown_placeholders("Hi {first_name}") == []
    assert unknown_placeholders("Hi {name}") == ["{name}"]
    assert unknown_placeholders("50% {off") == ["a lone { or }"]


def edit(client, clinic, offer, **changes):
    data = {"discount_type": "percent", "discount_value": "15", "push_title": "Happy birthday!",
            "push_message": "Celebrate with 10% off on us.", "validity_days": "7", "active": "on", "published": "on",
            **changes}
    return client.post(reverse("offers:automated_edit", args=[clinic.slug, offer.pk]), data, follow=True)


def test_a_birthday_push_that_says_10_percent_for_a_15_percent_offer_is_flagged(clinic_a, in_clinic, owner_a,
                                                                                   client_for):
    with in_clinic(clinic_a):
        birthday = AutomatedOffer.objects.get(occasion=Occasion.BIRTHDAY)
    client = client_for(owner_a)
    # when the owner saves a 15% Birthday offer whose push still says 10%
    saved = edit(client, clinic_a, birthday).content.decode()
    # then the save says so, and so does its row until it is fixed
    assert "push says 10%, but the offer gives 15% off" in saved
    listing = client.get(reverse("offers:automated", args=[clinic_a.slug])).content.decode()
    assert 'data-testid="push-warning"' in listing
    # with {discount} instead, nothing is flagged
    fixed = edit(client, clinic_a, birthday, push_message="Celebrate with {discount} on us.").content.decode()
    assert "push says" not in fixed
    assert 'data-testid="push-warning"' not in client.get(reverse("offers:automated", args=[clinic_a.slug])).content.decode()


def test_an_unknown_placeholder_is_a_form_error(clinic_a, in_clinic, owner_a, client_for):
    with in_clinic(clinic_a):
        birthday = AutomatedOffer.objects.get(occasion=Occasion.BIRTHDAY)
    response = edit(client_for(owner_a), clinic_a, birthday, push_message="Hi {name}, enjoy {discount}")
    assert "Unknown placeholder {name}" in " ".join(response.context["form"].errors["push_message"])


def test_the_push_patients_get_says_the_discount_and_the_clinic(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        christmas = AutomatedOffer.objects.get(occasion=Occasion.CHRISTMAS)
        services.configure_automated_offer(automated_offer=christmas, data={
            "active": True, "published": True, "discount_value": Decimal("20"),
            "push_title": "Merry Christmas from {clinic}", "push_message": "Our gift to you: {discount}."})
        services.fire_automated_offer(clinic=clinic_a, automated_offer=christmas, occurrence=date(2026, 12, 25))
        push = PushNotification.objects.get(source_key=christmas.promotion_key)
    assert (push.title, push.message) == ("Merry Christmas from Clinic A", "Our gift to you: 20% off.")


def test_a_first_name_placeholder_is_kept_for_each_recipient(clinic_a, in_clinic, owner_a, client_for):
    with in_clinic(clinic_a):
        birthday = AutomatedOffer.objects.get(occasion=Occasion.BIRTHDAY)
    # the form takes it (the saved text is what the push is made from below)
    edit(client_for(owner_a), clinic_a, birthday, discount_value="15",
         push_message="Happy birthday {first_name}: {discount} from {clinic}.")
    with in_clinic(clinic_a):
        birthday.refresh_from_db()
        # and the push keeps it for the provider, the rest filled in
        assert birthday.push_texts(currency="GBP", clinic_name="Clinic A")[1] == (
            "Happy birthday {first_name}: 15% off from Clinic A.")
