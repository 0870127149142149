from django.urls import path

from clinic_crm.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("patients.csv", views.patient_export, name="export"),
    path("new/", views.patient_create, name="create"),
    path("segments/recompute/", views.rfm_recompute, name="rfm_recompute"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
]
