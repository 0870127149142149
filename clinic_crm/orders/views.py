"""The Revenue section: orders with their discounts, filterable (CORE-4)."""

import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from clinic_crm.orders import selectors
from clinic_crm.orders.models import Order
from clinic_crm.tenancy.choices import Role
from clinic_crm.tenancy.context import clinic_scope
from clinic_crm.tenancy.decorators import clinic_view

PAGE_SIZE = 30


@clinic_view(required_role=Role.VIEWER)
def order_list(request):
    orders, filterset = selectors.list_orders(filters=request.GET, request=request)
    summary = selectors.summarise_orders(queryset=orders)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset, "page": page, "summary": summary, "nav": "revenue",
        "querystring": query.urlencode(), "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "filter_patient": filterset.form.cleaned_data.get("patient") if filterset.is_bound and filterset.is_valid() else None,
        "promotions": selectors.list_order_promotions(),
        "sort": request.GET.get("sort", ""),
    }
    template = "orders/order_list.html#results" if request.htmx else "orders/order_list.html"
    return render(request, template, context)


class _Echo:
    def write(self, value):
        return value


@clinic_view(required_role=Role.VIEWER)
def order_export(request):
    """The filtered orders as a CSV file, whatever their number (streamed, in chunks)."""
    clinic = request.clinic
    filters = request.GET.copy()

    def lines():
        # The response streams after this view returns: the rows are read in the clinic's scope again.
        writer = csv.writer(_Echo())
        with clinic_scope(clinic.pk), timezone.override(clinic.tzinfo):
            orders, _ = selectors.list_orders(filters=filters)
            for row in selectors.iter_order_rows(queryset=orders):
                yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="orders-{request.clinic.slug}-{stamp}.csv"'
    return response


@clinic_view(required_role=Role.VIEWER)
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.select_related("patient").prefetch_related("lines"), pk=order_id)
    return render(request, "orders/order_detail.html", {"order": order, "nav": "revenue"})
