"""Marketing → Promos: the list, detail with metrics and activity log, forms, comparison and portfolio
(PRO-1, PRO-2, PRO-4 … PRO-8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinic_crm.common.errors import ApplicationError
from clinic_crm.common.periods import PERIODS, resolve_period
from clinic_crm.common.money import format_money
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from promos import selectors, services
from promos.choices import AppliesTo, Audience, PromoKind, PromoStatus
from promos.events import Actor
from promos.filters import SORTS
from promos.forms import GenerateCodesForm, PromoForm
from promos.models import Promo, PromoCode

CHART_METRICS = {"uses": "Uses", "discount": "Discount given", "revenue": "Revenue"}
# Service error keys that name something other than a form field of the same name.
FIELD_ALIASES = {"audience_patient_ids": "audience_patients", "patients": "patients"}


def _actor(request) -> Actor:
    return Actor.from_user(request.user)


def _report(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when the form has one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            field = FIELD_ALIASES.get(field, field)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _back(request, promo: Promo | None = None):
    """Where a list or detail action returns: the page it came from when that is ours, else the promo."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()) \
            and target.startswith(f"/c/{request.clinic.slug}/promos/"):
        return redirect(target)
    if promo is not None:
        return redirect("promos:detail", clinic_slug=request.clinic.slug, promo_id=promo.pk)
    return redirect("promos:list", clinic_slug=request.clinic.slug)


# ---- List (PRO-6) ----------------------------------------------------------------------------------------

@clinic_view(required_role=Role.VIEWER)
def promo_list(request):
    listing = selectors.list_promo_rows(data=request.GET, currency=request.clinic.currency)
    context = {
        "nav": "promos", "tab": "list", "listing": listing, "sorts": SORTS,
        "sort": request.GET.get("sort") or "-created", "q": request.GET.get("q", ""),
        "here": request.get_full_path(),
    }
    return render(request, "promos/promo_list.html", context)


# ---- Detail (PRO-4, PRO-5) ---------------------------------------------------------------------------------

FIELD_LABELS = {
    "name": "Name", "kind": "Kind", "status": "Status", "code": "Code", "discount_type": "Discount type",
    "discount_value": "Discount value", "applies_to": "Applies to", "applies_to_items": "Services or categories",
    "audience": "Audience", "audience_segment": "Segment", "audience_patient_ids": "Named patients",
    "min_order": "Minimum order", "max_uses": "Max uses", "max_uses_per_customer": "Max uses per customer",
    "starts_at": "Starts", "ends_at": "Ends", "show_banner": "Banner", "auto_apply": "Auto-apply",
    "marketing_cost": "Marketing cost", "budget": "Discount budget", "tiers": "Tiers",
}
MONEY_FIELDS = {"min_order", "marketing_cost", "budget"}
CHOICE_LABELS = {
    "kind": dict(PromoKind.choices), "status": dict(PromoStatus.choices), "applies_to": dict(AppliesTo.choices),
    "audience": dict(Audience.choices),
}


@dataclass(frozen=True)
class DiffLine:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ActivityRow:
    action: str
    action_label: str
    actor_name: str
    actor_email: str
    created_at: datetime
    changes: list[DiffLine]
    snapshot: list[tuple[str, str]]  # the settings a promo was created with


