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

DEFAULT_ROLES: dict[str, dict[str, Any]] = {
    ADMIN: {
        "perms": [
            *_CUSTOMER_READ,
            *_CUSTOMER_WRITE,
            "customers.delete_customer",
            "customers.delete_contact",
            "customers.reassign_customer",
            "customers.export_customer",
            "customers.import_customer",
            "customers.merge_customer",
            "customers.purge_customer",
            "users.manage_users",
        ],
        "scope": (Scope.ALL, Scope.ALL),
    },
    SALES_MANAGER: {
        "perms": [
            *_CUSTOMER_READ,
            *_CUSTOMER_WRITE,
            "customers.delete_customer",
            "customers.delete_contact",
            "customers.reassign_customer",
            "customers.export_customer",
            "customers.import_customer",
            "customers.merge_customer",
        ],
        "scope": (Scope.TEAM, Scope.TEAM),
    },
    SALES_REP: {
        "perms": [*_CUSTOMER_READ, *_CUSTOMER_WRITE],
        "scope": (Scope.OWN, Scope.OWN),
    },
    SERVICE_AGENT: {
        "perms": [*_CUSTOMER_READ, "customers.add_note", "customers.add_attachment"],
        "scope": (Scope.ALL, Scope.NONE),
    },
    MARKETER: {
        "perms": [*_CUSTOMER_READ, "customers.export_customer"],
        "scope": (Scope.ALL, Scope.NONE),
    },
    EXECUTIVE: {
        "perms": [*_CUSTOMER_READ, "customers.export_customer"],
        "scope": (Scope.ALL, Scope.NONE),
    },
    PARTNER: {"perms": [], "scope": (Scope.NONE, Scope.NONE)},
}


def roles_ensure_defaults() -> None:
    """Create each default role that does not exist yet (existing roles are left as edited)."""
    for name, spec in DEFAULT_ROLES.items():
        group, created = Group.objects.get_or_create(name=name)
        if not created:
            continue
        codenames = spec["perms"]
        assert isinstance(codenames, list)
        perms = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)
        read, write = spec["scope"]
        RoleScope.objects.update_or_create(
            role=group,
            module=Module.CUSTOMERS,
            defaults={"read_scope": read, "write_scope": write},
        )
