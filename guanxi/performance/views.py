"""The sales dashboard: figures per rep, team or department over a period, with charts."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.http import request_user
from guanxi.performance.forms import PeriodForm
from guanxi.performance.selectors import (
    BASE_CURRENCY,
    chart_data,
    month_bounds,
    people_in_reach,
    sales_statistics,
    targets_of_year,
)
from guanxi.performance.services import targets_set


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
        "won_amount": _("Closed-won"),
        "target": _("Target"),
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


def targets(request: HttpRequest) -> HttpResponse:
    """Monthly sales targets of the reps in reach for a year; editable by managers."""
    user = request_user(request)
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or 0)
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        year = timezone.localdate().year
    people = list(people_in_reach(user).distinct().order_by("team__name", "username"))
    writable = (
        set(people_in_reach(user, "write").values_list("pk", flat=True))
        if user.has_perm("performance.change_salestarget")
        else set()
    )
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {}
        for person in people:
            if person.pk not in writable:
                continue
            for month in range(1, 13):
                name = f"t-{person.pk}-{month}"
                if name in request.POST:
                    values[(person.pk, month)] = request.POST[name]
        try:
            changed = targets_set(actor=user, year=year, values=values)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("%(n)d targets saved.") % {"n": changed})
            return redirect(f"{request.path}?year={year}")
    current = targets_of_year([p.pk for p in people], year)
    rows = []
    for person in people:
        cells = []
        for month in range(1, 13):
            key = f"target.{person.pk}.{month}"
            posted = request.POST.get(f"t-{person.pk}-{month}") if errors else None
            value = current.get((person.pk, month))
            cells.append(
                {
                    "month": month,
                    "name": f"t-{person.pk}-{month}",
                    "value": posted if posted is not None else (value if value is not None else ""),
                    "error": " ".join(errors.get(key, [])),
                }
            )
        total = sum((v for (pk, _m), v in current.items() if pk == person.pk), Decimal(0))
        rows.append(
            {"person": person, "cells": cells, "total": total, "editable": person.pk in writable}
        )
    return render(
        request,
        "performance/targets.html",
        {
            "year": year,
            "rows": rows,
            "months": range(1, 13),
            "can_edit": bool(writable),
            "has_errors": bool(errors),
            "currency": BASE_CURRENCY,
        },
        status=422 if errors else 200,
    )
