"""Every dashboard page, addressed with the demo clinic's own rows, for the sweeps that visit them all:
axe-core and the layout in Chromium (tests/browser/test_accessibility.py) and the words staff read
(tests/dashboard/test_words.py).

A route of the clinic's dashboard is either a page here or an action below with the reason it is not
visited; `test_every_dashboard_route_is_a_page_or_an_action` keeps a new page from slipping past the sweeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.management import call_command
from django.urls import URLPattern, URLResolver, reverse

from clinic_crm.dashboard.management.commands.seed_demo import PASSWORD as DEMO_PASSWORD
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.models import Clinic

DEMO_SLUG = "harley-street"
DEMO_MAIL = "harley.demo"
__all__ = ["DEMO_PASSWORD"]


@dataclass(frozen=True)
class DemoRows:
    """One row of each kind in the demo clinic, the richest where it matters (a patient with orders)."""

    patient_id: int
    order_id: int
    offer_id: int
    automated_id: int
    promo_id: int
    template_id: int
    serial: str
    response_id: int
    definition_id: int
    promotion_key: str


# route -> its kwargs from the demo's rows
PAGES: dict[str, Callable[[DemoRows], dict]] = {
    "dashboard:overview": lambda d: {},
    "dashboard:patient": lambda d: {"patient_id": d.patient_id},
    "dashboard:card": lambda d: {"serial": d.serial},
    "dashboard:card_feedback": lambda d: {"serial": d.serial},
    "dashboard:promotions": lambda d: {},
    "dashboard:promotion": lambda d: {"promotion_key": d.promotion_key},
    "patients:list": lambda d: {},
    "patients:create": lambda d: {},
    "patients:edit": lambda d: {"patient_id": d.patient_id},
    "offers:list": lambda d: {},
    "offers:automated": lambda d: {},
    "offers:create": lambda d: {},
    "offers:edit": lambda d: {"offer_id": d.offer_id},
    "offers:delete": lambda d: {"offer_id": d.offer_id},
    "offers:redemptions": lambda d: {"offer_id": d.offer_id},
    "offers:automated_edit": lambda d: {"automated_id": d.automated_id},
    "promos:list": lambda d: {},
    "promos:compare": lambda d: {},
    "promos:portfolio": lambda d: {},
    "promos:create": lambda d: {},
    "promos:detail": lambda d: {"promo_id": d.promo_id},
    "promos:edit": lambda d: {"promo_id": d.promo_id},
    "promos:archive": lambda d: {"promo_id": d.promo_id},
    "cards:list": lambda d: {},
    "cards:create": lambda d: {},
    "cards:wallet": lambda d: {},
    "cards:detail": lambda d: {"template_id": d.template_id},
    "cards:edit": lambda d: {"template_id": d.template_id},
    "responses:list": lambda d: {},
    "responses:detail": lambda d: {"response_id": d.response_id},
    "exports:list": lambda d: {},
    "exports:create": lambda d: {},
    "exports:detail": lambda d: {"definition_id": d.definition_id},
    "exports:edit": lambda d: {"definition_id": d.definition_id},
    "revenue:list": lambda d: {},
    "revenue:detail": lambda d: {"order_id": d.order_id},
    "settings:clinic": lambda d: {},
    "settings:onesignal": lambda d: {},
    "settings:api_keys": lambda d: {},
    "settings:staff": lambda d: {},
}

# Routes of the clinic's dashboard that are not pages, each with the reason it is not visited.
ACTIONS = {
    "dashboard:card_information": "a form post from the card's page",
    "dashboard:card_push": "a form post from the card's page",
    "dashboard:card_push_cancel": "a form post from the card's page",
    "patients:export": "a CSV download",
    "patients:rfm_recompute": "a form post from the Patients page",
    "offers:publish": "a form post from the Offers list",
    "offers:unpublish": "a form post from the Offers list",
    "offers:push": "a form post from the offer's form",
    "offers:automated_activate": "a form post from the Automated list",
    "offers:automated_deactivate": "a form post from the Automated list",
    "offers:automated_publish": "a form post from the Automated list",
    "offers:automated_unpublish": "a form post from the Automated list",
    "promos:pause": "a form post from the promo's page",
    "promos:activate": "a form post from the promo's page",
    "promos:generate_codes": "a form post from the promo's page",
    "promos:codes_csv": "a CSV download",
    "cards:wallet_remove": "a form post from the Apple Wallet page",
    "cards:issue": "a form post from the card template's page",
    "cards:redeem": "a form post from the card's page",
    "cards:stamp": "a form post from the card's page",
    "cards:delete": "a form post from the card's page",
    "cards:expiration": "a form post from the card's page",
    "exports:run": "a form post from the export's page",
    "exports:download": "a file download",
    "revenue:export": "a CSV download",
    "dashboard:promotions_export": "a CSV download",
    "promos:export": "a CSV download",
    "responses:export": "a CSV download",
    "cards:export": "a CSV download",
    "settings:app_key_regenerate": "a form post from the clinic settings",
    "settings:api_key_revoke": "a form post from the API keys page",
    "settings:staff_two_factor": "a form post from the Staff page",
    "settings:staff_role": "a form post from the Staff page",
    "settings:staff_remove": "a form post from the Staff page",
    "settings:staff_invitation_resend": "a form post from the Staff page",
    "settings:staff_invitation_revoke": "a form post from the Staff page",
}

# A signed-in login's own pages, outside any clinic.
ACCOUNT_PAGES = ["password_change", "two_factor_manage"]
# Pages seen signed out.
SIGNED_OUT_PAGES = ["login", "password_reset"]


def clinic_route_names() -> set[str]:
    """Every named route under /c/<clinic>/."""
    from clinic_crm.urls import clinic_urls

    names: set[str] = set()

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.add(f"{namespace}{p.name}")

    walk(clinic_urls)
    return names


def seed_demo() -> Clinic:
    """The demo (small), and its London clinic."""
    call_command("seed_demo", "--patients", "30", "--orders", "60", stdout=_Discard())
    return Clinic.objects.get(slug=DEMO_SLUG)


def demo_rows(clinic: Clinic) -> DemoRows:
    from django.db.models import Count

    from clinic_crm.patients.models import Patient
    from coupons.models import Card
    from offers.models import AutomatedOffer, Offer
    from promos.models import Promo
    from redemptions.models import ExportDefinition, OfferResponse

    with clinic_scope(clinic.pk):
        patient = Patient.objects.annotate(n=Count("orders")).order_by("-n", "id").first()
        offer = Offer.objects.filter(published=True).order_by("id").first()
        promo = Promo.objects.get(name="Welcome 10%")
        card = Card.objects.filter(template__kind="coupon", deleted_at=None).order_by("id").first()
        return DemoRows(
            patient_id=patient.pk, order_id=patient.orders.order_by("-id").first().pk, offer_id=offer.pk,
            automated_id=AutomatedOffer.objects.get(occasion="christmas").pk, promo_id=promo.pk,
            template_id=card.template_id, serial=card.serial,
            response_id=OfferResponse.objects.order_by("id").first().pk,
            definition_id=ExportDefinition.objects.order_by("id").first().pk,
            promotion_key=promo.promotion_key,
        )


def page_urls(clinic: Clinic) -> list[tuple[str, str]]:
    """(route, address) of every dashboard page of the clinic, then the login's own pages."""
    rows = demo_rows(clinic)
    pages = [(name, reverse(name, kwargs={"clinic_slug": clinic.slug, **kwargs(rows)}))
             for name, kwargs in PAGES.items()]
    return pages + [(name, reverse(name)) for name in ACCOUNT_PAGES]


class _Discard:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass
