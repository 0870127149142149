from django.urls import path

from redemptions import views

app_name = "responses"

urlpatterns = [
    path("", views.response_list, name="list"),
    path("responses.csv", views.response_export, name="export"),
    path("<int:response_id>/", views.response_detail, name="detail"),
]
