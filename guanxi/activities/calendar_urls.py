"""The calendar: pages under /calendar/, and the secret iCalendar feed."""

from django.urls import path

from guanxi.activities import views

app_name = "calendar"
urlpatterns = [
    path("", views.calendar_view, name="index"),
    path("meetings/new/", views.meeting_create_view, name="meeting-new"),
    path("meetings/form-parts/", views.meeting_form_parts, name="meeting-form-parts"),
    path("meetings/<int:pk>/", views.meeting_detail_view, name="meeting-detail"),
    path("meetings/<int:pk>/edit/", views.meeting_edit_view, name="meeting-edit"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel_view, name="meeting-cancel"),
    path("feed/reset/", views.calendar_feed_reset_view, name="feed-reset"),
    path("feed/<str:token>.ics", views.calendar_feed_view, name="feed"),
]
