from django.urls import path

from guanxi.sales import views

app_name = "sales"
urlpatterns = [
    path("leads/", views.lead_index, name="lead-index"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/bulk/", views.lead_bulk, name="lead-bulk"),
    path("leads/trash/", views.lead_trash, name="lead-trash"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:lead_id>/assign/", views.lead_assign, name="lead-assign"),
    path("leads/<int:lead_id>/disqualify/", views.lead_disqualify, name="lead-disqualify"),
    path("leads/<int:lead_id>/reopen/", views.lead_reopen, name="lead-reopen"),
    path("leads/<int:lead_id>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<int:lead_id>/delete/", views.lead_delete, name="lead-delete"),
    path("leads/<int:lead_id>/restore/", views.lead_restore, name="lead-restore"),
]
