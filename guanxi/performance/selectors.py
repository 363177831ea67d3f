"""Sales statistics per rep, team and department over a period, and per source channel.

Every figure is one aggregate query grouped by owner (or channel); teams and departments
add up their members. Only the people within the viewer's read scope on opportunities
are counted: a rep sees themselves, a manager their team and sub-teams, an executive
everyone. Money figures are in the base currency (CNY); documents in other currencies are
not converted and are left out of the sums.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from guanxi.activities.models import FollowUp
from guanxi.commerce.models import Order, Payment
from guanxi.customers.models import Channel
from guanxi.performance.models import SalesTarget
from guanxi.sales.models import Lead, Opportunity
from guanxi.users.access import AnyUser, scope_for, team_ids_for
from guanxi.users.models import Module, Scope, Team, User

BASE_CURRENCY = "CNY"
ZERO = Decimal(0)
GROUPINGS = ("rep", "team", "department")


@dataclass
class Figures:
    """The statistics of one rep, team or department."""

    key: int | None
    label: str
    new_leads: int = 0
    converted_leads: int = 0
    won: int = 0
    lost: int = 0
    won_amount: Decimal = ZERO
    days_to_win_total: float = 0.0
    days_to_win_count: int = 0
    follow_ups_due: int = 0
    follow_ups_done: int = 0
    follow_ups_overdue: int = 0
    pipeline: Decimal = ZERO
    revenue: Decimal = ZERO
    collections: Decimal = ZERO
    target: Decimal = ZERO
    members: set[int] = field(default_factory=set)

    @property
    def target_attainment(self) -> float | None:
        """Closed-won against the target, as a fraction."""
        return float(self.won_amount / self.target) if self.target else None

    @property
    def conversion_rate(self) -> float | None:
        return self.converted_leads / self.new_leads if self.new_leads else None

    @property
    def win_rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None

    @property
    def days_lead_to_won(self) -> float | None:
        if not self.days_to_win_count:
            return None
        return self.days_to_win_total / self.days_to_win_count

    @property
    def follow_up_rate(self) -> float | None:
        return self.follow_ups_done / self.follow_ups_due if self.follow_ups_due else None

    def add(self, other: "Figures") -> None:
        for name in (
            "new_leads",
            "converted_leads",
            "won",
            "lost",
            "won_amount",
            "days_to_win_total",
            "days_to_win_count",
            "follow_ups_due",
            "follow_ups_done",
            "follow_ups_overdue",
            "pipeline",
            "revenue",
            "collections",
            "target",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.members |= other.members


@dataclass
class ChannelFigures:
    key: int | None
    label: str
    leads: int = 0
    customers_won: int = 0
    revenue: Decimal = ZERO
    days_to_sign_total: float = 0.0
    days_to_sign_count: int = 0

    @property
    def days_to_sign(self) -> float | None:
        if not self.days_to_sign_count:
            return None
        return self.days_to_sign_total / self.days_to_sign_count


@dataclass
class Statistics:
    start: date
    end: date
    grouping: str
    rows: list[Figures]
    total: Figures
    channels: list[ChannelFigures]


def people_in_reach(user: AnyUser, kind: str = "read") -> QuerySet[User]:
    """Whose figures ``user`` may see ("read"), or whose targets they may set ("write"):
    their opportunities scope of that kind, over people."""
    if not user.is_authenticated or not user.has_perm("sales.view_opportunity"):
        return User.objects.none()
    scope = scope_for(user, Module.OPPORTUNITIES, kind)
    if scope == Scope.ALL:
        return User.objects.filter(is_active=True) | User.objects.filter(pk=user.pk)
    if scope == Scope.TEAM:
        assert isinstance(user, User)
        return User.objects.filter(Q(team_id__in=team_ids_for(user)) | Q(pk=user.pk))
    if scope == Scope.OWN:
        return User.objects.filter(pk=user.pk)
    return User.objects.none()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00) in the current time zone."""
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def _by_owner(qs: QuerySet[Any], owner_field: str = "owner_id", **aggregates: Any) -> dict:
    return {
        row[owner_field]: row
        for row in qs.values(owner_field).order_by().annotate(**aggregates)
        if row[owner_field] is not None
    }


