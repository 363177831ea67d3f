from django.urls import path

from guanxi.sales import views

app_name = "sales"
urlpatterns = [
    path("leads/", views.lead_index, name="lead-index"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/bulk/", views.lead_bulk, name="lead-bulk"),
    path("leads/trash/", views.lead_trash, name="lead-trash"),
    path("leads/pool/", views.lead_pool, name="lead-pool"),
    path("leads/<int:lead_id>/claim/", views.lead_claim, name="lead-claim"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:lead_id>/assign/", views.lead_assign, name="lead-assign"),
    path("leads/<int:lead_id>/disqualify/", views.lead_disqualify, name="lead-disqualify"),
    path("leads/<int:lead_id>/reopen/", views.lead_reopen, name="lead-reopen"),
    path("leads/<int:lead_id>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<int:lead_id>/delete/", views.lead_delete, name="lead-delete"),
    path("leads/<int:lead_id>/restore/", views.lead_restore, name="lead-restore"),
    path("opportunities/", views.opportunity_index, name="opportunity-index"),
    path("opportunities/new/", views.opportunity_create, name="opportunity-create"),
    path(
        "opportunities/customers/",
        views.opportunity_customer_options,
        name="opportunity-customer-options",
    ),
    path("opportunities/board/", views.kanban, name="opportunity-board"),
    path("opportunities/forecast/", views.forecast_view, name="opportunity-forecast"),
    path(
        "opportunities/<int:opportunity_id>/", views.opportunity_detail, name="opportunity-detail"
    ),
    path(
        "opportunities/<int:opportunity_id>/edit/", views.opportunity_edit, name="opportunity-edit"
    ),
    path(
        "opportunities/<int:opportunity_id>/move/", views.opportunity_move, name="opportunity-move"
    ),
    path(
        "opportunities/<int:opportunity_id>/close/",
        views.opportunity_close,
        name="opportunity-close",
    ),
    path(
        "opportunities/<int:opportunity_id>/reopen/",
        views.opportunity_reopen,
        name="opportunity-reopen",
    ),
    path(
        "opportunities/<int:opportunity_id>/assign/",
        views.opportunity_assign,
        name="opportunity-assign",
    ),
    path(
        "opportunities/<int:opportunity_id>/delete/",
        views.opportunity_delete,
        name="opportunity-delete",
    ),
    path(
        "opportunities/<int:opportunity_id>/restore/",
        views.opportunity_restore,
        name="opportunity-restore",
    ),
]
