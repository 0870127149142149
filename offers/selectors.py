"""Reads for the Offers section of the dashboard (OFF-1, OFF-3, OFF-9, OFF-12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils.formats import date_format

from clinic_crm.tenancy.models import Clinic
from notifications.models import PushNotification
from notifications.selectors import get_push_setup_problem, list_recent_pushes
from offers.choices import Occasion
from offers.models import AutomatedOffer, Offer
from offers.occasions import next_occurrence
from offers.push_text import mismatched_figures
from offers.services.redemption import PROMOTION_KEY, is_offer_redeemable
from redemptions.choices import RedemptionStatus
from redemptions.models import Redemption
from redemptions.registry import PromotionInfo

# How far ahead an occasion counts as "due" for the attention list (OFF-12).
DUE_WITHIN_DAYS = 14
# A cap four fifths used up (80%) is worth a look before patients start being turned away.
CATALOGUE_ORDER = {value: index for index, value in enumerate(Occasion.values)}
OCCASION_ICONS = {
    Occasion.NEW_YEAR: "party-popper", Occasion.VALENTINES_DAY: "heart", Occasion.MOTHERS_DAY: "flower-2",
    Occasion.EASTER: "egg", Occasion.FATHERS_DAY: "hand-heart", Occasion.SUMMER: "sun", Occasion.HALLOWEEN: "ghost",
    Occasion.BLACK_FRIDAY: "shopping-bag", Occasion.CHRISTMAS: "tree-pine", Occasion.BIRTHDAY: "cake",
}


@dataclass(frozen=True)
class OfferCard:
    """A one-time offer as its row in the list shows it."""

    offer: Offer
    discount_label: str
    usage_percent: int | None  # None when the offer has no cap
    ended: bool  # past its Until date
    upcoming: bool  # before its From date
    cap_reached: bool
    today: date  # the clinic's date the row was judged for

    @property
    def in_app(self) -> bool:
        """Whether patients can see and redeem it in the app right now: the app's own rule (OFF-7, OFF-8)."""
        return is_offer_redeemable(offer=self.offer, today=self.today)

    @property
    def can_push(self) -> bool:
        """Only an offer patients can act on gets a Push button (OFF-5): the same rule the push refuses by."""
        return self.in_app

    @property
    def state(self) -> str:
        """The one overall state a clinic reads on the row, besides the seed's Published/Draft badge.

        "draft" is a published-flag state, so the row's Draft badge says it and no second badge is shown.
        Ended comes first because it is final; Inactive next because it is the clinic's own switch.
        """
        if self.ended:
            return "ended"
        if not self.offer.active:
            return "inactive"
        if self.cap_reached:
            return "cap_reached"
        if self.upcoming:
            return "scheduled"
        if not self.offer.published:
            return "draft"
        return "live"


@dataclass(frozen=True)
class AutomatedOfferCard:
    """An automated offer as its row shows it, with the date it next fires."""

    automated_offer: AutomatedOffer
    discount_label: str
    next_date: date | None  # None for Birthday: it fires on each patient's own birthday
    today: date | None = None
    # The last day of the occurrence that fired and is still redeemable in the app, when there is one.
    open_until: date | None = None
    push_warning: str = ""  # the push names another figure than the discount

    @property
    def app_from(self) -> date | None:
        """The first day the app shows it before it fires (its lead time), if it has one."""
        lead = self.automated_offer.app_lead_days
        return self.next_date - timedelta(days=lead) if self.next_date and lead else None

    @property
    def is_birthday(self) -> bool:
        return self.automated_offer.occasion == Occasion.BIRTHDAY

    @property
    def days_until(self) -> int | None:
        """Days from the clinic's today to the next occasion (0 on the day itself)."""
        if self.next_date is None or self.today is None:
            return None
        return (self.next_date - self.today).days

    @property
    def due_label(self) -> str:
        """How far off the next occasion is, in words that fit a phone row: "today", "in 12 days", "in 3 months"."""
        days = self.days_until
        if days is None:
            return ""
        if days == 0:
            return "today"
        if days == 1:
            return "tomorrow"
        if days <= 45:
            return f"in {days} days"
        months = round(days / 30.44)
        return f"in {months} month{'s' if months != 1 else ''}"

    @property
    def tab_rank(self) -> tuple:
        """Where the Automated tab lists it: open in the app now, then active, then inactive; soonest first.

        Birthday has no single date; it fires for somebody most days, so it counts as due today.
        """
        a = self.automated_offer
        group = 0 if self.open_until else (1 if a.active else 2)
        when = self.next_date or self.today or date.max
        return group, when, CATALOGUE_ORDER.get(a.occasion, len(CATALOGUE_ORDER))

    @property
    def icon(self) -> str:
        return OCCASION_ICONS.get(self.automated_offer.occasion, "calendar")


