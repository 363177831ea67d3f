"""Reads of leads, always starting from the access scope."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from guanxi.activities.models import AuditEntry
from guanxi.core.pagination import Page, keyset_page
from guanxi.core.validators import digits_only
from guanxi.customers.search import normalize_query
from guanxi.sales.access import leads_visible_to
from guanxi.sales.models import Lead
from guanxi.users.access import AnyUser

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
