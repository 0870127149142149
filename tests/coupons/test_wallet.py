"""Apple Wallet passes (COU-2): the clinic's pass certificate, and a card installed as a signed `.pkpass`.

The certificates are made here, in the test: a throw-away "WWDR" authority and a pass certificate
it issued. The signature is checked with OpenSSL itself, as a verifier that shares no code with ours.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from django.urls import reverse

from coupons import services
from coupons.models import Card, WalletPassConfig
from tests.coupons.factories import SAM, make_template
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test")])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(item) -> str:
    if isinstance(item, x509.Certificate):
        return item.public_bytes(serialization.Encoding.PEM).decode()
    return item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def certificates():
    """A throw-away WWDR authority, a pass certificate it issued and its key, and a stranger's key."""
    wwdr_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wwdr = _certificate("Test WWDR", wwdr_key, "Test WWDR", wwdr_key, ca=True)
    pass_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = _certificate("Pass Type ID: pass.test.clinic", pass_key, "Test WWDR", wwdr_key, ca=False)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"wwdr": wwdr, "certificate": certificate, "key": pass_key, "stranger": stranger}


def _settings(certificates, **overrides) -> dict:
    return {"pass_type_identifier": "pass.test.clinic", "team_identifier": "ABCDE12345",
            "certificate_pem": _pem(certificates["certificate"]), "private_key_pem": _pem(certificates["key"]),
            "wwdr_certificate_pem": _pem(certificates["wwdr"]), **overrides}


@pytest.fixture
def owner(client_for, owner_a):
    return client_for(owner_a)


@pytest.fixture
def card(clinic_a, in_clinic):
    with in_clinic(clinic_a):
        template = make_template(clinic_a, name="Welcome", colour="#7c3aed", custom_fields=[
            {"key": "favourite_treatment", "label": "Favourite treatment", "required": True}])
        patient = PatientFactory(first_name="Ann", last_name="Lee")
        return services.issue_card(template=template, patient=patient, actor=SAM)


def _install_url(clinic, card):
    return reverse("card_install", kwargs={"clinic_slug": clinic.slug, "token": card.install_token})


def test_the_owner_turns_on_apple_wallet_and_the_key_is_kept_encrypted(clinic_a, in_clinic, owner, certificates):
    response = owner.post(reverse("cards:wallet", args=[clinic_a.slug]), _settings(certificates), follow=True)
    assert "Apple Wallet is on" in response.content.decode()
    with in_clinic(clinic_a):
        config = WalletPassConfig.objects.get()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT private_key_pem FROM {WalletPassConfig._meta.db_table} WHERE id = %s", [config.pk])
            stored = cursor.fetchone()[0]
    assert config.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE KEY" not in stored  # encrypted at rest
    page = owner.get(reverse("cards:wallet", args=[clinic_a.slug])).content.decode()
    assert "BEGIN PRIVATE KEY" not in page and "A private key is stored" in page
    # saving again without a key keeps the stored one
    owner.post(reverse("cards:wallet", args=[clinic_a.slug]), _settings(certificates, private_key_pem=""))
    with in_clinic(clinic_a):
        assert WalletPassConfig.objects.get().private_key_pem == config.private_key_pem


@pytest.mark.parametrize(("field", "value", "error"), [
    ("certificate_pem", "not a certificate", "Paste the pass certificate as PEM text"),
    ("private_key_pem", "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----", "unencrypted PEM"),
    ("private_key_pem", "stranger", "This key does not belong to the pass certificate."),
    ("wwdr_certificate_pem", "certificate", "This is not the certificate that issued the pass certificate."),
    ("team_identifier", "abc", "A Team ID is 10 letters and digits."),
    ("pass_type_identifier", "com.example", "A Pass Type ID looks like pass.com.yourclinic.cards."),
])
def test_a_wrong_certificate_key_or_id_is_a_form_error(clinic_a, in_clinic, owner, certificates, field, value, error):
    if value == "stranger":
        value = _pem(certificates["stranger"])
    elif value == "certificate":
        value = _pem(certificates["certificate"])
    response = owner.post(reverse("cards:wallet", args=[clinic_a.slug]), _settings(certificates, **{field: value}))
    assert response.status_code == 200
    assert any(error in message for message in response.context["form"].errors.get(field, [])), \
        response.context["form"].errors
    with in_clinic(clinic_a):
        assert not WalletPassConfig.objects.exists()


def test_only_the_owner_sets_the_certificate(clinic_a, client_for, staff_a, certificates):
    assert client_for(staff_a).get(reverse("cards:wallet", args=[clinic_a.slug])).status_code == 403
    assert client_for(staff_a).post(reverse("cards:wallet", args=[clinic_a.slug]),
                                    _settings(certificates)).status_code == 403


