"""Composition pages that read every app: the main dashboard (CORE-5), the client profile (CORE-6), a
card's customer profile with its Card, Information, Send Push and Feedback tabs (COU-5 … COU-8), and
Marketing → Promotions with each promotion's breakdown (RED-7)."""

from dataclasses import asdict
from datetime import timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.urls import reverse
from django.utils import timezone

from clinic_crm.common.csv_export import stream_csv
from clinic_crm.common.errors import ApplicationError
from clinic_crm.common.periods import PERIODS, resolve_period
from clinic_crm.dashboard import promotions, selectors
from clinic_crm.orders.selectors import list_patient_orders, list_recent_orders
from clinic_crm.patients.forms import PersonalDetailsForm
from clinic_crm.patients.models import Patient
from clinic_crm.patients.selectors import get_patient_stats, get_rfm
from clinic_crm.patients.services import update_patient
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from clinic_crm.tenancy.events import StaffActor
from coupons import selectors as coupon_selectors
from coupons.forms import FEEDBACK_RANGES, CardPushForm, FeedbackFilterForm
from coupons.services import cancel_card_push, schedule_card_push, send_card_push
from notifications.selectors import get_push_setup_problem
from offers.selectors import list_offer_attention
from redemptions.selectors import list_responses


def _attention(clinic) -> list[dict]:
    items = []
    if get_push_setup_problem(clinic=clinic):  # the console backend needs no credentials
        items.append({"level": "warning", "title": "Push notifications are off",
                      "text": "Occasion offers cannot reach patients yet.",
                      "advice": "Add the clinic's OneSignal app id and REST API key in Settings.",
                      "url_name": "settings:onesignal", "anchor": "", "fix_role": "owner",
                      "fix_label": "Set up push"})
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
        "rfm": get_rfm(patient=patient), "feedback": coupon_selectors.summarise_feedback(patient=patient),
        "responses": list(list_responses(today=request.clinic.today(), patient_id=patient.pk)[:20]),
        "order_count": orders.count(), "nav": "patients", "today": timezone.localdate(),
    }
    return render(request, "dashboard/patient_profile.html", context)


def _card(serial: str):
    card = coupon_selectors.get_card(serial=serial)
    if card is None:
        raise Http404("No such card")
    return card


def _card_page(request, card, tab: str, **extra) -> dict:
    """What every tab of a card's customer profile shows above its own part (COU-5)."""
    template, today = card.template, request.clinic.today()
    return {
        "card": card, "template": template, "patient": card.patient, "nav": "cards", "today": today, "tab": tab,
        "stats": get_patient_stats(patient=card.patient), "rfm": get_rfm(patient=card.patient),
        "feedback": coupon_selectors.summarise_feedback(patient=card.patient),
        "discount_label": template.discount_label_in(request.clinic.currency), "expired": card.is_expired(today),
        **extra,
    }


def _to_tab(request, card, name: str):
    return redirect(f"dashboard:{name}", clinic_slug=request.clinic.slug, serial=card.serial)


@clinic_view(required_role=Role.VIEWER)
def card_profile(request, serial):
    """A customer's profile for one card: its metrics, redeem, stamps, status, expiry and links (COU-3 … COU-6)."""
    card = _card(serial)
    context = _card_page(
        request, card, "card",
        activity=coupon_selectors.list_card_activity(card=card),
        conversions=coupon_selectors.list_conversions(card=card),
        other_cards=[c for c in coupon_selectors.list_patient_cards(patient=card.patient) if c.pk != card.pk],
        installation_link=request.build_absolute_uri(
            reverse("card_install", kwargs={"clinic_slug": request.clinic.slug, "token": card.install_token})),
        referral_link=request.build_absolute_uri(
            reverse("card_refer", kwargs={"clinic_slug": request.clinic.slug, "token": card.referral_token})),
    )
    return render(request, "dashboard/card_profile.html", context)


@clinic_view(required_role=Role.VIEWER)
def card_information(request, serial):
    """The Information tab: edit the customer's personal details; the card keeps those it was issued with (COU-8)."""
    card = _card(serial)
    form = PersonalDetailsForm(request.POST or None, instance=card.patient)
    if request.method == "POST" and form.is_valid():
        update_patient(patient=card.patient, data=form.cleaned_data)
        messages.success(request, "Personal details saved. The card still shows the details it was issued with.")
        return _to_tab(request, card, "card_information")
    return render(request, "dashboard/card_information.html", _card_page(request, card, "information", form=form))