@dataclass(frozen=True)
class OfferRedemptionSummary:
    redemptions: int
    applied: int
    pending: int
    cancelled: int
    discount_given: Decimal
    revenue: Decimal


@dataclass(frozen=True)
class AttentionItem:
    """One thing about offers that will surprise the clinic if left alone (OFF-12)."""

    key: str  # stable, for tests and de-duplication: "unpublished_automated:christmas"
    level: str
    title: str
    text: str  # what is wrong: shown to everyone
    advice: str  # what to do about it: shown to those who can change offers ("" when the text says it all)
    url_name: str  # takes only the clinic slug, as the dashboard's attention list links it
    anchor: str = ""  # the row it is about on that page ("automated-12"), so the link lands on it
    fix_role: str = "staff"  # the least role that can make the fix; others are told who can
    fix_label: str = "Fix it"


@dataclass(frozen=True)
class PushHistoryRow:
    """A row of Push Notification History with the offer that sent it, when one did and still exists (OFF-6)."""

    push: PushNotification
    offer: Offer | None = None
    automated_offer: AutomatedOffer | None = None
    from_offer: bool = False  # sent by an offer, even one deleted since


@dataclass(frozen=True)
class AppOffer:
    """An offer the patient app shows now, and whether the app may redeem it today (OFF-7)."""

    offer: Offer | AutomatedOffer
    redeemable: bool


def in_app_window(*, offer: AutomatedOffer, today: date, locale: str) -> bool:
    """Whether the app shows a published occasion offer on the clinic's date `today`: from when it
    fires until its last redeemable day, or from its lead days before; never months ahead. Birthday
    is each patient's own day, so it stays listed (redeeming checks the patient's window)."""
    if offer.occasion == Occasion.BIRTHDAY:
        return True
    if offer.redeemable_until is not None and today <= offer.redeemable_until:
        return True
    if not offer.app_lead_days:
        return False
    upcoming = next_occurrence(offer.occasion, today, locale)
    return upcoming is not None and (upcoming - today).days <= offer.app_lead_days


def list_app_offers(*, today: date, locale: str = "uk") -> list[AppOffer]:
    """What the app shows for the clinic's date `today`: live one-time offers, newest first, then
    published automated offers inside their window, by occasion (OFF-7)."""
    one_time = (Offer.objects.filter(published=True, active=True)
                .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=today))
                .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
                .order_by("-created_at", "-id"))
    automated = [offer for offer in AutomatedOffer.objects.filter(published=True).order_by("occasion")
                 if in_app_window(offer=offer, today=today, locale=locale)]
    return [AppOffer(offer=offer, redeemable=is_offer_redeemable(offer=offer, today=today))
            for offer in [*one_time, *automated]]


def list_offers() -> QuerySet[Offer]:
    """The one-time offers of the clinic in scope, newest first (OFF-1)."""
    return Offer.objects.all()


