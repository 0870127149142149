"""App Builder → Offers: one-time and automated offers, manual pushes and per-offer redemptions
(OFF-1 … OFF-3, OFF-5, OFF-6, OFF-9, OFF-12)."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic_crm.common.errors import Conflict
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from notifications.selectors import count_push_recipients
from offers import selectors, services
from offers.forms import AutomatedOfferForm, OfferForm, PushForm
from offers.models import AutomatedOffer, Offer
from redemptions.choices import RedemptionStatus
from redemptions.selectors import count_promotions

HISTORY_ROWS = 10
REDEMPTIONS_PAGE_SIZE = 50


def _to_list(request, tab: str = "list"):
    return redirect(f"offers:{tab}", clinic_slug=request.clinic.slug)


def _report(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when the form has one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _page_context(request, tab: str) -> dict:
    today = timezone.localdate()
    return {
        "nav": "offers", "tab": tab, "today": today,
        "attention": selectors.list_offer_attention(clinic=request.clinic, today=today),
    }


@clinic_view(required_role=Role.VIEWER)
def offer_list(request):
    context = _page_context(request, "one_time")
    context["cards"] = selectors.list_offer_cards(currency=request.clinic.currency, today=context["today"])
    context["pushes"] = selectors.list_push_history(limit=HISTORY_ROWS)
    context["rates"] = count_promotions()
    return render(request, "offers/offer_list.html", context)


@clinic_view(required_role=Role.VIEWER)
def automated_list(request):
    context = _page_context(request, "automated")
    context["cards"] = selectors.list_automated_offer_cards_soonest_first(
        currency=request.clinic.currency, locale=request.clinic.locale, today=context["today"])
    context["rates"] = count_promotions()
    return render(request, "offers/automated_list.html", context)


@clinic_view(required_role=Role.STAFF)
def offer_create(request):
    form = OfferForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.create_offer(clinic=request.clinic, data=form.cleaned_data, actor=request.user)
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, f"“{offer.name}” was created as a draft. Publish it from its ⋮ menu when "
                                      "it is ready for patients.")
            return _to_list(request)
    return render(request, "offers/offer_form.html", {"form": form, "nav": "offers"})


@clinic_view(required_role=Role.STAFF)
def offer_edit(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    # The form validates a copy, so a rejected edit never shows half-changed values elsewhere on the page.
    form = OfferForm(request.POST or None, instance=copy.copy(offer))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_offer(offer=offer, data=form.cleaned_data, actor=request.user)
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, f"“{offer.name}” was saved.")
            return _to_list(request)
    return render(request, "offers/offer_form.html", {"form": form, "offer": offer, "nav": "offers"})


@clinic_view(required_role=Role.STAFF)
@require_POST
def offer_publish(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    services.publish_offer(offer=offer, actor=request.user)
    if offer.active:
        messages.success(request, f"“{offer.name}” is published: patients see it on their next app open.")
    else:
        messages.warning(request, f"“{offer.name}” is published, but it is inactive, so patients won't see it "
                                  "until you switch Active on in Edit.")
    return _to_list(request)


@clinic_view(required_role=Role.STAFF)
@require_POST
def offer_unpublish(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    services.unpublish_offer(offer=offer, actor=request.user)
    messages.success(request, f"“{offer.name}” is unpublished: it is hidden from the app and kept here as a draft.")
    return _to_list(request)


@clinic_view(required_role=Role.STAFF)
def offer_delete(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    if request.method == "POST":
        name = offer.name
        removed = services.delete_offer(offer=offer, actor=request.user)
        detail = f" {removed} pending redemption{'s' if removed != 1 else ''} removed." if removed else ""
        messages.success(request, f"“{name}” was deleted.{detail}")
        return _to_list(request)
    context = {
        "offer": offer, "nav": "offers",
        "discount_label": offer.discount_label_in(request.clinic.currency),
        "pending": selectors.count_offer_redemptions(offer=offer, status=RedemptionStatus.PENDING),
        "applied": selectors.count_offer_redemptions(offer=offer, status=RedemptionStatus.APPLIED),
    }
    return render(request, "offers/offer_confirm_delete.html", context)


@clinic_view(required_role=Role.STAFF)
def offer_push(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    today = timezone.localdate()
    # Why the push can't go, stated before anyone types a message: patients couldn't act on the offer
    # today, or (OneSignal) the clinic has no credentials. The service refuses the POST the same way (OFF-5).
    blocked = None
    try:
        services.ensure_offer_pushable(clinic=request.clinic, offer=offer, today=today)
    except Conflict as error:
        blocked = error
    label = offer.discount_label_in(request.clinic.currency)
    initial = {"title": offer.title[:120], "message": (offer.description or f"{label}: {offer.title}")[:500]}
    form = PushForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if blocked:
            status = 409  # refused, nothing queued; the page says why
        elif form.is_valid():
            try:
                push = services.send_offer_push(
                    clinic=request.clinic, offer=offer, title=form.cleaned_data["title"],
                    message=form.cleaned_data["message"], today=today, actor=request.user)
            except Conflict as error:  # the offer or the clinic changed since the check above
                blocked, status = error, 409
            else:
                count = push.targeted_count
                if count:
                    # Queued, not delivered: the delivery task settles it and the history shows the outcome.
                    patients = f"{count} patient{'s' if count != 1 else ''}"
                    messages.success(request, f"Push “{push.title}” queued for {patients}; the history below "
                                              "shows when it's sent.")
                else:
                    messages.warning(request, "No patient has push notifications turned on, so nobody was notified. "
                                              "The attempt is in Push Notification History.")
                return _to_list(request)
    context = {
        "offer": offer, "form": form, "nav": "offers", "discount_label": label, "blocked": blocked,
        "recipients": count_push_recipients(),
        "card": selectors.get_offer_card(offer=offer, currency=request.clinic.currency, today=today),
    }
    return render(request, "offers/offer_push.html", context, status=status)


@clinic_view(required_role=Role.VIEWER)
def offer_redemptions(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    page = Paginator(selectors.list_offer_redemptions(offer=offer), REDEMPTIONS_PAGE_SIZE).get_page(
        request.GET.get("page"))
    context = {
        "offer": offer, "page": page, "summary": selectors.summarise_offer_redemptions(offer=offer),
        "discount_label": offer.discount_label_in(request.clinic.currency), "nav": "offers", "querystring": "",
        "card": selectors.get_offer_card(offer=offer, currency=request.clinic.currency, today=timezone.localdate()),
    }
    return render(request, "offers/offer_redemptions.html", context)


@clinic_view(required_role=Role.STAFF)
def automated_edit(request, automated_id):
    automated = get_object_or_404(AutomatedOffer.objects, pk=automated_id)
    form = AutomatedOfferForm(request.POST or None, instance=copy.copy(automated))
    if request.method == "POST" and form.is_valid():
        try:
            services.configure_automated_offer(automated_offer=automated, data=form.cleaned_data,
                                               actor=request.user)
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, f"{automated.get_occasion_display()} was saved.")
            warning = selectors.push_discount_mismatch(automated_offer=automated, currency=request.clinic.currency)
            if warning:
                messages.warning(request, warning)
            return _to_list(request, "automated")
    card = selectors.get_automated_offer_card(automated_offer=automated, currency=request.clinic.currency,
                                              locale=request.clinic.locale, today=timezone.localdate())
    context = {"form": form, "automated": automated, "card": card, "nav": "offers"}
    return render(request, "offers/automated_form.html", context)


AUTOMATED_ACTIONS = {
    "activate": (services.activate_automated_offer,
                 "{name} is active: it will fire on its next occasion."),
    "deactivate": (services.deactivate_automated_offer,
                   "{name} is inactive: it will not fire until you activate it again."),
    "publish": (services.publish_automated_offer,
                "{name} is published: patients can see it in the app."),
    "unpublish": (services.unpublish_automated_offer,
                  "{name} is unpublished: it is hidden from the app{still}."),
}


def _automated_action(request, automated_id, action: str):
    automated = get_object_or_404(AutomatedOffer.objects, pk=automated_id)
    service, message = AUTOMATED_ACTIONS[action]
    service(automated_offer=automated, actor=request.user)
    still = ", but it will still fire and send its push" if automated.active else ""
    messages.success(request, message.format(name=automated.get_occasion_display(), still=still))
    return _to_list(request, "automated")


@clinic_view(required_role=Role.STAFF)
@require_POST
def automated_activate(request, automated_id):
    return _automated_action(request, automated_id, "activate")


@clinic_view(required_role=Role.STAFF)
@require_POST
def automated_deactivate(request, automated_id):
    return _automated_action(request, automated_id, "deactivate")


@clinic_view(required_role=Role.STAFF)
@require_POST
def automated_publish(request, automated_id):
    return _automated_action(request, automated_id, "publish")


@clinic_view(required_role=Role.STAFF)
@require_POST
def automated_unpublish(request, automated_id):
    return _automated_action(request, automated_id, "unpublish")
