"""Marketing → Promos: the list, detail with metrics and activity log, forms, comparison and portfolio
(PRO-1, PRO-2, PRO-4 … PRO-8)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clinic_crm.common.csv_export import stream_csv
from clinic_crm.common.errors import ApplicationError
from clinic_crm.common.periods import PERIODS, resolve_period
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from promos import selectors, services
from promos.choices import PromoKind
from promos.events import Actor
from promos.filters import SORTS
from promos.forms import GenerateCodesForm, PromoForm
from promos.models import Promo, PromoCode
from redemptions.choices import RedemptionStatus
from redemptions.selectors import count_promotions, list_promotion_redemptions

USED_BY_ROWS = 15

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
        "nav": "promos", "tab": "list", "listing": listing, "sorts": SORTS, "rates": count_promotions(),
        "sort": request.GET.get("sort") or "-created", "q": request.GET.get("q", ""),
        "here": request.get_full_path(), "querystring": request.GET.urlencode(),
    }
    return render(request, "promos/promo_list.html", context)


@clinic_view(required_role=Role.VIEWER)
def promo_export(request):
    """The promo list as shown (segment, search, sort) as a CSV file."""
    data, currency = request.GET.copy(), request.clinic.currency
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def rows():
        listing = selectors.list_promo_rows(data=data, currency=currency)
        return selectors.promo_csv_rows(listing, rates=count_promotions(), currency=currency)

    return stream_csv(clinic=request.clinic, filename=f"promos-{request.clinic.slug}-{stamp}.csv", rows=rows)


# ---- Detail (PRO-4, PRO-5) ---------------------------------------------------------------------------------

def _detail_context(request, promo: Promo, *, codes_form: GenerateCodesForm | None = None,
                    find: str = "") -> dict:
    """Everything the detail page shows; the generate-codes form re-renders it with its errors."""
    currency = request.clinic.currency
    context = {
        "nav": "promos", "promo": promo, "detail": selectors.get_promo_detail(promo=promo, currency=currency),
        "metrics": selectors.get_promo_metrics(promo=promo),
        "activity": selectors.list_promo_activity_rows(promo=promo, currency=currency),
        "here": request.get_full_path(),
        # Who used it, newest first, with their orders (the full list is Revenue, filtered by the promo).
        "used_by": list(list_promotion_redemptions(promotion_key=promo.promotion_key,
                                                   status=RedemptionStatus.APPLIED)[:USED_BY_ROWS]),
    }
    if promo.kind == PromoKind.PERSONALISED:
        codes_form = codes_form or GenerateCodesForm()
        context.update(
            codes=selectors.list_personal_codes(promo=promo), codes_form=codes_form,
            candidates=selectors.list_code_candidates(promo=promo, search=find),
            chosen={str(pk) for pk in (codes_form.data.getlist("patients") if codes_form.is_bound else [])},
        )
    return context


@clinic_view(required_role=Role.VIEWER)
def promo_detail(request, promo_id):
    promo = get_object_or_404(Promo.objects, pk=promo_id)
    context = _detail_context(request, promo, find=request.GET.get("find", ""))
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
            messages.success(request, f"“{promo.name}” was created as a draft. Activate it when patients "
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
        promo = service(promo=promo, actor=_actor(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if promo.is_scheduled():  # active, but not yet: say when it starts, not that it works
            start = timezone.localtime(promo.starts_at)
            done = f"“{{name}}” is scheduled: its code works from {start:%-d %b %Y, %H:%M}."
        messages.success(request, done.format(name=promo.name))
    return _back(request, promo)


@clinic_view(required_role=Role.STAFF)
@require_POST
def promo_pause(request, promo_id):
    return _lifecycle(request, promo_id, services.pause_promo,
                      "“{name}” is paused: patients who try its code are told “This code is paused.”")


@clinic_view(required_role=Role.STAFF)
@require_POST
def promo_activate(request, promo_id):
    return _lifecycle(request, promo_id, services.activate_promo, "“{name}” is active: patients can use it.")


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
    context = _detail_context(request, promo, codes_form=form, find=request.POST.get("find", ""))
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
    context = {"nav": "promos", "tab": "compare", "rows": rows, "sort": sort,
               "columns": {key: _sort_column(key, sort) for key in selectors.COMPARISON_COLUMNS},
               "sort_options": _sort_options()}
    return render(request, "promos/promo_compare.html", context)


def _sort_options() -> list[tuple[str, str]]:
    """The phone layout's sort menu (its table has no headings to click): each column both ways."""
    options = []
    for key in selectors.COMPARISON_COLUMNS:
        label = selectors.COMPARISON_SORTS[key]
        up, down = ("A–Z", "Z–A") if key == "name" else ("lowest first", "highest first")
        pair = [(key, f"{label}, {up}"), (f"-{key}", f"{label}, {down}")]
        options += pair if key in selectors.ASCENDING_FIRST else pair[::-1]
    return options


def _sort_column(key: str, sort: str) -> dict:
    """A sortable header: its label, whether the table is sorted by it, and where a click goes."""
    active, descending = sort.lstrip("-") == key, sort.startswith("-")
    if active:
        following = key if descending else f"-{key}"  # a second click turns the order round
    else:
        following = key if key in selectors.ASCENDING_FIRST else f"-{key}"
    return {"label": selectors.COMPARISON_SORTS[key], "next": following, "active": active,
            "descending": descending}


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
