from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from clinic_crm.common.api import api_not_found
from clinic_crm.common.health import healthz, readyz
from clinic_crm.tenancy import two_factor_views
from clinic_crm.tenancy import views as tenancy_views
from coupons import public_views as coupon_public


clinic_urls = [
    path("", include("clinic_crm.dashboard.urls")),
    path("patients/", include("clinic_crm.patients.urls")),
    path("offers/", include("offers.urls")),
    path("promos/", include("promos.urls")),
    path("cards/", include("coupons.urls")),
    path("responses/", include("redemptions.urls")),
    path("exports/", include("redemptions.export_urls")),
    path("revenue/", include("clinic_crm.orders.urls")),
    path("settings/", include("clinic_crm.tenancy.urls")),
]

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Ahead of the dashboard's patterns, which never start with api/: the app and POS calls are
    # the most frequent requests, and each pattern tried before a match costs time.
    path("api/v1/", include("clinic_crm.api_urls")),
    path("api/v1/<path:rest>", api_not_found),
    path("accounts/login/", tenancy_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", tenancy_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", tenancy_views.password_change_done, name="password_change_done"),
    path("accounts/invitations/<str:token>/", tenancy_views.invitation, name="invitation"),
    path("accounts/two-factor/", two_factor_views.two_factor_manage, name="two_factor_manage"),
    path("accounts/two-factor/verify/", two_factor_views.two_factor_verify, name="two_factor_verify"),
    path("accounts/two-factor/setup/", two_factor_views.two_factor_setup, name="two_factor_setup"),
    path("accounts/two-factor/off/", two_factor_views.two_factor_turn_off, name="two_factor_off"),
    path("accounts/two-factor/recovery-codes/", two_factor_views.two_factor_new_codes, name="two_factor_new_codes"),
    path("accounts/password-reset/", tenancy_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", tenancy_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", tenancy_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("c/<slug:clinic_slug>/", include(clinic_urls)),
    # A customer's own card pages: the link's token is the credential (coupons/public_views.py).
    path("cards/<slug:clinic_slug>/i/<str:token>/", coupon_public.card_install, name="card_install"),
    path("cards/<slug:clinic_slug>/i/<str:token>/manifest.webmanifest", coupon_public.card_manifest,
         name="card_manifest"),
    path("cards/<slug:clinic_slug>/i/<str:token>/card.pkpass", coupon_public.card_wallet_pass,
         name="card_wallet_pass"),
    path("cards/<slug:clinic_slug>/r/<str:token>/", coupon_public.card_refer, name="card_refer"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under api/ is the API's JSON 404, whatever the method: never a redirect to a
    # slash, Django's CSRF page or the dashboard's HTML 404.
    path("api/", api_not_found),
    path("api/<path:rest>", api_not_found),
    path("admin/", admin.site.urls),
]

handler404 = "clinic_crm.tenancy.views.page_not_found"
handler500 = "clinic_crm.tenancy.views.server_error"
handler403 = "clinic_crm.tenancy.views.permission_denied"