def test_without_a_certificate_the_page_offers_the_home_screen_only(clinic_a, client, card):
    page = client.get(_install_url(clinic_a, card)).content.decode()
    assert "Add to my phone" in page and "Add to Apple Wallet" not in page
    # and asking for the Wallet installs as a PWA
    client.post(_install_url(clinic_a, card), {"install": "apple_wallet", "field_favourite_treatment": "Whitening"})
    assert client.get(reverse("card_wallet_pass", kwargs={"clinic_slug": clinic_a.slug,
                                                          "token": card.install_token})).status_code == 302


def test_a_card_installs_into_apple_wallet_as_a_signed_pkpass(clinic_a, in_clinic, client, owner, card, certificates,
                                                              tmp_path):
    owner.post(reverse("cards:wallet", args=[clinic_a.slug]), _settings(certificates))
    assert "Add to Apple Wallet" in client.get(_install_url(clinic_a, card)).content.decode()

    # when the customer fills in the card's field and taps Add to Apple Wallet
    response = client.post(_install_url(clinic_a, card) + "?utm=sms", {
        "install": "apple_wallet", "utm": "sms", "field_favourite_treatment": "Whitening"})
    pass_url = reverse("card_wallet_pass", kwargs={"clinic_slug": clinic_a.slug, "token": card.install_token})
    assert response.status_code == 302 and response["Location"] == pass_url
    with in_clinic(clinic_a):
        card = Card.objects.get(pk=card.pk)
    assert (card.status, card.installed_on, card.utm, card.custom_fields) == (
        "installed", "apple_wallet", "sms", {"favourite_treatment": "Whitening"})

    # then the pass downloads as a zip
    response = client.get(pass_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    assert response["Content-Disposition"] == f'attachment; filename="{card.serial}.pkpass"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert names == {"pass.json", "icon.png", "icon@2x.png", "logo.png", "logo@2x.png", "manifest.json", "signature"}

    # whose manifest hashes every other file exactly
    manifest = json.loads(archive.read("manifest.json"))
    assert set(manifest) == names - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(archive.read(name)).hexdigest() == digest, name

    # and whose pass is this card
    body = json.loads(archive.read("pass.json"))
    assert (body["passTypeIdentifier"], body["teamIdentifier"], body["serialNumber"]) == (
        "pass.test.clinic", "ABCDE12345", card.serial)
    assert body["barcodes"][0]["message"] == card.serial and body["barcodes"][0]["format"] == "PKBarcodeFormatQR"
    assert body["backgroundColor"] == "rgb(124, 58, 237)"
    assert body["coupon"]["primaryFields"][0]["value"] == "20% Off"
    assert body["coupon"]["secondaryFields"][0]["value"] == "Ann Lee"
    assert archive.read("icon.png").startswith(b"\x89PNG\r\n\x1a\n")

    # and whose signature is the pass certificate's, over the manifest, carrying the WWDR certificate
    signature = archive.read("signature")
    carried = pkcs7.load_der_pkcs7_certificates(signature)
    assert certificates["certificate"] in carried and certificates["wwdr"] in carried
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command verifies the signature; install the openssl package"
    (tmp_path / "manifest.json").write_bytes(archive.read("manifest.json"))
    (tmp_path / "signature").write_bytes(signature)
    (tmp_path / "wwdr.pem").write_text(_pem(certificates["wwdr"]))
    verify = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "signature"),
              "-content", str(tmp_path / "manifest.json"), "-CAfile", str(tmp_path / "wwdr.pem"), "-purpose", "any",
              "-out", str(tmp_path / "verified")]
    result = subprocess.run(verify, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "verified").read_bytes() == archive.read("manifest.json")
    # a manifest changed after signing does not verify
    (tmp_path / "manifest.json").write_bytes(archive.read("manifest.json").replace(b"{", b"{ ", 1))
    assert subprocess.run(verify, capture_output=True).returncode != 0

    # the page now says it is in the Wallet, and offers it again
    page = client.get(_install_url(clinic_a, card)).content.decode()
    assert "It is in Apple Wallet" in page and "Add to Apple Wallet again" in page


def test_a_deleted_cards_pass_is_not_served(clinic_a, in_clinic, client, owner, card, certificates):
    owner.post(reverse("cards:wallet", args=[clinic_a.slug]), _settings(certificates))
    client.post(_install_url(clinic_a, card), {"install": "apple_wallet", "field_favourite_treatment": "Gum"})
    with in_clinic(clinic_a):
        services.delete_card(card=card, actor=SAM)
    response = client.get(reverse("card_wallet_pass", kwargs={"clinic_slug": clinic_a.slug,
                                                              "token": card.install_token}))
    assert response.status_code == 302 and response["Location"] == _install_url(clinic_a, card)