def _rep_figures(people: list[User], start: date, end: date) -> dict[int, Figures]:
    since, until = _bounds(start, end)
    ids = [p.pk for p in people]
    figures = {p.pk: Figures(key=p.pk, label=str(p), members={p.pk}) for p in people}
    leads = _by_owner(
        Lead.objects.filter(owner_id__in=ids, created_at__gte=since, created_at__lt=until),
        n=Count("id"),
        converted=Count("id", filter=Q(status=Lead.Status.CONVERTED)),
    )
    closed = Opportunity.objects.filter(
        owner_id__in=ids, closed_at__gte=since, closed_at__lt=until, deleted_at__isnull=True
    )
    opportunities = _by_owner(
        closed,
        won=Count("id", filter=Q(status=Opportunity.Status.WON)),
        lost=Count("id", filter=Q(status=Opportunity.Status.LOST)),
        won_amount=Sum("amount", filter=Q(status=Opportunity.Status.WON, currency=BASE_CURRENCY)),
    )
    lead_to_won = _by_owner(
        closed.filter(status=Opportunity.Status.WON, lead__isnull=False),
        n=Count("id"),
        avg=Avg(
            ExpressionWrapper(F("closed_at") - F("lead__created_at"), output_field=DurationField())
        ),
    )
    now = timezone.now()
    follow_ups = _by_owner(
        FollowUp.objects.filter(owner_id__in=ids).filter(
            Q(due_at__gte=since, due_at__lt=until) | Q(done_at__isnull=True, due_at__lt=now)
        ),
        due=Count("id", filter=Q(due_at__gte=since, due_at__lt=until, cancelled_at__isnull=True)),
        done=Count(
            "id",
            filter=Q(due_at__gte=since, due_at__lt=until, done_at__isnull=False),
        ),
        overdue=Count(
            "id", filter=Q(done_at__isnull=True, cancelled_at__isnull=True, due_at__lt=now)
        ),
    )
    pipeline = _by_owner(
        Opportunity.objects.filter(
            owner_id__in=ids,
            status=Opportunity.Status.OPEN,
            deleted_at__isnull=True,
            currency=BASE_CURRENCY,
        ),
        amount=Sum("amount"),
    )
    revenue = _by_owner(
        Order.objects.filter(
            owner_id__in=ids, ordered_on__gte=start, ordered_on__lte=end, currency=BASE_CURRENCY
        ).exclude(status=Order.Status.CANCELLED),
        amount=Sum("total"),
    )
    collections = _by_owner(
        Payment.objects.filter(
            invoice__owner_id__in=ids,
            paid_on__gte=start,
            paid_on__lte=end,
            invoice__currency=BASE_CURRENCY,
        ),
        owner_field="invoice__owner_id",
        amount=Sum("amount"),
    )
    for pk, f in figures.items():
        row = leads.get(pk, {})
        f.new_leads, f.converted_leads = row.get("n", 0), row.get("converted", 0)
        row = opportunities.get(pk, {})
        f.won, f.lost = row.get("won", 0), row.get("lost", 0)
        f.won_amount = row.get("won_amount") or ZERO
        row = lead_to_won.get(pk, {})
        if row.get("avg") is not None:
            f.days_to_win_count = row["n"]
            f.days_to_win_total = row["avg"].total_seconds() / 86400 * row["n"]
        row = follow_ups.get(pk, {})
        f.follow_ups_due = row.get("due", 0)
        f.follow_ups_done = row.get("done", 0)
        f.follow_ups_overdue = row.get("overdue", 0)
        f.pipeline = pipeline.get(pk, {}).get("amount") or ZERO
        f.revenue = revenue.get(pk, {}).get("amount") or ZERO
        f.collections = collections.get(pk, {}).get("amount") or ZERO
    for pk, target in targets_for(ids, start, end).items():
        figures[pk].target = target
    return figures


def targets_for(user_ids: list[int], start: date, end: date) -> dict[int, Decimal]:
    """Each rep's target over [start, end]: monthly targets, prorated by the days of each
    month the period covers."""
    result: dict[int, Decimal] = defaultdict(lambda: ZERO)
    months = []
    day = start.replace(day=1)
    while day <= end:
        first, last = month_bounds(day)
        covered = (min(last, end) - max(first, start)).days + 1
        months.append((day.year, day.month, Decimal(covered) / Decimal(last.day)))
        day = last + timedelta(days=1)
    share = {(y, m): f for y, m, f in months}
    condition = Q()
    for y, m, _f in months:
        condition |= Q(year=y, month=m)
    if not months:
        return {}
    for target in SalesTarget.objects.filter(condition, user_id__in=user_ids):
        result[target.user_id] += (target.amount * share[(target.year, target.month)]).quantize(
            Decimal("0.01")
        )
    return dict(result)


def targets_of_year(user_ids: list[int], year: int) -> dict[tuple[int, int], Decimal]:
    """{(user id, month): target} for a year."""
    return {
        (t.user_id, t.month): t.amount
        for t in SalesTarget.objects.filter(year=year, user_id__in=user_ids)
    }


