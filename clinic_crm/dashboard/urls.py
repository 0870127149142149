from django.urls import path

from clinic_crm.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="overview"),
    path("patients/<int:patient_id>/", views.patient_profile, name="patient"),
    path("cards/c/<str:serial>/", views.card_profile, name="card"),
]
