"""Reads of quotes, orders and receivables, always from the user's access scope."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import F, Model, Q, QuerySet, Sum
from django.utils import timezone

from guanxi.commerce.access import (
    invoices_visible_to,
    orders_visible_to,
    products_visible_to,
    quote_can,
    quotes_actionable_by,
    quotes_visible_to,
    warranties_visible_to,
)
from guanxi.commerce.models import Invoice, Order, Product, Quote, Warranty
from guanxi.core.pagination import Page, keyset_page
from guanxi.users.access import AnyUser

OPEN_INVOICE = [Invoice.Status.OPEN, Invoice.Status.PARTIAL]


def search_term[M: Model](qs: QuerySet[M], term: str) -> QuerySet[M]:
    """Rows whose number or customer name contains ``term``."""
    term = " ".join(term.split())
    if not term:
        return qs
    return qs.filter(Q(number__icontains=term) | Q(customer__name__icontains=term))


def product_list(*, user: AnyUser, q: str = "", active_only: bool = False) -> QuerySet[Product]:
    """Catalogue products matching ``q`` (SKU, name, pinyin or initials)."""
    qs = products_visible_to(user)
    if active_only:
        qs = qs.filter(is_active=True)
    term = " ".join(q.split()).lower()
    if term:
        qs = qs.filter(
            Q(sku__icontains=term)
            | Q(name__icontains=term)
            | Q(name_pinyin__icontains=term.replace(" ", ""))
            | Q(name_initials__startswith=term)
        )
    return qs.order_by("sku")


def quotes_filtered(
    *,
    user: AnyUser,
    status: str = "",
    mine: bool = False,
    awaiting_my_approval: bool = False,
    customer_id: int | None = None,
    q: str = "",
) -> QuerySet[Quote]:
    """The quotes the user may see, filtered: the latest versions unless ``status`` asks
    for superseded ones; ``awaiting_my_approval``: those waiting for the user's decision."""
    if awaiting_my_approval:
        qs = quotes_actionable_by(user, "approve").filter(status=Quote.Status.PENDING)
        if not user.is_superuser:
            qs = qs.exclude(owner_id=user.pk)
    elif status:
        qs = quotes_visible_to(user).filter(status=status)
    else:
        qs = quotes_visible_to(user).exclude(status=Quote.Status.SUPERSEDED)
    if mine:
        qs = qs.filter(owner_id=user.pk)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return search_term(qs, q).select_related("customer", "owner")


def quote_list(
    *,
    user: AnyUser,
    status: str = "",
    mine: bool = False,
    awaiting_my_approval: bool = False,
    customer_id: int | None = None,
    q: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Quote]:
    """A page of :func:`quotes_filtered`, newest first."""
    qs = quotes_filtered(
        user=user,
        status=status,
        mine=mine,
        awaiting_my_approval=awaiting_my_approval,
        customer_id=customer_id,
        q=q,
    )
    return keyset_page(qs, order=["-created_at", "-id"], cursor=cursor, limit=limit)


def quote_versions(quote: Quote) -> list[Quote]:
    """Every version of the quote, newest first."""
    return list(Quote.objects.filter(number=quote.number).order_by("-version"))


def quote_may(user: AnyUser, quote: Quote) -> dict[str, bool]:
    """What the user may do to the quote now, for the buttons on its page."""
    edit = quote_can(user, quote, "edit")
    return {
        "edit": edit,
        "approve": quote.status == Quote.Status.PENDING and quote_can(user, quote, "approve"),
        "order": edit and user.has_perm("commerce.add_order"),
    }


def orders_filtered(
    *, user: AnyUser, status: str = "", customer_id: int | None = None, q: str = ""
) -> QuerySet[Order]:
    """The orders the user may see, filtered."""
    qs = orders_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return search_term(qs, q).select_related("customer", "owner")


def order_list(
    *,
    user: AnyUser,
    status: str = "",
    customer_id: int | None = None,
    q: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Order]:
    """A page of :func:`orders_filtered`, newest first."""
    qs = orders_filtered(user=user, status=status, customer_id=customer_id, q=q)
    return keyset_page(qs, order=["-created_at", "-id"], cursor=cursor, limit=limit)


