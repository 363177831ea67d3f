"""REST: the product catalogue and price lists, quotes (approval, PDF, sending, the
customer's answer, new versions), orders (from a quote or direct, status, serial numbers,
warranties), receivables with their payments, and the warranty lookup of the service desk.

Handlers parse input, authorise through ``guanxi.commerce.access``, call a service or
selector and render (the conventions, error shapes and helpers of
``guanxi.customers.api``). Rows out of sight answer 404, rows in sight the user may not act
on answer 403; service validation errors answer 422 naming the field as the API calls it
(``quote_id``, ``lines.0.quantity``).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router
from ninja.responses import Status

from guanxi.commerce import access, selectors, services
from guanxi.commerce.models import (
    Invoice,
    Order,
    OrderLine,
    PriceList,
    PriceListItem,
    Quote,
    Warranty,
)
from guanxi.commerce.pdf import quote_pdf
from guanxi.commerce.schemas import (
    CancelIn,
    DeclineIn,
    FromQuoteIn,
    InvoiceIn,
    InvoiceListItem,
    InvoiceListQuery,
    InvoiceOut,
    InvoicePage,
    LineIn,
    LineOut,
    NoteIn,
    OrderIn,
    OrderLineIn,
    OrderLineOut,
    OrderListItem,
    OrderListQuery,
    OrderOut,
    OrderPage,
    OrderPatch,
    PaymentIn,
    PaymentOut,
    PriceItemIn,
    PriceListDetailOut,
    PriceListIn,
    PriceListOut,
    ProductIn,
    ProductListQuery,
    ProductOut,
    ProductPage,
    ProductPatch,
    QuoteIn,
    QuoteListItem,
    QuoteListQuery,
    QuoteOut,
    QuotePage,
    QuotePatch,
    QuoteVersionOut,
    SendIn,
    StatusIn,
    WarrantyOut,
    WarrantyQuery,
    money,
)
from guanxi.core.api_support import api_user, field_error, paged
from guanxi.core.pagination import keyset_page
from guanxi.customers import access as customer_access
from guanxi.customers.api import AUTH_ERRORS, LIST_ERRORS, READ_ERRORS, WRITE_ERRORS
from guanxi.customers.models import Contact, Customer
from guanxi.customers.schemas import Id, UserRef
from guanxi.sales import access as sales_access
from guanxi.sales.models import Opportunity
from guanxi.users.models import User

router = Router()

PRODUCTS = ["products"]
QUOTES = ["quotes"]
ORDERS = ["orders"]
RECEIVABLES = ["receivables"]

ProductId = Path[Id]
PriceListId = Path[Id]
QuoteId = Path[Id]
OrderId = Path[Id]
InvoiceId = Path[Id]

# Service errors name model fields; the API names the ids it takes.
API_FIELDS = {
    "customer": "customer_id",
    "contact": "contact_id",
    "opportunity": "opportunity_id",
    "quote": "quote_id",
    "price_list": "price_list_id",
    "product": "product_id",
}


@contextmanager
def _as_api_fields() -> Iterator[None]:
    """Re-raise a service ValidationError with its fields named as in the API."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        renamed = {API_FIELDS.get(k, k): v for k, v in exc.error_dict.items()}
        raise DjangoValidationError(renamed) from exc


# --- lookups of the rows an input refers to -----------------------------------------------


def _customer(user: User, customer_id: int) -> Customer:
    customer = customer_access.customers_visible_to(user).filter(pk=customer_id).first()
    if customer is None:
        raise field_error("customer_id", _("No such customer."), "does_not_exist")
    return customer


def _contact(user: User, contact_id: int | None) -> Contact | None:
    """A contact the user may see (the service checks it belongs to the customer)."""
    if contact_id is None:
        return None
    contact = customer_access.contacts_visible_to(user).filter(pk=contact_id).first()
    if contact is None:
        raise field_error("contact_id", _("No such contact."), "does_not_exist")
    return contact


def _opportunity(user: User, opportunity_id: int) -> Opportunity:
    try:
        return sales_access.opportunity_access_by_id(user, opportunity_id, "edit")
    except Http404 as exc:
        raise field_error("opportunity_id", _("No such opportunity."), "does_not_exist") from exc


