"""Reads of customers and contacts, always starting from the access scope."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from guanxi.core.pagination import Page, keyset_page
from guanxi.customers.access import contacts_visible_to, customers_visible_to
from guanxi.customers.models import Channel, Contact, ContactLink, Customer, Tag
from guanxi.customers.search import (
    MIN_QUERY_LENGTH,
    contact_search_filter,
    normalize_query,
    search_ranked,
)
from guanxi.users.access import AnyUser

SORTS: dict[str, list[str]] = {
    "-updated_at": ["-updated_at", "-id"],
    "updated_at": ["updated_at", "id"],
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "name": ["name", "id"],
    "-name": ["-name", "-id"],
}
DEFAULT_SORT = "-updated_at"


@dataclass
class CustomerFilters:
    """The filters a customer list offers (web and API alike)."""

    q: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    kind: str = ""
    tier: str = ""
    status: str = ""
    industry: str = ""
    channel_id: int | None = None
    tag_id: int | None = None
    province: str = ""
    city: str = ""
    sort: str = DEFAULT_SORT
    extra: dict[str, Any] = field(default_factory=dict)


def customer_filter(qs: QuerySet[Customer], filters: CustomerFilters) -> QuerySet[Customer]:
    """Apply the list filters (not the search) to a scoped queryset."""
    simple = {
        "owner_id": filters.owner_id,
        "team_id": filters.team_id,
        "kind": filters.kind,
        "tier": filters.tier,
        "status": filters.status,
        "industry": filters.industry,
        "channel_id": filters.channel_id,
        "province": filters.province,
        "city": filters.city,
    }
    qs = qs.filter(**{k: v for k, v in simple.items() if v not in (None, "")})
    if filters.tag_id:
        qs = qs.filter(tags__id=filters.tag_id)
    return qs


def _list_columns(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("owner", "channel").defer("search_text", "notes", "remarks")


def attach_tags(customers: list[Customer]) -> list[Customer]:
    """Set ``tag_list`` (tags by name) on each customer with one query.

    Cheaper than ``prefetch_related("tags")`` for a page of rows: no related manager and
    queryset per row, and each tag object is shared by the rows that carry it.
    """
    by_customer: dict[int, list[Tag]] = {c.pk: [] for c in customers}
    if by_customer:
        tags: dict[int, Tag] = {}
        links = (
            Customer.tags.through.objects.filter(customer_id__in=by_customer)
            .select_related("tag")
            .order_by("tag__name")
        )
        for link in links:
            tag = tags.setdefault(link.tag_id, link.tag)
            by_customer[link.customer_id].append(tag)
    for customer in customers:
        customer.tag_list = by_customer[customer.pk]  # type: ignore[attr-defined]
    return customers


def customer_list(
    *,
    user: AnyUser,
    filters: CustomerFilters,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Customer]:
    """One page of the customers ``user`` may see, filtered, searched and sorted.

    Runs a fixed number of queries whatever the page depth (keyset pagination). With a
    search query the results are ordered by relevance and the cursor is an offset-free
    keyset over (rank, updated_at, id).
    """
    qs = customer_filter(customers_visible_to(user), filters)
    if len(normalize_query(filters.q)) >= MIN_QUERY_LENGTH:
        # Owner and channel are fetched by id after the LIMIT: joined before it, the
        # database would join every match of a common term before ranking them.
        ranked = (
            search_ranked(qs, filters.q)
            .prefetch_related("owner", "channel")
            .defer("search_text", "notes", "remarks")
        )
        page = keyset_page(ranked, order=["rank", "-updated_at", "-id"], cursor=cursor, limit=limit)
        attach_tags(page.items)
        return page
    order = SORTS.get(filters.sort, SORTS[DEFAULT_SORT])
    page = keyset_page(_list_columns(qs), order=order, cursor=cursor, limit=limit)
    attach_tags(page.items)
    return page


def customer_detail(*, user: AnyUser, customer_id: int) -> Customer | None:
    """A visible customer with what its 360° page shows, or None."""
    return (
        customers_visible_to(user)
        .select_related("owner", "team", "channel", "deleted_by")
        .prefetch_related(
            "tags",
            "addresses",
            Prefetch(
                "contact_links",
                queryset=ContactLink.objects.select_related("contact")
                .filter(contact__deleted_at__isnull=True)
                .order_by("-is_primary", "contact__name"),
            ),
        )
        .filter(pk=customer_id)
        .first()
    )


def contact_list(
    *,
    user: AnyUser,
    q: str = "",
    customer_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Contact]:
    """One page of the contacts ``user`` may see."""
    qs = contacts_visible_to(user)
    if customer_id:
        qs = qs.filter(links__customer_id=customer_id)
    qs = contact_search_filter(qs, q)
    qs = qs.prefetch_related(
        Prefetch(
            "links",
            queryset=ContactLink.objects.select_related("customer").filter(
                customer__in=customers_visible_to(user)
            ),
        )
    )
    return keyset_page(qs, order=["name", "id"], cursor=cursor, limit=limit)


def contact_links_visible(*, user: AnyUser, contact: Contact) -> list[ContactLink]:
    """The contact's roles at customers the user may see."""
    return list(
        contact.links.filter(customer__in=customers_visible_to(user))
        .select_related("customer")
        .order_by("-is_primary", "customer__name")
    )


def tag_list() -> QuerySet[Tag]:
    """Every tag, by name (tags are shared by the whole company)."""
    return Tag.objects.order_by("name")


def tags_by_ids(*, tag_ids: set[int]) -> list[Tag]:
    """The tags with these ids (missing ids are simply absent)."""
    return list(Tag.objects.filter(pk__in=tag_ids))


def channel_list() -> QuerySet[Channel]:
    """Every source channel, by name."""
    return Channel.objects.order_by("name")


def channel_get(*, channel_id: int) -> Channel | None:
    """The source channel with this id, or None."""
    return Channel.objects.filter(pk=channel_id).first()
