from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from guanxi.activities import selectors
from guanxi.activities.access import (
    calendar_people,
    call_list_access_by_id,
    call_list_entry_access_by_id,
    follow_up_can_work,
    follow_ups_visible_to,
    meeting_access_by_id,
    meeting_can_change,
    meeting_can_create,
)
from guanxi.activities.forms import (
    CallListForm,
    CancelMeetingForm,
    CompleteForm,
    LogCallForm,
    MeetingForm,
    PlanForm,
    RecordForm,
)
from guanxi.activities.models import CalendarFeed, FollowUp, Notification
from guanxi.activities.selectors import my_day, notifications_for, team_progress
from guanxi.activities.services import (
    MeetingConflict,
    calendar_feed_reset,
    calendar_feed_user,
    call_list_create,
    call_list_entry_log,
    follow_up_cancel,
    follow_up_complete,
    follow_up_plan,
    follow_up_record,
    meeting_cancel,
    meeting_create,
    meeting_update,
)
from guanxi.core.http import form_add_errors, request_user
from guanxi.customers.access import customer_access_by_id
from guanxi.sales.access import lead_access_by_id, opportunity_access_by_id
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


def _subject(request: HttpRequest, user: User) -> tuple[dict[str, Any], str]:
    """The subject named by the POST (a customer, a lead or an opportunity), checked for
    the right to change it, as service arguments; and its page."""
    ids = {name: request.POST.get(name, "") for name in ("customer", "lead", "opportunity")}

    def given(name: str) -> bool:
        return ids[name].isdigit() and len(ids[name]) < 19

    if given("opportunity"):
        opportunity = opportunity_access_by_id(user, int(ids["opportunity"]), "edit")
        url = reverse("sales:opportunity-detail", args=[opportunity.pk])
        return {"opportunity": opportunity}, url
    if given("customer"):
        customer = customer_access_by_id(user, int(ids["customer"]), "edit")
        return {"customer": customer}, reverse("customers:customer-detail", args=[customer.pk])
    if given("lead"):
        lead = lead_access_by_id(user, int(ids["lead"]), "edit")
        return {"lead": lead}, reverse("sales:lead-detail", args=[lead.pk])
    raise Http404("No customer, lead or opportunity given")


def _say_errors(request: HttpRequest, errors: Any) -> None:
    for field, items in errors.items():
        for item in items:
            messages.error(request, f"{field}: {item}" if field != "__all__" else str(item))


@require_POST
def follow_up_plan_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    subject, back = _subject(request, user)
    form = PlanForm(request.POST)
    if not form.is_valid():
        _say_errors(request, form.errors)
        return redirect(back + "#follow-ups")
    try:
        follow_up_plan(actor=user, **subject, **form.cleaned_data)
    except ValidationError as exc:
        _say_errors(request, getattr(exc, "message_dict", {"__all__": exc.messages}))
    else:
        messages.success(request, _("Follow-up planned."))
    return redirect(back + "#follow-ups")


@require_POST
def follow_up_record_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    subject, back = _subject(request, user)
    form = RecordForm(request.POST)
    if not form.is_valid():
        _say_errors(request, form.errors)
        return redirect(back + "#follow-ups")
    try:
        follow_up_record(actor=user, **subject, **form.cleaned_data)
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
    if follow_up.opportunity_id is not None:
        return reverse("sales:opportunity-detail", args=[follow_up.opportunity_id])
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


# --- the calendar -----------------------------------------------------------------------------


def _parse_date(value: str) -> date | None:
    try:
        parsed = date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None
    if parsed is None or not (2000 <= parsed.year < 2100):
        return None
    return parsed


