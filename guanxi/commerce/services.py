"""Writes on products, price lists, quotes, orders, invoices and payments.

Money is ``Decimal`` rounded half-up to the cent, line by line: net = quantity × unit
price less the line's discount; tax = net × tax rate. A quote whose highest line discount
is above the policy's threshold must be approved by a manager before it is sent; no line
may be discounted above the policy's maximum. Orders come from accepted (or still valid)
quotes or are entered directly; delivering an order starts the warranty of each product
line with a warranty. Every order gets a receivable for its total, due after the payment
terms; payments reduce it and never exceed it. Every change lands on the customer's
timeline.
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.activities.models import AuditEntry, Notification
from guanxi.activities.services import audit_record, notification_send
from guanxi.commerce.models import (
    CENT,
    ZERO,
    CollectionReminder,
    Invoice,
    NumberSequence,
    Order,
    OrderLine,
    Payment,
    Policy,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    Warranty,
)
from guanxi.core.events import event_record
from guanxi.core.pinyin import pinyin_keys
from guanxi.customers.models import Contact, Customer
from guanxi.users.models import User

HUNDRED = Decimal(100)
QUOTE_FIELDS = ["title", "contact", "price_list", "valid_until", "language", "terms", "currency"]
ORDER_FIELDS = ["contact", "delivery_due", "shipping_address", "notes"]
LINE_FIELDS = ["product", "description", "quantity", "unit", "unit_price", "discount_percent"]
# Order status flow: from → the statuses it may move to.
ORDER_FLOW: dict[str, set[str]] = {
    Order.Status.CONFIRMED: {Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.CANCELLED},
    Order.Status.SHIPPED: {Order.Status.DELIVERED, Order.Status.CANCELLED},
    Order.Status.DELIVERED: {Order.Status.COMPLETED},
    Order.Status.COMPLETED: set(),
    Order.Status.CANCELLED: set(),
}


def policy_get() -> Policy:
    """The one policy row (created with the defaults when missing)."""
    policy = Policy.objects.order_by("pk").first()
    return policy if policy is not None else Policy.objects.create()


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros and never in exponent form (40, 12.5)."""
    return f"{value.normalize():f}"


def _today() -> date:
    return timezone.localdate()


EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


def _check_date(value: date | None, field: str) -> None:
    """Dates a business document can carry (a typo like 9999 would overflow later)."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValidationError({field: _("Enter a date between 2000 and 2999.")})


def number_next(prefix: str, *, on: date | None = None) -> str:
    """The next document number of a kind (``Q-2026-00001``): gap-free per year and safe
    under concurrency (the counter row is locked until the transaction ends)."""
    year = (on or _today()).year
    key = f"{prefix}-{year}"
    with transaction.atomic():
        NumberSequence.objects.get_or_create(key=key)
        seq = NumberSequence.objects.select_for_update().get(key=key)
        seq.value += 1
        seq.save(update_fields=["value"])
    return f"{key}-{seq.value:05d}"


# --- products and prices ---------------------------------------------------------------------

PRODUCT_FIELDS = [
    "sku",
    "name",
    "unit",
    "description",
    "price",
    "currency",
    "tax_rate",
    "warranty_months",
    "is_active",
]


def product_save(*, actor: User, data: dict[str, Any], product: Product | None = None) -> Product:
    """Create or change a catalogue product (SKU unique, case-insensitively); logged with
    what changed."""
    product = product or Product()
    created = product.pk is None
    before = {f: str(getattr(product, f)) for f in PRODUCT_FIELDS}
    for key, value in data.items():
        if key in PRODUCT_FIELDS:
            setattr(product, key, value.strip() if isinstance(value, str) else value)
    product.currency = (product.currency or "CNY").upper()
    clash = Product.objects.filter(sku__iexact=product.sku).exclude(pk=product.pk)
    if product.sku and clash.exists():
        raise ValidationError({"sku": _("Another product already has this SKU.")})
    product.name_pinyin, product.name_initials = pinyin_keys(product.name)
    product.full_clean()
    with transaction.atomic():
        product.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
            subject=product,
            changes={
                f: [None if created else before[f], str(getattr(product, f))]
                for f in PRODUCT_FIELDS
                if created or before[f] != str(getattr(product, f))
            },
        )
    return product


PRICE_LIST_FIELDS = ["name", "currency", "customer_tier", "valid_from", "valid_until", "is_active"]


def price_list_save(
    *, actor: User, data: dict[str, Any], price_list: PriceList | None = None
) -> PriceList:
    """Create or change a price list's header (logged)."""
    price_list = price_list or PriceList()
    created = price_list.pk is None
    before = {f: str(getattr(price_list, f)) for f in PRICE_LIST_FIELDS}
    for key, value in data.items():
        if key in PRICE_LIST_FIELDS:
            setattr(price_list, key, value.strip() if isinstance(value, str) else value)
    price_list.currency = (price_list.currency or "CNY").upper()
    _check_date(price_list.valid_from, "valid_from")
    _check_date(price_list.valid_until, "valid_until")
    if (
        price_list.valid_from
        and price_list.valid_until
        and price_list.valid_until < price_list.valid_from
    ):
        raise ValidationError({"valid_until": _("The end is before the start.")})
    price_list.full_clean()
    with transaction.atomic():
        price_list.save()
        changes = {
            f: [None if created else before[f], str(getattr(price_list, f))]
            for f in PRICE_LIST_FIELDS
            if created or before[f] != str(getattr(price_list, f))
        }
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
            subject=price_list,
            changes=changes,
        )
    return price_list


