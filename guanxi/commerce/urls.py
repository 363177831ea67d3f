from django.urls import path

from guanxi.commerce import views

app_name = "commerce"
urlpatterns = [
    path("products/", views.product_index, name="product-index"),
    path("products/new/", views.product_edit, name="product-new"),
    path("products/<int:product_id>/", views.product_edit, name="product-edit"),
    path("price-lists/", views.price_list_index, name="price-list-index"),
    path("price-lists/new/", views.price_list_edit, name="price-list-new"),
    path("price-lists/<int:price_list_id>/", views.price_list_edit, name="price-list-edit"),
    path("quotes/", views.quote_index, name="quote-index"),
    path("quotes/new/", views.quote_new, name="quote-new"),
    path("quotes/<int:quote_id>/", views.quote_detail, name="quote-detail"),
    path("quotes/<int:quote_id>/edit/", views.quote_edit, name="quote-edit"),
    path("quotes/<int:quote_id>/pdf/", views.quote_pdf_view, name="quote-pdf"),
    path("quotes/<int:quote_id>/<str:action>/", views.quote_act, name="quote-act"),
    path("orders/", views.order_index, name="order-index"),
    path("orders/new/", views.order_new, name="order-new"),
    path("orders/from-quote/<int:quote_id>/", views.order_from_quote_view, name="order-from-quote"),
    path("orders/<int:order_id>/", views.order_detail, name="order-detail"),
    path("orders/<int:order_id>/edit/", views.order_edit, name="order-edit"),
    path("orders/<int:order_id>/status/", views.order_status, name="order-status"),
    path("orders/<int:order_id>/invoice/", views.invoice_new, name="invoice-new"),
    path("receivables/", views.invoice_index, name="invoice-index"),
    path("receivables/<int:invoice_id>/", views.invoice_detail, name="invoice-detail"),
    path("receivables/<int:invoice_id>/pay/", views.payment_new, name="payment-new"),
    path("receivables/<int:invoice_id>/cancel/", views.invoice_cancel_view, name="invoice-cancel"),
    path("policy/", views.policy_edit, name="policy-edit"),
]
