"""Products and price lists; quotes (with versions and discount approval), orders with
warranty records, and receivables (invoices) with their payments."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import TimeStampedModel
from guanxi.customers.models import Customer

DEFAULT_CURRENCY = "CNY"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def money_field(verbose_name: str | object, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,  # type: ignore[arg-type]
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        **kwargs,  # type: ignore[arg-type]
    )


def percent_field(
    verbose_name: str | object, default: Decimal = ZERO, **kwargs: object
) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,  # type: ignore[arg-type]
        max_digits=5,
        decimal_places=2,
        default=default,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        **kwargs,  # type: ignore[arg-type]
    )


class Policy(models.Model):
    """Company-wide rules for quotes and receivables (one row, edited in Settings)."""

    approval_threshold_percent = percent_field(
        _("discount needing approval (%)"),
        default=Decimal("10"),
        help_text=_("A quote with any line discounted above this needs a manager's approval."),
    )
    max_discount_percent = percent_field(
        _("highest discount allowed (%)"),
        default=Decimal("40"),
        help_text=_("No quote line may be discounted more than this, even with approval."),
    )
    quote_validity_days = models.PositiveSmallIntegerField(_("quotes valid for (days)"), default=30)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment due after (days)"), default=30)
    reminder_days = models.CharField(
        _("collection reminders (days from due date)"),
        max_length=100,
        default="-3,1,7,15,30",
        help_text=_(
            "Comma-separated days relative to the due date: -3 is three days before it, "
            "7 is a week overdue."
        ),
    )
    remind_customers = models.BooleanField(
        _("also remind customers by e-mail"),
        default=False,
        help_text=_("Overdue reminders go to the customer's billing e-mail as well as the owner."),
    )
    seller_name = models.CharField(_("our company name"), max_length=200, blank=True)
    seller_details = models.TextField(
        _("our address and bank details"), blank=True, help_text=_("Printed on quotes.")
    )

    class Meta:
        verbose_name = _("quote and payment policy")
        verbose_name_plural = _("quote and payment policy")

    def __str__(self) -> str:
        return str(_("Quote and payment policy"))

    def reminder_offsets(self) -> list[int]:
        """The reminder days as integers, sorted; malformed parts are ignored (the form
        rejects them)."""
        offsets = set()
        for part in self.reminder_days.split(","):
            try:
                offsets.add(int(part.strip()))
            except ValueError:
                continue
        return sorted(offsets)


class Product(TimeStampedModel):
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_pinyin = models.CharField(max_length=600, blank=True, editable=False)
    name_initials = models.CharField(max_length=200, blank=True, editable=False)
    unit = models.CharField(_("unit"), max_length=20, default="件")
    description = models.TextField(_("description"), blank=True)
    price = money_field(_("list price"), validators=[MinValueValidator(0)])
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    tax_rate = percent_field(_("tax rate (%)"))
    warranty_months = models.PositiveSmallIntegerField(
        _("warranty (months)"), default=0, help_text=_("0 when the product has no warranty.")
    )
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["is_active", "name"], name="product_active_name_idx")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class PriceList(TimeStampedModel):
    """Prices for one customer group (value tier, or everyone) in one currency."""

    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    customer_tier = models.CharField(
        _("customer group"),
        max_length=10,
        choices=Customer.Tier.choices,
        blank=True,
        help_text=_("Leave empty for a list that applies to every customer."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["currency", "customer_tier", "name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    price = money_field(_("price"), validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="pricelist_product_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.price}"


class NumberSequence(models.Model):
    """The last number handed out per document kind and year (Q-2026-00001)."""

    key = models.CharField(max_length=20, primary_key=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class Totals(models.Model):
    """Money columns shared by quotes and orders, kept in step with their lines."""

    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    subtotal = money_field(_("subtotal"))
    discount_total = money_field(_("discount"))
    tax_total = money_field(_("tax"))
    total = money_field(_("total"))

    class Meta:
        abstract = True


class Owned(models.Model):
    """A customer's document with an owner and a team: what the access scopes work on."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="%(class)ss",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="%(class)ss",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class Line(models.Model):
    """A priced line: quantity × unit price, less a discount, plus tax."""

    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = money_field(_("unit price"), validators=[MinValueValidator(0)])
    discount_percent = percent_field(_("discount (%)"))
    tax_rate = percent_field(_("tax rate (%)"))
    net_amount = money_field(_("net amount"))
    tax_amount = money_field(_("tax"))

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount


