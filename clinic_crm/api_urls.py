"""The versioned REST API (API.md). Apps add their own lists under app/, pos/, staff/ and events/."""

from django.urls import include, path

from clinic_crm.orders import apis as order_apis
from clinic_crm.patients import apis as patient_apis
from clinic_crm.tenancy import apis as tenancy_apis

app_urls = [
    path("auth/code", patient_apis.SignInCodeApi.as_view(), name="app-auth-code"),
    path("auth/token", patient_apis.SignInTokenApi.as_view(), name="app-auth-token"),
    path("me", patient_apis.AppMeApi.as_view(), name="app-me"),
]

pos_urls = [
    path("patients", patient_apis.PosPatientListApi.as_view(), name="pos-patient-list"),
    path("patients/<str:external_id>", patient_apis.PosPatientDetailApi.as_view(), name="pos-patient-detail"),
    path("orders", order_apis.PosOrderCreateApi.as_view(), name="pos-order-create"),
    path("orders/<str:reference>", order_apis.PosOrderDetailApi.as_view(), name="pos-order-detail"),
]

staff_urls = [
    path("token", tenancy_apis.StaffTokenApi.as_view(), name="staff-token"),
    path("me", tenancy_apis.StaffMeApi.as_view(), name="staff-me"),
]

urlpatterns = [
    path("app/", include((app_urls, "app"))),
    path("pos/", include((pos_urls, "pos"))),
    path("staff/", include((staff_urls, "staff"))),
]