def get_offer_card(*, offer: Offer, currency: str, today: date) -> OfferCard:
    """One offer's row: its discount label, usage, dates and overall state judged for `today` (OFF-1)."""
    usage = None
    if offer.max_uses:
        usage = min(100, round(100 * offer.current_uses / offer.max_uses))
    return OfferCard(
        offer=offer, discount_label=offer.discount_label_in(currency), usage_percent=usage,
        ended=bool(offer.valid_until and offer.valid_until < today),
        upcoming=bool(offer.valid_from and offer.valid_from > today),
        cap_reached=bool(offer.max_uses and offer.current_uses >= offer.max_uses),
        today=today,
    )


def list_offer_cards(*, currency: str, today: date) -> list[OfferCard]:
    """The one-time offer list with each row's discount label, usage and dates judged for `today` (OFF-1)."""
    return [get_offer_card(offer=offer, currency=currency, today=today) for offer in list_offers()]


def get_automated_offer_card(*, automated_offer: AutomatedOffer, currency: str, locale: str,
                             today: date) -> AutomatedOfferCard:
    """One automated offer with its next occasion date in the clinic's locale and any open window (OFF-3)."""
    a = automated_offer
    return AutomatedOfferCard(
        automated_offer=a, discount_label=a.discount_label_in(currency),
        next_date=next_occurrence(a.occasion, today, locale), today=today,
        open_until=a.redeemable_until if is_offer_redeemable(offer=a, today=today) else None,
        push_warning=push_discount_mismatch(automated_offer=a, currency=currency),
    )


def list_automated_offer_cards(*, currency: str, locale: str, today: date) -> list[AutomatedOfferCard]:
    """One row per occasion in calendar order, each with its next date in the clinic's locale (OFF-3)."""
    offers = sorted(AutomatedOffer.objects.all(), key=lambda a: CATALOGUE_ORDER.get(a.occasion, len(CATALOGUE_ORDER)))
    return [get_automated_offer_card(automated_offer=a, currency=currency, locale=locale, today=today)
            for a in offers]


def list_automated_offer_cards_soonest_first(*, currency: str, locale: str,
                                             today: date) -> list[AutomatedOfferCard]:
    """The Automated tab's order: open in the app now, then active, then inactive, each by next date (OFF-3)."""
    cards = list_automated_offer_cards(currency=currency, locale=locale, today=today)
    return sorted(cards, key=lambda card: card.tab_rank)


def list_push_history(*, limit: int) -> list[PushHistoryRow]:
    """The newest pushes with the offer that sent each; three queries whatever the rows (OFF-6)."""
    pushes = list(list_recent_pushes(limit=limit))
    wanted: dict[str, set[int]] = {"offer": set(), "automated_offer": set()}
    for push in pushes:
        match = PROMOTION_KEY.match(push.source_key or "")
        if match:
            wanted[match.group(1)].add(int(match.group(2)))
    offers = Offer.objects.in_bulk(wanted["offer"]) if wanted["offer"] else {}
    automated = AutomatedOffer.objects.in_bulk(wanted["automated_offer"]) if wanted["automated_offer"] else {}
    rows = []
    for push in pushes:
        match = PROMOTION_KEY.match(push.source_key or "")
        if match is None:
            rows.append(PushHistoryRow(push=push))
            continue
        pk = int(match.group(2))
        rows.append(PushHistoryRow(
            push=push, from_offer=True,
            offer=offers.get(pk) if match.group(1) == "offer" else None,
            automated_offer=automated.get(pk) if match.group(1) == "automated_offer" else None,
        ))
    return rows


def list_offer_redemptions(*, offer: Offer) -> QuerySet[Redemption]:
    """Who redeemed this offer, newest first, with patient and order in the same query (OFF-9)."""
    return Redemption.objects.filter(promotion_key=offer.promotion_key).select_related("patient", "order")


