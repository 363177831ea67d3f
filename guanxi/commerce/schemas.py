"""Request and response shapes of the products, quotes, orders and receivables REST API.

Built on the customers API's conventions (``guanxi.customers.schemas``): responses are
plain pydantic models built field by field; inputs refuse unknown fields, text the
databases cannot store and numbers that do not fit their columns, so bad input gets a
422 naming the field (``lines.0.quantity``), never a 500. Money is a decimal string
("12500.00"), dates are ``YYYY-MM-DD``.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, StrictBool, StringConstraints, field_validator

from guanxi.commerce import services
from guanxi.commerce.models import (
    Invoice,
    Order,
    OrderLine,
    Payment,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    Warranty,
)
from guanxi.customers.schemas import (
    CursorPage,
    CursorQuery,
    Id,
    Out,
    Ref,
    Str100,
    Str200,
    Str1000,
    Str10000,
    UserRef,
    _Ok,
)
from guanxi.sales.schemas import Currency, IsoDate, Money

# Literal types rather than the models' TextChoices: they give clean enums in the OpenAPI
# document. tests/test_api.py checks that they match the model choices.
QuoteStatus = Literal[
    "draft", "pending", "approved", "rejected", "sent", "accepted", "declined", "superseded"
]
OrderStatus = Literal["confirmed", "shipped", "delivered", "completed", "cancelled"]
InvoiceStatus = Literal["open", "partial", "paid", "cancelled"]
PaymentMethod = Literal["bank", "cash", "alipay", "wechat", "cheque", "other"]
Language = Literal["zh-hans", "en"]
CustomerTier = Literal["", "key", "suitable", "ordinary"]
InvoiceShow = Literal["open", "overdue", "paid", "all"]
WarrantyState = Literal["in", "expired"]

# Column sizes of the models: money 14 digits with 2 decimals, quantity 12 with 3,
# percentages 5 with 2.
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
PositiveAmount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
Quantity = Annotated[
    Decimal, Field(gt=0, max_digits=12, decimal_places=3, description="More than zero.")
]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True), _Ok]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200), _Ok]
Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100), _Ok]
Reason300 = Annotated[str, StringConstraints(max_length=300), _Ok]
Str20 = Annotated[str, StringConstraints(max_length=20), _Ok]
Str300 = Reason300


def _one_serial(value: str) -> str:
    """One serial number: what the order line's text splits back into exactly this value."""
    value = value.strip()
    parts = value.replace(",", "\n").replace("，", "\n").splitlines()
    if not value or parts != [value]:
        raise ValueError("One serial number, without commas or line breaks.")
    return value


def _email(value: str) -> str:
    value = value.strip()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(f"{value} is not an e-mail address.") from None
    return value


def _sane_year(value: date) -> date:
    """Dates the services can add payment terms and warranty months to."""
    if not 1900 <= value.year <= 2999:
        raise ValueError("Enter a date between 1900-01-01 and 2999-12-31.")
    return value


Day = Annotated[IsoDate, AfterValidator(_sane_year)]

# Warranty.serial_number is 100 characters long.
Serial = Annotated[str, StringConstraints(max_length=100), _Ok, AfterValidator(_one_serial)]
Email = Annotated[str, StringConstraints(max_length=254), _Ok, AfterValidator(_email)]


def money(value: Decimal | None) -> str:
    return f"{Decimal(value or 0):.2f}"


def number(value: Decimal) -> str:
    """A quantity or percentage without trailing zeros ("2", "2.5", "13")."""
    return f"{value.normalize():f}"


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("This field may not be null.")
    return value


# --- products and price lists -------------------------------------------------------------


class ProductRef(Out):
    id: int
    sku: str
    name: str

    @staticmethod
    def of(product: Product | None) -> "ProductRef | None":
        if product is None:
            return None
        return ProductRef(id=product.pk, sku=product.sku, name=product.name)


