"""Reads for coupon, stamp and reward cards (COU-1, COU-2, COU-4, COU-5)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from coupons.choices import CardStatus
from coupons.models import Card, CardActivity, CardTemplate


def installed_users_filter() -> Q:
    """Cards counted as a template's installed users: installed by the customer themselves.

    A card a linked coupon turned into (COU-4) or a stamp card rewarded is not counted: the
    installation is recorded only under the card the customer installed, as seed 002 says.
    """
    return Q(cards__status=CardStatus.INSTALLED, cards__converted_from__isnull=True)


def list_card_templates() -> QuerySet[CardTemplate]:
    """The clinic's card templates, newest first, each with `installed_users` and `issued` counts (COU-1)."""
    return (CardTemplate.objects.select_related("linked_template", "reward_template")
            .annotate(installed_users=Count("cards", filter=installed_users_filter()),
                      issued=Count("cards", filter=~Q(cards__status=CardStatus.DELETED)))
            .order_by("-created_at", "-id"))


def get_card_template(*, template_id: int) -> CardTemplate | None:
    return list_card_templates().filter(pk=template_id).first()


def list_template_cards(*, template: CardTemplate) -> QuerySet[Card]:
    return Card.objects.filter(template=template).select_related("patient").order_by("-issued_at", "-id")


def get_card(*, serial: str) -> Card | None:
    """The clinic's card with this serial (the clinic in scope), or None."""
    if not serial or len(serial) > 19:
        return None
    return Card.objects.select_related("template", "patient", "clinic", "converted_from").filter(
        serial=serial.strip().upper()).first()


def list_patient_cards(*, patient) -> list[Card]:
    return list(Card.objects.filter(patient=patient).select_related("template").order_by("-issued_at", "-id"))


def list_card_activity(*, card: Card, limit: int = 50) -> list[CardActivity]:
    return list(CardActivity.objects.filter(card=card).order_by("-created_at", "-id")[:limit])


def list_conversions(*, card: Card) -> list[Card]:
    """The cards this one turned into (a linked coupon's stamp or reward card, a full stamp card's rewards)."""
    return list(Card.objects.filter(converted_from=card).select_related("template").order_by("issued_at", "id"))


def count_converted_cards(*, template: CardTemplate) -> int:
    """Cards of the template given by a linked coupon or a full stamp card: not counted as installed users."""
    return Card.objects.filter(template=template, converted_from__isnull=False).exclude(
        status=CardStatus.DELETED).count()
