from django.urls import path

from clinic_crm.orders import views

app_name = "revenue"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("orders.csv", views.order_export, name="export"),
    path("<int:order_id>/", views.order_detail, name="detail"),
]
