"""Which leads and opportunities a user may see and change (scopes from
``users.RoleScope``, modules leads and opportunities).

Pages, the API, search and bulk actions on leads and opportunities all start from these
functions.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from guanxi.sales.models import Lead, Opportunity, Pipeline
from guanxi.users.access import AnyUser, ownership_filter, scope_for
from guanxi.users.models import Module, Scope, Team, User

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


# --- opportunities ------------------------------------------------------------------------

OPPORTUNITY_PERMS = {
    "view": "sales.view_opportunity",
    "edit": "sales.change_opportunity",
    "move": "sales.change_opportunity",
    "delete": "sales.delete_opportunity",
    "restore": "sales.delete_opportunity",
    "assign": "sales.assign_opportunity",
}
OPPORTUNITY_READ_ACTIONS = {"view"}


def _opportunity_condition(user: AnyUser, action: str) -> Q | None:
    if not user.has_perm(OPPORTUNITY_PERMS[action]):
        return None
    kind = "read" if action in OPPORTUNITY_READ_ACTIONS else "write"
    return ownership_filter(user, Module.OPPORTUNITIES, kind)


def opportunities_visible_to(
    user: AnyUser, *, include_deleted: bool = False
) -> QuerySet[Opportunity]:
    """Opportunities the user may see (live ones unless ``include_deleted``)."""
    return opportunities_actionable_by(user, "view", include_deleted=include_deleted)


def opportunities_actionable_by(
    user: AnyUser, action: str, *, include_deleted: bool = False
) -> QuerySet[Opportunity]:
    """Opportunities on which ``user`` may perform ``action``."""
    condition = _opportunity_condition(user, action)
    if condition is None:
        return Opportunity.objects.none()
    qs = Opportunity.objects.filter(condition)
    return qs if include_deleted else qs.filter(deleted_at__isnull=True)


def opportunity_can(user: AnyUser, opportunity: Opportunity, action: str) -> bool:
    """May ``user`` perform ``action`` on ``opportunity``?"""
    condition = _opportunity_condition(user, action)
    return (
        condition is not None and Opportunity.objects.filter(condition, pk=opportunity.pk).exists()
    )


def opportunity_permissions(user: AnyUser, opportunity: Opportunity) -> dict[str, bool]:
    """Every action → may ``user`` do it on ``opportunity`` (a visible one); one query at
    most."""
    write = ownership_filter(user, Module.OPPORTUNITIES, "write")
    may_write = write is not None and Opportunity.objects.filter(write, pk=opportunity.pk).exists()
    return {
        action: user.has_perm(perm) and (action in OPPORTUNITY_READ_ACTIONS or may_write)
        for action, perm in OPPORTUNITY_PERMS.items()
    }


def opportunity_access_by_id(
    user: AnyUser, opportunity_id: int, action: str = "view", *, include_deleted: bool = False
) -> Opportunity:
    """Fetch an opportunity and authorise ``action``: Http404 when the user may not see it
    (no existence leak), PermissionDenied when they may see it but not do ``action``."""
    opportunity = (
        opportunities_visible_to(user, include_deleted=include_deleted)
        .select_related(
            "owner", "team", "customer", "contact", "pipeline", "stage", "channel", "lead"
        )
        .filter(pk=opportunity_id)
        .first()
    )
    if opportunity is None:
        raise Http404("No such opportunity")
    if action != "view" and not opportunity_can(user, opportunity, action):
        raise PermissionDenied
    return opportunity


def pipelines_visible_to(user: AnyUser) -> QuerySet[Pipeline]:
    """Active pipelines the user may work in: company-wide ones, and team pipelines of the
    user's own team or a team above it (users who see all opportunities see every one).
    Nobody without the opportunity view permission sees any: a rep never sees another
    team's pipeline."""
    if not user.has_perm(OPPORTUNITY_PERMS["view"]):
        return Pipeline.objects.none()
    qs = Pipeline.objects.filter(is_active=True)
    if scope_for(user, Module.OPPORTUNITIES, "read") == Scope.ALL:
        return qs
    assert isinstance(user, User)
    ancestors: list[int] = []
    if user.team_id is not None:
        path = Team.objects.filter(pk=user.team_id).values_list("path", flat=True).first() or ""
        ancestors = [int(part) for part in path.strip("/").split("/") if part.isdigit()]
    return qs.filter(Q(team__isnull=True) | Q(team_id__in=ancestors))


def pipeline_access_by_id(user: AnyUser, pipeline_id: int) -> Pipeline:
    """A pipeline the user may work in, or Http404."""
    pipeline = pipelines_visible_to(user).filter(pk=pipeline_id).first()
    if pipeline is None:
        raise Http404("No such pipeline")
    return pipeline


def leads_in_pool(user: AnyUser) -> QuerySet[Lead]:
    """Open leads nobody owns (公海): anyone who may work leads may see and claim them."""
    if not user.is_authenticated or not user.has_perm("sales.change_lead"):
        return Lead.objects.none()
    return Lead.objects.filter(
        owner__isnull=True, status__in=Lead.OPEN_STATUSES, deleted_at__isnull=True
    )
