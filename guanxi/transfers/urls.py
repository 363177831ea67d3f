from django.urls import path

from guanxi.transfers import views

app_name = "transfers"
urlpatterns = [
    path("", views.job_index, name="job-index"),
    path("imports/new/", views.import_new, name="import-new"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import-mapping"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import-errors"),
    path("exports/new/", views.export, name="export"),
    path("exports/<int:pk>/", views.export_detail, name="export-detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
]