def _price_lists(user: User) -> QuerySet[PriceList]:
    return access.price_lists_visible_to(user)


def _price_list_by_id(user: User, price_list_id: int) -> PriceList:
    price_list = _price_lists(user).filter(pk=price_list_id).first()
    if price_list is None:
        raise Http404("No such price list")
    return price_list


def _quote_price_list(user: User, price_list_id: int | None) -> PriceList | None:
    if price_list_id is None:
        return None
    price_list = _price_lists(user).filter(pk=price_list_id, is_active=True).first()
    if price_list is None:
        raise field_error("price_list_id", _("No such active price list."), "does_not_exist")
    return price_list


def _line_inputs(user: User, lines: Sequence[LineIn]) -> list[services.LineInput]:
    """API lines → service lines; every unknown or withdrawn product is named."""
    wanted = {line.product_id for line in lines if line.product_id is not None}
    products = {p.pk: p for p in access.products_visible_to(user).filter(pk__in=wanted)}
    errors: dict[str, list[DjangoValidationError]] = {}
    result = []
    for index, line in enumerate(lines):
        product = None
        if line.product_id is not None:
            product = products.get(line.product_id)
            if product is None:
                message, code = _("No such product."), "does_not_exist"
            elif not product.is_active:
                message, code = _("This product is no longer on sale."), "inactive"
            if product is None or not product.is_active:
                errors[f"lines.{index}.product_id"] = [DjangoValidationError(message, code=code)]
        serials = line.serial_numbers if isinstance(line, OrderLineIn) else []
        result.append(
            services.LineInput(
                product=product,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                serial_numbers="\n".join(serials),
            )
        )
    if errors:
        raise DjangoValidationError(errors)
    return result


def _current_lines(quote: Quote) -> list[services.LineInput]:
    """The quote's lines as they are, for a change of its header only."""
    return [
        services.LineInput(
            product=line.product,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_rate=line.tax_rate,
        )
        for line in quote.lines.select_related("product")
    ]


def _need(user: User, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


# --- products and price lists -------------------------------------------------------------


@router.get(
    "/products",
    response={200: ProductPage, **LIST_ERRORS},
    url_name="product-list",
    summary="List catalogue products",
    tags=PRODUCTS,
)
def product_list(request: HttpRequest, filters: Query[ProductListQuery]) -> ProductPage:
    """By SKU; searched by SKU, name, pinyin or initials."""
    user = api_user(request)
    qs = selectors.product_list(user=user, q=filters.q, active_only=bool(filters.active))
    page = paged(
        filters.cursor,
        lambda: keyset_page(qs, order=["sku", "id"], cursor=filters.cursor, limit=filters.limit),
    )
    return ProductPage(
        items=[ProductOut.of(p) for p in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/products",
    response={201: ProductOut, **WRITE_ERRORS},
    url_name="product-create",
    summary="Add a product to the catalogue",
    tags=PRODUCTS,
)
def product_create(request: HttpRequest, payload: ProductIn) -> Status[ProductOut]:
    """The SKU must be unique (case-insensitively); needs the permission to add products."""
    user = api_user(request)
    _need(user, "commerce.add_product")
    product = services.product_save(actor=user, data=payload.model_dump(exclude_unset=True))
    return Status(201, ProductOut.of(product))


@router.get(
    "/products/{product_id}",
    response={200: ProductOut, **READ_ERRORS},
    url_name="product-detail",
    summary="Get a product",
    tags=PRODUCTS,
)
def product_get(request: HttpRequest, product_id: ProductId) -> ProductOut:
    return ProductOut.of(access.product_access_by_id(api_user(request), product_id))


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **WRITE_ERRORS},
    url_name="product-update",
    summary="Change a product",
    tags=PRODUCTS,
)
def product_update(
    request: HttpRequest, product_id: ProductId, payload: ProductPatch
) -> ProductOut:
    """Change the fields sent; ``is_active`` false takes it off sale (existing quotes and
    orders keep it). Needs the permission to change products."""
    user = api_user(request)
    product = access.product_access_by_id(user, product_id, "edit")
    product = services.product_save(
        actor=user, data=payload.model_dump(exclude_unset=True), product=product
    )
    return ProductOut.of(product)


