"""Reads of leads and opportunities (lists, kanban board, forecast), always starting from
the access scope."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractMonth

from guanxi.activities.models import AuditEntry
from guanxi.core.pagination import Page, keyset_page
from guanxi.core.validators import digits_only
from guanxi.customers.search import normalize_query
from guanxi.sales.access import leads_visible_to, opportunities_visible_to
from guanxi.sales.models import Lead, Opportunity, Pipeline, Stage, StageChange
from guanxi.users.access import AnyUser
from guanxi.users.models import User

SORTS: dict[str, list[str]] = {
    "-updated_at": ["-updated_at", "-id"],
    "updated_at": ["updated_at", "id"],
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "name": ["name", "id"],
}
DEFAULT_SORT = "-updated_at"
OPEN = "open"  # a pseudo-status for the list filter: new, contacted or qualified
UNASSIGNED = "none"  # the owner filter's value for leads nobody owns


@dataclass
class LeadFilters:
    """The filters a lead list offers (web and API alike)."""

    q: str = ""
    status: str = ""  # a Lead.Status value, OPEN, or "" for all
    intent: str = ""
    owner_id: int | None = None
    unassigned: bool = False
    channel_id: int | None = None
    source: str = ""
    province: str = ""
    city: str = ""
    sort: str = DEFAULT_SORT


def lead_search_filter(qs: QuerySet[Lead], q: str) -> QuerySet[Lead]:
    """Leads by name, company, pinyin or initials of the name, mobile, e-mail or WeChat."""
    term = normalize_query(q)
    if len(term) < 2:
        return qs
    condition = (
        Q(name__icontains=term)
        | Q(company__icontains=term)
        | Q(name_pinyin__startswith=term)
        | Q(name_initials__startswith=term)
        | Q(email__istartswith=term)
        | Q(wechat__iexact=term)
    )
    digits = digits_only(term)
    if digits == term and len(digits) >= 4:
        condition |= Q(mobile_normalized__startswith=digits) | Q(phone__contains=digits)
    return qs.filter(condition)


def lead_filter(qs: QuerySet[Lead], filters: LeadFilters) -> QuerySet[Lead]:
    if filters.status == OPEN:
        qs = qs.filter(status__in=Lead.OPEN_STATUSES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.unassigned:
        qs = qs.filter(owner__isnull=True)
    simple = {
        "intent": filters.intent,
        "owner_id": filters.owner_id,
        "channel_id": filters.channel_id,
        "source": filters.source,
        "province": filters.province,
        "city": filters.city,
    }
    qs = qs.filter(**{k: v for k, v in simple.items() if v not in (None, "")})
    return lead_search_filter(qs, filters.q)


def lead_list(
    *, user: AnyUser, filters: LeadFilters, cursor: str | None = None, limit: int = 50
) -> Page[Lead]:
    """One page of the leads ``user`` may see, filtered and sorted (fixed query count)."""
    qs = lead_filter(leads_visible_to(user), filters).select_related("owner", "channel")
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    return keyset_page(qs, order=order, cursor=cursor, limit=limit)


def lead_timeline_entries(lead: Lead) -> QuerySet[AuditEntry]:
    """The lead's own audit entries (callers have checked access to the lead)."""
    return AuditEntry.objects.filter(subject_type="lead", subject_id=lead.pk).select_related(
        "actor"
    )


def lead_timeline(lead: Lead, *, limit: int = 100) -> list[AuditEntry]:
    """The lead's own history, newest first."""
    return list(lead_timeline_entries(lead).order_by("-created_at", "-id")[:limit])


# --- opportunities ------------------------------------------------------------------------

OPPORTUNITY_SORTS: dict[str, list[str]] = {
    "-updated_at": ["-updated_at", "-id"],
    "updated_at": ["updated_at", "id"],
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "name": ["name", "id"],
}
KANBAN_CARDS_PER_COLUMN = 50


@dataclass
class OpportunityFilters:
    """The filters an opportunity list offers (web and API alike)."""

    q: str = ""
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str = ""  # an Opportunity.Status value or "" for all
    owner_id: int | None = None
    customer_id: int | None = None
    intent: str = ""
    close_from: date | None = None
    close_to: date | None = None
    sort: str = DEFAULT_SORT


def opportunity_filter(
    qs: QuerySet[Opportunity], filters: OpportunityFilters
) -> QuerySet[Opportunity]:
    """Apply the list filters; the search matches the opportunity's or the customer's name."""
    simple = {
        "pipeline_id": filters.pipeline_id,
        "stage_id": filters.stage_id,
        "status": filters.status,
        "owner_id": filters.owner_id,
        "customer_id": filters.customer_id,
        "intent": filters.intent,
        "expected_close_date__gte": filters.close_from,
        "expected_close_date__lte": filters.close_to,
    }
    qs = qs.filter(**{k: v for k, v in simple.items() if v not in (None, "")})
    term = " ".join(filters.q.split())
    if term:
        qs = qs.filter(Q(name__icontains=term) | Q(customer__name__icontains=term))
    return qs


def opportunity_list(
    *, user: AnyUser, filters: OpportunityFilters, cursor: str | None = None, limit: int = 50
) -> Page[Opportunity]:
    """One page of the opportunities ``user`` may see, filtered and sorted (fixed query
    count)."""
    qs = opportunity_filter(opportunities_visible_to(user), filters).select_related(
        "customer", "owner", "stage", "pipeline"
    )
    order = OPPORTUNITY_SORTS.get(filters.sort, OPPORTUNITY_SORTS[DEFAULT_SORT])
    return keyset_page(qs, order=order, cursor=cursor, limit=limit)


