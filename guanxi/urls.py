from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("", include("guanxi.core.urls")),
    path("", include("guanxi.users.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("activities/", include("guanxi.activities.urls")),
    path("transfers/", include("guanxi.transfers.urls")),
    path("api/v1/", include("guanxi.api_urls")),
    path("settings/admin/", admin.site.urls),
]
