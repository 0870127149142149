"""Composition pages that read every app: the main dashboard (CORE-5), the client profile (CORE-6) and a
card's customer profile (COU-5)."""

from dataclasses import asdict

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from clinic_crm.common.periods import PERIODS, resolve_period
from clinic_crm.dashboard import selectors
from clinic_crm.orders.selectors import list_patient_orders, list_recent_orders
from clinic_crm.patients.models import Patient
from clinic_crm.patients.selectors import get_patient_stats, get_rfm
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from coupons import selectors as coupon_selectors
from notifications.selectors import get_push_setup_problem
from offers.selectors import list_offer_attention


def _attention(clinic) -> list[dict]:
    items = []
    if get_push_setup_problem(clinic=clinic):  # the console backend needs no credentials
        items.append({"level": "warning", "title": "Push notifications are off",
                      "text": "Occasion offers cannot reach patients yet.",
                      "advice": "Add the clinic's OneSignal app id and REST API key in Settings.",
                      "url_name": "settings:onesignal"})
    # Offer mistakes the seed's "common mistakes" describe, caught before a patient meets them (OFF-12).
    items += [asdict(item) for item in list_offer_attention(clinic=clinic, today=timezone.localdate())]
    return items


@clinic_view(required_role=Role.VIEWER)
def dashboard(request):
    today = timezone.localdate()
    period = resolve_period(request.GET, today=today)
    overview = selectors.get_overview(start=period.start, end=period.end)
    context = {
        "overview": overview, "period": period.key, "periods": PERIODS, "range_form": period.form, "nav": "dashboard",
        "attention": _attention(request.clinic),
        "birthdays": selectors.list_upcoming_birthdays(today=today),
        "recent_orders": list_recent_orders(),
        "today": today,
    }
    return render(request, "dashboard/overview.html", context)


@clinic_view(required_role=Role.VIEWER)
def patient_profile(request, patient_id):
    patient = get_object_or_404(Patient.objects, pk=patient_id)
    orders = list_patient_orders(patient=patient)
    context = {
        "patient": patient, "stats": get_patient_stats(patient=patient), "orders": orders[:50],
        "rfm": get_rfm(patient=patient),
        "order_count": orders.count(), "nav": "patients", "today": timezone.localdate(),
    }
    return render(request, "dashboard/patient_profile.html", context)


@clinic_view(required_role=Role.VIEWER)
def card_profile(request, serial):
    """A customer's profile for one card: its metrics, redeem, stamps, status, expiry and links (COU-3 … COU-6)."""
    card = coupon_selectors.get_card(serial=serial)
    if card is None:
        raise Http404("No such card")
    template = card.template
    today = request.clinic.today()
    context = {
        "card": card, "template": template, "patient": card.patient, "nav": "cards", "today": today,
        "stats": get_patient_stats(patient=card.patient), "rfm": get_rfm(patient=card.patient),
        "discount_label": template.discount_label_in(request.clinic.currency),
        "expired": card.is_expired(today), "activity": coupon_selectors.list_card_activity(card=card),
        "conversions": coupon_selectors.list_conversions(card=card),
        "other_cards": [c for c in coupon_selectors.list_patient_cards(patient=card.patient) if c.pk != card.pk],
        "installation_link": request.build_absolute_uri(
            reverse("card_install", kwargs={"clinic_slug": request.clinic.slug, "token": card.install_token})),
        "referral_link": request.build_absolute_uri(
            reverse("card_refer", kwargs={"clinic_slug": request.clinic.slug, "token": card.referral_token})),
    }
    return render(request, "dashboard/card_profile.html", context)