def price_list_item_set(
    *, actor: User, price_list: PriceList, product: Product, price: Any
) -> None:
    """Set (or, with ``price`` None, remove) the product's price on a price list (logged)."""
    old = PriceListItem.objects.filter(price_list=price_list, product=product).first()
    if price is None or price == "":
        if old is not None:
            old.delete()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                subject=price_list,
                changes={str(product): [str(old.price), None]},
            )
        return
    item = PriceListItem(price_list=price_list, product=product, price=_decimal(price, "price"))
    item.full_clean(validate_constraints=False, validate_unique=False)
    PriceListItem.objects.update_or_create(
        price_list=price_list, product=product, defaults={"price": item.price}
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        subject=price_list,
        changes={str(product): [str(old.price) if old else None, str(item.price)]},
    )


def price_list_for(
    *, customer: Customer, currency: str, on: date | None = None
) -> PriceList | None:
    """The price list that applies to the customer in ``currency``: one for the customer's
    value tier first, then one for everyone; only active lists valid on ``on``."""
    on = on or _today()
    lists = (
        PriceList.objects.filter(is_active=True, currency=currency)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on))
        .filter(Q(customer_tier=customer.tier) | Q(customer_tier=""))
    )
    best = None
    for price_list in lists:
        if best is None or (price_list.customer_tier and not best.customer_tier):
            best = price_list
    return best


def price_for(*, product: Product, price_list: PriceList | None, currency: str) -> Decimal | None:
    """The product's price on the price list, else its list price when the currency
    matches; None when it has no price in ``currency``."""
    if price_list is not None:
        item = PriceListItem.objects.filter(price_list=price_list, product=product).first()
        if item is not None:
            return item.price
    if product.currency == currency:
        return product.price
    return None


# --- lines and totals ------------------------------------------------------------------------


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({name: _("Enter a number.")}) from None
    if not result.is_finite():
        raise ValidationError({name: _("Enter a number.")})
    return result


def _fail(errors: dict[str, list[str]], index: int, name: str, message: str) -> None:
    errors.setdefault(f"lines.{index}.{name}", []).append(message)


@dataclass
class LineInput:
    """One line as entered: a product (whose name, unit, price and tax fill the blanks) or a
    free-text description with a price."""

    quantity: Any
    product: Product | None = None
    description: str = ""
    unit: str = ""
    unit_price: Any = None
    discount_percent: Any = ZERO
    tax_rate: Any = None
    serial_numbers: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _build_lines[L: (QuoteLine, OrderLine)](
    cls: type[L],
    lines: Sequence[LineInput],
    *,
    currency: str,
    price_list: PriceList | None,
    max_discount: Decimal,
) -> list[L]:
    """Validate and price every line; all errors at once, keyed ``lines.<n>.<field>``."""
    errors: dict[str, list[str]] = {}
    built: list[L] = []
    if not lines:
        raise ValidationError({"lines": _("Add at least one line.")})
    for index, raw in enumerate(lines):
        line = cls(position=index)
        product = raw.product
        if product is not None and not product.is_active:
            _fail(errors, index, "product", _("This product is no longer on sale."))
        line.product = product
        line.description = (raw.description or (product.name if product else "")).strip()[:300]
        line.unit = (raw.unit or (product.unit if product else "")).strip()[:20]
        if not line.description:
            _fail(errors, index, "description", _("Describe the line or pick a product."))
        try:
            line.quantity = _decimal(raw.quantity, "quantity")
            if line.quantity <= 0:
                _fail(errors, index, "quantity", _("The quantity must be more than zero."))
        except ValidationError:
            _fail(errors, index, "quantity", _("Enter a number."))
            line.quantity = Decimal(0)
        if raw.unit_price in (None, ""):
            price = (
                price_for(product=product, price_list=price_list, currency=currency)
                if product is not None
                else None
            )
            if price is None:
                _fail(
                    errors,
                    index,
                    "unit_price",
                    _("Enter a price: the product has none in %s.") % currency,
                )
                price = ZERO
            line.unit_price = price
        else:
            try:
                line.unit_price = money(_decimal(raw.unit_price, "unit_price"))
                if line.unit_price < 0:
                    _fail(errors, index, "unit_price", _("The price cannot be negative."))
            except ValidationError:
                _fail(errors, index, "unit_price", _("Enter a number."))
                line.unit_price = ZERO
        try:
            line.discount_percent = _decimal(raw.discount_percent or 0, "discount_percent")
            if line.discount_percent < 0:
                _fail(errors, index, "discount_percent", _("The discount cannot be negative."))
            elif line.discount_percent > max_discount:
                _fail(
                    errors,
                    index,
                    "discount_percent",
                    _("The discount is above the highest allowed (%(max)s%%).")
                    % {"max": plain(max_discount)},
                )
        except ValidationError:
            _fail(errors, index, "discount_percent", _("Enter a number."))
            line.discount_percent = ZERO
        if raw.tax_rate in (None, ""):
            line.tax_rate = product.tax_rate if product is not None else ZERO
        else:
            try:
                line.tax_rate = _decimal(raw.tax_rate, "tax_rate")
                if not ZERO <= line.tax_rate <= HUNDRED:
                    _fail(errors, index, "tax_rate", _("The tax rate must be between 0 and 100."))
            except ValidationError:
                _fail(errors, index, "tax_rate", _("Enter a number."))
                line.tax_rate = ZERO
        if isinstance(line, OrderLine):
            line.serial_numbers = raw.serial_numbers.strip()
            problem = serials_problem(line)
            if problem:
                _fail(errors, index, "serial_numbers", problem)
        gross = line.quantity * line.unit_price
        line.net_amount = money(gross * (HUNDRED - line.discount_percent) / HUNDRED)
        line.tax_amount = money(line.net_amount * line.tax_rate / HUNDRED)
        built.append(line)
    if errors:
        raise ValidationError(errors)
    return built


