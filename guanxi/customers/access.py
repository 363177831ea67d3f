"""Which customers and contacts a user may see and change.

The one place that answers that question: pages, the API, search, exports, bulk actions
and imports all start from these functions. Scopes come from the user's roles
(``users.RoleScope``): own records, the team and its sub-teams, or all.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from guanxi.customers.models import Contact, ContactLink, Customer
from guanxi.users.access import AnyUser, ownership_filter
from guanxi.users.models import Module


def _scope_filter(user: AnyUser, kind: str) -> Q | None:
    """A Q for the customers within reach, or None for "no rows"."""
    return ownership_filter(user, Module.CUSTOMERS, kind)


def customers_visible_to(user: AnyUser, *, include_deleted: bool = False) -> QuerySet[Customer]:
    """Customers the user may see (live ones unless ``include_deleted``)."""
    condition = _scope_filter(user, "read")
    if condition is None or not user.has_perm("customers.view_customer"):
        return Customer.objects.none()
    qs = Customer.objects.filter(condition)
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def customers_editable_by(user: AnyUser, *, include_deleted: bool = False) -> QuerySet[Customer]:
    """Customers the user may change."""
    condition = _scope_filter(user, "write")
    if condition is None or not user.has_perm("customers.change_customer"):
        return Customer.objects.none()
    qs = Customer.objects.filter(condition)
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


ACTION_PERMS = {
    "view": "customers.view_customer",
    "edit": "customers.change_customer",
    "delete": "customers.delete_customer",
    "restore": "customers.delete_customer",
    "reassign": "customers.reassign_customer",
    "export": "customers.export_customer",
    "merge": "customers.merge_customer",
    "purge": "customers.purge_customer",
    "note": "customers.add_note",
    "attach": "customers.add_attachment",
    "import": "customers.import_customer",
}
READ_ACTIONS = {"view", "export", "note", "attach"}


def customer_can(user: AnyUser, customer: Customer, action: str) -> bool:
    """May ``user`` perform ``action`` on ``customer``?"""
    if not user.has_perm(ACTION_PERMS[action]):
        return False
    kind = "read" if action in READ_ACTIONS else "write"
    condition = _scope_filter(user, kind)
    if condition is None:
        return False
    return Customer.objects.filter(condition, pk=customer.pk).exists()


def customer_permissions(user: AnyUser, customer: Customer) -> dict[str, bool]:
    """Every action of ``ACTION_PERMS`` → may ``user`` do it on ``customer`` (a visible one).

    One query at most, for pages that show or hide many buttons at once.
    """
    write = _scope_filter(user, "write")
    may_write = write is not None and Customer.objects.filter(write, pk=customer.pk).exists()
    return {
        action: user.has_perm(perm) and (action in READ_ACTIONS or may_write)
        for action, perm in ACTION_PERMS.items()
    }


def customer_access_by_id(
    user: AnyUser, customer_id: int, action: str = "view", *, include_deleted: bool = False
) -> Customer:
    """Fetch a customer and authorise ``action`` in one call.

    Raises Http404 when the user may not even see it (no existence leak) and
    PermissionDenied when they may see it but not do ``action``.
    """
    visible = customers_visible_to(user, include_deleted=include_deleted)
    customer = visible.select_related("owner", "team", "channel").filter(pk=customer_id).first()
    if customer is None:
        raise Http404("No such customer")
    if action != "view" and not customer_can(user, customer, action):
        raise PermissionDenied
    return customer


def customers_actionable_by(user: AnyUser, action: str) -> QuerySet[Customer]:
    """Customers on which ``user`` may perform ``action`` (for bulk actions)."""
    if not user.has_perm(ACTION_PERMS[action]):
        return Customer.objects.none()
    kind = "read" if action in READ_ACTIONS else "write"
    condition = _scope_filter(user, kind)
    if condition is None:
        return Customer.objects.none()
    qs = Customer.objects.filter(condition)
    if action not in {"restore", "purge"}:
        qs = qs.filter(deleted_at__isnull=True)
    return qs


def contacts_visible_to(user: AnyUser) -> QuerySet[Contact]:
    """Contacts linked to at least one customer the user may see."""
    if not user.has_perm("customers.view_contact"):
        return Contact.objects.none()
    customers = customers_visible_to(user)
    linked = ContactLink.objects.filter(contact=OuterRef("pk"), customer__in=customers)
    return Contact.objects.filter(deleted_at__isnull=True).filter(Exists(linked))


def contacts_editable_by(user: AnyUser) -> QuerySet[Contact]:
    """Contacts linked to at least one customer the user may change."""
    if not user.has_perm("customers.change_contact"):
        return Contact.objects.none()
    customers = customers_editable_by(user)
    linked = ContactLink.objects.filter(contact=OuterRef("pk"), customer__in=customers)
    return Contact.objects.filter(deleted_at__isnull=True).filter(Exists(linked))


def contact_access_by_id(user: AnyUser, contact_id: int, action: str = "view") -> Contact:
    """Fetch a contact and authorise ``action`` ("view", "edit" or "delete")."""
    contact = contacts_visible_to(user).filter(pk=contact_id).first()
    if contact is None:
        raise Http404("No such contact")
    if action == "edit" and not contacts_editable_by(user).filter(pk=contact_id).exists():
        raise PermissionDenied
    if action == "delete" and not (
        user.has_perm("customers.delete_contact")
        and contacts_editable_by(user).filter(pk=contact_id).exists()
    ):
        raise PermissionDenied
    return contact


def customers_in_pool(user: AnyUser) -> QuerySet[Customer]:
    """Live customers nobody owns (公海): anyone who may change customers may claim them."""
    if not user.is_authenticated or not user.has_perm("customers.change_customer"):
        return Customer.objects.none()
    return Customer.objects.filter(owner__isnull=True, deleted_at__isnull=True)
