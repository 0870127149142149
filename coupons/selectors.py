"""Reads for coupon, stamp and reward cards (COU-1, COU-2, COU-4, COU-5), their pushes and feedback (COU-7, COU-8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from clinic_crm.common.sorting import column_order, valid_sort
from clinic_crm.patients.models import Patient
from coupons.choices import CardStatus
from coupons.models import Card, CardActivity, CardTemplate, Feedback, WalletPassConfig
from notifications.choices import ScheduledPushStatus
from notifications.models import PushNotification, ScheduledPush
from redemptions.registry import PromotionInfo


def installed_users_filter() -> Q:
    """Cards counted as a template's installed users: installed by the customer themselves.

    A card a linked coupon turned into (COU-4) or a stamp card rewarded is not counted: the
    installation is recorded only under the card the customer installed, as seed 002 says.
    """
    return Q(cards__status=CardStatus.INSTALLED, cards__converted_from__isnull=True)


# The Coupon cards list's sortable columns (clinic_crm.common.sorting).
TEMPLATE_SORTS = {"created": ("created_at", "id"), "name": ("name", "id"), "kind": ("kind", "name"),
                  "installed": ("installed_users", "id"), "issued": ("issued", "id")}
TEMPLATE_CSV_COLUMNS = ["Card", "Kind", "Discount", "Installed users", "Issued", "Valid for (days after issue)",
                        "Valid until", "Created", "Promotion id"]


def list_card_templates(*, sort: str = "-created") -> QuerySet[CardTemplate]:
    """The clinic's card templates, newest first unless sorted by a column, each with `installed_users` and
    `issued` counts (COU-1)."""
    return (CardTemplate.objects.select_related("linked_template", "reward_template")
            .annotate(installed_users=Count("cards", filter=installed_users_filter()),
                      issued=Count("cards", filter=~Q(cards__status=CardStatus.DELETED)))
            .order_by(*column_order(valid_sort(sort, TEMPLATE_SORTS, "-created"), TEMPLATE_SORTS)))


def iter_template_csv_rows(*, templates, discount_label_of):
    """The card templates as the list shows them, for a CSV download."""
    yield TEMPLATE_CSV_COLUMNS
    for t in templates:
        yield [t.name, t.get_kind_display(), discount_label_of(t), t.installed_users, t.issued, t.validity_days or "",
               t.valid_until.isoformat() if t.valid_until else "",
               timezone.localtime(t.created_at).isoformat(timespec="seconds"), t.promotion_key]


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


def list_pushable_cards(*, patient) -> QuerySet[Card]:
    """The customer's cards a push can be about: every one not deleted (COU-7)."""
    return (Card.objects.filter(patient=patient).exclude(status=CardStatus.DELETED).select_related("template")
            .order_by("-issued_at", "-id"))


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


# --- pushes (COU-7) --------------------------------------------------------------------------------


def list_scheduled_card_pushes(*, cards: list[Card]) -> list[ScheduledPush]:
    """The pushes scheduled for these cards: waiting ones first (soonest first), then the rest, newest first."""
    rows = list(ScheduledPush.objects.filter(source_key__in=[c.push_key for c in cards])
                .select_related("push").order_by("-send_at", "-id")[:50])
    waiting = sorted((r for r in rows if r.status == ScheduledPushStatus.SCHEDULED), key=lambda r: (r.send_at, r.id))
    return waiting + [r for r in rows if r.status != ScheduledPushStatus.SCHEDULED]


def get_scheduled_push(*, scheduled_id: int) -> ScheduledPush | None:
    return ScheduledPush.objects.filter(pk=scheduled_id).first()


def list_card_push_history(*, cards: list[Card], limit: int = 20) -> list[PushNotification]:
    """Pushes these cards' holder was sent, as the push history keeps them (the newest 50 of the clinic)."""
    keys = [c.push_key for c in cards]
    return list(PushNotification.objects.filter(source_key__in=keys).order_by("-created_at", "-id")[:limit])


# --- feedback (COU-8) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackSummary:
    average: Decimal | None
    count: int


def summarise_feedback(*, patient: Patient) -> FeedbackSummary:
    """The customer's feedback rating: the mean of every rating they left, to one decimal."""
    row = Feedback.objects.filter(patient=patient).aggregate(average=Avg("rating"), count=Count("id"))
    average = row["average"]
    return FeedbackSummary(
        average=Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if average is not None else None, count=row["count"])


def list_feedback(*, patient: Patient, since: datetime | None = None, before: datetime | None = None,
                  only_comments: bool = False) -> QuerySet[Feedback]:
    """The customer's feedback, newest first, left at or after `since` and before `before` (aware datetimes)."""
    queryset = Feedback.objects.filter(patient=patient).select_related("card__template")
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if before is not None:
        queryset = queryset.filter(created_at__lt=before)
    if only_comments:
        queryset = queryset.exclude(comment="")
    return queryset.order_by("-created_at", "-id")


def get_wallet_pass_config() -> WalletPassConfig | None:
    """The clinic's Apple Wallet pass certificate, when it has set one (COU-2)."""
    return WalletPassConfig.objects.first()


def list_app_card_templates(*, clinic, today) -> list[dict]:
    """The clinic's card designs as the patient app's config lists them ("cards"), oldest first (COU-1)."""
    cards = []
    templates = CardTemplate.objects.exclude(valid_until__lt=today).select_related("reward_template")
    for template in templates.order_by("created_at", "id"):
        # A stamp card gives nothing itself: what it leads to is its reward's discount.
        gives = template.reward_template if template.reward_template_id else template
        cards.append({
            "id": template.promotion_key, "kind": template.kind, "name": template.name,
            "description": template.description, "colour": template.colour, "logo_url": template.logo_url,
            "discount_label": gives.discount_label_in(clinic.currency),
            "stamps_required": template.stamps_required, "valid_until": template.valid_until,
        })
    return cards


# --- as promotions (RED-6, RED-7) -----------------------------------------------------------------------

def _template_promotion(template: CardTemplate, clinic) -> PromotionInfo:
    # Each card is its own patient's, so a card template is a personalised promotion.
    return PromotionInfo(
        key=template.promotion_key, kind="card", id=template.pk, name=template.name, type="personalised",
        status=f"{template.get_kind_display()} card", reporting_start=template.created_at,
        url=reverse("cards:detail", args=[clinic.slug, template.pk]), discount_type=template.discount_type,
        discount_value=template.discount_value, discount_label=template.discount_label_in(clinic.currency))


def list_card_template_promotions(*, clinic) -> list[PromotionInfo]:
    return [_template_promotion(template, clinic) for template in CardTemplate.objects.order_by("-created_at", "-id")]


def get_card_template_promotion(*, clinic, promotion_id: int) -> PromotionInfo | None:
    template = CardTemplate.objects.filter(pk=promotion_id).first()
    return _template_promotion(template, clinic) if template else None
