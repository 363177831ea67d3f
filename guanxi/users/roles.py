"""The default roles. They are ordinary, editable groups: administrators change them in
Settings → Roles; this module only creates the missing ones after ``migrate``."""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_noop

from guanxi.users.models import Module, RoleScope, Scope

ADMIN = gettext_noop("Administrator")
SALES_MANAGER = gettext_noop("Sales manager")
SALES_REP = gettext_noop("Sales rep")
SERVICE_AGENT = gettext_noop("Service agent")
MARKETER = gettext_noop("Marketer")
EXECUTIVE = gettext_noop("Executive")
PARTNER = gettext_noop("Partner user")

_CUSTOMER_READ = ["customers.view_customer", "customers.view_contact"]
_CUSTOMER_WRITE = [
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_contact",
    "customers.change_contact",
    "customers.add_note",
    "customers.add_attachment",
]

_LEAD_READ = ["sales.view_lead"]
_LEAD_WRITE = ["sales.add_lead", "sales.change_lead", "sales.convert_lead"]
_LEAD_MANAGE = ["sales.delete_lead", "sales.assign_lead", "sales.export_lead"]

_OPP_READ = ["sales.view_opportunity"]
_OPP_WRITE = ["sales.add_opportunity", "sales.change_opportunity"]
_OPP_MANAGE = [
    "sales.delete_opportunity",
    "sales.assign_opportunity",
    "performance.change_salestarget",
]

# Meetings (one's own are always one's own to change; the scope reaches colleagues'), and
# working the call lists assigned to one; managers also build call lists.
_CALENDAR = [
    "activities.view_meeting",
    "activities.add_meeting",
    "activities.change_meeting",
    "activities.view_calllist",
]
_CALL_LIST_MANAGE = ["activities.add_calllist", "activities.change_calllist"]

_PRODUCT_READ = ["commerce.view_product", "commerce.view_pricelist"]
_PRODUCT_MANAGE = [
    "commerce.add_product",
    "commerce.change_product",
    "commerce.add_pricelist",
    "commerce.change_pricelist",
]
_ORDER_READ = [
    *_PRODUCT_READ,
    "commerce.view_quote",
    "commerce.view_order",
    "commerce.view_invoice",
    "commerce.view_warranty",
]
_ORDER_WRITE = [
    "commerce.add_quote",
    "commerce.change_quote",
    "commerce.add_order",
    "commerce.change_order",
    "commerce.add_invoice",
    "commerce.change_invoice",
    "commerce.add_payment",
]
_ORDER_MANAGE = [
    *_PRODUCT_MANAGE,
    "commerce.approve_quote",
    "commerce.export_quote",
    "commerce.export_order",
]

