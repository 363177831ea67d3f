"""Which leads a user may see and change (scopes from ``users.RoleScope``, module leads).

Pages, the API, search and bulk actions on leads all start from these functions.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from guanxi.sales.models import Lead
from guanxi.users.access import AnyUser, ownership_filter
from guanxi.users.models import Module

ACTION_PERMS = {
    "view": "sales.view_lead",
    "edit": "sales.change_lead",
    "delete": "sales.delete_lead",
    "restore": "sales.delete_lead",
    "assign": "sales.assign_lead",
    "convert": "sales.convert_lead",
    "export": "sales.export_lead",
}
READ_ACTIONS = {"view", "export"}


def _condition(user: AnyUser, action: str) -> Q | None:
    if not user.has_perm(ACTION_PERMS[action]):
        return None
    return ownership_filter(user, Module.LEADS, "read" if action in READ_ACTIONS else "write")


def leads_visible_to(user: AnyUser, *, include_deleted: bool = False) -> QuerySet[Lead]:
    """Leads the user may see (live ones unless ``include_deleted``)."""
    return leads_actionable_by(user, "view", include_deleted=include_deleted)


def leads_actionable_by(
    user: AnyUser, action: str, *, include_deleted: bool = False
) -> QuerySet[Lead]:
    """Leads on which ``user`` may perform ``action``."""
    condition = _condition(user, action)
    if condition is None:
        return Lead.objects.none()
    qs = Lead.objects.filter(condition)
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def lead_can(user: AnyUser, lead: Lead, action: str) -> bool:
    """May ``user`` perform ``action`` on ``lead``?"""
    condition = _condition(user, action)
    return condition is not None and Lead.objects.filter(condition, pk=lead.pk).exists()


def lead_permissions(user: AnyUser, lead: Lead) -> dict[str, bool]:
    """Every action → may ``user`` do it on ``lead`` (a visible one); one query at most."""
    write = ownership_filter(user, Module.LEADS, "write")
    may_write = write is not None and Lead.objects.filter(write, pk=lead.pk).exists()
    return {
        action: user.has_perm(perm) and (action in READ_ACTIONS or may_write)
        for action, perm in ACTION_PERMS.items()
    }


def lead_access_by_id(
    user: AnyUser, lead_id: int, action: str = "view", *, include_deleted: bool = False
) -> Lead:
    """Fetch a lead and authorise ``action``: Http404 when the user may not see it (no
    existence leak), PermissionDenied when they may see it but not do ``action``."""
    lead = (
        leads_visible_to(user, include_deleted=include_deleted)
        .select_related("owner", "team", "channel", "customer")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise Http404("No such lead")
    if action != "view" and not lead_can(user, lead, action):
        raise PermissionDenied
    return lead
