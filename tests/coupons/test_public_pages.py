"""A customer's own card pages: install from the installation link, share through the referral link (COU-2)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from clinic_crm.patients.models import Patient
from coupons import services
from coupons.choices import CardStatus
from coupons.models import Card
from tests.coupons.factories import SAM, make_template
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        template = make_template(clinic_a, name="Welcome", custom_fields=[
            {"key": "favourite_treatment", "label": "Favourite treatment", "required": True},
            {"key": "pet_name", "label": "Pet's name"}])
        return services.issue_card(template=template, patient=PatientFactory(first_name="Ann"), actor=SAM)


def install_url(card):
    return reverse("card_install", kwargs={"clinic_slug": card.clinic.slug, "token": card.install_token})


def refer_url(card):
    return reverse("card_refer", kwargs={"clinic_slug": card.clinic.slug, "token": card.referral_token})


def reload(clinic, in_clinic, card) -> Card:
    with in_clinic(clinic):
        return Card.objects.get(pk=card.pk)


def test_the_installation_page_shows_the_card_its_qr_code_and_asks_the_custom_fields(card):
    page = Client().get(install_url(card) + "?utm=instagram").content.decode()
    assert card.serial in page and "Welcome" in page and "20% Off" in page
    assert '<svg width=' in page  # the serial as a QR code
    assert 'name="field_favourite_treatment"' in page and 'value="instagram"' in page
    assert f'rel="manifest" href="{install_url(card)}manifest.webmanifest"' in page


def test_installing_records_the_pwa_the_links_utm_and_the_fields(clinic_a, in_clinic, card):
    # when the customer fills the fields and installs from a link shared on Instagram
    response = Client().post(install_url(card), {"utm": "instagram", "field_favourite_treatment": "Whitening",
                                                 "field_pet_name": ""})
    # then the card is installed as a PWA, through that channel, with what they entered
    assert response.status_code == 302
    installed = reload(clinic_a, in_clinic, card)
    assert (installed.status, installed.installed_on, installed.utm) == (CardStatus.INSTALLED, "pwa", "instagram")
    assert installed.custom_fields == {"favourite_treatment": "Whitening"}
    assert "On your phone" in Client().get(install_url(card)).content.decode()


def test_a_required_field_left_empty_is_asked_for_and_nothing_is_installed(clinic_a, in_clinic, card):
    response = Client().post(install_url(card), {"field_favourite_treatment": " "})
    assert response.status_code == 200 and "Enter your favourite treatment." in response.content.decode()
    assert reload(clinic_a, in_clinic, card).status == CardStatus.NOT_INSTALLED


def test_the_manifest_saves_the_card_on_the_home_screen(card):
    response = Client().get(install_url(card) + "manifest.webmanifest")
    manifest = json.loads(response.content)
    assert response["Content-Type"] == "application/manifest+json"
    assert (manifest["start_url"], manifest["display"]) == (install_url(card), "standalone")


@pytest.mark.parametrize("state,text", [("deleted", "was deleted"), ("expired", "expired on")])
def test_a_deleted_or_expired_cards_page_says_so_and_offers_no_install(clinic_a, in_clinic, card, state, text):
    with in_clinic(clinic_a):
        if state == "deleted":
            services.delete_card(card=card, actor=SAM)
        else:
            services.change_card_expiration(card=card, expires_on=clinic_a.today() - timedelta(days=1), actor=SAM)
    page = Client().get(install_url(card)).content.decode()
    assert text in page and "Add to my phone" not in page
    Client().post(install_url(card), {"field_favourite_treatment": "X"})
    assert reload(clinic_a, in_clinic, card).status != CardStatus.INSTALLED


def test_a_referral_link_gives_a_friend_their_own_card_and_records_who_referred_them(clinic_a, in_clinic, card):
    # when a friend opens Ann's referral link and gives their details
    response = Client().post(refer_url(card), {"first_name": "Bea", "last_name": "Friend",
                                               "email": "bea@example.com"})
    # then Bea is a patient with a card of the same template, referred by Ann's card
    with in_clinic(clinic_a):
        bea = Patient.objects.get(email="bea@example.com")
        friend_card = Card.objects.get(patient=bea)
    assert (friend_card.template_id, friend_card.referred_by_id, friend_card.utm) == (card.template_id, card.pk,
                                                                                      "referral")
    assert response.status_code == 302 and response["Location"] == install_url(friend_card)


def test_a_referral_never_hands_out_an_existing_patients_card(clinic_a, in_clinic, card):
    with in_clinic(clinic_a):
        PatientFactory(email="known@example.com")
    response = Client().post(refer_url(card), {"first_name": "K", "email": "KNOWN@example.com"})
    assert response.status_code == 200 and "already known" in response.content.decode()
    with in_clinic(clinic_a):
        assert Card.objects.count() == 1


def test_referrals_from_one_address_are_limited(clinic_a, in_clinic, card):
    client = Client()
    answers = [client.post(refer_url(card), {"first_name": "F", "email": f"f{n}@example.com"}).status_code
               for n in range(11)]
    assert answers == [302] * 10 + [200]
