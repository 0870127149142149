"""Marketing → Coupon cards: card templates, their installed users, and the actions on one card
(COU-1 … COU-6). A card's customer profile, which shows everything at once, is a composition page
(`clinic_crm.dashboard.views.card_profile`); the actions here return to it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic_crm.common.csv_export import stream_csv
from clinic_crm.common.errors import ApplicationError
from clinic_crm.common.sorting import valid_sort
from clinic_crm.patients.models import Patient
from clinic_crm.patients.services import find_patient_by_email
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from clinic_crm.tenancy.events import StaffActor
from coupons import selectors, services
from coupons.forms import CardTemplateForm, ExpirationForm, IssueCardForm, RedeemForm, WalletPassForm
from coupons.models import Card, CardTemplate
from redemptions.choices import RedemptionChannel


def _template(template_id: int) -> CardTemplate:
    template = selectors.get_card_template(template_id=template_id)
    if template is None:
        raise Http404("No such card template")
    return template


def _card(serial: str) -> Card:
    card = selectors.get_card(serial=serial)
    if card is None:
        raise Http404("No such card")
    return card


def _profile(request, card: Card, tab: str = ""):
    target = redirect("dashboard:card", clinic_slug=request.clinic.slug, serial=card.serial)
    if tab:
        target["Location"] += f"?tab={tab}"
    return target


def _report(form, error: ValidationError) -> None:
    """A service's ValidationError on the form: on its field when the form has one, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# ---- templates (COU-1) -------------------------------------------------------------------------------


@clinic_view(required_role=Role.VIEWER)
def card_template_list(request):
    sort = valid_sort(request.GET.get("sort", ""), selectors.TEMPLATE_SORTS, "-created")
    templates = list(selectors.list_card_templates(sort=sort))
    for template in templates:
        template.label = template.discount_label_in(request.clinic.currency)
    return render(request, "coupons/template_list.html", {"templates": templates, "nav": "cards", "sort": sort,
                                                          "querystring": request.GET.urlencode()})


@clinic_view(required_role=Role.VIEWER)
def card_template_export(request):
    """The Coupon cards list, sorted as shown, as a CSV file."""
    sort, currency = request.GET.get("sort", ""), request.clinic.currency
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def rows():
        return selectors.iter_template_csv_rows(templates=selectors.list_card_templates(sort=sort),
                                                discount_label_of=lambda t: t.discount_label_in(currency))

    return stream_csv(clinic=request.clinic, filename=f"cards-{request.clinic.slug}-{stamp}.csv", rows=rows)


@clinic_view(required_role=Role.STAFF)
def card_template_create(request):
    form = CardTemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_card_template(clinic=request.clinic, data=form.service_data(),
                                                     actor=StaffActor.of(request.user))
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, f"“{template.name}” is ready: issue it to patients from its page.")
            return redirect("cards:detail", clinic_slug=request.clinic.slug, template_id=template.pk)
    return render(request, "coupons/template_form.html", {"form": form, "nav": "cards"})


@clinic_view(required_role=Role.STAFF)
def card_template_edit(request, template_id):
    template = _template(template_id)
    form = CardTemplateForm(request.POST or None, template=template,
                            initial=CardTemplateForm.initial_for(template))
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        data.pop("kind", None)
        try:
            services.update_card_template(template=template, data=data, actor=StaffActor.of(request.user))
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, "Card saved. Cards already issued keep their serial and expiry.")
            return redirect("cards:detail", clinic_slug=request.clinic.slug, template_id=template.pk)
    return render(request, "coupons/template_form.html", {"form": form, "template": template, "nav": "cards"})


@clinic_view(required_role=Role.VIEWER)
def card_template_detail(request, template_id):
    template = _template(template_id)
    cards = selectors.list_template_cards(template=template)
    return render(request, "coupons/template_detail.html", {
        "template": template, "cards": cards[:200], "card_count": cards.count(), "nav": "cards",
        "discount_label": template.discount_label_in(request.clinic.currency),
        "issue_form": IssueCardForm(), "converted_in": selectors.count_converted_cards(template=template),
    })


