"""Apple Wallet passes for cards: a signed `.pkpass` built from the clinic's pass certificate (COU-2).

A `.pkpass` is a zip of `pass.json`, its images, `manifest.json` (the SHA-1 of every other file)
and `signature`: a detached PKCS #7 signature of the manifest by the clinic's Pass Type ID
certificate, carrying Apple's WWDR intermediate. The signing is `cryptography`'s PKCS #7 builder;
nothing here does cryptography by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from django.core.exceptions import ValidationError

from coupons.choices import CardKind
from coupons.models import Card, WalletPassConfig

CONTENT_TYPE = "application/vnd.apple.pkpass"


@dataclass(frozen=True)
class PassSigner:
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    wwdr: x509.Certificate


def load_signer(*, certificate_pem: str, private_key_pem: str, wwdr_certificate_pem: str) -> PassSigner:
    """Read the three PEM texts, or say which one is wrong, as form errors a clinic can act on."""
    errors: dict[str, str] = {}
    certificate = wwdr = key = None
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.strip().encode())
    except ValueError:
        errors["certificate_pem"] = "Paste the pass certificate as PEM text (-----BEGIN CERTIFICATE-----)."
    try:
        key = serialization.load_pem_private_key(private_key_pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        errors["private_key_pem"] = "Paste the certificate's private key as unencrypted PEM text (-----BEGIN PRIVATE KEY-----)."
    else:
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            errors["private_key_pem"] = "Use the RSA or EC key Apple's certificate was issued for."
    try:
        wwdr = x509.load_pem_x509_certificate(wwdr_certificate_pem.strip().encode())
    except ValueError:
        errors["wwdr_certificate_pem"] = "Paste Apple's WWDR intermediate certificate as PEM text."
    if certificate is not None and key is not None and "private_key_pem" not in errors:
        if certificate.public_key().public_numbers() != key.public_key().public_numbers():
            errors["private_key_pem"] = "This key does not belong to the pass certificate."
    if certificate is not None and wwdr is not None and certificate.issuer != wwdr.subject:
        errors["wwdr_certificate_pem"] = "This is not the certificate that issued the pass certificate."
    if errors:
        raise ValidationError(errors)
    return PassSigner(certificate=certificate, private_key=key, wwdr=wwdr)


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _solid_png(size: int, hex_colour: str) -> bytes:
    """A square PNG of one colour: the pass's icon and logo when the template has no image of its own."""
    pixel = bytes(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    raw = b"".join(b"\x00" + pixel * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pass_json(card: Card, config: WalletPassConfig, *, discount_label: str) -> dict:
    """The pass itself: the card's face, its serial as a QR code, its expiry (Apple's PassKit format)."""
    template, clinic = card.template, card.clinic
    fields = {
        "primaryFields": [{"key": "offer", "label": template.name,
                           "value": f"{card.stamps} of {template.stamps_required} stamps"
                           if template.kind == CardKind.STAMP else discount_label}],
        "secondaryFields": [{"key": "holder", "label": "Card holder", "value": card.holder_name or card.patient.full_name}],
        "auxiliaryFields": [{"key": "expires", "label": "Valid until",
                             "value": card.expires_on.isoformat() if card.expires_on else "No end date"}],
        "backFields": [{"key": "terms", "label": "About this card", "value": template.description or template.name},
                       {"key": "serial", "label": "Card number", "value": card.serial}],
    }
    body = {
        "formatVersion": 1,
        "passTypeIdentifier": config.pass_type_identifier,
        "teamIdentifier": config.team_identifier,
        "serialNumber": card.serial,
        "organizationName": clinic.name,
        "description": f"{template.name} · {clinic.name}",
        "logoText": clinic.name,
        "backgroundColor": _rgb(template.colour),
        "foregroundColor": "rgb(255, 255, 255)",
        "labelColor": "rgb(255, 255, 255)",
        "barcodes": [{"format": "PKBarcodeFormatQR", "message": card.serial, "messageEncoding": "iso-8859-1",
                      "altText": card.serial}],
        "storeCard" if template.kind == CardKind.STAMP else "coupon": fields,
    }
    if card.expires_on:
        body["expirationDate"] = f"{card.expires_on.isoformat()}T23:59:59{_utc_offset(card)}"
    if card.is_deleted:
        body["voided"] = True
    return body


def _utc_offset(card: Card) -> str:
    from datetime import datetime, time

    offset = datetime.combine(card.expires_on, time(23, 59, 59), tzinfo=card.clinic.tzinfo).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def build_pkpass(card: Card, config: WalletPassConfig, *, discount_label: str) -> bytes:
    """The signed `.pkpass` of a card, as the phone's Wallet opens it."""
    signer = load_signer(certificate_pem=config.certificate_pem, private_key_pem=config.private_key_pem,
                         wwdr_certificate_pem=config.wwdr_certificate_pem)
    colour = card.template.colour
    files = {
        "pass.json": json.dumps(pass_json(card, config, discount_label=discount_label), indent=2).encode(),
        "icon.png": _solid_png(29, colour), "icon@2x.png": _solid_png(58, colour),
        "logo.png": _solid_png(50, colour), "logo@2x.png": _solid_png(100, colour),
    }
    manifest = json.dumps({name: hashlib.sha1(data).hexdigest() for name, data in files.items()},
                          indent=2).encode()
    signature = (pkcs7.PKCS7SignatureBuilder().set_data(manifest)
                 .add_signer(signer.certificate, signer.private_key, hashes.SHA256())
                 .add_certificate(signer.wwdr)
                 .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**files, "manifest.json": manifest, "signature": signature}.items():
            archive.writestr(name, data)
    return buffer.getvalue()
