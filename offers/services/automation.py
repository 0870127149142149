"""Firing automated offers on their occasion, in each clinic's own time zone (OFF-4)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from clinic_crm.common.app_changes import app_config_changed_on_commit
from clinic_crm.patients.models import Patient
from clinic_crm.tenancy.models import Clinic
from notifications.dispatch import queue_push
from notifications.selectors import list_push_recipients
from offers.choices import Occasion
from offers.models import AutomatedOffer, OccasionFiring
from offers.occasions import FIRE_HOUR, occurrence_in
from offers.services.redemption import response_terms_of
from redemptions.choices import ResponseSource
from redemptions.services import assign_responses

logger = logging.getLogger(__name__)


def occurrence_on(*, automated_offer: AutomatedOffer, day: date, locale: str) -> date | None:
    """`day` if the offer's occasion falls on it in the clinic's calendar, else None.

    Birthday falls every day (on each patient's own birthday); the day is its occurrence.
    """
    if automated_offer.occasion == Occasion.BIRTHDAY:
        return day
    return day if occurrence_in(automated_offer.occasion, day.year, locale) == day else None


def list_birthday_patients(*, day: date) -> QuerySet[Patient]:
    """Patients of the clinic in scope whose birthday is `day`; 29 February ones on 28 February in common years."""
    same_day = Q(date_of_birth__month=day.month, date_of_birth__day=day.day)
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        same_day |= Q(date_of_birth__month=2, date_of_birth__day=29)
    return Patient.objects.filter(same_day).exclude(external_id="")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@transaction.atomic
def fire_automated_offer(*, clinic: Clinic, automated_offer: AutomatedOffer, occurrence: date) -> OccasionFiring | None:
    """Fire an active automated offer at most once per occurrence (OFF-4).

    Returns the firing, or None when it had already fired (a retry, a second worker or a second
    beat) or is no longer active.
    """
    # Re-read under a row lock: "active at trigger time" is decided now, not when the tick listed it.
    offer = AutomatedOffer.objects.select_for_update().filter(pk=automated_offer.pk, active=True).first()
    if offer is None:
        return None
    try:
        # The unique (clinic, automated_offer, occurrence) row is the guard; the savepoint keeps
        # the surrounding transaction usable when another run got there first.
        with transaction.atomic():
            firing = OccasionFiring.objects.create(clinic=clinic, automated_offer=offer, occurrence=occurrence)
    except IntegrityError:
        return None

    offer.redeemable_until = occurrence + timedelta(days=offer.validity_days - 1)
    offer.save(update_fields=["redeemable_until", "updated_at"])

    external_ids = None  # everyone with push turned on
    targeted = list_push_recipients()
    if offer.occasion == Occasion.BIRTHDAY:
        external_ids = list(list_birthday_patients(day=occurrence).values_list("external_id", flat=True))
        targeted = list_birthday_patients(day=occurrence)
    # Each targeted patient holds a response for this occurrence, usable for its validity (RED-1).
    assign_responses(clinic=clinic, patients=targeted, source=ResponseSource.OCCASION,
                     terms=response_terms_of(offer=offer, currency=clinic.currency, occurrence=occurrence))
    if external_ids != []:
        title, message = offer.push_texts(currency=clinic.currency, clinic_name=clinic.name)
        firing.push = queue_push(clinic=clinic, title=title, message=message, external_ids=external_ids,
                                 source_key=offer.promotion_key, occurrence=occurrence.isoformat())
        firing.save(update_fields=["push"])
    clinic_id = clinic.pk
    app_config_changed_on_commit(clinic_id)  # the offer's window just opened
    logger.info("Fired %s for clinic %s on %s", offer.promotion_key, clinic_id, occurrence)
    return firing


def fire_due_occasions(*, clinic: Clinic, now: datetime) -> list[OccasionFiring]:
    """Fire every active automated offer whose occasion is today in the clinic's time zone (OFF-4).

    Only on the day itself and from FIRE_HOUR local time: an occurrence whose day has passed never
    fires, so an offer activated afterwards waits for the next one.
    """
    local = now.astimezone(clinic.tzinfo)
    if local.hour < FIRE_HOUR:
        return []
    today = local.date()
    already = set(OccasionFiring.objects.filter(occurrence=today).values_list("automated_offer_id", flat=True))
    fired = []
    for offer in AutomatedOffer.objects.filter(active=True).exclude(pk__in=already).order_by("pk"):
        occurrence = occurrence_on(automated_offer=offer, day=today, locale=clinic.locale)
        if occurrence is None:
            continue
        firing = fire_automated_offer(clinic=clinic, automated_offer=offer, occurrence=occurrence)
        if firing is not None:
            fired.append(firing)
    return fired