def invoices_filtered(
    *,
    user: AnyUser,
    show: str = "open",
    customer_id: int | None = None,
    q: str = "",
    today: date | None = None,
) -> QuerySet[Invoice]:
    """Receivables the user may see: open ones ("open"), the overdue list ("overdue"),
    paid ones ("paid") or all ("all")."""
    today = today or timezone.localdate()
    qs = invoices_visible_to(user)
    if show == "overdue":
        qs = qs.filter(status__in=OPEN_INVOICE, due_on__lt=today)
    elif show == "paid":
        qs = qs.filter(status=Invoice.Status.PAID)
    elif show != "all":
        qs = qs.filter(status__in=OPEN_INVOICE)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return search_term(qs, q).select_related("customer", "owner", "order")


def invoice_list(
    *,
    user: AnyUser,
    show: str = "open",
    customer_id: int | None = None,
    q: str = "",
    cursor: str | None = None,
    limit: int = 50,
    today: date | None = None,
) -> Page[Invoice]:
    """A page of :func:`invoices_filtered`, by due date."""
    qs = invoices_filtered(user=user, show=show, customer_id=customer_id, q=q, today=today)
    return keyset_page(qs, order=["due_on", "id"], cursor=cursor, limit=limit)


@dataclass
class Receivables:
    outstanding: Decimal
    overdue: Decimal
    overdue_count: int


def receivables_summary(
    *, user: AnyUser, customer_id: int | None = None, today: date | None = None
) -> dict[str, Receivables]:
    """Outstanding and overdue amounts per currency of the receivables the user sees."""
    today = today or timezone.localdate()
    qs = invoices_visible_to(user).filter(status__in=OPEN_INVOICE)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    rows = qs.values("currency").annotate(
        due_total=Sum(F("amount") - F("paid_amount")),
        overdue=Sum(F("amount") - F("paid_amount"), filter=Q(due_on__lt=today)),
        overdue_count=Sum(1, filter=Q(due_on__lt=today)),
    )
    return {
        row["currency"]: Receivables(
            outstanding=row["due_total"] or Decimal(0),
            overdue=row["overdue"] or Decimal(0),
            overdue_count=row["overdue_count"] or 0,
        )
        for row in rows
    }


@dataclass
class CustomerCommerce:
    quotes: list[Quote]
    orders: list[Order]
    invoices: list[Invoice]
    warranties: list[Warranty]


def customer_commerce(*, user: AnyUser, customer_id: int, limit: int = 10) -> CustomerCommerce:
    """The customer's latest quotes, orders, open receivables and warranties the user may
    see (four queries)."""
    return CustomerCommerce(
        quotes=list(
            quotes_visible_to(user)
            .filter(customer_id=customer_id)
            .exclude(status=Quote.Status.SUPERSEDED)
            .order_by("-created_at", "-id")[:limit]
        ),
        orders=list(
            orders_visible_to(user).filter(customer_id=customer_id).order_by("-created_at")[:limit]
        ),
        invoices=list(
            invoices_visible_to(user)
            .filter(customer_id=customer_id, status__in=OPEN_INVOICE)
            .order_by("due_on", "id")[:limit]
        ),
        warranties=list(
            warranties_visible_to(user)
            .filter(customer_id=customer_id)
            .select_related("product")
            .order_by("-ends_on", "id")[:limit]
        ),
    )


def warranties_find(
    *,
    user: AnyUser,
    customer_id: int | None = None,
    product_id: int | None = None,
    serial: str = "",
) -> QuerySet[Warranty]:
    """Warranties the user may see of a customer and/or a serial number (optionally one
    product's), latest end first; the service desk's warranty check."""
    qs = warranties_visible_to(user)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if serial.strip():
        qs = qs.filter(serial_number=serial.strip())
    return qs.select_related("product", "customer", "order_line").order_by("-ends_on", "id")