def calendar_view(request: HttpRequest) -> HttpResponse:
    """Day, week or month of my meetings and planned follow-ups (or a colleague's, within
    my scope), Monday first, in my time zone. htmx navigation swaps the grid only."""
    user = request_user(request)
    view = request.GET.get("view", "week")
    if view not in selectors.VIEWS:
        view = "week"
    today = timezone.localdate()
    anchor = _parse_date(request.GET.get("date", "")) or today
    people = calendar_people(user)
    person = user
    person_id = request.GET.get("user", "")
    if person_id.isascii() and person_id.isdigit() and len(person_id) < 19:
        person = people.filter(pk=int(person_id)).first() or user
    first, after = selectors.calendar_range(view, anchor)
    days = selectors.calendar_days(
        viewer=user,
        person=person,
        first=first,
        after=after,
        month=anchor.month if view == "month" else None,
    )
    context = {
        "view": view,
        "anchor": anchor,
        "today": today,
        "days": days,
        "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
        "person": person,
        "people": list(people.order_by("username")[:300]) if people.count() > 1 else [],
        "previous": selectors.calendar_step(view, anchor, -1),
        "next": selectors.calendar_step(view, anchor, 1),
        "views": [
            ("day", _("Day")),
            ("week", _("Week")),
            ("month", pgettext("calendar view", "Month")),
        ],
        "can_create": meeting_can_create(user),
        "feed_url": request.session.pop("calendar_feed_url", ""),
        "has_feed": CalendarFeed.objects.filter(user=user).exists(),
    }
    template = "activities/calendar.html"
    if getattr(request, "htmx", False):
        template += "#calendar"
    return render(request, template, context)


def _meeting_initial(request: HttpRequest) -> dict[str, Any]:
    """A new meeting: the next whole hour for an hour (or 10:00 on a chosen day), and the
    customer, lead or opportunity named in the query string."""
    initial: dict[str, Any] = {}
    day = _parse_date(request.GET.get("date", ""))
    now = timezone.localtime()
    if day is not None and day != now.date():
        start = datetime.combine(day, time(10, 0), timezone.get_current_timezone())
    else:
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    initial.update({"start": start, "end": start + timedelta(hours=1)})
    for name in ("customer", "lead", "opportunity"):
        value = request.GET.get(name, "")
        if value.isascii() and value.isdigit() and len(value) < 19:
            initial[name] = int(value)
    return initial


