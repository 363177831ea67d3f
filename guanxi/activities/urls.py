from django.urls import path

from guanxi.activities import views

app_name = "activities"
urlpatterns = [
    path("notifications/", views.notification_index, name="notification-index"),
    path("notifications/read/", views.notification_read_all, name="notification-read-all"),
    path("my-day/", views.my_day_view, name="my-day"),
    path("follow-ups/plan/", views.follow_up_plan_view, name="follow-up-plan"),
    path("follow-ups/record/", views.follow_up_record_view, name="follow-up-record"),
    path("follow-ups/<int:pk>/done/", views.follow_up_complete_view, name="follow-up-complete"),
    path("follow-ups/<int:pk>/cancel/", views.follow_up_cancel_view, name="follow-up-cancel"),
    path("call-lists/", views.call_list_index, name="call-list-index"),
    path("call-lists/new/", views.call_list_create_view, name="call-list-new"),
    path("call-lists/<int:pk>/", views.call_list_detail_view, name="call-list-detail"),
    path("call-lists/<int:pk>/next/", views.call_list_next_view, name="call-list-next"),
    path("call-lists/entries/<int:pk>/", views.call_list_entry_view, name="call-list-entry"),
]
