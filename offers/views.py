"""App Builder → Offers: one-time and automated offers, manual pushes and per-offer redemptions
(OFF-1 … OFF-3, OFF-5, OFF-6, OFF-9, OFF-12)."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from notifications.selectors import count_push_recipients, list_recent_pushes
from notifications.services import queue_push
from offers import selectors, services
from offers.forms import AutomatedOfferForm, OfferForm, PushForm
from offers.models import AutomatedOffer, Offer
from redemptions.choices import RedemptionStatus

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
    context["pushes"] = list_recent_pushes(limit=HISTORY_ROWS)
    return render(request, "offers/offer_list.html", context)


@clinic_view(required_role=Role.VIEWER)
def automated_list(request):
    context = _page_context(request, "automated")
    context["cards"] = selectors.list_automated_offer_cards(
        currency=request.clinic.currency, locale=request.clinic.locale, today=context["today"])
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
    if not offer.published:
        # The push would lead patients to an offer the app does not show (OFF-5).
        messages.error(request, f"“{offer.name}” is not published. Publish it before sending a push about it.")
        return _to_list(request)
    label = offer.discount_label_in(request.clinic.currency)
    initial = {"title": offer.title[:120], "message": (offer.description or f"{label}: {offer.title}")[:500]}
    form = PushForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        push = queue_push(clinic=request.clinic, title=form.cleaned_data["title"],
                          message=form.cleaned_data["message"], source_key=offer.promotion_key)
        if push.targeted_count:
            messages.success(request, f"Push “{push.title}” is on its way to {push.targeted_count} "
                                      f"patient{'s' if push.targeted_count != 1 else ''}. Its delivery shows in "
                                      "Push Notification History.")
        else:
            messages.warning(request, "No patient has push notifications turned on, so nobody was notified. "
                                      "The attempt is in Push Notification History.")
        return _to_list(request)
    context = {
        "offer": offer, "form": form, "nav": "offers", "discount_label": label,
        "recipients": count_push_recipients(),
    }
    return render(request, "offers/offer_push.html", context)


@clinic_view(required_role=Role.VIEWER)
def offer_redemptions(request, offer_id):
    offer = get_object_or_404(Offer.objects, pk=offer_id)
    page = Paginator(selectors.list_offer_redemptions(offer=offer), REDEMPTIONS_PAGE_SIZE).get_page(
        request.GET.get("page"))
    context = {
        "offer": offer, "page": page, "summary": selectors.summarise_offer_redemptions(offer=offer),
        "discount_label": offer.discount_label_in(request.clinic.currency), "nav": "offers", "querystring": "",
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
            return _to_list(request, "automated")
    context = {"form": form, "automated": automated, "nav": "offers"}
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