def _form_customer_id(request: HttpRequest, initial: dict[str, Any]) -> int | None:
    value = request.POST.get("customer") if request.method == "POST" else None
    if value is None:
        value = str(initial.get("customer") or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _conflict_rows(exc: MeetingConflict) -> list[dict[str, Any]]:
    return [
        {
            "user": c.user,
            "title": c.title,
            "start": c.meeting.start_at,
            "end": c.meeting.end_at,
            "blocking": c.blocking,
        }
        for c in exc.conflicts
    ]


@require_http_methods(["GET", "POST"])
def meeting_create_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not meeting_can_create(user):
        raise PermissionDenied
    initial = _meeting_initial(request)
    if "opportunity" in initial and "customer" not in initial:
        from guanxi.sales.access import opportunities_visible_to

        found = opportunities_visible_to(user).filter(pk=initial["opportunity"]).first()
        if found is not None:
            initial["customer"] = found.customer_id
    form = MeetingForm(
        request.POST or None,
        initial=initial,
        user=user,
        customer_id=_form_customer_id(request, initial),
        selected_ids=_selected(request),
    )
    conflicts: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            meeting = meeting_create(
                actor=user,
                data=form.service_data(),
                allow_conflicts=form.cleaned_data["allow_conflicts"],
            )
        except MeetingConflict as exc:
            conflicts = _conflict_rows(exc)
            form_add_errors(form, exc)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Meeting saved; the invitations are on their way."))
            return redirect("calendar:meeting-detail", meeting.pk)
    return render(
        request,
        "activities/meeting_form.html",
        {"form": form, "meeting": None, "conflicts": conflicts},
        status=400 if request.method == "POST" else 200,
    )


def _selected(request: HttpRequest) -> list[int]:
    return [
        int(v)
        for v in request.POST.getlist("attendees")[:500]
        if v.isascii() and v.isdigit() and len(v) < 19
    ]


def meeting_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    meeting = meeting_access_by_id(user, pk)
    return render(
        request,
        "activities/meeting_detail.html",
        {
            "meeting": meeting,
            "attendees": list(meeting.attendees.order_by("username")),
            "contacts": list(meeting.contacts.order_by("name")),
            "can_change": meeting_can_change(user, meeting),
            "cancel_form": CancelMeetingForm(),
        },
    )


@require_http_methods(["GET", "POST"])
def meeting_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    meeting = meeting_access_by_id(user, pk, "edit")
    if meeting.cancelled_at is not None:
        messages.error(request, _("A cancelled meeting cannot be changed."))
        return redirect("calendar:meeting-detail", meeting.pk)
    attendees = list(meeting.attendees.all())
    initial: dict[str, Any] = {
        "title": meeting.title,
        "start": meeting.start_at,
        "end": meeting.end_at,
        "all_day": meeting.all_day,
        "location": meeting.location,
        "description": meeting.description,
        "customer": meeting.customer_id,
        "opportunity": meeting.opportunity_id,
        "lead": meeting.lead_id,
        "attendees": [u.pk for u in attendees],
        "contacts": list(meeting.contacts.values_list("pk", flat=True)),
        "no_double_booking": meeting.no_double_booking,
    }
    form = MeetingForm(
        request.POST or None,
        initial=initial,
        user=user,
        customer_id=_form_customer_id(request, initial),
        selected_ids=_selected(request) or [u.pk for u in attendees],
    )
    conflicts: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            meeting_update(
                actor=user,
                meeting=meeting,
                data=form.service_data(),
                allow_conflicts=form.cleaned_data["allow_conflicts"],
            )
        except MeetingConflict as exc:
            conflicts = _conflict_rows(exc)
            form_add_errors(form, exc)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Meeting changed; everyone invited is told."))
            return redirect("calendar:meeting-detail", meeting.pk)
    return render(
        request,
        "activities/meeting_form.html",
        {"form": form, "meeting": meeting, "conflicts": conflicts},
        status=400 if request.method == "POST" else 200,
    )


def meeting_form_parts(request: HttpRequest) -> HttpResponse:
    """htmx: the contacts and opportunities of the customer just chosen on the form."""
    user = request_user(request)
    value = request.GET.get("customer", "")
    customer_id = int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None
    form = MeetingForm(initial={"customer": customer_id}, user=user, customer_id=customer_id)
    return render(request, "activities/meeting_form.html#customer-parts", {"form": form})


@require_POST
def meeting_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    meeting = meeting_access_by_id(user, pk, "edit")
    form = CancelMeetingForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        meeting_cancel(actor=user, meeting=meeting, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Meeting cancelled; everyone invited is told."))
    return redirect("calendar:meeting-detail", meeting.pk)


@require_POST
def calendar_feed_reset_view(request: HttpRequest) -> HttpResponse:
    """A new secret address for my calendar feed (the old one stops working)."""
    user = request_user(request)
    token = calendar_feed_reset(user=user)
    request.session["calendar_feed_url"] = request.build_absolute_uri(
        reverse("calendar:feed", args=[token])
    )
    messages.success(request, _("Your calendar address is new; the old one no longer works."))
    return redirect(reverse("calendar:index") + "#feed")


@login_not_required
@require_http_methods(["GET", "HEAD"])
def calendar_feed_view(request: HttpRequest, token: str) -> HttpResponse:
    """The secret iCalendar address of a user, for calendar apps (no login: the token is
    the key). Unknown tokens get 404."""
    user = calendar_feed_user(token=token)
    if user is None:
        raise Http404("No such calendar")
    body = selectors.calendar_feed_body(user=user)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="guanxi.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- call lists --------------------------------------------------------------------------------


def call_list_index(request: HttpRequest) -> HttpResponse:
    """My call lists with my progress; the lists I built or oversee with everyone's."""
    user = request_user(request)
    if not user.has_perm("activities.view_calllist"):
        raise PermissionDenied
    return render(
        request,
        "activities/call_lists.html",
        {
            "assigned": selectors.call_lists_assigned_to(user=user),
            "managed": selectors.call_lists_managed(user=user),
            "can_build": user.has_perm("activities.add_calllist"),
        },
    )


@require_http_methods(["GET", "POST"])
def call_list_create_view(request: HttpRequest) -> HttpResponse:
    """Build a call list: customers picked with the customer list's filters, their contacts
    with a phone number shared among the reps chosen. ``?preview`` counts them (htmx)."""
    from guanxi.customers.forms import CustomerFilterForm

    user = request_user(request)
    if not user.has_perm("activities.add_calllist"):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else None
    form = CallListForm(data, user=user)
    filter_form = CustomerFilterForm(data or request.GET or None, user=user)
    if "preview" in request.GET:
        count = None
        if filter_form.is_valid():
            count = selectors.call_list_candidates(
                user=user, filters=filter_form.to_filters()
            ).count()
        return render(
            request,
            "activities/call_list_form.html#preview",
            {"count": count, "filter_form": filter_form},
        )
    if request.method == "POST":
        filters_ok = filter_form.is_valid()
        if form.is_valid() and filters_ok:
            try:
                call_list = call_list_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    filters=filter_form.to_filters(),
                    assignees=list(form.cleaned_data["assignees"]),
                )
            except ValidationError as exc:
                form_add_errors(form, exc)
            else:
                messages.success(request, _("Call list built and shared out."))
                return redirect("activities:call-list-detail", call_list.pk)
    return render(
        request,
        "activities/call_list_form.html",
        {"form": form, "filter_form": filter_form, "count": None},
        status=400 if request.method == "POST" else 200,
    )


def call_list_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A call list: everyone's progress and entries for its managers, my own entries for
    a rep."""
    user = request_user(request)
    call_list = call_list_access_by_id(user, pk)
    manages = selectors.call_list_may_manage(user=user, call_list=call_list)
    status = request.GET.get("status", "all")
    if status not in ("open", "done", "all"):
        status = "all"
    return render(
        request,
        "activities/call_list_detail.html",
        {
            "call_list": call_list,
            "manages": manages,
            "progress": selectors.call_list_progress(call_list=call_list) if manages else [],
            "entries": selectors.call_list_entries(user=user, call_list=call_list, status=status),
            "status": status,
            "next_entry": selectors.call_list_next_entry(user=user, call_list=call_list),
        },
    )


def call_list_next_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Go to my next call on this list (or back to the list when all are done)."""
    user = request_user(request)
    call_list = call_list_access_by_id(user, pk)
    entry = selectors.call_list_next_entry(user=user, call_list=call_list)
    if entry is None:
        messages.success(request, _("All your calls on this list are done."))
        return redirect("activities:call-list-detail", call_list.pk)
    return redirect("activities:call-list-entry", entry.pk)


@require_http_methods(["GET", "POST"])
def call_list_entry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One call: who, which customer, the number to tap, and the form to log it."""
    user = request_user(request)
    entry = call_list_entry_access_by_id(user, pk)
    form = LogCallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call_list_entry_log(
                actor=user,
                entry=entry,
                outcome=data["outcome"],
                duration_minutes=data["duration_minutes"],
                notes=data["notes"],
                next_due_at=data["next_due_at"],
                next_method=data["next_method"],
                next_plan=data["next_plan"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Call logged."))
            return redirect("activities:call-list-next", entry.call_list_id)
    return render(
        request,
        "activities/call_list_entry.html",
        {"entry": entry, "form": form, "call_list": entry.call_list},
        status=400 if request.method == "POST" else 200,
    )