def serials_problem(line: OrderLine) -> str:
    """Why the line's serial numbers are not acceptable, or ""."""
    serials = line.serials()
    if len(serials) > line.quantity:
        return _("More serial numbers than the quantity.")
    if len(set(serials)) != len(serials):
        return _("A serial number is listed twice.")
    if any(len(serial) > 100 for serial in serials):
        return _("A serial number is longer than 100 characters.")
    return ""


def _totals(document: Quote | Order, lines: Iterable[QuoteLine | OrderLine]) -> None:
    gross = ZERO
    net = ZERO
    tax = ZERO
    for line in lines:
        gross += money(line.quantity * line.unit_price)
        net += line.net_amount
        tax += line.tax_amount
    document.subtotal = net
    document.discount_total = max(gross - net, ZERO)
    document.tax_total = tax
    document.total = net + tax


def _log(actor: User | None, action: str, subject: Quote | Order | Invoice, **kwargs: Any) -> None:
    audit_record(
        actor=actor, action=action, subject=subject, customer_id=subject.customer_id, **kwargs
    )


def _check_customer_parts(customer: Customer, contact: Contact | None) -> None:
    if customer.deleted_at is not None:
        raise ValidationError({"customer": _("The customer is in the trash.")})
    if contact is not None and not contact.links.filter(customer=customer).exists():
        raise ValidationError({"contact": _("This person is not a contact of the customer.")})


# --- quotes ----------------------------------------------------------------------------------


def _quote_payload(quote: Quote) -> dict[str, Any]:
    return {
        "id": quote.pk,
        "number": quote.number,
        "version": quote.version,
        "status": quote.status,
        "customer_id": quote.customer_id,
        "opportunity_id": quote.opportunity_id,
        "total": str(quote.total),
        "currency": quote.currency,
        "owner_id": quote.owner_id,
    }


def _quote_apply(quote: Quote, data: dict[str, Any], lines: Sequence[LineInput]) -> list[QuoteLine]:
    policy = policy_get()
    for key, value in data.items():
        if key in QUOTE_FIELDS:
            setattr(quote, key, value)
    quote.currency = (quote.currency or "CNY").upper()
    if quote.price_list is not None and quote.price_list.currency != quote.currency:
        raise ValidationError({"price_list": _("The price list is in another currency.")})
    if quote.price_list is None and quote.customer_id:
        quote.price_list = price_list_for(customer=quote.customer, currency=quote.currency)
    _check_customer_parts(quote.customer, quote.contact)
    if quote.valid_until is None:
        quote.valid_until = _today() + timedelta(days=policy.quote_validity_days)
    elif quote.valid_until < _today():
        raise ValidationError({"valid_until": _("The validity date is in the past.")})
    _check_date(quote.valid_until, "valid_until")
    built = _build_lines(
        QuoteLine,
        lines,
        currency=quote.currency,
        price_list=quote.price_list,
        max_discount=policy.max_discount_percent,
    )
    _totals(quote, built)
    quote.max_discount_percent = max((line.discount_percent for line in built), default=ZERO)
    quote.full_clean(exclude=["number", "owner", "customer"])
    return built


def _save_lines(parent_field: str, parent: Quote | Order, lines: list[Any]) -> None:
    model = type(lines[0]) if lines else None
    if model is None:
        return
    model._default_manager.filter(**{parent_field: parent}).delete()
    for line in lines:
        setattr(line, parent_field, parent)
    model._default_manager.bulk_create(lines)


def quote_create(
    *,
    actor: User,
    customer: Customer,
    lines: Sequence[LineInput],
    data: dict[str, Any] | None = None,
    opportunity: Any = None,
) -> Quote:
    """A new draft quote (version 1) for a customer, from an opportunity when given (its
    customer and currency are taken)."""
    data = dict(data or {})
    if opportunity is not None:
        if opportunity.customer_id != customer.pk:
            raise ValidationError({"opportunity": _("The opportunity is for another customer.")})
        data.setdefault("currency", opportunity.currency)
        data.setdefault("contact", opportunity.contact)
        data.setdefault("title", opportunity.name)
    quote = Quote(
        customer=customer,
        opportunity=opportunity,
        owner=opportunity.owner if opportunity is not None and opportunity.owner else actor,
        number="-",
    )
    quote.team_id = (
        opportunity.team_id if opportunity is not None and opportunity.team_id else None
    ) or quote.owner.team_id
    built = _quote_apply(quote, data, lines)
    with transaction.atomic():
        quote.number = number_next("Q")
        quote.save()
        _save_lines("quote", quote, built)
        _log(actor, AuditEntry.Action.CREATE, quote, changes={"total": [None, str(quote.total)]})
        event_record("quote.created", subject=quote, payload=_quote_payload(quote), actor=actor)
    return quote


def quote_update(
    *, actor: User, quote: Quote, lines: Sequence[LineInput], data: dict[str, Any] | None = None
) -> Quote:
    """Change a draft (or rejected) quote; a rejected one goes back to draft."""
    if not quote.is_editable:
        raise ValidationError(
            _("Only a draft quote can be changed; make a new version of this one instead.")
        )
    before = str(quote.total)
    built = _quote_apply(quote, dict(data or {}), lines)
    with transaction.atomic():
        quote.status = Quote.Status.DRAFT
        quote.approved_by = None
        quote.decided_at = None
        quote.save()
        _save_lines("quote", quote, built)
        _log(actor, AuditEntry.Action.UPDATE, quote, changes={"total": [before, str(quote.total)]})
    return quote