@require_POST
@clinic_view(required_role=Role.STAFF)
def card_issue(request, template_id):
    template = _template(template_id)
    form = IssueCardForm(request.POST)
    patient = None
    if form.is_valid():
        wanted = form.cleaned_data["patient"].strip()
        patient = (find_patient_by_email(wanted) if "@" in wanted
                   else Patient.objects.filter(external_id=wanted).first())
    if patient is None:
        messages.error(request, "No patient with that e-mail or id. Add them under Client Profiles first.")
        return redirect("cards:detail", clinic_slug=request.clinic.slug, template_id=template.pk)
    card = services.issue_card(template=template, patient=patient, actor=StaffActor.of(request.user),
                               utm=form.cleaned_data.get("utm", ""))
    messages.success(request, f"Card {card.serial} issued to {patient.full_name}. Send them its installation link.")
    return _profile(request, card)


# ---- one card (COU-3 … COU-6) ---------------------------------------------------------------------------


@require_POST
@clinic_view(required_role=Role.STAFF)
def card_redeem(request, serial):
    card = _card(serial)
    form = RedeemForm(request.POST, required=card.template.purchase_amount_required)
    if not form.is_valid():
        messages.error(request, form.errors["purchase_amount"][0])
        return _profile(request, card)
    try:
        result = services.redeem_card(card=card, actor=StaffActor.of(request.user),
                                      purchase_amount=form.cleaned_data["purchase_amount"],
                                      channel=RedemptionChannel.STAFF)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _profile(request, card)
    messages.success(request, "Redeemed." + (f" {card.patient.first_name} now holds the "
                                              f"{result.linked_card.template.name} card." if result.linked_card else ""))
    return _profile(request, result.linked_card or card)


@require_POST
@clinic_view(required_role=Role.STAFF)
def card_stamp(request, serial):
    card = _card(serial)
    try:
        outcome = services.add_stamp(card=card, actor=StaffActor.of(request.user))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _profile(request, card)
    if outcome.reward_card is not None:
        messages.success(request, f"The card is full: {card.patient.first_name} earned "
                                  f"“{outcome.reward_card.template.name}”.")
    else:
        messages.success(request, f"Stamp added: {outcome.card.stamps} of {card.template.stamps_required}.")
    return _profile(request, card)


@require_POST
@clinic_view(required_role=Role.STAFF)
def card_delete(request, serial):
    card = services.delete_card(card=_card(serial), actor=StaffActor.of(request.user))
    messages.success(request, "The card is deleted: it no longer works. It stays on the patient's phone until "
                              "they remove it.")
    return _profile(request, card)


@require_POST
@clinic_view(required_role=Role.STAFF)
def card_expiration(request, serial):
    card = _card(serial)
    form = ExpirationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a date from the calendar.")
        return _profile(request, card)
    try:
        services.change_card_expiration(card=card, expires_on=form.cleaned_data["expires_on"],
                                        actor=StaffActor.of(request.user))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        when = form.cleaned_data["expires_on"]
        messages.success(request, f"The card now expires on {when:%-d %B %Y}." if when else "The card no longer expires.")
    return _profile(request, card)



# ---- Apple Wallet (COU-2) ------------------------------------------------------------------------


@clinic_view(required_role=Role.OWNER)
def wallet_settings(request):
    """The clinic's pass certificate: with it, customers can add their cards to Apple Wallet."""
    config = selectors.get_wallet_pass_config()
    initial = {"pass_type_identifier": config.pass_type_identifier, "team_identifier": config.team_identifier,
               "certificate_pem": config.certificate_pem,
               "wwdr_certificate_pem": config.wwdr_certificate_pem} if config else None
    form = WalletPassForm(request.POST or None, initial=initial, key_stored=bool(config and config.private_key_pem))
    if request.method == "POST" and form.is_valid():
        try:
            services.configure_wallet_pass(clinic=request.clinic, **form.cleaned_data)
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, "Apple Wallet is on: patients can add their cards to Wallet from the card's link.")
            return redirect("cards:wallet", clinic_slug=request.clinic.slug)
    return render(request, "coupons/wallet_settings.html", {"form": form, "config": config, "nav": "cards"})


@require_POST
@clinic_view(required_role=Role.OWNER)
def wallet_remove(request):
    services.remove_wallet_pass(clinic=request.clinic)
    messages.success(request, "Apple Wallet is off: cards install on the home screen only. Passes already in "
                              "patients' Wallets stay there.")
    return redirect("cards:wallet", clinic_slug=request.clinic.slug)