class Quote(TimeStampedModel, Owned, Totals):
    """One version of a quote (报价单). A new version copies the previous one, which is
    then superseded; the versions share a number."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("quote", "Draft")
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Approval rejected")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        SUPERSEDED = "superseded", _("Superseded")

    class Language(models.TextChoices):
        ZH = "zh-hans", "中文"
        EN = "en", "English"

    number = models.CharField(_("number"), max_length=20, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    title = models.CharField(_("title"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quotes",
    )
    price_list = models.ForeignKey(
        PriceList,
        verbose_name=_("price list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    valid_until = models.DateField(_("valid until"))
    language = models.CharField(
        _("document language"), max_length=7, choices=Language.choices, default=Language.ZH
    )
    terms = models.TextField(_("terms and notes"), blank=True)
    max_discount_percent = percent_field(_("highest line discount (%)"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approval_note = models.CharField(_("approval note"), max_length=300, blank=True)
    decided_at = models.DateTimeField(_("approval decided at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("customer answered at"), null=True, blank=True)
    decline_reason = models.CharField(_("reason declined"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        permissions = [
            ("approve_quote", _("Can approve quote discounts")),
            ("export_quote", _("Can export quotes")),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="quote_owner_idx"),
            models.Index(fields=["customer", "-created_at"], name="quote_customer_idx"),
            models.Index(fields=["status", "-created_at"], name="quote_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number", "version"], name="quote_number_version_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.REJECTED)


class QuoteLine(Line):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")

    class Meta(Line.Meta):
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")


class Order(TimeStampedModel, Owned, Totals):
    """A sales order (订单), from an accepted quote or entered directly."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CONFIRMED
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    quote = models.OneToOneField(
        Quote,
        verbose_name=_("quote"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    ordered_on = models.DateField(_("order date"))
    delivery_due = models.DateField(_("delivery due"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    cancel_reason = models.CharField(_("reason cancelled"), max_length=300, blank=True)

    class Meta:
        ordering = ["-ordered_on", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        permissions = [("export_order", _("Can export orders"))]
        indexes = [
            models.Index(fields=["owner", "-ordered_on"], name="order_owner_idx"),
            models.Index(fields=["customer", "-ordered_on"], name="order_customer_idx"),
            models.Index(fields=["status", "-ordered_on"], name="order_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(Line):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    serial_numbers = models.TextField(
        _("serial numbers"), blank=True, help_text=_("One per line or separated by commas.")
    )

    class Meta(Line.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def serials(self) -> list[str]:
        parts = self.serial_numbers.replace(",", "\n").replace("，", "\n").splitlines()
        return [p.strip() for p in parts if p.strip()]


class Warranty(models.Model):
    """The warranty of a delivered product (one per serial number, or per order line when
    the product has no serial numbers). The service desk checks these."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="warranties",
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="warranties")
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="warranties"
    )
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    starts_on = models.DateField(_("warranty starts"))
    ends_on = models.DateField(_("warranty ends"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ends_on", "id"]
        verbose_name = _("warranty")
        verbose_name_plural = _("warranties")
        indexes = [
            models.Index(fields=["customer", "product"], name="warranty_customer_idx"),
            models.Index(fields=["serial_number"], name="warranty_serial_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.serial_number}".strip()


class Invoice(TimeStampedModel, Owned):
    """An amount the customer owes (应收款) for an order, due on a date. Payments reduce
    what is outstanding."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("invoice", "Open")
        PARTIAL = "partial", _("Partly paid")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", pgettext_lazy("invoice", "Cancelled")

    number = models.CharField(_("number"), max_length=20, unique=True)
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoices"
    )
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    amount = money_field(_("amount due"), validators=[MinValueValidator(CENT)])
    paid_amount = money_field(_("paid"))
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            # The overdue list and the reminder run: open invoices by due date.
            models.Index(
                fields=["due_on"],
                name="invoice_open_due_idx",
                condition=Q(status__in=["open", "partial"]),
            ),
            models.Index(fields=["owner", "due_on"], name="invoice_owner_idx"),
            models.Index(fields=["customer", "due_on"], name="invoice_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(paid_amount__lte=models.F("amount")), name="invoice_not_overpaid"
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def outstanding(self) -> Decimal:
        if self.status == self.Status.CANCELLED:
            return ZERO
        return self.amount - self.paid_amount


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK = "bank", _("Bank transfer")
        CASH = "cash", _("Cash")
        ALIPAY = "alipay", _("Alipay")
        WECHAT = "wechat", _("WeChat Pay")
        CHEQUE = "cheque", _("Cheque")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = money_field(_("amount"), validators=[MinValueValidator(CENT)])
    paid_on = models.DateField(_("paid on"))
    method = models.CharField(
        _("method"), max_length=10, choices=Method.choices, default=Method.BANK
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [models.Index(fields=["paid_on"], name="payment_paid_on_idx")]

    def __str__(self) -> str:
        return f"{self.invoice} {self.amount}"


class CollectionReminder(models.Model):
    """One reminder step sent for one invoice; the unique pair makes the run idempotent."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    offset_days = models.SmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)
    to_customer = models.BooleanField(default=False)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "offset_days"], name="reminder_step_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.offset_days:+d}"

    @property
    def days(self) -> int:
        return abs(self.offset_days)
