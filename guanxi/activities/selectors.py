"""Reads of the timeline, notifications, follow-ups, the calendar and call lists."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.access import (
    call_list_can_manage,
    call_list_entries_visible_to,
    call_lists_managed_by,
    follow_ups_visible_to,
    meetings_visible_to,
)
from guanxi.activities.models import (
    AuditEntry,
    CallList,
    CallListEntry,
    FollowUp,
    Meeting,
    Notification,
)
from guanxi.users.models import User


def timeline_for_customer(*, customer_id: int) -> QuerySet[AuditEntry]:
    """Every audit entry about a customer, newest first. Callers check the customer's access."""
    return AuditEntry.objects.filter(customer_id=customer_id).select_related("actor")


def notifications_for(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).select_related("actor")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


# --- follow-ups ------------------------------------------------------------------------------


@dataclass
class MyDay:
    overdue: list[FollowUp]
    today: list[FollowUp]
    upcoming: list[FollowUp]
    done_today: list[FollowUp]
    meetings: list[Meeting] = field(default_factory=list)


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start and end of the user's current day (in the active time zone)."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def my_day(*, user: User, now: datetime | None = None, limit: int = 100) -> MyDay:
    """The user's follow-ups: overdue, due today, the next seven days, and done today; and
    today's meetings (organised or attending).

    Five bounded queries on the (owner, due) index, whatever the size of the book."""
    now = now or timezone.now()
    start, end = _day_bounds(now)
    base = FollowUp.objects.filter(owner=user).select_related("customer", "lead")
    open_ = base.filter(done_at__isnull=True, cancelled_at__isnull=True)
    return MyDay(
        overdue=list(open_.filter(due_at__lt=start).order_by("due_at", "id")[:limit]),
        today=list(open_.filter(due_at__gte=start, due_at__lt=end).order_by("due_at", "id")),
        upcoming=list(
            open_.filter(due_at__gte=end, due_at__lt=end + timedelta(days=7)).order_by(
                "due_at", "id"
            )[:limit]
        ),
        done_today=list(base.filter(done_at__gte=start, done_at__lt=end).order_by("-done_at")),
        meetings=list(
            meetings_of(user=user, start=start, end=end)
            .filter(cancelled_at__isnull=True)
            .select_related("customer")[:limit]
        ),
    )


@dataclass
class RepProgress:
    user: User
    planned_today: int  # due today, done or not
    done_today: int  # done today (planned or not)
    overdue: int  # missed: open and due before today


def team_progress(*, users: list[User], now: datetime | None = None) -> list[RepProgress]:
    """Each rep's follow-ups today and missed ones, in one aggregate query."""
    now = now or timezone.now()
    start, end = _day_bounds(now)
    open_ = Q(done_at__isnull=True, cancelled_at__isnull=True)
    rows = {
        row["owner_id"]: row
        for row in FollowUp.objects.filter(owner__in=users)
        .values("owner_id")
        .annotate(
            planned_today=Count("id", filter=Q(due_at__gte=start, due_at__lt=end)),
            done_today=Count("id", filter=Q(done_at__gte=start, done_at__lt=end)),
            overdue=Count("id", filter=open_ & Q(due_at__lt=start)),
        )
    }
    empty = {"planned_today": 0, "done_today": 0, "overdue": 0}
    return [
        RepProgress(
            user=u,
            planned_today=rows.get(u.pk, empty)["planned_today"],
            done_today=rows.get(u.pk, empty)["done_today"],
            overdue=rows.get(u.pk, empty)["overdue"],
        )
        for u in users
    ]


def follow_ups_of(
    *,
    customer_id: int | None = None,
    lead_id: int | None = None,
    opportunity_id: int | None = None,
) -> list[FollowUp]:
    """Open plans first (soonest first), then the last 20 done, of a customer (all its
    follow-ups, its opportunities' included), a lead or an opportunity (callers check
    access)."""
    qs = FollowUp.objects.select_related("owner", "opportunity")
    if opportunity_id:
        qs = qs.filter(opportunity_id=opportunity_id)
    elif customer_id:
        qs = qs.filter(customer_id=customer_id)
    else:
        qs = qs.filter(lead_id=lead_id or 0)
    open_ = list(qs.filter(done_at__isnull=True, cancelled_at__isnull=True).order_by("due_at"))
    done = list(qs.filter(done_at__isnull=False).order_by("-done_at")[:20])
    return open_ + done


# --- the calendar ----------------------------------------------------------------------------


