from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.activities.access import follow_up_can_work, follow_ups_visible_to
from guanxi.activities.forms import CompleteForm, PlanForm, RecordForm
from guanxi.activities.models import FollowUp, Notification
from guanxi.activities.selectors import my_day, notifications_for, team_progress
from guanxi.activities.services import (
    follow_up_cancel,
    follow_up_complete,
    follow_up_plan,
    follow_up_record,
)
from guanxi.core.http import form_add_errors, request_user
from guanxi.customers.access import customer_access_by_id
from guanxi.sales.access import lead_access_by_id
from guanxi.users.access import scope_for, team_ids_for
from guanxi.users.models import Module, Scope, User


def notification_index(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "activities/notifications.html",
        {
            "notifications": notifications_for(user=user)[:100],
        },
    )


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=request_user(request), read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return redirect("activities:notification-index")


# --- follow-ups ------------------------------------------------------------------------------


def _subject(request: HttpRequest, user: User) -> tuple[Any, Any, str]:
    """(customer, lead, page url) named by the POST, checked for the right to change it."""
    customer_id, lead_id = request.POST.get("customer", ""), request.POST.get("lead", "")
    if customer_id.isdigit() and len(customer_id) < 19:
        customer = customer_access_by_id(user, int(customer_id), "edit")
        return customer, None, reverse("customers:customer-detail", args=[customer.pk])
    if lead_id.isdigit() and len(lead_id) < 19:
        lead = lead_access_by_id(user, int(lead_id), "edit")
        return None, lead, reverse("sales:lead-detail", args=[lead.pk])
    raise Http404("No customer or lead given")


def _say_errors(request: HttpRequest, errors: Any) -> None:
    for field, items in errors.items():
        for item in items:
            messages.error(request, f"{field}: {item}" if field != "__all__" else str(item))


@require_POST
def follow_up_plan_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    customer, lead, back = _subject(request, user)
    form = PlanForm(request.POST)
    if not form.is_valid():
        _say_errors(request, form.errors)
        return redirect(back + "#follow-ups")
    try:
        follow_up_plan(actor=user, customer=customer, lead=lead, **form.cleaned_data)
    except ValidationError as exc:
        _say_errors(request, getattr(exc, "message_dict", {"__all__": exc.messages}))
    else:
        messages.success(request, _("Follow-up planned."))
    return redirect(back + "#follow-ups")


@require_POST
def follow_up_record_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    customer, lead, back = _subject(request, user)
    form = RecordForm(request.POST)
    if not form.is_valid():
        _say_errors(request, form.errors)
        return redirect(back + "#follow-ups")
    try:
        follow_up_record(actor=user, customer=customer, lead=lead, **form.cleaned_data)
    except ValidationError as exc:
        _say_errors(request, getattr(exc, "message_dict", {"__all__": exc.messages}))
    else:
        messages.success(request, _("Follow-up recorded."))
    return redirect(back + "#follow-ups")


def _follow_up_for_work(user: User, pk: int) -> FollowUp:
    follow_up = (
        follow_ups_visible_to(user)
        .select_related("customer", "lead", "owner")
        .filter(pk=pk)
        .first()
    )
    if follow_up is None:
        raise Http404("No such follow-up")
    if not follow_up_can_work(user, follow_up):
        raise PermissionDenied
    return follow_up


def _page_of(follow_up: FollowUp) -> str:
    if follow_up.customer_id is not None:
        return reverse("customers:customer-detail", args=[follow_up.customer_id])
    return reverse("sales:lead-detail", args=[follow_up.lead_id])


@require_http_methods(["GET", "POST"])
def follow_up_complete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a planned follow-up as done, and plan the next one on the same form."""
    user = request_user(request)
    follow_up = _follow_up_for_work(user, pk)
    form = CompleteForm(request.POST or None, initial={"next_method": follow_up.method})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            follow_up_complete(
                actor=user,
                follow_up=follow_up,
                outcome=data["outcome"],
                summary=data["summary"],
                duration_minutes=data["duration_minutes"],
                next_due_at=data["next_due_at"],
                next_method=data["next_method"],
                next_plan=data["next_plan"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Follow-up recorded."))
            back = request.POST.get("back", "")
            if back == "my-day":
                return redirect("activities:my-day")
            return redirect(_page_of(follow_up) + "#follow-ups")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "activities/follow_up_complete.html",
        {"follow_up": follow_up, "form": form, "back": request.GET.get("back", "")},
        status=status,
    )


@require_POST
def follow_up_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    follow_up = _follow_up_for_work(user, pk)
    try:
        follow_up_cancel(actor=user, follow_up=follow_up, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Follow-up cancelled."))
    return redirect(_page_of(follow_up) + "#follow-ups")


def my_day_view(request: HttpRequest) -> HttpResponse:
    """Follow-ups due today and overdue, the week ahead, what was done today; managers
    also see their team's progress and missed follow-ups."""
    user = request_user(request)
    day = my_day(user=user)
    team = None
    if scope_for(user, Module.CUSTOMERS, "read") in (Scope.TEAM, Scope.ALL) and user.has_perm(
        "customers.reassign_customer"
    ):
        if scope_for(user, Module.CUSTOMERS, "read") == Scope.ALL:
            members = User.objects.filter(is_active=True, groups__isnull=False).distinct()
        else:
            members = User.objects.filter(is_active=True, team_id__in=team_ids_for(user))
        team = team_progress(users=list(members.exclude(pk=user.pk).order_by("username")[:200]))
    return render(request, "activities/my_day.html", {"day": day, "team": team})
