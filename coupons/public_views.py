"""The customer's own pages of a card: install it, and share it with a friend (COU-2).

No staff login: the link's unguessable token is the credential, under the clinic's address
(`/cards/<clinic>/…`), so a lookup runs in that clinic's scope and another clinic's token is a 404.
"""

from __future__ import annotations

import json

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.lockout import client_address
from clinic_crm.tenancy.models import Clinic
from coupons import selectors, services
from coupons.choices import CardStatus, InstalledOn
from coupons.models import Card
from coupons.wallet import CONTENT_TYPE, build_pkpass

REFERRALS_PER_HOUR = 10


def _clinic(slug: str) -> Clinic:
    clinic = Clinic.objects.filter(slug=slug, is_active=True).first()
    if clinic is None:
        raise Http404("No such card")
    return clinic


def _card(clinic: Clinic, **lookup) -> Card:
    card = Card.objects.select_related("template", "patient", "clinic").filter(**lookup).first()
    if card is None:
        raise Http404("No such card")
    return card


def _serial_qr(card: Card) -> str:
    import segno

    return segno.make(card.serial, error="m").svg_inline(scale=6, border=1, dark="#0f172a")


def _state(card: Card, today) -> str:
    if card.is_deleted:
        return "deleted"
    if card.is_expired(today):
        return "expired"
    return "installed" if card.status == CardStatus.INSTALLED else "new"


@require_http_methods(["GET", "POST"])
def card_install(request, clinic_slug, token):
    """The installation link: the card with its serial as a QR code, its custom fields, and Install."""
    clinic = _clinic(clinic_slug)
    with clinic_scope(clinic.pk):
        card = _card(clinic, install_token=token)
        errors = {}
        wallet = selectors.get_wallet_pass_config()
        if request.method == "POST":
            answers = {item["key"]: request.POST.get(f"field_{item['key']}", "") for item in card.template.custom_fields}
            to_wallet = request.POST.get("install") == "apple_wallet" and wallet is not None
            try:
                services.install_card(card=card, installed_on=InstalledOn.APPLE_WALLET if to_wallet else InstalledOn.PWA,
                                      utm=request.POST.get("utm", ""), custom_fields=answers)
                if to_wallet:
                    return redirect("card_wallet_pass", clinic_slug=clinic.slug, token=token)
                return redirect(request.path)
            except ValidationError as exc:
                errors = {key: messages[0] for key, messages in exc.message_dict.items()}
            except ApplicationError:
                card.refresh_from_db()
        today = clinic.today()
        fields = [{**item, "value": card.custom_fields.get(item["key"], ""), "error": errors.get(item["key"])}
                  for item in card.template.custom_fields]
        return render(request, "coupons/card_public.html", {
            "clinic": clinic, "card": card, "template": card.template, "state": _state(card, today),
            "discount_label": card.template.discount_label_in(clinic.currency), "qr": _serial_qr(card),
            "fields": fields, "utm": request.GET.get("utm", "")[:80], "apple_wallet": wallet is not None,
            "manifest_url": reverse("card_manifest", kwargs={"clinic_slug": clinic.slug, "token": token}),
        })


def card_wallet_pass(request, clinic_slug, token):
    """The card as a signed Apple Wallet pass, once it was installed to the Wallet from its page (COU-2)."""
    clinic = _clinic(clinic_slug)
    with clinic_scope(clinic.pk):
        card = _card(clinic, install_token=token)
        config = selectors.get_wallet_pass_config()
        usable = _state(card, clinic.today()) == "installed" and card.installed_on == InstalledOn.APPLE_WALLET
        if config is None or not usable:
            return redirect("card_install", clinic_slug=clinic.slug, token=token)
        body = build_pkpass(card, config, discount_label=card.template.discount_label_in(clinic.currency))
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{card.serial}.pkpass"'
    response["Cache-Control"] = "no-store"
    return response


def card_manifest(request, clinic_slug, token):
    """The web app manifest that saves the card on the home screen (a PWA) (COU-2)."""
    clinic = _clinic(clinic_slug)
    with clinic_scope(clinic.pk):
        card = _card(clinic, install_token=token)
        start = reverse("card_install", kwargs={"clinic_slug": clinic.slug, "token": token})
        manifest = {
            "name": f"{card.template.name} · {clinic.name}", "short_name": card.template.name[:12],
            "start_url": start, "scope": start, "display": "standalone",
            "background_color": "#ffffff", "theme_color": card.template.colour,
            "icons": [{"src": request.build_absolute_uri("/static/img/card-icon.svg"), "sizes": "any",
                       "type": "image/svg+xml"}],
        }
    return HttpResponse(json.dumps(manifest), content_type="application/manifest+json")


@require_http_methods(["GET", "POST"])
def card_refer(request, clinic_slug, token):
    """A customer's referral link: a friend gets their own card of the same template (COU-2)."""
    clinic = _clinic(clinic_slug)
    with clinic_scope(clinic.pk):
        card = _card(clinic, referral_token=token)
        error, values = None, {}
        if request.method == "POST":
            values = {key: request.POST.get(key, "").strip() for key in ("first_name", "last_name", "email")}
            if not values["first_name"] or "@" not in values["email"] or len(values["email"]) > 254:
                error = "Enter your first name and your e-mail address."
            elif not _take_referral_slot(request, clinic):
                error = "Too many cards were asked for from here. Try again in an hour."
            else:
                try:
                    new_card = services.issue_referral_card(card=card, first_name=values["first_name"][:80],
                                                            last_name=values["last_name"][:80], email=values["email"])
                    return redirect("card_install", clinic_slug=clinic.slug, token=new_card.install_token)
                except (ApplicationError, ValidationError) as exc:
                    error = getattr(exc, "message", None) or "; ".join(exc.messages)
        return render(request, "coupons/card_refer.html", {
            "clinic": clinic, "card": card, "template": card.template, "error": error, "values": values,
            "state": _state(card, clinic.today()),
            "discount_label": card.template.discount_label_in(clinic.currency),
        })


def _take_referral_slot(request, clinic: Clinic) -> bool:
    key = f"card-referrals:{clinic.pk}:{client_address(request)}"
    cache.add(key, 0, 3600)
    try:
        return cache.incr(key) <= REFERRALS_PER_HOUR
    except ValueError:
        return True