def quote_needs_approval(quote: Quote) -> bool:
    """Is any line discounted above the policy's threshold?"""
    return quote.max_discount_percent > policy_get().approval_threshold_percent


def quote_approvers(quote: Quote) -> list[User]:
    """Who may approve the quote: active users, not its owner, with the permission to
    approve and a write scope that covers the quote."""
    from guanxi.commerce.access import quote_can

    candidates = (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__codename="approve_quote")
            | Q(user_permissions__codename="approve_quote")
        )
        .exclude(pk=quote.owner_id)
        .distinct()
    )
    return [user for user in candidates if quote_can(user, quote, "approve")]


def quote_submit(*, actor: User, quote: Quote) -> Quote:
    """Ask for approval of a draft quote whose discount needs it; approvers are notified."""
    if quote.status not in (Quote.Status.DRAFT, Quote.Status.REJECTED):
        raise ValidationError(_("Only a draft quote can be submitted for approval."))
    if not quote_needs_approval(quote):
        raise ValidationError(_("This quote needs no approval; send it."))
    with transaction.atomic():
        quote.status = Quote.Status.PENDING
        quote.save(update_fields=["status", "updated_at"])
        _log(actor, AuditEntry.Action.SUBMIT, quote)
        url = reverse("commerce:quote-detail", args=[quote.pk])
        for approver in quote_approvers(quote):
            notification_send(
                user=approver,
                kind=Notification.Kind.APPROVAL,
                actor=actor,
                url=url,
                message=_("%(user)s asks you to approve quote %(quote)s (discount %(d)s%%).")
                % {"user": actor, "quote": quote, "d": plain(quote.max_discount_percent)},
            )
    return quote


def _quote_decide(actor: User, quote: Quote, approve: bool, note: str) -> Quote:
    if quote.status != Quote.Status.PENDING:
        raise ValidationError(_("This quote is not awaiting approval."))
    if not approve and not note.strip():
        raise ValidationError({"note": _("Say why the discount is rejected.")})
    with transaction.atomic():
        quote.status = Quote.Status.APPROVED if approve else Quote.Status.REJECTED
        quote.approved_by = actor
        quote.approval_note = note.strip()[:300]
        quote.decided_at = timezone.now()
        quote.save()
        _log(
            actor,
            AuditEntry.Action.APPROVE if approve else AuditEntry.Action.REJECT,
            quote,
            message=quote.approval_note,
        )
        notification_send(
            user=quote.owner,
            kind=Notification.Kind.APPROVAL,
            actor=actor,
            url=reverse("commerce:quote-detail", args=[quote.pk]),
            message=(
                _("%(user)s approved quote %(quote)s.")
                if approve
                else _("%(user)s rejected quote %(quote)s: %(note)s")
            )
            % {"user": actor, "quote": quote, "note": quote.approval_note},
        )
    return quote


def quote_approve(*, actor: User, quote: Quote, note: str = "") -> Quote:
    """Approve the discount of a quote awaiting approval (the owner is told)."""
    return _quote_decide(actor, quote, True, note)


def quote_reject(*, actor: User, quote: Quote, note: str) -> Quote:
    """Reject the discount of a quote awaiting approval; a reason is required."""
    return _quote_decide(actor, quote, False, note)


def quote_is_expired(quote: Quote, today: date | None = None) -> bool:
    return quote.valid_until < (today or _today())


def _check_sendable(quote: Quote) -> None:
    if quote.status in (Quote.Status.DRAFT, Quote.Status.REJECTED) and quote_needs_approval(quote):
        raise ValidationError(
            _("The discount is above %(t)s%%: submit the quote for approval first.")
            % {"t": plain(policy_get().approval_threshold_percent)}
        )
    if quote.status not in (
        Quote.Status.DRAFT,
        Quote.Status.APPROVED,
        Quote.Status.SENT,
    ):
        raise ValidationError(_("A quote that is %s cannot be sent.") % quote.get_status_display())
    if quote_is_expired(quote):
        raise ValidationError({"valid_until": _("The quote has expired; make a new version.")})


def quote_send(
    *,
    actor: User,
    quote: Quote,
    to: Sequence[str] = (),
    message: str = "",
    pdf: bytes | None = None,
) -> Quote:
    """Send the quote (its PDF attached) by e-mail to ``to``, or, with no address, mark it
    as sent by other means (handed over, WeChat). The e-mail leaves after commit."""
    _check_sendable(quote)
    recipients = [address.strip() for address in to if address.strip()]
    if recipients and pdf is None:
        from guanxi.commerce.pdf import quote_pdf

        pdf = quote_pdf(quote)
    with transaction.atomic():
        quote.status = Quote.Status.SENT
        quote.sent_at = timezone.now()
        quote.save(update_fields=["status", "sent_at", "updated_at"])
        _log(
            actor,
            AuditEntry.Action.SEND,
            quote,
            message=", ".join(recipients) if recipients else _("marked as sent"),
        )
        if recipients:
            with translation.override(quote.language):
                subject = _("Quotation %(number)s from %(seller)s") % {
                    "number": quote.number,
                    "seller": policy_get().seller_name or "Guanxi",
                }
            email = EmailMessage(
                subject=subject,
                body=message or subject,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=recipients,
                reply_to=[actor.email] if actor.email else None,
            )
            assert pdf is not None
            email.attach(f"{quote.number}-v{quote.version}.pdf", pdf, "application/pdf")
            transaction.on_commit(email.send)
    return quote


