"""The Revenue section: orders with their discounts, filterable (CORE-4)."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

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
    }
    template = "orders/order_list.html#results" if request.htmx else "orders/order_list.html"
    return render(request, template, context)


@clinic_view(required_role=Role.VIEWER)
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.select_related("patient").prefetch_related("lines"), pk=order_id)
    return render(request, "orders/order_detail.html", {"order": order, "nav": "revenue"})
