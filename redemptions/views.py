"""Marketing → Offer Responses: every response across patients, one response's history and status (RED-3)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic_crm.common.csv_export import stream_csv
from clinic_crm.common.errors import ApplicationError
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.decorators import clinic_view
from redemptions import selectors, services
from redemptions.choices import ActorKind
from redemptions.filters import DEFAULT_SORT, SORT_LABELS, ResponseFilter
from redemptions.forms import TransitionForm
from redemptions.models import OfferResponse
from redemptions.registry import kind_label

PAGE_SIZE = 50


@clinic_view(required_role=Role.VIEWER)
def response_list(request):
    today = request.clinic.today()
    filterset = ResponseFilter(request.GET or None, queryset=OfferResponse.objects.select_related("patient"),
                               today=today)
    responses = filterset.qs if (filterset.is_bound and filterset.is_valid()) else filterset.queryset.order_by(
        "-created_at", "-id")
    page = Paginator(responses, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    offer_key = request.GET.get("offer", "") if filterset.is_bound and filterset.is_valid() else ""
    context = {
        "filter": filterset, "page": page, "today": today, "nav": "responses", "sorts": SORT_LABELS,
        "querystring": query.urlencode(), "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
        "offer": selectors.describe_promotion(promotion_key=offer_key) if offer_key else None,
        "kind_label": kind_label, "sort": request.GET.get("sort") or DEFAULT_SORT,
    }
    return render(request, "redemptions/response_list.html", context)


@clinic_view(required_role=Role.VIEWER)
def response_export(request):
    """The responses as the list shows them (filters and sort) as a CSV file, read in chunks."""
    data, today = request.GET.copy(), request.clinic.today()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def rows():
        filterset = ResponseFilter(data or None, queryset=OfferResponse.objects.select_related("patient"), today=today)
        if filterset.is_bound and not filterset.is_valid():
            return iter([selectors.RESPONSE_CSV_COLUMNS])  # the page shows why; the file has the heading alone
        return selectors.iter_response_csv_rows(queryset=filterset.qs)

    return stream_csv(clinic=request.clinic, filename=f"responses-{request.clinic.slug}-{stamp}.csv", rows=rows)


@clinic_view(required_role=Role.VIEWER)
def response_detail(request, response_id):
    response = selectors.get_response(response_id=response_id)
    if response is None:
        raise Http404("No such offer response")
    form = TransitionForm(request.POST or None, response=response)
    if request.method == "POST" and form.is_valid():
        actor = services.Actor(kind=ActorKind.STAFF, name=request.user.get_full_name() or request.user.email,
                               id=request.user.pk)
        try:
            moved = services.transition_response(response=response, to=form.cleaned_data["to"], actor=actor,
                                                 reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"The response is now {moved.get_status_display().lower()}.")
            return redirect("responses:detail", clinic_slug=request.clinic.slug, response_id=moved.pk)
    context = {
        "response": response, "form": form, "nav": "responses", "today": request.clinic.today(),
        "history": selectors.list_response_history(responses=[response])[response.pk],
        "kind": kind_label(response.promotion_key.rpartition("_")[0]),
    }
    return render(request, "redemptions/response_detail.html", context)
