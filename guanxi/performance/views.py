"""The sales dashboard: figures per rep, team or department over a period, with charts."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.http import request_user
from guanxi.performance.forms import PeriodForm
from guanxi.performance.selectors import BASE_CURRENCY, chart_data, month_bounds, sales_statistics


def sales_dashboard(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied
    first, last = month_bounds(timezone.localdate())
    form = PeriodForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    start = data.get("start") or first
    end = data.get("end") or last
    if end < start:
        start, end = first, last
    grouping = data.get("grouping") or "rep"
    stats = sales_statistics(
        user=user, start=start, end=end, grouping=grouping, unassigned=_("No team")
    )
    labels = {
        "revenue": _("Revenue"),
        "collections": _("Collections"),
        "pipeline": _("Open pipeline"),
        "win_rate": _("Win rate (%)"),
        "leads": _("Leads"),
        "won": _("Customers won"),
        "no_channel": _("No channel"),
    }
    context = {
        "form": form,
        "stats": stats,
        "start": start,
        "end": end,
        "grouping": grouping,
        "currency": BASE_CURRENCY,
        "charts": chart_data(stats, labels),
    }
    status = 422 if request.GET and not form.is_valid() else 200
    return render(request, "performance/sales_dashboard.html", context, status=status)
