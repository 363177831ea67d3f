"""Who sees and changes quotes, orders, invoices and payments.

Each of them has an owner and a team, and the role's scope in the "quotes, orders and
payments" module decides how far a user reaches: own, team (with sub-teams) or all. The
product catalogue is open to everyone whose role may view products; changing it needs the
product permissions. A quote's discount is approved by someone else than its owner who may
approve quotes and whose write scope covers the quote.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from guanxi.commerce.models import Invoice, Order, PriceList, Product, Quote, Warranty
from guanxi.users.access import AnyUser, ownership_filter
from guanxi.users.models import Module

QUOTE_PERMS = {
    "view": "commerce.view_quote",
    "edit": "commerce.change_quote",
    "approve": "commerce.approve_quote",
    "export": "commerce.export_quote",
}
ORDER_PERMS = {
    "view": "commerce.view_order",
    "edit": "commerce.change_order",
    "export": "commerce.export_order",
}
INVOICE_PERMS = {
    "view": "commerce.view_invoice",
    "edit": "commerce.change_invoice",
    "pay": "commerce.add_payment",
}
READ_ACTIONS = {"view", "export"}


def _condition(user: AnyUser, perms: dict[str, str], action: str) -> Q | None:
    if not user.is_authenticated or not user.has_perm(perms[action]):
        return None
    return ownership_filter(user, Module.ORDERS, "read" if action in READ_ACTIONS else "write")


def _scoped[M: Model](model: type[M], condition: Q | None) -> QuerySet[M]:
    if condition is None:
        return model._default_manager.none()
    return model._default_manager.filter(condition)


def quotes_actionable_by(user: AnyUser, action: str = "view") -> QuerySet[Quote]:
    """Quotes on which ``user`` may perform ``action`` (view, edit, approve, export)."""
    return _scoped(Quote, _condition(user, QUOTE_PERMS, action))


def quotes_visible_to(user: AnyUser) -> QuerySet[Quote]:
    """Quotes the user may see."""
    return quotes_actionable_by(user, "view")


def quote_can(user: AnyUser, quote: Quote, action: str) -> bool:
    """May ``user`` perform ``action`` on ``quote``? Nobody approves their own quote."""
    if action == "approve" and quote.owner_id == user.pk and not user.is_superuser:
        return False
    return quotes_actionable_by(user, action).filter(pk=quote.pk).exists()


def _fetch[M: Model](
    visible: QuerySet[M], pk: int, action: str, may: QuerySet[M] | None, what: str
) -> M:
    """One row of ``visible`` by id, authorised for ``action``: 404 when the user may not
    see it (no existence leak), 403 when ``may`` (the rows allowing ``action``) lacks it."""
    row = visible.filter(pk=pk).first()
    if row is None:
        raise Http404(f"No such {what}")
    if action != "view" and (may is None or not may.filter(pk=pk).exists()):
        raise PermissionDenied
    return row


def quote_access_by_id(user: AnyUser, quote_id: int, action: str = "view") -> Quote:
    """Fetch a quote and authorise ``action`` (404 unseen, 403 not allowed)."""
    visible = quotes_visible_to(user).select_related(
        "customer", "contact", "opportunity", "owner", "team", "approved_by"
    )
    quote = _fetch(visible, quote_id, "view", None, "quote")
    if action != "view" and not quote_can(user, quote, action):
        raise PermissionDenied
    return quote


def orders_actionable_by(user: AnyUser, action: str = "view") -> QuerySet[Order]:
    """Orders on which ``user`` may perform ``action`` (view, edit, export)."""
    return _scoped(Order, _condition(user, ORDER_PERMS, action))


def orders_visible_to(user: AnyUser) -> QuerySet[Order]:
    """Orders the user may see."""
    return orders_actionable_by(user, "view")


def order_can(user: AnyUser, order: Order, action: str) -> bool:
    """May ``user`` perform ``action`` on ``order``?"""
    return orders_actionable_by(user, action).filter(pk=order.pk).exists()


def order_access_by_id(user: AnyUser, order_id: int, action: str = "view") -> Order:
    """Fetch an order and authorise ``action`` (404 unseen, 403 not allowed)."""
    visible = orders_visible_to(user).select_related(
        "customer", "contact", "quote", "opportunity", "owner", "team"
    )
    may = orders_actionable_by(user, action) if action != "view" else None
    return _fetch(visible, order_id, action, may, "order")


def invoices_actionable_by(user: AnyUser, action: str = "view") -> QuerySet[Invoice]:
    """Invoices on which ``user`` may perform ``action`` (view, edit, pay)."""
    return _scoped(Invoice, _condition(user, INVOICE_PERMS, action))


def invoices_visible_to(user: AnyUser) -> QuerySet[Invoice]:
    """Invoices (receivables) the user may see."""
    return invoices_actionable_by(user, "view")


def invoice_access_by_id(user: AnyUser, invoice_id: int, action: str = "view") -> Invoice:
    """Fetch an invoice and authorise ``action`` (404 unseen, 403 not allowed)."""
    visible = invoices_visible_to(user).select_related("order", "customer", "owner")
    may = invoices_actionable_by(user, action) if action != "view" else None
    return _fetch(visible, invoice_id, action, may, "invoice")


def products_visible_to(user: AnyUser) -> QuerySet[Product]:
    """The catalogue, for anyone whose role may view products."""
    if not user.is_authenticated or not user.has_perm("commerce.view_product"):
        return Product.objects.none()
    return Product.objects.all()


def product_access_by_id(user: AnyUser, product_id: int, action: str = "view") -> Product:
    """Fetch a product; ``edit`` needs the permission to change products."""
    product = products_visible_to(user).filter(pk=product_id).first()
    if product is None:
        raise Http404("No such product")
    if action != "view" and not user.has_perm("commerce.change_product"):
        raise PermissionDenied
    return product


def price_lists_visible_to(user: AnyUser) -> QuerySet[PriceList]:
    """Price lists, for anyone whose role may view them (changing needs the permissions)."""
    if not user.is_authenticated or not user.has_perm("commerce.view_pricelist"):
        return PriceList.objects.none()
    return PriceList.objects.all()


def warranties_visible_to(user: AnyUser) -> QuerySet[Warranty]:
    """Warranties of the orders the user may see, for those who may view warranties."""
    if not user.is_authenticated or not user.has_perm("commerce.view_warranty"):
        return Warranty.objects.none()
    return Warranty.objects.filter(order_line__order__in=orders_visible_to(user).values("pk"))
