from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from guanxi.activities.models import Notification
from guanxi.activities.selectors import notifications_for
from guanxi.users.models import User


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def notification_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "activities/notifications.html",
        {
            "notifications": notifications_for(user=user)[:100],
        },
    )


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=_user(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return redirect("activities:notification-index")
