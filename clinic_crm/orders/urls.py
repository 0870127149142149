from django.urls import path

from clinic_crm.orders import views

app_name = "revenue"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("<int:order_id>/", views.order_detail, name="detail"),
]
