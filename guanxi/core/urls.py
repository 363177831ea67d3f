from django.urls import path

from guanxi.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("regions/options/", views.region_options, name="region-options"),
]
