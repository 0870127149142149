from django.contrib import admin

from clinic_crm.orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["description", "quantity", "unit_price", "clinic"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference", "clinic", "patient", "placed_at", "subtotal", "discount_amount", "total", "currency",
                    "discount_source", "source_name"]
    list_filter = ["clinic", "discount_source", "discount_type", "currency"]
    search_fields = ["reference", "patient__last_name", "patient__email", "source_name", "source_key"]
    date_hierarchy = "placed_at"
    list_select_related = ["clinic", "patient"]
    raw_id_fields = ["patient"]
    inlines = [OrderLineInline]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["description", "order", "clinic", "quantity", "unit_price"]
    list_filter = ["clinic"]
    search_fields = ["description", "order__reference"]
    list_select_related = ["order", "clinic"]
    raw_id_fields = ["order"]