def quote_accept(*, actor: User, quote: Quote) -> Quote:
    """The customer accepted: possible for a sent (or approved, or needing no approval)
    quote that has not expired."""
    _check_sendable(quote)
    with transaction.atomic():
        quote.status = Quote.Status.ACCEPTED
        quote.responded_at = timezone.now()
        quote.save(update_fields=["status", "responded_at", "updated_at"])
        _log(actor, AuditEntry.Action.ACCEPT, quote)
        event_record("quote.accepted", subject=quote, payload=_quote_payload(quote), actor=actor)
    return quote


def quote_decline(*, actor: User, quote: Quote, reason: str = "") -> Quote:
    """The customer declined the quote."""
    if quote.status not in (Quote.Status.SENT, Quote.Status.APPROVED, Quote.Status.DRAFT):
        raise ValidationError(
            _("A quote that is %s cannot be declined.") % quote.get_status_display()
        )
    with transaction.atomic():
        quote.status = Quote.Status.DECLINED
        quote.responded_at = timezone.now()
        quote.decline_reason = reason.strip()[:300]
        quote.save(update_fields=["status", "responded_at", "decline_reason", "updated_at"])
        _log(actor, AuditEntry.Action.DECLINE, quote, message=quote.decline_reason)
    return quote


def quote_revise(*, actor: User, quote: Quote) -> Quote:
    """A new draft version with the same lines; the one it replaces is superseded."""
    if quote.status in (Quote.Status.ACCEPTED, Quote.Status.SUPERSEDED):
        raise ValidationError(
            _("A quote that is %s cannot be revised.") % quote.get_status_display()
        )
    policy = policy_get()
    with transaction.atomic():
        latest = (
            Quote.objects.select_for_update().filter(number=quote.number).order_by("-version")
        ).first()
        assert latest is not None
        new = Quote.objects.get(pk=quote.pk)
        new.pk = None
        new.id = None
        new.version = latest.version + 1
        new.status = Quote.Status.DRAFT
        new.approved_by = None
        new.approval_note = ""
        new.decided_at = new.sent_at = new.responded_at = None
        new.decline_reason = ""
        new.valid_until = max(quote.valid_until, _today() + timedelta(policy.quote_validity_days))
        new.save()
        lines = list(quote.lines.all())
        for line in lines:
            line.pk = None
            line.id = None
        _save_lines("quote", new, lines)
        Quote.objects.filter(number=quote.number).exclude(pk=new.pk).exclude(
            status=Quote.Status.ACCEPTED
        ).update(status=Quote.Status.SUPERSEDED)
        _log(actor, AuditEntry.Action.CREATE, new, message=_("new version of %s") % quote)
    return new


# --- orders ----------------------------------------------------------------------------------


def _order_payload(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "customer_id": order.customer_id,
        "quote_id": order.quote_id,
        "opportunity_id": order.opportunity_id,
        "total": str(order.total),
        "currency": order.currency,
        "ordered_on": order.ordered_on.isoformat(),
        "owner_id": order.owner_id,
    }


def _order_save_new(actor: User, order: Order, lines: list[OrderLine]) -> Order:
    policy = policy_get()
    with transaction.atomic():
        order.number = number_next("SO", on=order.ordered_on)
        order.save()
        _save_lines("order", order, lines)
        _log(actor, AuditEntry.Action.CREATE, order, changes={"total": [None, str(order.total)]})
        event_record("order.created", subject=order, payload=_order_payload(order), actor=actor)
        if order.total > 0:
            invoice_create(
                actor=actor,
                order=order,
                amount=order.total,
                issued_on=order.ordered_on,
                due_on=order.ordered_on + timedelta(days=policy.payment_terms_days),
            )
    return order


def order_create(
    *,
    actor: User,
    customer: Customer,
    lines: Sequence[LineInput],
    data: dict[str, Any] | None = None,
    opportunity: Any = None,
) -> Order:
    """An order entered directly (no quote), confirmed, with a receivable for its total."""
    data = dict(data or {})
    currency = str(data.get("currency") or "CNY").upper()
    order = Order(
        customer=customer,
        opportunity=opportunity,
        owner=data.get("owner") or actor,
        currency=currency,
        ordered_on=data.get("ordered_on") or _today(),
    )
    order.team_id = order.owner.team_id
    for key, value in data.items():
        if key in ORDER_FIELDS:
            setattr(order, key, value)
    _check_customer_parts(customer, order.contact)
    _check_date(order.ordered_on, "ordered_on")
    _check_date(order.delivery_due, "delivery_due")
    if opportunity is not None and opportunity.customer_id != customer.pk:
        raise ValidationError({"opportunity": _("The opportunity is for another customer.")})
    if order.delivery_due is not None and order.delivery_due < order.ordered_on:
        raise ValidationError({"delivery_due": _("Delivery cannot be due before the order date.")})
    built = _build_lines(
        OrderLine,
        lines,
        currency=currency,
        price_list=price_list_for(customer=customer, currency=currency),
        max_discount=policy_get().max_discount_percent,
    )
    _totals(order, built)
    order.number = "-"
    order.full_clean(exclude=["number"])
    return _order_save_new(actor, order, built)