# Per role: permissions that belong to no module, then per module its permissions and
# its (read, write) scope. A module a role has never been set up for (no RoleScope row)
# gets these defaults after ``migrate``; modules already set up are left as edited.
DEFAULT_ROLES: dict[str, dict[str, Any]] = {
    ADMIN: {
        "perms": ["users.manage_users", "core.view_domainevent"],
        Module.CUSTOMERS: (
            [
                *_CUSTOMER_READ,
                *_CUSTOMER_WRITE,
                "customers.delete_customer",
                "customers.delete_contact",
                "customers.reassign_customer",
                "customers.export_customer",
                "customers.import_customer",
                "customers.merge_customer",
                "customers.purge_customer",
            ],
            (Scope.ALL, Scope.ALL),
        ),
        Module.LEADS: ([*_LEAD_READ, *_LEAD_WRITE, *_LEAD_MANAGE], (Scope.ALL, Scope.ALL)),
        Module.OPPORTUNITIES: ([*_OPP_READ, *_OPP_WRITE, *_OPP_MANAGE], (Scope.ALL, Scope.ALL)),
        Module.CALENDAR: ([*_CALENDAR, *_CALL_LIST_MANAGE], (Scope.ALL, Scope.ALL)),
        Module.ORDERS: (
            [*_ORDER_READ, *_ORDER_WRITE, *_ORDER_MANAGE, "commerce.change_policy"],
            (Scope.ALL, Scope.ALL),
        ),
    },
    SALES_MANAGER: {
        "perms": [],
        Module.CUSTOMERS: (
            [
                *_CUSTOMER_READ,
                *_CUSTOMER_WRITE,
                "customers.delete_customer",
                "customers.delete_contact",
                "customers.reassign_customer",
                "customers.export_customer",
                "customers.import_customer",
                "customers.merge_customer",
            ],
            (Scope.TEAM, Scope.TEAM),
        ),
        Module.LEADS: ([*_LEAD_READ, *_LEAD_WRITE, *_LEAD_MANAGE], (Scope.TEAM, Scope.TEAM)),
        Module.OPPORTUNITIES: (
            [*_OPP_READ, *_OPP_WRITE, *_OPP_MANAGE],
            (Scope.TEAM, Scope.TEAM),
        ),
        Module.CALENDAR: ([*_CALENDAR, *_CALL_LIST_MANAGE], (Scope.TEAM, Scope.TEAM)),
        Module.ORDERS: ([*_ORDER_READ, *_ORDER_WRITE, *_ORDER_MANAGE], (Scope.TEAM, Scope.TEAM)),
    },
    SALES_REP: {
        "perms": [],
        Module.CUSTOMERS: ([*_CUSTOMER_READ, *_CUSTOMER_WRITE], (Scope.OWN, Scope.OWN)),
        Module.LEADS: ([*_LEAD_READ, *_LEAD_WRITE], (Scope.OWN, Scope.OWN)),
        Module.OPPORTUNITIES: ([*_OPP_READ, *_OPP_WRITE], (Scope.OWN, Scope.OWN)),
        Module.CALENDAR: (_CALENDAR, (Scope.OWN, Scope.OWN)),
        Module.ORDERS: ([*_ORDER_READ, *_ORDER_WRITE], (Scope.OWN, Scope.OWN)),
    },
    SERVICE_AGENT: {
        "perms": [],
        Module.CUSTOMERS: (
            [*_CUSTOMER_READ, "customers.add_note", "customers.add_attachment"],
            (Scope.ALL, Scope.NONE),
        ),
        Module.LEADS: ([], (Scope.NONE, Scope.NONE)),
        Module.OPPORTUNITIES: ([], (Scope.NONE, Scope.NONE)),
        Module.CALENDAR: (_CALENDAR, (Scope.OWN, Scope.OWN)),
        # The service desk checks warranties and what a customer bought.
        Module.ORDERS: (
            [*_PRODUCT_READ, "commerce.view_order", "commerce.view_warranty"],
            (Scope.ALL, Scope.NONE),
        ),
    },
    MARKETER: {
        "perms": [],
        Module.CUSTOMERS: ([*_CUSTOMER_READ, "customers.export_customer"], (Scope.ALL, Scope.NONE)),
        # Marketers capture leads from campaigns and follow their quality, but do not work them.
        Module.LEADS: (
            [*_LEAD_READ, "sales.add_lead", "sales.export_lead"],
            (Scope.ALL, Scope.NONE),
        ),
        Module.OPPORTUNITIES: (_OPP_READ, (Scope.ALL, Scope.NONE)),
        Module.CALENDAR: (_CALENDAR, (Scope.OWN, Scope.OWN)),
        # Marketing reaches customers by what they bought and when warranties end.
        Module.ORDERS: (
            [*_PRODUCT_READ, "commerce.view_order", "commerce.view_warranty"],
            (Scope.ALL, Scope.NONE),
        ),
    },
    EXECUTIVE: {
        "perms": [],
        Module.CUSTOMERS: ([*_CUSTOMER_READ, "customers.export_customer"], (Scope.ALL, Scope.NONE)),
        Module.LEADS: ([*_LEAD_READ, "sales.export_lead"], (Scope.ALL, Scope.NONE)),
        Module.OPPORTUNITIES: (_OPP_READ, (Scope.ALL, Scope.NONE)),
        # Executives see every calendar and keep their own.
        Module.CALENDAR: (_CALENDAR, (Scope.ALL, Scope.NONE)),
        Module.ORDERS: (
            [*_ORDER_READ, "commerce.export_quote", "commerce.export_order"],
            (Scope.ALL, Scope.NONE),
        ),
    },
    PARTNER: {
        "perms": [],
        Module.CUSTOMERS: ([], (Scope.NONE, Scope.NONE)),
        Module.LEADS: ([], (Scope.NONE, Scope.NONE)),
        Module.OPPORTUNITIES: ([], (Scope.NONE, Scope.NONE)),
        Module.CALENDAR: ([], (Scope.NONE, Scope.NONE)),
        Module.ORDERS: ([], (Scope.NONE, Scope.NONE)),
    },
}


def _permissions(dotted_names: list[str]) -> list[Permission]:
    perms = []
    for dotted in dotted_names:
        app_label, codename = dotted.split(".")
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is None:
            raise LookupError(f"default role permission {dotted} does not exist")
        perms.append(perm)
    return perms


def roles_ensure_defaults() -> None:
    """Create the default roles that do not exist, and set up each module a role has never
    been set up for (a module added by an upgrade). What administrators edited stays."""
    for name, spec in DEFAULT_ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.add(*_permissions(spec["perms"]))
        configured = set(RoleScope.objects.filter(role=group).values_list("module", flat=True))
        for module in Module:
            if module.value in configured or module not in spec:
                continue
            perms, (read, write) = spec[module]
            group.permissions.add(*_permissions(perms))
            RoleScope.objects.create(role=group, module=module, read_scope=read, write_scope=write)
