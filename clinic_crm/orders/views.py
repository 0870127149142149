"""The Revenue section: orders with their discounts, filterable (CORE-4)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from clinic_crm.common.csv_export import stream_csv
from clinic_crm.orders import selectors
from clinic_crm.orders.models import Order
from clinic_crm.tenancy.choices import Role
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


@clinic_view(required_role=Role.VIEWER)
def order_export(request):
    """The filtered orders as a CSV file, whatever their number (streamed, in chunks)."""
    filters = request.GET.copy()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def rows():
        orders, _ = selectors.list_orders(filters=filters)
        return selectors.iter_order_rows(queryset=orders)

    return stream_csv(clinic=request.clinic, filename=f"orders-{request.clinic.slug}-{stamp}.csv", rows=rows)


@clinic_view(required_role=Role.VIEWER)
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.select_related("patient").prefetch_related("lines"), pk=order_id)
    return render(request, "orders/order_detail.html", {"order": order, "nav": "revenue"})