def opportunities_of_customer(
    *, user: AnyUser, customer_id: int, limit: int = 20
) -> list[Opportunity]:
    """The customer's opportunities that ``user`` may see, open ones first (for the
    customer page)."""
    return list(
        opportunities_visible_to(user)
        .filter(customer_id=customer_id)
        .select_related("stage", "owner")
        .order_by("status", "-updated_at", "-id")[:limit]
    )


def opportunity_stage_history(opportunity: Opportunity) -> list[StageChange]:
    """The opportunity's stage changes, newest first (callers have checked access)."""
    return list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "actor")
        .order_by("-changed_at", "-id")
    )


def opportunity_timeline_entries(opportunity: Opportunity) -> QuerySet[AuditEntry]:
    """The opportunity's own audit entries (callers have checked access)."""
    return AuditEntry.objects.filter(
        subject_type="opportunity", subject_id=opportunity.pk
    ).select_related("actor")


def pipeline_stages(pipeline: Pipeline) -> list[Stage]:
    """The pipeline's stages in order."""
    return list(pipeline.stages.order_by("order", "id"))


@dataclass
class KanbanColumn:
    stage: Stage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    total: Decimal = Decimal("0")

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def kanban_board(
    *, user: AnyUser, pipeline: Pipeline, per_column: int = KANBAN_CARDS_PER_COLUMN
) -> list[KanbanColumn]:
    """The pipeline's open stages as columns of the open opportunities ``user`` may see:
    the ``per_column`` most recently updated cards each, and per column the count and the
    sum of amounts (one aggregate query). Two queries plus one per column, whatever the
    size."""
    columns = {
        stage.pk: KanbanColumn(stage=stage)
        for stage in pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order", "id")
    }
    qs = opportunities_visible_to(user).filter(
        pipeline=pipeline, status=Opportunity.Status.OPEN, stage_id__in=list(columns)
    )
    for row in qs.order_by().values("stage_id").annotate(n=Count("id"), total=Sum("amount")):
        column = columns[row["stage_id"]]
        column.count, column.total = row["n"], Decimal(row["total"] or 0)
    # One LIMIT query per column reads its newest cards from the (pipeline, stage,
    # updated_at) index; a single ROW_NUMBER() window over every open opportunity in scope
    # (with the customer joined) had to read and sort all of them: seconds at a million.
    for stage_id, column in columns.items():
        column.cards = list(
            qs.filter(stage_id=stage_id)
            .select_related("customer", "owner")
            .order_by("-updated_at", "-id")[:per_column]
        )
    return list(columns.values())


@dataclass
class ForecastRow:
    """Sums over a month (or an owner): open deals unweighted and weighted by the stage's
    probability, the commit and best-case categories, and what was already won."""

    label: str
    key: int = 0
    count: int = 0
    unweighted: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    commit: Decimal = Decimal("0")
    best_case: Decimal = Decimal("0")
    won: Decimal = Decimal("0")

    def add(self, *, status: str, category: str, probability: int, amount: Decimal, n: int) -> None:
        self.count += n
        if status == Opportunity.Status.WON:
            self.won += amount
            self.commit += amount
            self.best_case += amount
            return
        self.unweighted += amount
        self.weighted += (amount * probability / 100).quantize(Decimal("0.01"))
        if category == Opportunity.ForecastCategory.COMMIT:
            self.commit += amount
        if category in (
            Opportunity.ForecastCategory.COMMIT,
            Opportunity.ForecastCategory.BEST_CASE,
        ):
            self.best_case += amount


@dataclass
class Forecast:
    pipeline: Pipeline
    year: int
    months: list[ForecastRow]
    owners: list[ForecastRow]
    total: ForecastRow

    @property
    def max_month(self) -> Decimal:
        return max((m.unweighted + m.won for m in self.months), default=Decimal("0"))


def forecast(*, user: AnyUser, pipeline: Pipeline, year: int) -> Forecast:
    """The sales forecast of ``pipeline`` for ``year`` by expected close month and by owner,
    over the opportunities ``user`` may see. Open ones count unweighted and weighted by the
    stage's probability, and in ``commit`` (committed) and ``best_case`` (committed or best
    case); won ones count as won (and in both categories); lost and omitted ones do not.
    Two queries."""
    qs = (
        opportunities_visible_to(user)
        .filter(pipeline=pipeline, expected_close_date__year=year)
        .filter(
            Q(status=Opportunity.Status.WON)
            | (
                Q(status=Opportunity.Status.OPEN)
                & ~Q(forecast_category=Opportunity.ForecastCategory.OMITTED)
            )
        )
    )
    rows = (
        qs.order_by()
        .values("owner_id", "status", "forecast_category", "stage__probability")
        .annotate(month=ExtractMonth("expected_close_date"), n=Count("id"), amount=Sum("amount"))
    )
    months = [ForecastRow(label=f"{year}-{m:02d}", key=m) for m in range(1, 13)]
    total = ForecastRow(label=str(year))
    by_owner: dict[int, ForecastRow] = defaultdict(lambda: ForecastRow(label=""))
    for row in rows:
        values = {
            "status": row["status"],
            "category": row["forecast_category"],
            "probability": row["stage__probability"],
            "amount": Decimal(row["amount"] or 0).quantize(Decimal("0.01")),
            "n": row["n"],
        }
        months[row["month"] - 1].add(**values)
        by_owner[row["owner_id"] or 0].add(**values)
        total.add(**values)
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[k for k in by_owner if k])}
    owners = []
    for owner_id, owner_row in by_owner.items():
        owner_row.key = owner_id
        owner_row.label = names.get(owner_id, "—")
        owners.append(owner_row)
    owners.sort(key=lambda r: (-r.weighted, r.label))
    return Forecast(pipeline=pipeline, year=year, months=months, owners=owners, total=total)
