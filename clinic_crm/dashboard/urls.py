from django.urls import path

from clinic_crm.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="overview"),
    path("patients/<int:patient_id>/", views.patient_profile, name="patient"),
    path("cards/c/<str:serial>/", views.card_profile, name="card"),
    path("cards/c/<str:serial>/information/", views.card_information, name="card_information"),
    path("cards/c/<str:serial>/push/", views.card_push, name="card_push"),
    path("cards/c/<str:serial>/push/<int:scheduled_id>/cancel/", views.card_push_cancel, name="card_push_cancel"),
    path("cards/c/<str:serial>/feedback/", views.card_feedback, name="card_feedback"),
    path("promotions/", views.promotion_list, name="promotions"),
    path("promotions/promotions.csv", views.promotion_export, name="promotions_export"),
    path("promotions/<str:promotion_key>/", views.promotion_detail, name="promotion"),
]
