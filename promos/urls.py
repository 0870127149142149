from django.urls import path

from promos import views

app_name = "promos"

urlpatterns = [
    path("", views.promo_list, name="list"),
    path("promos.csv", views.promo_export, name="export"),
    path("compare/", views.promo_compare, name="compare"),
    path("portfolio/", views.promo_portfolio, name="portfolio"),
    path("new/", views.promo_create, name="create"),
    path("<int:promo_id>/", views.promo_detail, name="detail"),
    path("<int:promo_id>/edit/", views.promo_edit, name="edit"),
    path("<int:promo_id>/pause/", views.promo_pause, name="pause"),
    path("<int:promo_id>/activate/", views.promo_activate, name="activate"),
    path("<int:promo_id>/archive/", views.promo_archive, name="archive"),
    path("<int:promo_id>/codes/", views.promo_generate_codes, name="generate_codes"),
    path("<int:promo_id>/codes.csv", views.promo_codes_csv, name="codes_csv"),
]