def _roll_up(
    people: list[User], figures: dict[int, Figures], grouping: str, unassigned: str
) -> list[Figures]:
    if grouping == "rep":
        return sorted(figures.values(), key=lambda f: (-f.revenue, f.label))
    teams = {t.pk: t for t in Team.objects.all()}

    def department(team_id: int | None) -> int | None:
        if team_id is None or team_id not in teams:
            return None
        root = teams[team_id].path.strip("/").split("/")[0]
        return int(root) if root.isdigit() else team_id

    groups: dict[int | None, Figures] = {}
    for person in people:
        key = person.team_id if grouping == "team" else department(person.team_id)
        if key not in groups:
            label = str(teams[key]) if key is not None and key in teams else unassigned
            groups[key] = Figures(key=key, label=label)
        groups[key].add(figures[person.pk])
    return sorted(groups.values(), key=lambda f: (-f.revenue, f.label))


def _channel_figures(people_ids: list[int], start: date, end: date) -> list[ChannelFigures]:
    since, until = _bounds(start, end)
    names = dict(Channel.objects.values_list("pk", "name"))
    rows: dict[int | None, ChannelFigures] = defaultdict(lambda: ChannelFigures(None, ""))
    for row in (
        Lead.objects.filter(owner_id__in=people_ids, created_at__gte=since, created_at__lt=until)
        .values("channel_id")
        .order_by()
        .annotate(n=Count("id"))
    ):
        rows[row["channel_id"]].leads = row["n"]
    won = Opportunity.objects.filter(
        owner_id__in=people_ids,
        status=Opportunity.Status.WON,
        closed_at__gte=since,
        closed_at__lt=until,
        deleted_at__isnull=True,
    )
    for won_row in (
        won.values("customer__channel_id")
        .order_by()
        .annotate(
            customers=Count("customer_id", distinct=True),
            n=Count("id"),
            avg=Avg(
                ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
            ),
        )
    ):
        target = rows[won_row["customer__channel_id"]]
        target.customers_won = won_row["customers"]
        if won_row["avg"] is not None:
            target.days_to_sign_count = won_row["n"]
            target.days_to_sign_total = won_row["avg"].total_seconds() / 86400 * won_row["n"]
    for order_row in (
        Order.objects.filter(
            owner_id__in=people_ids,
            ordered_on__gte=start,
            ordered_on__lte=end,
            currency=BASE_CURRENCY,
        )
        .exclude(status=Order.Status.CANCELLED)
        .values("customer__channel_id")
        .order_by()
        .annotate(amount=Sum("total"))
    ):
        rows[order_row["customer__channel_id"]].revenue = order_row["amount"] or ZERO
    result = []
    for key, figures in rows.items():
        figures.key = key
        figures.label = names.get(key, "") if key is not None else ""
        result.append(figures)
    return sorted(result, key=lambda c: (-c.revenue, -c.leads, c.label))


def sales_statistics(
    *, user: AnyUser, start: date, end: date, grouping: str = "rep", unassigned: str = "—"
) -> Statistics:
    """The sales figures of the people in ``user``'s reach over [start, end], grouped by
    rep, team or department, with a total and the figures per source channel."""
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")
    people = list(people_in_reach(user).distinct().order_by("pk"))
    figures = _rep_figures(people, start, end)
    rows = _roll_up(people, figures, grouping, unassigned)
    total = Figures(key=None, label="")
    for f in figures.values():
        total.add(f)
    return Statistics(
        start=start,
        end=end,
        grouping=grouping,
        rows=rows,
        total=total,
        channels=_channel_figures([p.pk for p in people], start, end),
    )


def month_bounds(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def chart_data(stats: Statistics, labels: dict[str, str]) -> dict[str, Any]:
    """What the dashboard's charts draw (plain JSON types)."""

    def money(values: Iterable[Decimal]) -> list[float]:
        return [float(v) for v in values]

    return {
        "groups": [r.label for r in stats.rows],
        "revenue": money(r.revenue for r in stats.rows),
        "collections": money(r.collections for r in stats.rows),
        "pipeline": money(r.pipeline for r in stats.rows),
        "win_rate": [
            round(r.win_rate * 100, 1) if r.win_rate is not None else None for r in stats.rows
        ],
        "won": money(r.won_amount for r in stats.rows),
        "target": money(r.target for r in stats.rows),
        "channels": [c.label or labels["no_channel"] for c in stats.channels],
        "channel_leads": [c.leads for c in stats.channels],
        "channel_won": [c.customers_won for c in stats.channels],
        "channel_revenue": money(c.revenue for c in stats.channels),
        "labels": labels,
    }
