from django.urls import path

from clinic_crm.tenancy import views

app_name = "settings"

urlpatterns = [
    path("", views.clinic_settings, name="clinic"),
    path("onesignal/", views.onesignal_settings, name="onesignal"),
    path("app-key/regenerate/", views.app_key_regenerate, name="app_key_regenerate"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("staff/", views.staff, name="staff"),
    path("staff/two-factor/", views.staff_two_factor, name="staff_two_factor"),
    path("staff/<int:membership_id>/role/", views.staff_role, name="staff_role"),
    path("staff/<int:membership_id>/remove/", views.staff_remove, name="staff_remove"),
    path("staff/invitations/<int:invitation_id>/resend/", views.staff_invitation_resend,
         name="staff_invitation_resend"),
    path("staff/invitations/<int:invitation_id>/revoke/", views.staff_invitation_revoke,
         name="staff_invitation_revoke"),
]