def order_from_quote(*, actor: User, quote: Quote, data: dict[str, Any] | None = None) -> Order:
    """Turn a quote into an order: an accepted quote, or a sendable one that has not expired
    (it is then accepted too). An expired quote that was never accepted cannot be ordered."""
    data = dict(data or {})
    if Order.objects.filter(quote=quote).exists():
        raise ValidationError({"quote": _("This quote has already been ordered.")})
    if quote.status != Quote.Status.ACCEPTED and quote_is_expired(quote):
        raise ValidationError(
            {
                "quote": _("The quote expired on %(date)s; make a new version first.")
                % {"date": date_format(quote.valid_until)}
            }
        )
    order = Order(
        customer=quote.customer,
        contact=quote.contact,
        quote=quote,
        opportunity=quote.opportunity,
        owner=quote.owner,
        team_id=quote.team_id,
        currency=quote.currency,
        ordered_on=data.get("ordered_on") or _today(),
        subtotal=quote.subtotal,
        discount_total=quote.discount_total,
        tax_total=quote.tax_total,
        total=quote.total,
    )
    for key, value in data.items():
        if key in ORDER_FIELDS:
            setattr(order, key, value)
    _check_date(order.ordered_on, "ordered_on")
    _check_date(order.delivery_due, "delivery_due")
    if order.delivery_due is not None and order.delivery_due < order.ordered_on:
        raise ValidationError({"delivery_due": _("Delivery cannot be due before the order date.")})
    lines = [
        OrderLine(**{f: getattr(line, f) for f in (*LINE_FIELDS, "position", "tax_rate")})
        for line in quote.lines.all()
    ]
    for new, old in zip(lines, quote.lines.all(), strict=True):
        new.net_amount, new.tax_amount = old.net_amount, old.tax_amount
    order.number = "-"
    order.full_clean(exclude=["number", "quote"])
    with transaction.atomic():
        if quote.status != Quote.Status.ACCEPTED:
            # Ordering a sent (or approved) quote is the customer's acceptance.
            quote_accept(actor=actor, quote=quote)
        return _order_save_new(actor, order, lines)


def order_update(
    *, actor: User, order: Order, data: dict[str, Any], serials: dict[int, str] | None = None
) -> Order:
    """Change an order's delivery details, notes and the serial numbers of its lines
    (amounts are fixed once ordered)."""
    if order.status == Order.Status.CANCELLED:
        raise ValidationError(_("A cancelled order cannot be changed."))
    before = {f: str(getattr(order, f)) for f in ORDER_FIELDS}
    for key, value in data.items():
        if key in ORDER_FIELDS:
            setattr(order, key, value)
    _check_customer_parts(order.customer, order.contact)
    if order.delivery_due is not None and order.delivery_due < order.ordered_on:
        raise ValidationError({"delivery_due": _("Delivery cannot be due before the order date.")})
    order.full_clean()
    _check_date(order.delivery_due, "delivery_due")
    lines = {line.pk: line for line in order.lines.select_related("product")}
    errors: dict[str, str] = {}
    changed_lines = []
    for line_id, text in (serials or {}).items():
        line = lines.get(line_id)
        if line is None:
            errors[f"serials.{line_id}"] = _("No such line on this order.")
            continue
        if line.serial_numbers == text.strip():
            continue
        line.serial_numbers = text.strip()
        problem = serials_problem(line)
        if problem:
            errors[f"serials.{line_id}"] = problem
        changed_lines.append(line)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        order.save()
        for line in changed_lines:
            line.save(update_fields=["serial_numbers"])
            if order.delivered_on is not None:
                # The warranties started on delivery follow the corrected serial numbers.
                line.warranties.all().delete()
                _line_warranties_create(order, line, order.delivered_on)
        changes: dict[str, list[Any]] = {
            f: [before[f], str(getattr(order, f))]
            for f in ORDER_FIELDS
            if before[f] != str(getattr(order, f))
        }
        if changed_lines:
            changes["serial_numbers"] = [
                None,
                "; ".join(f"{line.description}: {line.serial_numbers}" for line in changed_lines),
            ]
        if changes:
            _log(actor, AuditEntry.Action.UPDATE, order, changes=changes)
    return order


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _line_warranties_create(order: Order, line: OrderLine, starts_on: date) -> int:
    product = line.product
    if product is None or product.warranty_months <= 0:
        return 0
    ends_on = _add_months(starts_on, product.warranty_months)
    serials = line.serials() or [""]
    Warranty.objects.bulk_create(
        Warranty(
            customer_id=order.customer_id,
            order_line=line,
            product=product,
            serial_number=serial,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        for serial in serials
    )
    return len(serials)


def _warranties_create(order: Order, starts_on: date) -> int:
    return sum(
        _line_warranties_create(order, line, starts_on)
        for line in order.lines.select_related("product")
    )


def order_set_status(
    *,
    actor: User,
    order: Order,
    status: str,
    on: date | None = None,
    reason: str = "",
) -> Order:
    """Move an order along its flow (confirmed → shipped → delivered → completed, or
    cancelled before delivery). Delivery starts the warranties; cancelling needs a reason
    and cancels the unpaid receivables."""
    if status not in Order.Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    if status not in ORDER_FLOW[order.status]:
        raise ValidationError(
            {
                "status": _("An order that is %(from)s cannot become %(to)s.")
                % {
                    "from": order.get_status_display(),
                    "to": Order.Status(status).label,
                }
            }
        )
    if status == Order.Status.CANCELLED:
        if not reason.strip():
            raise ValidationError({"reason": _("Say why the order is cancelled.")})
        if Payment.objects.filter(invoice__order=order).exists():
            raise ValidationError(
                {"status": _("The order has payments; refund them before cancelling.")}
            )
    on = on or _today()
    if status == Order.Status.DELIVERED and on < order.ordered_on:
        raise ValidationError({"on": _("Delivery cannot be before the order date.")})
    if status == Order.Status.DELIVERED and on > _today() + timedelta(days=1):
        raise ValidationError({"on": _("Record a delivery once it has happened.")})
    old = order.get_status_display()
    with transaction.atomic():
        order.status = status
        if status == Order.Status.DELIVERED:
            order.delivered_on = on
        if status == Order.Status.CANCELLED:
            order.cancel_reason = reason.strip()[:300]
            order.invoices.exclude(status=Invoice.Status.PAID).update(
                status=Invoice.Status.CANCELLED
            )
        order.save()
        warranties = _warranties_create(order, on) if status == Order.Status.DELIVERED else 0
        _log(
            actor,
            AuditEntry.Action.STATUS,
            order,
            changes={"status": [str(old), order.get_status_display()]},
            message=order.cancel_reason
            if status == Order.Status.CANCELLED
            else (
                ngettext("%d warranty started", "%d warranties started", warranties) % warranties
                if warranties
                else ""
            ),
        )
        event_record(
            "order.status_changed", subject=order, payload=_order_payload(order), actor=actor
        )
    return order


# --- invoices and payments -------------------------------------------------------------------


def _invoice_payload(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "order_id": invoice.order_id,
        "customer_id": invoice.customer_id,
        "amount": str(invoice.amount),
        "paid_amount": str(invoice.paid_amount),
        "currency": invoice.currency,
        "due_on": invoice.due_on.isoformat(),
        "status": invoice.status,
    }


def invoice_create(
    *,
    actor: User,
    order: Order,
    amount: Any,
    due_on: date,
    issued_on: date | None = None,
    note: str = "",
) -> Invoice:
    """A receivable for (part of) an order; all receivables of an order together never
    exceed its total."""
    amount = money(_decimal(amount, "amount"))
    issued_on = issued_on or _today()
    if order.status == Order.Status.CANCELLED:
        raise ValidationError({"order": _("The order is cancelled.")})
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    _check_date(issued_on, "issued_on")
    _check_date(due_on, "due_on")
    if due_on < issued_on:
        raise ValidationError({"due_on": _("The due date cannot be before the issue date.")})
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).first()
        invoiced = order.invoices.exclude(status=Invoice.Status.CANCELLED).aggregate(
            s=Sum("amount")
        )["s"] or Decimal(0)
        if invoiced + amount > order.total:
            raise ValidationError(
                {
                    "amount": _("Only %(left)s %(cur)s of the order is not yet invoiced.")
                    % {"left": order.total - invoiced, "cur": order.currency}
                }
            )
        invoice = Invoice(
            number=number_next("INV", on=issued_on),
            order=order,
            customer_id=order.customer_id,
            owner_id=order.owner_id,
            team_id=order.team_id,
            currency=order.currency,
            amount=amount,
            issued_on=issued_on,
            due_on=due_on,
            note=note.strip()[:300],
        )
        invoice.full_clean()
        invoice.save()
        _log(
            actor,
            AuditEntry.Action.CREATE,
            invoice,
            changes={"amount": [None, str(amount)], "due_on": [None, due_on.isoformat()]},
        )
    return invoice