@clinic_view(required_role=Role.VIEWER)
def card_push(request, serial):
    """The Send Push tab: to this customer only, about the chosen card, now or at a time (COU-7)."""
    card = _card(serial)
    cards = coupon_selectors.list_patient_cards(patient=card.patient)
    form = CardPushForm(request.POST or None, cards=coupon_selectors.list_pushable_cards(patient=card.patient),
                        now=timezone.now(), initial={"card": card, "title": card.template.name})
    if request.method == "POST" and form.is_valid():
        data, actor = form.cleaned_data, StaffActor.of(request.user)
        try:
            if data["when"] == "later":
                scheduled = schedule_card_push(card=data["card"], title=data["title"], message=data["message"],
                                               send_at=data["send_at"], actor=actor)
                when = timezone.localtime(scheduled.send_at)
                messages.success(request, f"Push scheduled for {when:%-d %B %Y at %H:%M}. You can cancel it until then.")
            else:
                send_card_push(card=data["card"], title=data["title"], message=data["message"], actor=actor)
                messages.success(request, f"Push on its way to {card.patient.first_name}. It shows in the push history.")
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return _to_tab(request, card, "card_push")
    scheduled = coupon_selectors.list_scheduled_card_pushes(cards=cards)
    cards_by_key = {c.push_key: c for c in cards}
    for row in scheduled:
        row.about = cards_by_key.get(row.source_key)
    context = _card_page(request, card, "push", form=form, scheduled=scheduled,
                         history=coupon_selectors.list_card_push_history(cards=cards))
    return render(request, "dashboard/card_push.html", context)


@require_POST
@clinic_view(required_role=Role.STAFF)
def card_push_cancel(request, serial, scheduled_id):
    card = _card(serial)
    scheduled = coupon_selectors.get_scheduled_push(scheduled_id=scheduled_id)
    owner = next((c for c in coupon_selectors.list_patient_cards(patient=card.patient)
                  if scheduled is not None and c.push_key == scheduled.source_key), None)
    if owner is None:
        raise Http404("No such scheduled push")
    try:
        cancel_card_push(card=owner, scheduled=scheduled, actor=StaffActor.of(request.user))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Scheduled push cancelled: it will not be sent.")
    return _to_tab(request, card, "card_push")


@clinic_view(required_role=Role.VIEWER)
def card_feedback(request, serial):
    """The Feedback tab: the customer's ratings and comments by range of the clinic's days (COU-8)."""
    card = _card(serial)
    form = FeedbackFilterForm(request.GET or None)
    first, last = form.days(request.clinic.today())
    only_comments = form.is_bound and form.is_valid() and form.cleaned_data["comments"]
    rows = coupon_selectors.list_feedback(
        patient=card.patient, since=request.clinic.start_of(first) if first else None,
        before=request.clinic.start_of(last + timedelta(days=1)) if last else None, only_comments=only_comments)
    context = _card_page(request, card, "feedback", filter_form=form, rows=rows[:200], first=first, last=last,
                         range=form.cleaned_data["range"] if form.is_bound and form.is_valid() else "all",
                         ranges=FEEDBACK_RANGES, only_comments=only_comments)
    return render(request, "dashboard/card_feedback.html", context)


# --- Marketing → Promotions (RED-7) -------------------------------------------------------------------

def _promotion_filters(request) -> dict:
    """The Promotions list's filters from the query string, unknown values dropped."""
    kind, type_ = request.GET.get("kind", ""), request.GET.get("type", "")
    return {"kind": kind if kind in dict(promotions.kind_choices()) else "",
            "type": type_ if type_ in promotions.TYPE_LABELS else "",
            "search": request.GET.get("q", "")[:120], "sort": promotions.valid_sort(request.GET.get("sort", ""))}


@clinic_view(required_role=Role.VIEWER)
def promotion_list(request):
    filters = _promotion_filters(request)
    rows = promotions.list_promotion_rows(clinic=request.clinic, **filters)
    return render(request, "dashboard/promotions.html", {
        "nav": "promotions", "rows": rows, "kinds": promotions.kind_choices(), "types": promotions.TYPE_LABELS.items(),
        "kind": filters["kind"], "type": filters["type"], "sort": filters["sort"], "q": filters["search"],
        "filtered": bool(filters["kind"] or filters["type"] or filters["search"]), "sorts": promotions.SORTS,
        "querystring": request.GET.urlencode(),
    })


@clinic_view(required_role=Role.VIEWER)
def promotion_export(request):
    """The Promotions list as shown (its filters and sort) as a CSV file."""
    filters = _promotion_filters(request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def rows():
        listed = promotions.list_promotion_rows(clinic=request.clinic, **filters)
        return promotions.promotion_csv_rows(listed, currency=request.clinic.currency)

    return stream_csv(clinic=request.clinic, filename=f"promotions-{request.clinic.slug}-{stamp}.csv", rows=rows)


@clinic_view(required_role=Role.VIEWER)
def promotion_detail(request, promotion_key):
    page = promotions.get_promotion_page(clinic=request.clinic, promotion_key=promotion_key,
                                         today=timezone.localdate())
    if page is None:
        raise Http404("No such promotion.")
    return render(request, "dashboard/promotion_detail.html", {"nav": "promotions", "page": page,
                                                               "info": page.row.info, "counts": page.row.counts})