@router.get(
    "/price-lists",
    response={200: list[PriceListOut], **AUTH_ERRORS},
    url_name="price-list-list",
    summary="List price lists",
    tags=PRODUCTS,
)
def price_list_list(request: HttpRequest) -> list[PriceListOut]:
    """Every price list, by currency and customer group."""
    return [PriceListOut.of(pl) for pl in _price_lists(api_user(request))]


@router.post(
    "/price-lists",
    response={201: PriceListDetailOut, **WRITE_ERRORS},
    url_name="price-list-create",
    summary="Create a price list",
    tags=PRODUCTS,
)
def price_list_create(request: HttpRequest, payload: PriceListIn) -> Status[PriceListDetailOut]:
    """A list for one customer group (or everyone) in one currency; add prices with
    ``POST /price-lists/{id}/items``."""
    user = api_user(request)
    _need(user, "commerce.add_pricelist")
    price_list = services.price_list_save(actor=user, data=payload.model_dump())
    return Status(201, PriceListDetailOut.of_items(price_list, []))


def _price_list_out(price_list: PriceList) -> PriceListDetailOut:
    items = PriceListItem.objects.filter(price_list=price_list).select_related("product")
    return PriceListDetailOut.of_items(price_list, list(items.order_by("product__sku")))


@router.get(
    "/price-lists/{price_list_id}",
    response={200: PriceListDetailOut, **READ_ERRORS},
    url_name="price-list-detail",
    summary="Get a price list with its prices",
    tags=PRODUCTS,
)
def price_list_get(request: HttpRequest, price_list_id: PriceListId) -> PriceListDetailOut:
    return _price_list_out(_price_list_by_id(api_user(request), price_list_id))


@router.post(
    "/price-lists/{price_list_id}/items",
    response={200: PriceListDetailOut, **WRITE_ERRORS},
    url_name="price-list-item-set",
    summary="Set (or with price null, remove) a product's price on a price list",
    tags=PRODUCTS,
)
def price_list_item_set(
    request: HttpRequest, price_list_id: PriceListId, payload: PriceItemIn
) -> PriceListDetailOut:
    """Needs the permission to change price lists."""
    user = api_user(request)
    price_list = _price_list_by_id(user, price_list_id)
    _need(user, "commerce.change_pricelist")
    product = access.products_visible_to(user).filter(pk=payload.product_id).first()
    if product is None:
        raise field_error("product_id", _("No such product."), "does_not_exist")
    if payload.price is not None and not product.is_active:
        raise field_error("product_id", _("This product is no longer on sale."), "inactive")
    services.price_list_item_set(
        actor=user, price_list=price_list, product=product, price=payload.price
    )
    return _price_list_out(price_list)


@router.delete(
    "/price-lists/{price_list_id}/items/{product_id}",
    response={204: None, **WRITE_ERRORS},
    url_name="price-list-item-delete",
    summary="Remove a product from a price list",
    tags=PRODUCTS,
)
def price_list_item_delete(
    request: HttpRequest, price_list_id: PriceListId, product_id: ProductId
) -> Status[None]:
    """Quotes then use the product's list price (or another list's)."""
    user = api_user(request)
    price_list = _price_list_by_id(user, price_list_id)
    _need(user, "commerce.change_pricelist")
    product = access.product_access_by_id(user, product_id)
    services.price_list_item_set(actor=user, price_list=price_list, product=product, price=None)
    return Status(204, None)


# --- quotes -------------------------------------------------------------------------------


def _quote_out(quote: Quote) -> QuoteOut:
    try:
        order_id: int | None = quote.order.pk
    except Order.DoesNotExist:
        order_id = None
    return QuoteOut(
        **QuoteListItem.fields_of(quote),
        contact_id=quote.contact_id,
        opportunity_id=quote.opportunity_id,
        price_list_id=quote.price_list_id,
        language=quote.language,  # type: ignore[arg-type]
        terms=quote.terms,
        needs_approval=services.quote_needs_approval(quote),
        expired=services.quote_is_expired(quote),
        approved_by=UserRef.of(quote.approved_by),
        approval_note=quote.approval_note,
        decided_at=quote.decided_at,
        responded_at=quote.responded_at,
        decline_reason=quote.decline_reason,
        order_id=order_id,
        versions=[
            QuoteVersionOut(id=v.pk, version=v.version, status=v.status)  # type: ignore[arg-type]
            for v in selectors.quote_versions(quote)
        ],
        lines=[LineOut.of(line) for line in quote.lines.select_related("product")],
    )