def invoice_cancel(*, actor: User, invoice: Invoice, reason: str) -> Invoice:
    """Cancel a receivable that has no payments."""
    if invoice.payments.exists():
        raise ValidationError(_("The invoice has payments and cannot be cancelled."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the invoice is cancelled.")})
    with transaction.atomic():
        invoice.status = Invoice.Status.CANCELLED
        invoice.save(update_fields=["status", "updated_at"])
        _log(actor, AuditEntry.Action.DELETE, invoice, message=reason.strip()[:300])
    return invoice


def payment_record(
    *,
    actor: User,
    invoice: Invoice,
    amount: Any,
    paid_on: date | None = None,
    method: str = Payment.Method.BANK,
    reference: str = "",
) -> Payment:
    """Record a (partial) payment of a receivable; never more than is outstanding."""
    amount = money(_decimal(amount, "amount"))
    paid_on = paid_on or _today()
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be more than zero.")})
    if paid_on > _today():
        raise ValidationError({"paid_on": _("A payment cannot be dated in the future.")})
    if method not in Payment.Method.values:
        raise ValidationError({"method": _("Unknown payment method.")})
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.status == Invoice.Status.CANCELLED:
            raise ValidationError({"invoice": _("The invoice is cancelled.")})
        outstanding = locked.amount - locked.paid_amount
        if amount > outstanding:
            raise ValidationError(
                {
                    "amount": _("The payment is more than the %(due)s %(cur)s still due.")
                    % {"due": outstanding, "cur": locked.currency}
                }
            )
        payment = Payment.objects.create(
            invoice=locked,
            amount=amount,
            paid_on=paid_on,
            method=method,
            reference=reference.strip()[:100],
            recorded_by=actor,
        )
        locked.paid_amount += amount
        locked.status = (
            Invoice.Status.PAID if locked.paid_amount == locked.amount else Invoice.Status.PARTIAL
        )
        locked.save(update_fields=["paid_amount", "status", "updated_at"])
        invoice.paid_amount, invoice.status = locked.paid_amount, locked.status
        _log(
            actor,
            AuditEntry.Action.PAYMENT,
            locked,
            changes={"paid": [str(locked.paid_amount - amount), str(locked.paid_amount)]},
            message=f"{amount} {locked.currency} · {payment.get_method_display()}",
        )
        event_record(
            "payment.received",
            subject=payment,
            payload={
                "id": payment.pk,
                "amount": str(amount),
                "paid_on": paid_on.isoformat(),
                "method": method,
                "invoice": _invoice_payload(locked),
            },
            actor=actor,
        )
    return payment


# --- collection reminders (帐款催收) ---------------------------------------------------------


def _reminder_step(invoice: Invoice, offsets: list[int], today: date) -> int | None:
    """The latest reminder step that has come for the invoice (None: none yet)."""
    reached = [o for o in offsets if invoice.due_on + timedelta(days=o) <= today]
    return reached[-1] if reached else None


def _customer_address(invoice: Invoice) -> str:
    contact = invoice.order.contact
    if contact is not None and contact.email:
        return contact.email
    return invoice.customer.email


def collection_reminders_send(*, today: date | None = None) -> int:
    """Remind owners (and, when the policy says so, customers) of receivables coming due or
    overdue, one reminder per step of the schedule. Safe to run again: a step already sent
    is not repeated; a run that missed days sends only the latest step."""
    policy = policy_get()
    offsets = policy.reminder_offsets()
    if not offsets:
        return 0
    today = today or _today()
    horizon = today - timedelta(days=offsets[0])
    open_invoices = (
        Invoice.objects.filter(
            status__in=[Invoice.Status.OPEN, Invoice.Status.PARTIAL], due_on__lte=horizon
        )
        .select_related("order__contact", "customer", "owner")
        .order_by("due_on", "id")
    )
    sent = 0
    for invoice in open_invoices.iterator(chunk_size=500):
        step = _reminder_step(invoice, offsets, today)
        if step is None:
            continue
        address = _customer_address(invoice) if policy.remind_customers and step > 0 else ""
        try:
            with transaction.atomic():
                CollectionReminder.objects.create(
                    invoice=invoice, offset_days=step, to_customer=bool(address)
                )
                _remind(invoice, step, address, policy)
        except IntegrityError:
            continue  # another run sent this step
        sent += 1
    return sent


def _remind(invoice: Invoice, step: int, customer_address: str, policy: Policy) -> None:
    owner = invoice.owner
    url = reverse("commerce:invoice-index") + "?overdue=1"
    facts = {
        "invoice": invoice.number,
        "customer": invoice.customer.name,
        "due": invoice.outstanding,
        "cur": invoice.currency,
        "date": date_format(invoice.due_on),
        "days": abs(step),
    }
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        if step < 0:
            message = (
                _("%(customer)s: %(due)s %(cur)s on %(invoice)s falls due on %(date)s.") % facts
            )
        else:
            message = (
                _(
                    "%(customer)s: %(due)s %(cur)s on %(invoice)s is overdue (due %(date)s). "
                    "Please follow up on the payment."
                )
                % facts
            )
    notification_send(user=owner, kind=Notification.Kind.COLLECTION, message=message, url=url)
    audit_record(
        actor=None,
        action=AuditEntry.Action.REMIND,
        subject=invoice,
        customer_id=invoice.customer_id,
        message=message,
    )
    mails = []
    if owner.email:
        mails.append(
            EmailMessage(subject=message[:120], body=message, from_email=None, to=[owner.email])
        )
    if customer_address:
        with translation.override(settings.LANGUAGE_CODE):
            body = _(
                "Dear customer,\n\nour records show %(due)s %(cur)s outstanding on invoice "
                "%(invoice)s, due on %(date)s. If you have already paid, please disregard "
                "this message.\n\n%(seller)s"
            ) % {**facts, "seller": policy.seller_name}
            subject = _("Payment reminder: invoice %(invoice)s") % facts
        mails.append(
            EmailMessage(
                subject=subject,
                body=body,
                from_email=None,
                to=[customer_address],
                reply_to=[owner.email] if owner.email else None,
            )
        )
    for mail in mails:
        transaction.on_commit(mail.send)


# --- handover --------------------------------------------------------------------------------


def commerce_handover(*, actor: User, from_user: User, to_users: Sequence[User]) -> dict[str, int]:
    """Give a leaver's open quotes, undelivered orders and unpaid receivables to colleagues
    (part of the user handover): each goes to its customer's new owner when that is one of
    ``to_users``, else to ``to_users`` in turn. Closed ones keep their owner as history.
    Returns how many of each moved."""
    if not to_users:
        return {"quotes": 0, "orders": 0, "invoices": 0}
    by_id = {user.pk: user for user in to_users}
    groups: list[tuple[str, Any]] = [
        (
            "quotes",
            Quote.objects.filter(owner=from_user).exclude(
                status__in=[Quote.Status.ACCEPTED, Quote.Status.DECLINED, Quote.Status.SUPERSEDED]
            ),
        ),
        (
            "orders",
            Order.objects.filter(
                owner=from_user, status__in=[Order.Status.CONFIRMED, Order.Status.SHIPPED]
            ),
        ),
        (
            "invoices",
            Invoice.objects.filter(
                owner=from_user, status__in=[Invoice.Status.OPEN, Invoice.Status.PARTIAL]
            ),
        ),
    ]
    message = _("Handover from %(user)s") % {"user": from_user}
    counts: dict[str, int] = {}
    with transaction.atomic():
        for name, qs in groups:
            moved = 0
            for index, document in enumerate(qs.select_related("customer").order_by("id")):
                new_owner = by_id.get(document.customer.owner_id) or to_users[index % len(to_users)]
                type(document).objects.filter(pk=document.pk).update(
                    owner=new_owner, team_id=new_owner.team_id
                )
                _log(
                    actor,
                    AuditEntry.Action.OWNER,
                    document,
                    changes={"owner": [str(from_user), str(new_owner)]},
                    message=message,
                )
                moved += 1
            counts[name] = moved
    return counts


def order_dates_overdue(order: Order, today: date | None = None) -> bool:
    """Is the order's delivery late?"""
    today = today or _today()
    return (
        order.delivery_due is not None
        and order.status in (Order.Status.CONFIRMED, Order.Status.SHIPPED)
        and order.delivery_due < today
    )
