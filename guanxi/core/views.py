from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from guanxi.activities.selectors import notifications_for
from guanxi.core.models import Region
from guanxi.customers.access import customers_visible_to
from guanxi.customers.models import RecentView
from guanxi.users.models import User


def home(request: HttpRequest) -> HttpResponse:
    """My customers, recently viewed customers and mentions of me."""
    user = request.user
    assert isinstance(user, User)
    visible = customers_visible_to(user)
    mine = visible.filter(owner=user).select_related("channel").order_by("-updated_at", "-id")
    recent = (
        RecentView.objects.filter(user=user, customer__in=visible)
        .select_related("customer")
        .order_by("-viewed_at")[:10]
    )
    return render(
        request,
        "core/home.html",
        {
            "my_customers": mine[:10],
            "my_customer_count": mine.count(),
            "recent": recent,
            "mentions": notifications_for(user=user).filter(kind="mention")[:10],
        },
    )


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
def region_options(request: HttpRequest) -> HttpResponse:
    """``<option>`` list of the cities of a province or the districts of a city (htmx)."""
    # Forms may be prefixed ("address-province"), so match on the end of the name.
    parent = None
    for key, value in request.GET.items():
        if key.endswith(("province", "city")):
            level = Region.Level.PROVINCE if key.endswith("province") else Region.Level.CITY
            parent = Region.objects.filter(level=level, name=value[:64]).first()
            break
    children = list(parent.children.all()) if parent else []
    return render(request, "core/region_options.html", {"regions": children})