def _quotes(user: User, filters: QuoteListQuery) -> QuerySet[Quote]:
    return selectors.quotes_filtered(
        user=user,
        status=filters.status or "",
        mine=bool(filters.mine),
        awaiting_my_approval=bool(filters.awaiting_approval),
        customer_id=filters.customer_id,
        q=filters.q,
    )


@router.get(
    "/quotes",
    response={200: QuotePage, **LIST_ERRORS},
    url_name="quote-list",
    summary="List quotes",
    tags=QUOTES,
)
def quote_list(request: HttpRequest, filters: Query[QuoteListQuery]) -> QuotePage:
    """The latest versions of the quotes you may see, newest first; ``awaiting_approval``
    lists those waiting for your decision."""
    qs = _quotes(api_user(request), filters)
    page = paged(
        filters.cursor,
        lambda: keyset_page(
            qs, order=["-created_at", "-id"], cursor=filters.cursor, limit=filters.limit
        ),
    )
    return QuotePage(
        items=[QuoteListItem.of(q) for q in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


def _quote_data(user: User, fields: dict[str, Any]) -> dict[str, Any]:
    """API header fields → service ``data`` (ids → rows)."""
    names = ("title", "currency", "valid_until", "language", "terms")
    data = {k: fields[k] for k in names if k in fields}
    if "contact_id" in fields:
        data["contact"] = _contact(user, fields["contact_id"])
    if "price_list_id" in fields:
        data["price_list"] = _quote_price_list(user, fields["price_list_id"])
    return data


@router.post(
    "/quotes",
    response={201: QuoteOut, **WRITE_ERRORS},
    url_name="quote-create",
    summary="Create a draft quote",
    tags=QUOTES,
)
def quote_create(request: HttpRequest, payload: QuoteIn) -> Status[QuoteOut]:
    """For ``customer_id`` (one you may see), or from ``opportunity_id`` (one you may
    change: its customer, currency, contact, name and owner are taken). Lines are priced
    from the customer's price list unless ``unit_price`` is given; no line may be
    discounted above the policy's highest discount (422 naming ``lines.<n>.…``)."""
    user = api_user(request)
    _need(user, "commerce.add_quote")
    fields = payload.model_dump(exclude_unset=True)
    opportunity = None
    if payload.opportunity_id is not None:
        opportunity = _opportunity(user, payload.opportunity_id)
    if payload.customer_id is not None:
        customer = _customer(user, payload.customer_id)
    elif opportunity is not None:
        customer = opportunity.customer
    else:
        raise field_error("customer_id", _("Give a customer_id or an opportunity_id."), "required")
    data = _quote_data(user, fields)
    lines = _line_inputs(user, payload.lines)
    with _as_api_fields():
        quote = services.quote_create(
            actor=user, customer=customer, opportunity=opportunity, lines=lines, data=data
        )
    return Status(201, _quote_out(quote))


@router.get(
    "/quotes/{quote_id}",
    response={200: QuoteOut, **READ_ERRORS},
    url_name="quote-detail",
    summary="Get a quote with its lines",
    tags=QUOTES,
)
def quote_get(request: HttpRequest, quote_id: QuoteId) -> QuoteOut:
    return _quote_out(access.quote_access_by_id(api_user(request), quote_id))


@router.patch(
    "/quotes/{quote_id}",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-update",
    summary="Change a draft quote",
    tags=QUOTES,
)
def quote_update(request: HttpRequest, quote_id: QuoteId, payload: QuotePatch) -> QuoteOut:
    """Only a draft (or rejected: it goes back to draft) quote; ``lines``, when sent,
    replace every line. Change a sent quote with ``POST …/revise``."""
    user = api_user(request)
    quote = access.quote_access_by_id(user, quote_id, "edit")
    fields = payload.model_dump(exclude_unset=True)
    data = _quote_data(user, fields)
    lines = _line_inputs(user, payload.lines) if payload.lines is not None else None
    with _as_api_fields():
        quote = services.quote_update(
            actor=user, quote=quote, lines=lines or _current_lines(quote), data=data
        )
    return _quote_out(quote)


@router.get(
    "/quotes/{quote_id}/pdf",
    response={200: None, **READ_ERRORS},
    url_name="quote-pdf",
    summary="The quote as a PDF",
    tags=QUOTES,
    openapi_extra={
        "responses": {
            "200": {
                "description": "The quote in its document language.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def quote_pdf_get(request: HttpRequest, quote_id: QuoteId) -> HttpResponse:
    quote = access.quote_access_by_id(api_user(request), quote_id)
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}-v{quote.version}.pdf"'
    return response


def _quote_for(request: HttpRequest, quote_id: int, action: str) -> tuple[User, Quote]:
    user = api_user(request)
    return user, access.quote_access_by_id(user, quote_id, action)


@router.post(
    "/quotes/{quote_id}/submit",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-submit",
    summary="Ask for approval of a quote's discount",
    tags=QUOTES,
)
def quote_submit(request: HttpRequest, quote_id: QuoteId) -> QuoteOut:
    """A draft whose discount is above the approval threshold becomes pending; the
    approvers (not its owner) are notified. 422 when it needs no approval."""
    user, quote = _quote_for(request, quote_id, "edit")
    with _as_api_fields():
        services.quote_submit(actor=user, quote=quote)
    return _quote_out(quote)


@router.post(
    "/quotes/{quote_id}/approve",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-approve",
    summary="Approve a quote's discount",
    tags=QUOTES,
)
def quote_approve(request: HttpRequest, quote_id: QuoteId, payload: NoteIn) -> QuoteOut:
    """Needs the permission to approve quotes and a write scope covering the quote; nobody
    approves their own quote (403)."""
    user, quote = _quote_for(request, quote_id, "approve")
    with _as_api_fields():
        services.quote_approve(actor=user, quote=quote, note=payload.note)
    return _quote_out(quote)


@router.post(
    "/quotes/{quote_id}/reject",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-reject",
    summary="Reject a quote's discount",
    tags=QUOTES,
)
def quote_reject(request: HttpRequest, quote_id: QuoteId, payload: NoteIn) -> QuoteOut:
    """As approve; ``note`` (why) is required. The owner can then change the quote."""
    user, quote = _quote_for(request, quote_id, "approve")
    with _as_api_fields():
        services.quote_reject(actor=user, quote=quote, note=payload.note)
    return _quote_out(quote)


@router.post(
    "/quotes/{quote_id}/send",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-send",
    summary="Send a quote (its PDF by e-mail, or mark it sent)",
    tags=QUOTES,
)
def quote_send(request: HttpRequest, quote_id: QuoteId, payload: SendIn) -> QuoteOut:
    """A draft needing no approval, or an approved quote, that has not expired. With
    ``to`` the PDF is e-mailed (after the change is saved); without, it is only marked
    sent (handed over, sent by WeChat…)."""
    user, quote = _quote_for(request, quote_id, "edit")
    with _as_api_fields():
        services.quote_send(actor=user, quote=quote, to=payload.to, message=payload.message)
    return _quote_out(quote)


@router.post(
    "/quotes/{quote_id}/accept",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-accept",
    summary="Record that the customer accepted a quote",
    tags=QUOTES,
)
def quote_accept(request: HttpRequest, quote_id: QuoteId) -> QuoteOut:
    """Only a sendable quote that has not expired; order it with
    ``POST /orders/from-quote``."""
    user, quote = _quote_for(request, quote_id, "edit")
    with _as_api_fields():
        services.quote_accept(actor=user, quote=quote)
    return _quote_out(quote)


@router.post(
    "/quotes/{quote_id}/decline",
    response={200: QuoteOut, **WRITE_ERRORS},
    url_name="quote-decline",
    summary="Record that the customer declined a quote",
    tags=QUOTES,
)
def quote_decline(request: HttpRequest, quote_id: QuoteId, payload: DeclineIn) -> QuoteOut:
    user, quote = _quote_for(request, quote_id, "edit")
    with _as_api_fields():
        services.quote_decline(actor=user, quote=quote, reason=payload.reason)
    return _quote_out(quote)


@router.post(
    "/quotes/{quote_id}/revise",
    response={201: QuoteOut, **WRITE_ERRORS},
    url_name="quote-revise",
    summary="Make a new version of a quote",
    tags=QUOTES,
)
def quote_revise(request: HttpRequest, quote_id: QuoteId) -> Status[QuoteOut]:
    """A new draft version with the same lines and number (201); the versions it replaces
    are superseded. Not for an accepted quote."""
    user, quote = _quote_for(request, quote_id, "edit")
    with _as_api_fields():
        new = services.quote_revise(actor=user, quote=quote)
    return Status(201, _quote_out(access.quote_access_by_id(user, new.pk)))


# --- orders -------------------------------------------------------------------------------


def _order_out(user: User, order: Order) -> OrderOut:
    today = timezone.localdate()
    warranties = Warranty.objects.select_related("product", "customer").order_by("ends_on", "id")
    lines = order.lines.select_related("product").prefetch_related(
        Prefetch("warranties", queryset=warranties)
    )
    invoiced = order.invoices.exclude(status=Invoice.Status.CANCELLED).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)
    # Only the receivables the user may see: a service agent sees orders, not what is owed.
    invoices = access.invoices_visible_to(user).filter(order=order).order_by("due_on", "id")
    return OrderOut(
        **OrderListItem.fields_of(order),
        contact_id=order.contact_id,
        shipping_address=order.shipping_address,
        notes=order.notes,
        cancel_reason=order.cancel_reason,
        uninvoiced=money(order.total - invoiced),
        lines=[_order_line_out(line, today) for line in lines],
        invoices=[
            InvoiceListItem.of(i) for i in invoices.select_related("customer", "owner", "order")
        ],
    )


def _order_line_out(line: OrderLine, today: Any) -> OrderLineOut:
    return OrderLineOut(
        **LineOut.fields_of(line),
        serial_numbers=line.serials(),
        warranties=[WarrantyOut.of(w, today) for w in line.warranties.all()],
    )


def _orders(user: User, filters: OrderListQuery) -> QuerySet[Order]:
    return selectors.orders_filtered(
        user=user, status=filters.status or "", customer_id=filters.customer_id, q=filters.q
    )


@router.get(
    "/orders",
    response={200: OrderPage, **LIST_ERRORS},
    url_name="order-list",
    summary="List orders",
    tags=ORDERS,
)
def order_list(request: HttpRequest, filters: Query[OrderListQuery]) -> OrderPage:
    """The orders you may see, newest first."""
    qs = _orders(api_user(request), filters)
    page = paged(
        filters.cursor,
        lambda: keyset_page(
            qs, order=["-created_at", "-id"], cursor=filters.cursor, limit=filters.limit
        ),
    )
    return OrderPage(
        items=[OrderListItem.of(o) for o in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/orders",
    response={201: OrderOut, **WRITE_ERRORS},
    url_name="order-create",
    summary="Enter an order directly (without a quote)",
    tags=ORDERS,
)
def order_create(request: HttpRequest, payload: OrderIn) -> Status[OrderOut]:
    """Confirmed at once, owned by you, with a receivable for its total due after the
    policy's payment terms. Lines as for quotes, with ``serial_numbers``."""
    user = api_user(request)
    _need(user, "commerce.add_order")
    customer = _customer(user, payload.customer_id)
    opportunity = (
        _opportunity(user, payload.opportunity_id) if payload.opportunity_id is not None else None
    )
    fields = payload.model_dump(exclude_unset=True)
    names = ("currency", "ordered_on", "delivery_due", "shipping_address", "notes")
    data: dict[str, Any] = {k: fields[k] for k in names if k in fields}
    if "contact_id" in fields:
        data["contact"] = _contact(user, fields["contact_id"])
    lines = _line_inputs(user, payload.lines)
    with _as_api_fields():
        order = services.order_create(
            actor=user, customer=customer, opportunity=opportunity, lines=lines, data=data
        )
    return Status(201, _order_out(user, order))


@router.post(
    "/orders/from-quote",
    response={201: OrderOut, **WRITE_ERRORS},
    url_name="order-from-quote",
    summary="Turn a quote into an order",
    tags=ORDERS,
)
def order_from_quote(request: HttpRequest, payload: FromQuoteIn) -> Status[OrderOut]:
    """An accepted quote, or a sendable one that has not expired (it is accepted too). An
    expired quote is refused (422 naming ``quote_id``): make a new version first. The
    order copies the lines and totals and gets a receivable for its total."""
    user = api_user(request)
    _need(user, "commerce.add_order")
    try:
        quote = access.quote_access_by_id(user, payload.quote_id, "edit")
    except Http404 as exc:
        raise field_error("quote_id", _("No such quote."), "does_not_exist") from exc
    data = payload.model_dump(exclude_unset=True, exclude={"quote_id"})
    # The service accepts the quote before it checks the order's dates; one transaction
    # keeps a refused order from leaving the quote accepted.
    with _as_api_fields(), transaction.atomic():
        order = services.order_from_quote(actor=user, quote=quote, data=data)
    return Status(201, _order_out(user, order))


@router.get(
    "/orders/{order_id}",
    response={200: OrderOut, **READ_ERRORS},
    url_name="order-detail",
    summary="Get an order with its lines, serial numbers, warranties and receivables",
    tags=ORDERS,
)
def order_get(request: HttpRequest, order_id: OrderId) -> OrderOut:
    user = api_user(request)
    return _order_out(user, access.order_access_by_id(user, order_id))


@router.patch(
    "/orders/{order_id}",
    response={200: OrderOut, **WRITE_ERRORS},
    url_name="order-update",
    summary="Change an order's delivery details and serial numbers",
    tags=ORDERS,
)
def order_update(request: HttpRequest, order_id: OrderId, payload: OrderPatch) -> OrderOut:
    """Amounts are fixed once ordered. ``serials`` maps an order line id to its serial
    numbers (at most the quantity, each once); a cancelled order cannot be changed."""
    user = api_user(request)
    order = access.order_access_by_id(user, order_id, "edit")
    fields = payload.model_dump(exclude_unset=True)
    names = ("delivery_due", "shipping_address", "notes")
    data: dict[str, Any] = {k: fields[k] for k in names if k in fields}
    if "contact_id" in fields:
        data["contact"] = _contact(user, fields["contact_id"])
    serials = None
    if payload.serials is not None:
        serials = {line_id: "\n".join(values) for line_id, values in payload.serials.items()}
    with _as_api_fields():
        order = services.order_update(actor=user, order=order, data=data, serials=serials)
    return _order_out(user, order)


@router.post(
    "/orders/{order_id}/status",
    response={200: OrderOut, **WRITE_ERRORS},
    url_name="order-status",
    summary="Move an order along its status flow",
    tags=ORDERS,
)
def order_status(request: HttpRequest, order_id: OrderId, payload: StatusIn) -> OrderOut:
    """confirmed → shipped → delivered → completed, or cancelled before delivery (with a
    ``reason``; unpaid receivables are cancelled too). Delivery (on ``on``, default today)
    starts the warranties."""
    user = api_user(request)
    order = access.order_access_by_id(user, order_id, "edit")
    with _as_api_fields():
        services.order_set_status(
            actor=user, order=order, status=payload.status, on=payload.on, reason=payload.reason
        )
    return _order_out(user, order)


@router.post(
    "/orders/{order_id}/invoices",
    response={201: InvoiceOut, **WRITE_ERRORS},
    url_name="order-invoice-create",
    summary="Add a receivable for (part of) an order",
    tags=RECEIVABLES,
)
def order_invoice_create(
    request: HttpRequest, order_id: OrderId, payload: InvoiceIn
) -> Status[InvoiceOut]:
    """The receivables of an order together never exceed its total (an order gets one for
    its total when created: cancel it to split the amount)."""
    user = api_user(request)
    order = access.order_access_by_id(user, order_id, "edit")
    _need(user, "commerce.add_invoice")
    with _as_api_fields():
        invoice = services.invoice_create(
            actor=user,
            order=order,
            amount=payload.amount,
            due_on=payload.due_on,
            issued_on=payload.issued_on,
            note=payload.note,
        )
    return Status(201, _invoice_out(access.invoice_access_by_id(user, invoice.pk)))


# --- receivables --------------------------------------------------------------------------


def _invoice_out(invoice: Invoice) -> InvoiceOut:
    payments = invoice.payments.select_related("recorded_by").order_by("-paid_on", "-id")
    return InvoiceOut(
        **InvoiceListItem.fields_of(invoice), payments=[PaymentOut.of(p) for p in payments]
    )


def _invoices(user: User, filters: InvoiceListQuery) -> QuerySet[Invoice]:
    return selectors.invoices_filtered(
        user=user, show=filters.show, customer_id=filters.customer_id, q=filters.q
    )


@router.get(
    "/invoices",
    response={200: InvoicePage, **LIST_ERRORS},
    url_name="invoice-list",
    summary="List receivables",
    tags=RECEIVABLES,
)
def invoice_list(request: HttpRequest, filters: Query[InvoiceListQuery]) -> InvoicePage:
    """By due date, soonest first: open ones (``show=open``, the default), the overdue
    ones, paid ones, or all."""
    qs = _invoices(api_user(request), filters)
    page = paged(
        filters.cursor,
        lambda: keyset_page(qs, order=["due_on", "id"], cursor=filters.cursor, limit=filters.limit),
    )
    return InvoicePage(
        items=[InvoiceListItem.of(i) for i in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get(
    "/invoices/{invoice_id}",
    response={200: InvoiceOut, **READ_ERRORS},
    url_name="invoice-detail",
    summary="Get a receivable with its payments",
    tags=RECEIVABLES,
)
def invoice_get(request: HttpRequest, invoice_id: InvoiceId) -> InvoiceOut:
    return _invoice_out(access.invoice_access_by_id(api_user(request), invoice_id))


@router.post(
    "/invoices/{invoice_id}/payments",
    response={201: InvoiceOut, **WRITE_ERRORS},
    url_name="invoice-payment-create",
    summary="Record a (partial) payment",
    tags=RECEIVABLES,
)
def invoice_payment_create(
    request: HttpRequest, invoice_id: InvoiceId, payload: PaymentIn
) -> Status[InvoiceOut]:
    """Never more than is still due (422 naming ``amount``), not dated in the future; the
    receivable becomes partly paid or paid. Answers the receivable with its payments."""
    user = api_user(request)
    invoice = access.invoice_access_by_id(user, invoice_id, "pay")
    with _as_api_fields():
        services.payment_record(
            actor=user,
            invoice=invoice,
            amount=payload.amount,
            paid_on=payload.paid_on,
            method=payload.method,
            reference=payload.reference,
        )
    return Status(201, _invoice_out(invoice))


@router.post(
    "/invoices/{invoice_id}/cancel",
    response={200: InvoiceOut, **WRITE_ERRORS},
    url_name="invoice-cancel",
    summary="Cancel a receivable without payments",
    tags=RECEIVABLES,
)
def invoice_cancel(request: HttpRequest, invoice_id: InvoiceId, payload: CancelIn) -> InvoiceOut:
    user = api_user(request)
    invoice = access.invoice_access_by_id(user, invoice_id, "edit")
    with _as_api_fields():
        services.invoice_cancel(actor=user, invoice=invoice, reason=payload.reason)
    return _invoice_out(invoice)


# --- warranties ---------------------------------------------------------------------------


@router.get(
    "/warranties",
    response={200: list[WarrantyOut], **READ_ERRORS},
    url_name="warranty-list",
    summary="Look up warranties (service desk)",
    tags=ORDERS,
)
def warranty_list(request: HttpRequest, filters: Query[WarrantyQuery]) -> list[WarrantyOut]:
    """A customer's warranties (optionally for one product or serial number), or the
    warranties of a serial number; each ``in`` (ends today or later) or ``expired``.
    Latest end first, at most 200."""
    user = api_user(request)
    serial = filters.serial.strip()
    if filters.customer_id is None and not serial:
        raise field_error(
            "customer_id", _("Give a customer_id or a serial number to look up."), "required"
        )
    found = selectors.warranties_find(
        user=user, customer_id=filters.customer_id, product_id=filters.product_id, serial=serial
    )
    today = timezone.localdate()
    return [WarrantyOut.of(w, today) for w in found[:200]]