def summarise_offer_redemptions(*, offer: Offer) -> OfferRedemptionSummary:
    """Totals of an offer's redemptions in one query; revenue is the total of the orders it was applied to (OFF-9)."""
    applied = Q(status=RedemptionStatus.APPLIED)
    row = Redemption.objects.filter(promotion_key=offer.promotion_key).order_by().aggregate(
        redemptions=Count("id"),
        applied=Count("id", filter=applied),
        pending=Count("id", filter=Q(status=RedemptionStatus.PENDING)),
        cancelled=Count("id", filter=Q(status=RedemptionStatus.CANCELLED)),
        discount=Sum("discount_amount", filter=applied),
        revenue=Sum("order__total", filter=applied),
    )
    return OfferRedemptionSummary(
        redemptions=row["redemptions"], applied=row["applied"], pending=row["pending"], cancelled=row["cancelled"],
        discount_given=row["discount"] or Decimal("0"), revenue=row["revenue"] or Decimal("0"),
    )


def count_offer_redemptions(*, offer: Offer, status: str) -> int:
    """How many of an offer's redemptions are in `status`: what deleting it would remove or keep (OFF-2)."""
    return Redemption.objects.filter(promotion_key=offer.promotion_key, status=status).count()


def _short(day: date) -> str:
    return date_format(day, "j M Y")


def list_offer_attention(*, clinic: Clinic, today: date) -> list[AttentionItem]:
    """The offer mistakes the seed warns about, caught before they happen (OFF-12). Two queries."""
    items: list[AttentionItem] = []
    automated = sorted(AutomatedOffer.objects.filter(active=True),
                       key=lambda a: CATALOGUE_ORDER.get(a.occasion, len(CATALOGUE_ORDER)))
    for a in automated:
        if not a.published:
            items.append(AttentionItem(
                key=f"unpublished_automated:{a.occasion}", level="warning",
                title=f"{a.get_occasion_display()} is active but not published",
                text="It will send a push patients can't see in the app.",
                advice="Publish it (patients see it from the day it fires), or deactivate it.",
                url_name="offers:automated", anchor=f"automated-{a.pk}", fix_label="Open its row",
            ))
    if get_push_setup_problem(clinic=clinic):  # only OneSignal needs the clinic's own credentials
        horizon = today + timedelta(days=DUE_WITHIN_DAYS)
        for a in automated:
            if a.occasion == Occasion.BIRTHDAY:
                items.append(AttentionItem(
                    key=f"push_off:{a.occasion}", level="warning",
                    title=f"{a.get_occasion_display()} can't reach patients",
                    text="It sends on each patient's birthday, but push notifications are not set up.", advice="",
                    url_name="settings:onesignal", fix_role="owner", fix_label="Set up push",
                ))
                continue
            when = next_occurrence(a.occasion, today, clinic.locale)
            if when is not None and when <= horizon:
                items.append(AttentionItem(
                    key=f"push_off:{a.occasion}", level="warning",
                    title=f"{a.get_occasion_display()} fires on {_short(when)} without push",
                    text="Push notifications are not set up, so patients won't be told about it.", advice="",
                    url_name="settings:onesignal", fix_role="owner", fix_label="Set up push",
                ))

    # Integer arithmetic on both sides: uses / cap >= 4 / 5, without a mixed-type expression.
    candidates = Offer.objects.alias(used5=F("current_uses") * 5, cap4=F("max_uses") * 4).filter(
        Q(published=True, valid_until__lt=today) | Q(active=True, max_uses__isnull=False, used5__gte=F("cap4"))
    )
    for offer in candidates:
        if offer.published and offer.valid_until and offer.valid_until < today:
            items.append(AttentionItem(
                key=f"ended_published:{offer.pk}", level="warning",
                title=f"“{offer.name}” ended on {_short(offer.valid_until)} but is still published",
                text="Patients no longer see it.", advice="Unpublish it to keep the list tidy, or extend its dates.",
                url_name="offers:list", anchor=f"offer-{offer.pk}", fix_label="Open its row",
            ))
        elif offer.active and offer.max_uses and offer.current_uses * 5 >= offer.max_uses * 4:
            full = offer.current_uses >= offer.max_uses
            items.append(AttentionItem(
                key=f"cap:{offer.pk}", level="warning",
                title=(f"“{offer.name}” has reached its cap" if full
                       else f"“{offer.name}” is nearly used up"),
                text=(f"{offer.current_uses} of {offer.max_uses} uses taken."
                      + (" Patients can no longer redeem it." if full else "")),
                advice="" if full else "Raise the cap if it should keep running.",
                url_name="offers:list", anchor=f"offer-{offer.pk}", fix_label="Open its row",
            ))
    return items