def meetings_of(*, user: User, start: datetime, end: datetime) -> QuerySet[Meeting]:
    """Meetings ``user`` organises or attends that overlap [start, end), by start time
    (callers scope them to what the viewer may see)."""
    attending = Meeting.attendees.through.objects.filter(user_id=user.pk).values("meeting_id")
    return Meeting.objects.filter(
        Q(organiser_id=user.pk) | Q(pk__in=attending), start_at__lt=end, end_at__gt=start
    ).order_by("start_at", "id")


VIEWS = ("day", "week", "month")


def calendar_range(view: str, anchor: date) -> tuple[date, date]:
    """First day shown and the day after the last: a day, a week from Monday, or the
    Monday-first weeks covering a month."""
    if view == "day":
        return anchor, anchor + timedelta(days=1)
    if view == "month":
        first = anchor.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        start = first - timedelta(days=first.weekday())
        last = following - timedelta(days=1)
        return start, last + timedelta(days=7 - last.weekday())
    start = anchor - timedelta(days=anchor.weekday())
    return start, start + timedelta(days=7)


def calendar_step(view: str, anchor: date, direction: int) -> date:
    """The anchor of the previous (-1) or next (+1) page of ``view``."""
    if view == "day":
        return anchor + timedelta(days=direction)
    if view == "week":
        return anchor + timedelta(days=7 * direction)
    first = anchor.replace(day=1)
    if direction < 0:
        return (first - timedelta(days=1)).replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


@dataclass
class CalendarItem:
    kind: str  # "meeting" or "follow_up"
    start: datetime  # local time
    end: datetime
    all_day: bool
    title: str
    detail: str
    url: str
    cancelled: bool = False


@dataclass
class CalendarDay:
    day: date
    items: list[CalendarItem]
    is_today: bool
    in_month: bool = True


def calendar_days(
    *,
    viewer: User,
    person: User,
    first: date,
    after: date,
    zone: Any = None,
    month: int | None = None,
    limit: int = 1000,
) -> list[CalendarDay]:
    """Each day from ``first`` to before ``after`` with ``person``'s meetings and planned
    follow-ups that ``viewer`` may see, in ``zone`` (the current time zone by default).
    Two queries whatever the range."""
    zone = zone or timezone.get_current_timezone()
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(after, time.min, zone)
    meetings = list(
        meetings_of(user=person, start=start, end=end)
        .filter(pk__in=meetings_visible_to(viewer).values("pk"))
        .select_related("customer")[:limit]
    )
    follow_ups = list(
        follow_ups_visible_to(viewer)
        .filter(
            owner_id=person.pk,
            done_at__isnull=True,
            cancelled_at__isnull=True,
            due_at__gte=start,
            due_at__lt=end,
        )
        .select_related("customer", "lead")
        .order_by("due_at", "id")[:limit]
    )
    items: list[CalendarItem] = [
        CalendarItem(
            kind="meeting",
            start=timezone.localtime(m.start_at, zone),
            end=timezone.localtime(m.end_at, zone),
            all_day=m.all_day,
            title=m.title,
            detail=m.location or (str(m.customer) if m.customer is not None else ""),
            url=reverse("calendar:meeting-detail", args=[m.pk]),
            cancelled=m.cancelled_at is not None,
        )
        for m in meetings
    ]
    for f in follow_ups:
        assert f.due_at is not None
        local = timezone.localtime(f.due_at, zone)
        items.append(
            CalendarItem(
                kind="follow_up",
                start=local,
                end=local + timedelta(minutes=30),
                all_day=False,
                title=f"{f.get_method_display()} · {f.customer or f.lead}",
                detail=f.plan,
                url=reverse("activities:follow-up-complete", args=[f.pk]),
            )
        )
    items.sort(key=lambda i: (not i.all_day, i.start, i.kind))
    today = timezone.localdate(timezone=zone)
    days = []
    current = first
    while current < after:
        day_start = datetime.combine(current, time.min, zone)
        day_end = day_start + timedelta(days=1)
        days.append(
            CalendarDay(
                day=current,
                items=[i for i in items if i.start < day_end and i.end > day_start]
                if items
                else [],
                is_today=current == today,
                in_month=month is None or current.month == month,
            )
        )
        current += timedelta(days=1)
    return days


# --- call lists ---------------------------------------------------------------------------------


