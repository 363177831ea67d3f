"""Reads for imports and exports: a user's own jobs, the rows an export may contain (always
from the access scope), and the filters of the customer and lead lists parsed from a query
string."""

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import QuerySet
from django.http import Http404

from guanxi.customers.access import contacts_visible_to, customers_actionable_by
from guanxi.customers.models import ContactLink, Customer
from guanxi.customers.search import normalize_query, search_filter
from guanxi.customers.selectors import SORTS, CustomerFilters, customer_filter
from guanxi.sales import selectors as lead_selectors
from guanxi.sales.access import leads_actionable_by
from guanxi.sales.models import Lead
from guanxi.sales.selectors import LeadFilters, lead_filter
from guanxi.transfers.models import ExportJob, ImportJob, Kind
from guanxi.users.access import AnyUser
from guanxi.users.models import User

FILTER_KEYS = (
    "q",
    "owner",
    "tier",
    "status",
    "kind",
    "industry",
    "channel",
    "tag",
    "province",
    "city",
    "sort",
    "customer",
)
# The lead list's query string: owner is a user id, "me" or "none" (unassigned); status is
# a lead status or "open".
LEAD_FILTER_KEYS = (
    "q",
    "status",
    "intent",
    "owner",
    "channel",
    "source",
    "province",
    "city",
    "sort",
)


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def export_filters_clean(
    params: Mapping[str, Any], *, kind: str = Kind.CUSTOMERS
) -> dict[str, str]:
    """The filters of the list of ``kind`` found in ``params`` (a query string), as plain
    strings."""
    result: dict[str, str] = {}
    for key in LEAD_FILTER_KEYS if kind == Kind.LEADS else FILTER_KEYS:
        value = params.get(key)
        if value not in (None, ""):
            result[key] = str(value)[:200]
    return result


def customer_filters_from(filters: Mapping[str, str], *, user: AnyUser) -> CustomerFilters:
    """The list page's query-string filters as ``CustomerFilters`` ("owner=me" is the user)."""
    owner = filters.get("owner", "")
    owner_id = user.pk if owner == "me" and isinstance(user, User) else _int(owner)
    return CustomerFilters(
        q=filters.get("q", ""),
        owner_id=owner_id,
        kind=filters.get("kind", ""),
        tier=filters.get("tier", ""),
        status=filters.get("status", ""),
        industry=filters.get("industry", ""),
        channel_id=_int(filters.get("channel")),
        tag_id=_int(filters.get("tag")),
        province=filters.get("province", ""),
        city=filters.get("city", ""),
        sort=filters.get("sort", "-updated_at"),
    )


def export_customers(*, user: AnyUser, filters: Mapping[str, str]) -> QuerySet[Customer]:
    """Exactly the customers the user's filtered list shows, limited to rows the user may
    export (none without the export permission)."""
    parsed = customer_filters_from(filters, user=user)
    qs = customer_filter(customers_actionable_by(user, "export"), parsed)
    if normalize_query(parsed.q):
        qs = search_filter(qs, parsed.q)
    order = SORTS.get(parsed.sort, SORTS["-updated_at"])
    return (
        qs.select_related("owner", "channel")
        .prefetch_related("tags")
        .defer("search_text", "remarks")
        .order_by(*order)
    )


def lead_filters_from(filters: Mapping[str, str], *, user: AnyUser) -> LeadFilters:
    """The lead list's query-string filters as ``LeadFilters`` ("owner=me" is the user,
    "owner=none" the unassigned leads)."""
    owner = filters.get("owner", "")
    owner_id = user.pk if owner == "me" and isinstance(user, User) else _int(owner)
    return LeadFilters(
        q=filters.get("q", ""),
        status=filters.get("status", ""),
        intent=filters.get("intent", ""),
        owner_id=owner_id,
        unassigned=owner == lead_selectors.UNASSIGNED,
        channel_id=_int(filters.get("channel")),
        source=filters.get("source", ""),
        province=filters.get("province", ""),
        city=filters.get("city", ""),
        sort=filters.get("sort", lead_selectors.DEFAULT_SORT),
    )


def export_leads(*, user: AnyUser, filters: Mapping[str, str]) -> QuerySet[Lead]:
    """Exactly the leads the user's filtered lead list shows, limited to rows the user may
    export (none without the export permission)."""
    parsed = lead_filters_from(filters, user=user)
    qs = lead_filter(leads_actionable_by(user, "export"), parsed)
    order = lead_selectors.SORTS.get(parsed.sort, lead_selectors.SORTS[lead_selectors.DEFAULT_SORT])
    return (
        qs.select_related("owner", "team", "channel")
        .defer("name_pinyin", "name_initials")
        .order_by(*order)
    )


def export_contact_links(*, user: AnyUser, filters: Mapping[str, str]) -> QuerySet[ContactLink]:
    """One row per (contact, customer) pair the user may see and export."""
    customers = customers_actionable_by(user, "export")
    qs = ContactLink.objects.filter(contact__in=contacts_visible_to(user), customer__in=customers)
    customer_id = _int(filters.get("customer"))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    q = normalize_query(filters.get("q", ""))
    if len(q) >= 2:
        qs = qs.filter(contact__name__icontains=q) | qs.filter(contact__mobile_normalized=q)
    return qs.select_related("contact", "customer").order_by("contact_id", "-is_primary", "id")


def import_job_get(*, user: AnyUser, job_id: int) -> ImportJob:
    """The user's own import job; Http404 for anyone else's."""
    job = ImportJob.objects.filter(pk=job_id, user_id=cast(int, user.pk)).first()
    if job is None:
        raise Http404("No such import")
    return job


def export_job_get(*, user: AnyUser, job_id: int) -> ExportJob:
    """The user's own export job; Http404 for anyone else's."""
    job = ExportJob.objects.filter(pk=job_id, user_id=cast(int, user.pk)).first()
    if job is None:
        raise Http404("No such export")
    return job


def import_last_mapping(*, user: AnyUser, kind: str) -> dict[str, str]:
    """Header → field as the user mapped it in their last started import of ``kind``."""
    last = (
        ImportJob.objects.filter(user_id=cast(int, user.pk), kind=kind)
        .exclude(status=ImportJob._meta.get_field("status").default)
        .exclude(mapping=[])
        .only("headers", "mapping")
        .first()
    )
    if last is None:
        return {}
    return {str(h): str(f) for h, f in zip(last.headers, last.mapping, strict=False)}


def jobs_recent(*, user: AnyUser, limit: int = 20) -> dict[str, list[Any]]:
    """The user's latest imports and exports."""
    return {
        "imports": list(ImportJob.objects.filter(user_id=cast(int, user.pk))[:limit]),
        "exports": list(ExportJob.objects.filter(user_id=cast(int, user.pk))[:limit]),
    }
