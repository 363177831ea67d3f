from django.contrib import admin
from django.urls import include, path

# Uploaded files are never served from a public URL: attachments and export files go
# through views that check access first.
urlpatterns = [
    path("", include("guanxi.core.urls")),
    path("", include("guanxi.users.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("activities/", include("guanxi.activities.urls")),
    path("calendar/", include("guanxi.activities.calendar_urls")),
    path("sales/", include("guanxi.sales.urls")),
    path("commerce/", include("guanxi.commerce.urls")),
    path("performance/", include("guanxi.performance.urls")),
    path("transfers/", include("guanxi.transfers.urls")),
    path("f/", include("guanxi.sales.public_urls")),  # public web-to-lead forms
    path("api/v1/", include("guanxi.api_urls")),
    path("settings/admin/", admin.site.urls),
]