@dataclass
class RepCalls:
    user: User
    total: int
    done: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def call_list_candidates(*, user: User, filters: Any, limit: int | None = None) -> Any:
    """(customer, contact) links a call list built with ``filters`` would hold: contacts
    with a mobile or phone of the customers ``user`` may see that match the customer list
    filters, by customer then contact name."""
    from guanxi.customers.access import customers_visible_to
    from guanxi.customers.models import ContactLink
    from guanxi.customers.selectors import customer_filter

    customers = customer_filter(customers_visible_to(user), filters)
    links = (
        ContactLink.objects.filter(
            customer__in=customers.values("pk"), contact__deleted_at__isnull=True
        )
        .exclude(Q(contact__mobile="") & Q(contact__phone=""))
        .select_related("customer", "contact")
        .order_by("customer__name", "customer_id", "contact__name", "contact_id")
    )
    return links[:limit] if limit else links


def call_list_progress(*, call_list: CallList) -> list[RepCalls]:
    """Done and total entries per rep of a list, in one aggregate query."""
    rows = list(
        CallListEntry.objects.filter(call_list=call_list)
        .values("assignee_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(done_at__isnull=False)))
        .order_by("assignee_id")
    )
    people = User.objects.in_bulk([r["assignee_id"] for r in rows])
    return [RepCalls(user=people[r["assignee_id"]], total=r["total"], done=r["done"]) for r in rows]


@dataclass
class CallListRow:
    call_list: CallList
    total: int
    done: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def call_lists_assigned_to(*, user: User, limit: int = 200) -> list[CallListRow]:
    """The lists with entries for ``user`` to call, and their own progress in each."""
    if not user.has_perm("activities.view_calllist"):
        return []
    rows = (
        CallListEntry.objects.filter(assignee=user)
        .values("call_list_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(done_at__isnull=False)))
        .order_by("-call_list_id")[:limit]
    )
    counts = {r["call_list_id"]: r for r in rows}
    lists = CallList.objects.in_bulk(list(counts))
    return [
        CallListRow(call_list=lists[pk], total=counts[pk]["total"], done=counts[pk]["done"])
        for pk in counts
        if pk in lists
    ]


def call_lists_managed(*, user: User, limit: int = 200) -> list[CallListRow]:
    """The lists ``user`` built or oversees, with everyone's progress."""
    lists = list(
        call_lists_managed_by(user)
        .select_related("owner")
        .annotate(
            total=Count("entries"),
            done=Count("entries", filter=Q(entries__done_at__isnull=False)),
        )
        .order_by("-created_at", "-id")[:limit]
    )
    return [CallListRow(call_list=c, total=c.total, done=c.done) for c in lists]


def call_list_entries(
    *, user: User, call_list: CallList, status: str = "all", limit: int = 500
) -> list[CallListEntry]:
    """Entries of ``call_list`` ``user`` may see (``status``: open, done or all)."""
    qs = call_list_entries_visible_to(user, call_list).select_related(
        "customer", "contact", "assignee"
    )
    if status == "open":
        qs = qs.filter(done_at__isnull=True)
    elif status == "done":
        qs = qs.filter(done_at__isnull=False)
    return list(qs.order_by("position", "id")[:limit])


def call_list_next_entry(*, user: User, call_list: CallList) -> CallListEntry | None:
    """The next entry of ``call_list`` for ``user`` to call."""
    return (
        CallListEntry.objects.filter(call_list=call_list, assignee=user, done_at__isnull=True)
        .select_related("customer", "contact")
        .order_by("position", "id")
        .first()
    )


def call_list_may_manage(*, user: User, call_list: CallList) -> bool:
    """Whether ``user`` sees the whole list and every rep's progress."""
    return call_list_can_manage(user, call_list)


FEED_DAYS_BACK = 30


def calendar_feed_body(*, user: User, now: datetime | None = None, limit: int = 2000) -> str:
    """The user's subscription calendar: meetings they organise or attend (not cancelled)
    from 30 days ago on, and their planned follow-ups. Two bounded queries."""
    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import gettext as _

    from guanxi.activities.ical import feed_ics

    now = now or timezone.now()
    since = now - timedelta(days=FEED_DAYS_BACK)
    far = datetime(2100, 1, 1, tzinfo=since.tzinfo)
    meetings = list(
        meetings_of(user=user, start=since, end=far)
        .filter(cancelled_at__isnull=True)
        .select_related("organiser")[:limit]
    )
    follow_ups = list(
        FollowUp.objects.filter(
            owner=user, done_at__isnull=True, cancelled_at__isnull=True, due_at__gte=since
        )
        .select_related("customer", "lead")
        .order_by("due_at", "id")[:limit]
    )
    with translation.override(user.language or settings.LANGUAGE_CODE):
        name = _("Guanxi · %(user)s") % {"user": user}
        return feed_ics(name=name, meetings=meetings, follow_ups=follow_ups, now=now)