def _show(field: str, value, currency: str) -> str:
    """A logged value as people read it: money with its symbol, times in the clinic's zone, Yes/No."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field in CHOICE_LABELS:
        return str(CHOICE_LABELS[field].get(value, value))
    if field in MONEY_FIELDS:
        try:
            return format_money(Decimal(str(value)), currency)
        except (InvalidOperation, ValueError):
            return str(value)
    if field in ("starts_at", "ends_at") and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return date_format(timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed, "j M Y, H:i")
    if field == "tiers" and isinstance(value, list):
        return "; ".join(_show_tier(t, currency) for t in value) or "–"
    if field == "audience_patient_ids" and isinstance(value, list):
        return f"{len(value)} patient{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _show_tier(tier, currency: str) -> str:
    if not isinstance(tier, dict):
        return str(tier)
    from clinic_crm.common.models import discount_label

    try:
        value = Decimal(str(tier["discount_value"])) if tier.get("discount_value") not in (None, "") else None
        threshold = format_money(Decimal(str(tier.get("min_order", 0))), currency)
    except (InvalidOperation, ValueError, KeyError):
        return str(tier)
    return f"from {threshold}: {discount_label(tier.get('discount_type', ''), value, currency)}"


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def _activity_rows(promo: Promo, currency: str) -> list[ActivityRow]:
    rows = []
    for entry in selectors.list_promo_activity(promo=promo):
        changes, snapshot = [], []
        for field, change in (entry.diff or {}).items():
            if isinstance(change, dict) and ("before" in change or "after" in change):
                changes.append(DiffLine(field=_label(field), before=_show(field, change.get("before"), currency),
                                        after=_show(field, change.get("after"), currency)))
            elif isinstance(change, dict):
                # A creation logs the whole promo as it started, not a before/after pair.
                snapshot += [(_label(name), _show(name, value, currency)) for name, value in change.items()
                             if value not in (None, "", [], False)]
            else:
                changes.append(DiffLine(field=_label(field), before="–", after=_show(field, change, currency)))
        rows.append(ActivityRow(action=entry.action, action_label=entry.get_action_display(),
                                actor_name=entry.actor_name, actor_email=entry.actor_email,
                                created_at=entry.created_at, changes=changes, snapshot=snapshot))
    return rows


@clinic_view(required_role=Role.VIEWER)
def promo_detail(request, promo_id):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    detail = selectors.get_promo_detail(promo=promo, currency=request.clinic.currency)
    context = {
        "nav": "promos", "promo": promo, "detail": detail,
        "metrics": selectors.get_promo_metrics(promo=promo),
        "activity": _activity_rows(promo, request.clinic.currency),
        "here": request.get_full_path(),
    }
    if promo.kind == PromoKind.PERSONALISED:
        context["codes"] = selectors.list_personal_codes(promo=promo)
        context["codes_form"] = GenerateCodesForm()
    return render(request, "promos/promo_detail.html", context)


# ---- Create and edit (PRO-1) ---------------------------------------------------------------------------------

@clinic_view(required_role=Role.STAFF)
def promo_create(request):
    form = PromoForm(request.POST or None, initial={"kind": PromoKind.GLOBAL})
    if request.method == "POST" and form.is_valid():
        try:
            promo = services.create_promo(clinic=request.clinic, data=form.to_service_data(), actor=_actor(request))
        except ValidationError as error:
            _report(form, error)
        else:
            messages.success(request, f"“{promo.name}” was created as a draft. Activate it when customers "
                                      "may use it.")
            return redirect("promos:detail", clinic_slug=request.clinic.slug, promo_id=promo.pk)
    return render(request, "promos/promo_form.html", {"form": form, "nav": "promos"})


@clinic_view(required_role=Role.STAFF)
def promo_edit(request, promo_id):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    code = PromoCode.objects.filter(promo=promo, patient__isnull=True).order_by("id").values_list(
        "code", flat=True).first() or ""
    initial = PromoForm.initial_for(
        promo=promo, code=code, tiers=promo.tiers.order_by("min_order"),
        patient_ids=list(promo.audience_members.values_list("patient_id", flat=True)))
    form = PromoForm(request.POST or None, initial=initial, promo=promo)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_promo(promo=promo, data=form.to_service_data(), actor=_actor(request))
        except ValidationError as error:
            _report(form, error)
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, f"“{promo.name}” was saved. The change is in its Activity log.")
            return redirect("promos:detail", clinic_slug=request.clinic.slug, promo_id=promo.pk)
    return render(request, "promos/promo_form.html", {"form": form, "promo": promo, "nav": "promos"})


# ---- Lifecycle (PRO-2) ------------------------------------------------------------------------------------

def _lifecycle(request, promo_id, service, done: str):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    try:
        service(promo=promo, actor=_actor(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(name=promo.name))
    return _back(request, promo)


@clinic_view(required_role=Role.STAFF)
@require_POST
def promo_pause(request, promo_id):
    return _lifecycle(request, promo_id, services.pause_promo,
                      "“{name}” is paused: customers who try its code are told “This code is paused.”")


@clinic_view(required_role=Role.STAFF)
@require_POST
def promo_activate(request, promo_id):
    return _lifecycle(request, promo_id, services.activate_promo, "“{name}” is active: customers can use it.")


@clinic_view(required_role=Role.STAFF)
def promo_archive(request, promo_id):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    if request.method == "POST":
        return _lifecycle(request, promo_id, services.archive_promo,
                          "“{name}” is archived. Its history stays here; it cannot be activated again.")
    context = {"nav": "promos", "promo": promo, "metrics": selectors.get_promo_metrics(promo=promo),
               "discount_label": selectors.get_promo_detail(promo=promo, currency=request.clinic.currency)
               .discount_label}
    return render(request, "promos/promo_confirm_archive.html", context)


# ---- Personal codes (PRO-1) -------------------------------------------------------------------------------

@clinic_view(required_role=Role.STAFF)
@require_POST
def promo_generate_codes(request, promo_id):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    form = GenerateCodesForm(request.POST)
    if form.is_valid():
        before = selectors.count_personal_codes(promo=promo)
        try:
            chosen = form.chosen_patients()
            services.generate_personal_codes(promo=promo, patients=chosen, actor=_actor(request),
                                             prefix=form.cleaned_data["prefix"])
        except ValidationError as error:
            _report(form, error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            count = selectors.count_personal_codes(promo=promo) - before
            kept = len(chosen) - count
            already = f" {kept} already had one and kept it." if kept else ""
            messages.success(request, f"{count} personal code{'s' if count != 1 else ''} generated.{already} "
                                      "Download the CSV to send them out.")
            return redirect("promos:detail", clinic_slug=request.clinic.slug, promo_id=promo.pk)
    detail = selectors.get_promo_detail(promo=promo, currency=request.clinic.currency)
    context = {
        "nav": "promos", "promo": promo, "detail": detail, "metrics": selectors.get_promo_metrics(promo=promo),
        "activity": _activity_rows(promo, request.clinic.currency), "codes": selectors.list_personal_codes(
            promo=promo), "codes_form": form, "here": request.get_full_path(),
    }
    return render(request, "promos/promo_detail.html", context, status=400)


@clinic_view(required_role=Role.STAFF)
def promo_codes_csv(request, promo_id):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    body = services.export_personal_codes_csv(promo=promo)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="promo-{promo.pk}-codes-{stamp}.csv"'
    return response


# ---- Compare (PRO-7) and portfolio (PRO-8) ------------------------------------------------------------------

@clinic_view(required_role=Role.VIEWER)
def promo_compare(request):
    sort = request.GET.get("sort") or "-uses"
    if sort.lstrip("-") not in selectors.COMPARISON_SORTS:
        sort = "-uses"
    rows = selectors.list_promo_comparison(sort=sort)
    columns = [(key, label, (key if sort == f"-{key}" else f"-{key}"), sort.lstrip("-") == key,
                sort.startswith("-")) for key, label in selectors.COMPARISON_SORTS.items()]
    context = {"nav": "promos", "tab": "compare", "rows": rows, "sort": sort, "columns": dict(
        (key, {"label": label, "next": nxt, "active": active, "descending": desc})
        for key, label, nxt, active, desc in columns)}
    return render(request, "promos/promo_compare.html", context)


@clinic_view(required_role=Role.VIEWER)
def promo_portfolio(request):
    today = timezone.localdate()
    chosen = resolve_period(request.GET, today=today)
    period, start, end, form = chosen.key, chosen.start, chosen.end, chosen.form
    metric = request.GET.get("metric", "uses")
    if metric not in CHART_METRICS:
        metric = "uses"
    portfolio = selectors.get_promo_portfolio(start=start, end=end)
    context = {
        "nav": "promos", "tab": "portfolio", "portfolio": portfolio, "period": period, "periods": PERIODS,
        "range_form": form, "metric": metric, "metrics": CHART_METRICS, "metric_label": CHART_METRICS[metric], "series": portfolio.series(metric),
        "range_query": (f"period=custom&start={start.isoformat()}&end={end.isoformat()}" if period == "custom"
                        else f"period={period}"),
    }
    return render(request, "promos/promo_portfolio.html", context)