# --- as promotions (RED-6, RED-7) -----------------------------------------------------------------------

STATE_WORDS = {"ended": "Ended", "inactive": "Inactive", "cap_reached": "Cap reached", "scheduled": "Scheduled",
               "draft": "Draft", "live": "Live"}


def _offer_promotion(offer: Offer, clinic: Clinic, today: date) -> PromotionInfo:
    card = get_offer_card(offer=offer, currency=clinic.currency, today=today)
    return PromotionInfo(
        key=offer.promotion_key, kind="offer", id=offer.pk, name=offer.name, type="global",
        status=STATE_WORDS[card.state], reporting_start=offer.created_at,
        url=reverse("offers:redemptions", args=[clinic.slug, offer.pk]), discount_type=offer.discount_type,
        discount_value=offer.discount_value, discount_label=card.discount_label,
        cap_used=offer.current_uses if offer.max_uses else None, cap_total=offer.max_uses)


def _automated_promotion(offer: AutomatedOffer, clinic: Clinic) -> PromotionInfo:
    # A birthday offer is each patient's own; the other occasions go to everyone at once.
    return PromotionInfo(
        key=offer.promotion_key, kind="automated_offer", id=offer.pk, name=offer.get_occasion_display(),
        type="personalised" if offer.occasion == Occasion.BIRTHDAY else "global",
        status="Active" if offer.active else "Inactive", reporting_start=offer.created_at,
        url=reverse("offers:automated_edit", args=[clinic.slug, offer.pk]), discount_type=offer.discount_type,
        discount_value=offer.discount_value, discount_label=offer.discount_label_in(clinic.currency))


def list_offer_promotions(*, clinic: Clinic) -> list[PromotionInfo]:
    """The clinic's one-time offers, newest first, as promotions."""
    today = clinic.today()
    return [_offer_promotion(offer, clinic, today) for offer in Offer.objects.order_by("-created_at", "-id")]


def list_automated_offer_promotions(*, clinic: Clinic) -> list[PromotionInfo]:
    """The clinic's automated offers, in the catalogue's order, as promotions."""
    offers = sorted(AutomatedOffer.objects.all(), key=lambda o: CATALOGUE_ORDER.get(o.occasion, 99))
    return [_automated_promotion(offer, clinic) for offer in offers]


def get_offer_promotion(*, clinic: Clinic, promotion_id: int) -> PromotionInfo | None:
    offer = Offer.objects.filter(pk=promotion_id).first()
    return _offer_promotion(offer, clinic, clinic.today()) if offer else None


def get_automated_offer_promotion(*, clinic: Clinic, promotion_id: int) -> PromotionInfo | None:
    offer = AutomatedOffer.objects.filter(pk=promotion_id).first()
    return _automated_promotion(offer, clinic) if offer else None


def push_discount_mismatch(*, automated_offer: AutomatedOffer, currency: str) -> str:
    """A warning when the push names another figure than the offer's discount, else ""."""
    offer = automated_offer
    wrong = mismatched_figures(f"{offer.push_title} {offer.push_message}", discount_type=offer.discount_type,
                               discount_value=offer.discount_value)
    if not wrong:
        return ""
    return (f"{offer.get_occasion_display()}'s push says {', '.join(wrong)}, but the offer gives "
            f"{offer.discount_label_in(currency).lower()}. Write {{discount}} in the push to always say the "
            "right figure.")
