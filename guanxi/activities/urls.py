from django.urls import path

from guanxi.activities import views

app_name = "activities"
urlpatterns = [
    path("notifications/", views.notification_index, name="notification-index"),
    path("notifications/read/", views.notification_read_all, name="notification-read-all"),
]
