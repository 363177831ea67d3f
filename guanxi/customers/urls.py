from django.urls import path

from guanxi.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_index, name="customer-index"),
    path("search/", views.search, name="search"),
    path("new/", views.customer_create, name="customer-create"),
    path("bulk/", views.customer_bulk, name="customer-bulk"),
    path("duplicates/", views.duplicate_check, name="duplicate-check"),
    path("trash/", views.customer_trash, name="customer-trash"),
    path("pool/", views.customer_pool, name="customer-pool"),
    path("<int:pk>/claim/", views.customer_claim, name="customer-claim"),
    path("views/", views.saved_view_create, name="saved-view-create"),
    path("views/<int:view_id>/delete/", views.saved_view_delete, name="saved-view-delete"),
    path("<int:customer_id>/", views.customer_detail_view, name="customer-detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:customer_id>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("<int:customer_id>/delete/", views.customer_delete, name="customer-delete"),
    path("<int:customer_id>/restore/", views.customer_restore, name="customer-restore"),
    path("<int:customer_id>/purge/", views.customer_purge, name="customer-purge"),
    path("<int:customer_id>/merge/", views.customer_merge, name="customer-merge"),
    path("<int:customer_id>/notes/", views.note_create, name="note-create"),
    path("<int:customer_id>/attachments/", views.attachment_upload, name="attachment-upload"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment-download"),
    path("<int:customer_id>/addresses/new/", views.address_edit, name="address-create"),
    path("<int:customer_id>/addresses/<int:address_id>/", views.address_edit, name="address-edit"),
    path(
        "<int:customer_id>/addresses/<int:address_id>/delete/",
        views.address_delete,
        name="address-delete",
    ),
    path("<int:customer_id>/contacts/new/", views.contact_create, name="contact-create"),
    path(
        "<int:customer_id>/contacts/<int:contact_id>/unlink/",
        views.contact_unlink,
        name="contact-unlink",
    ),
    path("contacts/", views.contact_index, name="contact-index"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact-delete"),
]
