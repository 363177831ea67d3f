"""Reads of the timeline and notifications."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from guanxi.activities.models import AuditEntry, FollowUp, Notification
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


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start and end of the user's current day (in the active time zone)."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def my_day(*, user: User, now: datetime | None = None, limit: int = 100) -> MyDay:
    """The user's follow-ups: overdue, due today, the next seven days, and done today.

    Four bounded queries on the (owner, due) index, whatever the size of the book."""
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


def follow_ups_of(*, customer_id: int | None = None, lead_id: int | None = None) -> list[FollowUp]:
    """Open plans first (soonest first), then the last 20 done (callers check access)."""
    qs = FollowUp.objects.select_related("owner")
    qs = qs.filter(customer_id=customer_id) if customer_id else qs.filter(lead_id=lead_id or 0)
    open_ = list(qs.filter(done_at__isnull=True, cancelled_at__isnull=True).order_by("due_at"))
    done = list(qs.filter(done_at__isnull=False).order_by("-done_at")[:20])
    return open_ + done