class ProductOut(Out):
    id: int
    sku: str
    name: str
    unit: str
    description: str
    price: Money = Field(description="List price in ``currency``.")
    currency: str
    tax_rate: str = Field(description="Percent, e.g. 13.")
    warranty_months: int = Field(description="0: no warranty.")
    is_active: bool = Field(description="On sale: offered on new quotes and orders.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(p: Product) -> "ProductOut":
        return ProductOut(
            id=p.pk,
            sku=p.sku,
            name=p.name,
            unit=p.unit,
            description=p.description,
            price=money(p.price),
            currency=p.currency,
            tax_rate=number(p.tax_rate),
            warranty_months=p.warranty_months,
            is_active=p.is_active,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class ProductPage(CursorPage):
    items: list[ProductOut]


class ProductListQuery(CursorQuery):
    q: Str200 = Field("", description="Search: SKU, name, pinyin or initials.")
    active: bool | None = Field(None, description="true: only products on sale.")


_PRODUCT_NOT_NULL = (
    "sku",
    "name",
    "unit",
    "description",
    "price",
    "currency",
    "tax_rate",
    "warranty_months",
    "is_active",
)


class ProductPatch(Schema):
    """Fields to change; leave out what stays."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku | None = Field(None, description="Unique, case-insensitively.")
    name: Name200 | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=20), _Ok] | None = None
    description: Str10000 | None = None
    price: Amount | None = None
    currency: Currency | None = None
    tax_rate: Percent | None = None
    warranty_months: int | None = Field(None, ge=0, le=32767)
    is_active: StrictBool | None = None

    @field_validator(*_PRODUCT_NOT_NULL, mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        return _not_null(value)


class ProductIn(ProductPatch):
    """A new catalogue product."""

    sku: Sku = Field(description="Unique, case-insensitively.")
    name: Name200


class PriceItemOut(Out):
    product: ProductRef
    price: Money


class PriceListOut(Out):
    id: int
    name: str
    currency: str
    customer_tier: CustomerTier = Field(description="Customer group; empty: every customer.")
    valid_from: date | None
    valid_until: date | None
    is_active: bool

    @staticmethod
    def fields_of(pl: PriceList) -> dict[str, Any]:
        return {
            "id": pl.pk,
            "name": pl.name,
            "currency": pl.currency,
            "customer_tier": cast(CustomerTier, pl.customer_tier),
            "valid_from": pl.valid_from,
            "valid_until": pl.valid_until,
            "is_active": pl.is_active,
        }

    @staticmethod
    def of(pl: PriceList) -> "PriceListOut":
        return PriceListOut(**PriceListOut.fields_of(pl))


class PriceListDetailOut(PriceListOut):
    items: list[PriceItemOut]

    @staticmethod
    def of_items(pl: PriceList, items: list[PriceListItem]) -> "PriceListDetailOut":
        return PriceListDetailOut(
            **PriceListOut.fields_of(pl),
            items=[
                PriceItemOut(
                    product=ProductRef(id=i.product.pk, sku=i.product.sku, name=i.product.name),
                    price=money(i.price),
                )
                for i in items
            ],
        )


class PriceListIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Name100
    currency: Currency = "CNY"
    customer_tier: CustomerTier = Field("", description="Customer group; empty: every customer.")
    valid_from: Day | None = None
    valid_until: Day | None = None
    is_active: StrictBool = True


class PriceItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    price: Amount | None = Field(description="The price on this list; null removes the product.")


# --- quote and order lines ----------------------------------------------------------------


class LineIn(Schema):
    """A line: a product (its name, unit, price on the applicable price list and tax rate
    fill what is left out) or a free-text ``description`` with a ``unit_price``."""

    model_config = ConfigDict(extra="forbid")

    product_id: Id | None = None
    description: Str300 = ""
    quantity: Quantity
    unit: Str20 = ""
    unit_price: Amount | None = Field(None, description="Null: the product's price.")
    discount_percent: Percent = Field(
        Decimal(0), description="At most the policy's highest discount."
    )
    tax_rate: Percent | None = Field(None, description="Null: the product's tax rate.")


class OrderLineIn(LineIn):
    serial_numbers: list[Serial] = Field(
        [], max_length=10000, description="At most the quantity, each once."
    )


class LineOut(Out):
    id: int
    position: int
    product: ProductRef | None
    description: str
    quantity: str
    unit: str
    unit_price: Money
    discount_percent: str
    tax_rate: str
    net_amount: Money = Field(description="quantity × unit price less the discount.")
    tax_amount: Money
    gross_amount: Money

    @staticmethod
    def fields_of(line: QuoteLine | OrderLine) -> dict[str, Any]:
        return {
            "id": line.pk,
            "position": line.position,
            "product": ProductRef.of(line.product),
            "description": line.description,
            "quantity": number(line.quantity),
            "unit": line.unit,
            "unit_price": money(line.unit_price),
            "discount_percent": number(line.discount_percent),
            "tax_rate": number(line.tax_rate),
            "net_amount": money(line.net_amount),
            "tax_amount": money(line.tax_amount),
            "gross_amount": money(line.gross_amount),
        }

    @staticmethod
    def of(line: QuoteLine) -> "LineOut":
        return LineOut(**LineOut.fields_of(line))


class Totals(Out):
    currency: str
    subtotal: Money = Field(description="Net of line discounts, before tax.")
    discount_total: Money
    tax_total: Money
    total: Money

    @staticmethod
    def totals_of(doc: Quote | Order) -> dict[str, Any]:
        return {
            "currency": doc.currency,
            "subtotal": money(doc.subtotal),
            "discount_total": money(doc.discount_total),
            "tax_total": money(doc.tax_total),
            "total": money(doc.total),
        }


# --- quotes -------------------------------------------------------------------------------


class QuoteListItem(Totals):
    id: int
    number: str
    version: int
    title: str
    status: QuoteStatus
    customer: Ref
    owner: UserRef | None
    team_id: int | None
    max_discount_percent: str
    valid_until: date
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_of(q: Quote) -> dict[str, Any]:
        return {
            **Totals.totals_of(q),
            "id": q.pk,
            "number": q.number,
            "version": q.version,
            "title": q.title,
            "status": cast(QuoteStatus, q.status),
            "customer": Ref(id=q.customer.pk, name=q.customer.name),
            "owner": UserRef.of(q.owner),
            "team_id": q.team_id,
            "max_discount_percent": number(q.max_discount_percent),
            "valid_until": q.valid_until,
            "sent_at": q.sent_at,
            "created_at": q.created_at,
            "updated_at": q.updated_at,
        }

    @staticmethod
    def of(q: Quote) -> "QuoteListItem":
        return QuoteListItem(**QuoteListItem.fields_of(q))


class QuotePage(CursorPage):
    items: list[QuoteListItem]


class QuoteVersionOut(Out):
    id: int
    version: int
    status: QuoteStatus


class QuoteOut(QuoteListItem):
    contact_id: int | None
    opportunity_id: int | None
    price_list_id: int | None
    language: Language = Field(description="Language of the PDF and the e-mail.")
    terms: str
    needs_approval: bool = Field(description="A line's discount is above the approval threshold.")
    expired: bool = Field(description="valid_until has passed.")
    approved_by: UserRef | None = Field(description="Who approved or rejected the discount.")
    approval_note: str
    decided_at: datetime | None
    responded_at: datetime | None = Field(description="When the customer accepted or declined.")
    decline_reason: str
    order_id: int | None = Field(description="The order made from this quote.")
    versions: list[QuoteVersionOut] = Field(description="Every version, newest first.")
    lines: list[LineOut]


class QuoteListQuery(CursorQuery):
    q: Str200 = Field("", description="Search: quote number or customer name.")
    status: QuoteStatus | None = None
    mine: bool = Field(False, description="Only quotes you own.")
    awaiting_approval: bool = Field(
        False, description="Only quotes awaiting your approval (not your own)."
    )
    customer_id: Id | None = None


_QUOTE_NOT_NULL = ("title", "currency", "language", "terms", "lines")


class QuotePatch(Schema):
    """Fields to change; ``lines``, when sent, replace every line. Only a draft (or
    rejected) quote can be changed."""

    model_config = ConfigDict(extra="forbid")

    title: Str200 | None = None
    contact_id: Id | None = Field(None, description="A contact of the customer, or null.")
    price_list_id: Id | None = Field(
        None, description="Null: the price list for the customer's group."
    )
    currency: Currency | None = None
    valid_until: Day | None = Field(
        None, description="Null: valid for the policy's number of days."
    )
    language: Language | None = None
    terms: Str10000 | None = None
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=500)

    @field_validator(*_QUOTE_NOT_NULL, mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        return _not_null(value)


class QuoteIn(QuotePatch):
    """A new draft quote for ``customer_id`` or from ``opportunity_id`` (whose customer,
    currency, contact and name are taken unless given)."""

    customer_id: Id | None = None
    opportunity_id: Id | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=500)


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    note: Reason300 = Field("", description="Required to reject.")


class SendIn(Schema):
    model_config = ConfigDict(extra="forbid")

    to: list[Email] = Field(
        [],
        max_length=20,
        description="E-mail the quote's PDF to these addresses; empty: only mark it sent.",
    )
    message: Str10000 = ""


class DeclineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Reason300 = ""


# --- orders -------------------------------------------------------------------------------


class WarrantyOut(Out):
    id: int
    customer: Ref
    product: ProductRef
    serial_number: str
    starts_on: date
    ends_on: date
    status: WarrantyState = Field(description="in: ends today or later; expired otherwise.")
    order_id: int
    order_line_id: int

    @staticmethod
    def of(w: Warranty, today: date | None = None) -> "WarrantyOut":
        today = today or timezone.localdate()
        return WarrantyOut(
            id=w.pk,
            customer=Ref(id=w.customer.pk, name=w.customer.name),
            product=ProductRef(id=w.product.pk, sku=w.product.sku, name=w.product.name),
            serial_number=w.serial_number,
            starts_on=w.starts_on,
            ends_on=w.ends_on,
            status="in" if w.ends_on >= today else "expired",
            order_id=w.order_line.order_id,
            order_line_id=w.order_line_id,
        )


class OrderLineOut(LineOut):
    serial_numbers: list[str]
    warranties: list[WarrantyOut]


class OrderListItem(Totals):
    id: int
    number: str
    status: OrderStatus
    customer: Ref
    owner: UserRef | None
    team_id: int | None
    quote_id: int | None
    opportunity_id: int | None
    ordered_on: date
    delivery_due: date | None
    delivered_on: date | None
    late: bool = Field(description="Delivery is due before today and not yet delivered.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_of(o: Order) -> dict[str, Any]:
        return {
            **Totals.totals_of(o),
            "id": o.pk,
            "number": o.number,
            "status": cast(OrderStatus, o.status),
            "customer": Ref(id=o.customer.pk, name=o.customer.name),
            "owner": UserRef.of(o.owner),
            "team_id": o.team_id,
            "quote_id": o.quote_id,
            "opportunity_id": o.opportunity_id,
            "ordered_on": o.ordered_on,
            "delivery_due": o.delivery_due,
            "delivered_on": o.delivered_on,
            "late": services.order_dates_overdue(o),
            "created_at": o.created_at,
            "updated_at": o.updated_at,
        }

    @staticmethod
    def of(o: Order) -> "OrderListItem":
        return OrderListItem(**OrderListItem.fields_of(o))


class OrderPage(CursorPage):
    items: list[OrderListItem]


class OrderListQuery(CursorQuery):
    q: Str200 = Field("", description="Search: order number or customer name.")
    status: OrderStatus | None = None
    customer_id: Id | None = None


class _OrderFields(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: Id | None = Field(None, description="A contact of the customer, or null.")
    delivery_due: Day | None = Field(None, description="Not before the order date.")
    shipping_address: Str1000 | None = None
    notes: Str10000 | None = None

    @field_validator("shipping_address", "notes", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        return _not_null(value)


class OrderIn(_OrderFields):
    """An order entered directly (no quote): confirmed, with a receivable for its total
    due after the policy's payment terms."""

    customer_id: Id
    opportunity_id: Id | None = None
    currency: Currency = "CNY"
    ordered_on: Day | None = Field(None, description="Default: today.")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)


class FromQuoteIn(Schema):
    """Order an accepted quote, or a sendable one that has not expired (it is accepted
    too); the lines and totals are copied."""

    model_config = ConfigDict(extra="forbid")

    quote_id: Id
    ordered_on: Day | None = Field(None, description="Default: today.")
    delivery_due: Day | None = None
    shipping_address: Str1000 = ""


class OrderPatch(_OrderFields):
    """Delivery details, notes and serial numbers; amounts are fixed once ordered."""

    serials: dict[Id, list[Serial]] | None = Field(
        None,
        max_length=500,
        description="Order line id → its serial numbers (replacing them).",
    )


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: OrderStatus = Field(
        description=(
            "confirmed → shipped → delivered → completed; cancelled before delivery. "
            "Delivery starts the warranties."
        )
    )
    on: Day | None = Field(None, description="Delivery date; default today.")
    reason: Reason300 = Field("", description="Required to cancel.")


class InvoiceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: PositiveAmount = Field(description="At most what is not yet invoiced.")
    due_on: Day
    issued_on: Day | None = Field(None, description="Default: today.")
    note: Reason300 = ""


# --- receivables --------------------------------------------------------------------------


class OrderRef(Out):
    id: int
    number: str


class InvoiceListItem(Out):
    id: int
    number: str
    order: OrderRef
    customer: Ref
    owner: UserRef | None
    team_id: int | None
    currency: str
    amount: Money = Field(description="Amount due.")
    paid_amount: Money
    outstanding: Money = Field(description="Still to pay; 0 when cancelled.")
    issued_on: date
    due_on: date
    status: InvoiceStatus
    overdue: bool
    note: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_of(i: Invoice, today: date | None = None) -> dict[str, Any]:
        today = today or timezone.localdate()
        return {
            "id": i.pk,
            "number": i.number,
            "order": OrderRef(id=i.order.pk, number=i.order.number),
            "customer": Ref(id=i.customer.pk, name=i.customer.name),
            "owner": UserRef.of(i.owner),
            "team_id": i.team_id,
            "currency": i.currency,
            "amount": money(i.amount),
            "paid_amount": money(i.paid_amount),
            "outstanding": money(i.outstanding),
            "issued_on": i.issued_on,
            "due_on": i.due_on,
            "status": cast(InvoiceStatus, i.status),
            "overdue": i.status in (Invoice.Status.OPEN, Invoice.Status.PARTIAL)
            and i.due_on < today,
            "note": i.note,
            "created_at": i.created_at,
            "updated_at": i.updated_at,
        }

    @staticmethod
    def of(i: Invoice) -> "InvoiceListItem":
        return InvoiceListItem(**InvoiceListItem.fields_of(i))


class InvoicePage(CursorPage):
    items: list[InvoiceListItem]


class PaymentOut(Out):
    id: int
    amount: Money
    paid_on: date
    method: PaymentMethod
    reference: str
    recorded_by: UserRef | None
    created_at: datetime

    @staticmethod
    def of(p: Payment) -> "PaymentOut":
        return PaymentOut(
            id=p.pk,
            amount=money(p.amount),
            paid_on=p.paid_on,
            method=cast(PaymentMethod, p.method),
            reference=p.reference,
            recorded_by=UserRef.of(p.recorded_by),
            created_at=p.created_at,
        )


class InvoiceOut(InvoiceListItem):
    payments: list[PaymentOut] = Field(description="Latest first.")


class OrderOut(OrderListItem):
    contact_id: int | None
    shipping_address: str
    notes: str
    cancel_reason: str
    uninvoiced: Money = Field(description="Order total not yet on a (live) receivable.")
    lines: list[OrderLineOut]
    invoices: list[InvoiceListItem]


class InvoiceListQuery(CursorQuery):
    show: InvoiceShow = Field(
        "open", description="open (and partly paid), overdue, paid, or all (with cancelled)."
    )
    q: Str200 = Field("", description="Search: invoice number or customer name.")
    customer_id: Id | None = None


class PaymentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: PositiveAmount = Field(description="At most what is still due.")
    paid_on: Day | None = Field(None, description="Default: today; not in the future.")
    method: PaymentMethod = "bank"
    reference: Str100 = Field("", description="Bank reference, cheque number…")


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(min_length=1, max_length=300), _Ok]


class WarrantyQuery(Schema):
    customer_id: Id | None = None
    product_id: Id | None = None
    serial: Annotated[str, StringConstraints(max_length=100), _Ok] = Field(
        "", description="Exact serial number."
    )
