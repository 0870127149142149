from django.urls import path

from offers import views

app_name = "offers"

urlpatterns = [
    path("", views.offer_list, name="list"),
    path("automated/", views.automated_list, name="automated"),
    path("new/", views.offer_create, name="create"),
    path("<int:offer_id>/edit/", views.offer_edit, name="edit"),
    path("<int:offer_id>/publish/", views.offer_publish, name="publish"),
    path("<int:offer_id>/unpublish/", views.offer_unpublish, name="unpublish"),
    path("<int:offer_id>/delete/", views.offer_delete, name="delete"),
    path("<int:offer_id>/push/", views.offer_push, name="push"),
    path("<int:offer_id>/redemptions/", views.offer_redemptions, name="redemptions"),
    path("automated/<int:automated_id>/edit/", views.automated_edit, name="automated_edit"),
    path("automated/<int:automated_id>/activate/", views.automated_activate, name="automated_activate"),
    path("automated/<int:automated_id>/deactivate/", views.automated_deactivate, name="automated_deactivate"),
    path("automated/<int:automated_id>/publish/", views.automated_publish, name="automated_publish"),
    path("automated/<int:automated_id>/unpublish/", views.automated_unpublish, name="automated_unpublish"),
]
