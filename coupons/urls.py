from django.urls import path

from coupons import views

app_name = "cards"

urlpatterns = [
    path("", views.card_template_list, name="list"),
    path("cards.csv", views.card_template_export, name="export"),
    path("new/", views.card_template_create, name="create"),
    path("apple-wallet/", views.wallet_settings, name="wallet"),
    path("apple-wallet/remove/", views.wallet_remove, name="wallet_remove"),
    path("<int:template_id>/", views.card_template_detail, name="detail"),
    path("<int:template_id>/edit/", views.card_template_edit, name="edit"),
    path("<int:template_id>/issue/", views.card_issue, name="issue"),
    path("c/<str:serial>/redeem/", views.card_redeem, name="redeem"),
    path("c/<str:serial>/stamp/", views.card_stamp, name="stamp"),
    path("c/<str:serial>/delete/", views.card_delete, name="delete"),
    path("c/<str:serial>/expiration/", views.card_expiration, name="expiration"),
]
