from django.urls import path

from guanxi.performance import views

app_name = "performance"
urlpatterns = [
    path("sales/", views.sales_dashboard, name="sales-dashboard"),
    path("targets/", views.targets, name="targets"),
]
