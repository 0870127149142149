from django.urls import path

from redemptions import export_views as views

app_name = "exports"

urlpatterns = [
    path("", views.export_list, name="list"),
    path("new/", views.export_edit, name="create"),
    path("<int:definition_id>/", views.export_detail, name="detail"),
    path("<int:definition_id>/edit/", views.export_edit, name="edit"),
    path("<int:definition_id>/run/", views.export_run, name="run"),
    path("files/<int:run_id>/", views.export_download, name="download"),
]
