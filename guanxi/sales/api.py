"""REST: leads (capture, assignment, disqualification, conversion to a customer), and
opportunities, pipelines and the forecast.

Handlers parse input, authorise through ``access``, call a service or selector and render
(the conventions, error shapes and helpers of ``guanxi.customers.api``). Invisible leads
answer 404, visible leads the user may not act on answer 403.
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router
from ninja.responses import Status

from guanxi.core.api_support import api_user, field_error, paged
from guanxi.core.pagination import keyset_page
from guanxi.customers import access as customer_access
from guanxi.customers.api import (
    AUTH_ERRORS,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    channel_by_id,
    duplicates_out,
    owner_by_id,
)
from guanxi.customers.models import Contact, Customer
from guanxi.customers.schemas import (
    CursorPage,
    CursorQuery,
    DuplicateConflictOut,
    Id,
    Out,
    Ref,
    Str32,
    Str200,
    TimelineEntryOut,
    TimelinePage,
    UserRef,
    ValidationErrorOut,
)
from guanxi.sales import access, selectors, services
from guanxi.sales.models import Lead, Opportunity, Stage
from guanxi.sales.schemas import (
    AssignIn,
    ConvertedOut,
    ConvertIn,
    DisqualifyIn,
    ForecastOut,
    ForecastQuery,
    ForecastRowOut,
    LeadIn,
    LeadListItem,
    LeadListQuery,
    LeadOut,
    LeadPage,
    LeadPatch,
    MoveIn,
    OpportunityIn,
    OpportunityListItem,
    OpportunityListQuery,
    OpportunityOut,
    OpportunityPage,
    OpportunityPatch,
    PipelineOut,
    StageChangeOut,
    StageOut,
)

router = Router(tags=["leads"])

LeadId = Path[Id]


def _lead_data(request: HttpRequest, fields: dict[str, Any], lead: Lead | None) -> dict[str, Any]:
    """Turn API fields into service ``data`` (ids → rows); check who may set the owner:
    anyone but yourself (or the pool) needs the assign permission."""
    data = {k: v for k, v in fields.items() if k not in {"channel_id", "owner_id", "consent"}}
    if "channel_id" in fields:
        data["channel"] = channel_by_id(fields["channel_id"]) if fields["channel_id"] else None
    if "owner_id" in fields:
        actor = api_user(request)
        current = lead.owner_id if lead is not None else actor.pk
        if fields["owner_id"] != current:
            allowed = (
                access.lead_can(actor, lead, "assign")
                if lead is not None
                else actor.has_perm(access.ACTION_PERMS["assign"])
            )
            if not allowed:
                raise PermissionDenied(_("You may not assign leads to others."))
        data["owner"] = owner_by_id(fields["owner_id"]) if fields["owner_id"] else None
    return data


# --- leads --------------------------------------------------------------------------------


@router.get(
    "/leads",
    response={200: LeadPage, **LIST_ERRORS},
    url_name="lead-list",
    summary="List leads",
)
def lead_list(request: HttpRequest, filters: Query[LeadListQuery]) -> LeadPage:
    """The leads you may see, filtered, searched and sorted; cursor-paginated."""
    user = api_user(request)
    owner_id = None
    if filters.owner == "me":
        owner_id = user.pk
    elif filters.owner and filters.owner != selectors.UNASSIGNED:
        owner_id = int(filters.owner)
    criteria = selectors.LeadFilters(
        q=filters.q,
        status=filters.status or "",
        intent=filters.intent or "",
        owner_id=owner_id,
        unassigned=filters.owner == selectors.UNASSIGNED,
        channel_id=filters.channel,
        source=filters.source or "",
        province=filters.province,
        city=filters.city,
        sort=filters.sort,
    )
    page = paged(
        filters.cursor,
        lambda: selectors.lead_list(
            user=user, filters=criteria, cursor=filters.cursor, limit=filters.limit
        ),
    )
    return LeadPage(
        items=[LeadListItem.from_lead(lead) for lead in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


class PoolLeadOut(Out):
    """A lead in the pool: enough to choose it, not to contact it before claiming."""

    id: int
    name: str
    company: str
    province: str
    city: str
    intent: str
    channel: Ref | None
    created_at: datetime


class PoolQuery(CursorQuery):
    q: Str200 = Field("", description="Search: name, company, pinyin, initials.")
    province: Str32 = ""


class PoolPage(CursorPage):
    items: list[PoolLeadOut]


@router.get(
    "/leads/pool",
    response={200: PoolPage, **LIST_ERRORS},
    url_name="lead-pool",
    summary="Open leads nobody owns (the pool)",
)
def lead_pool(request: HttpRequest, filters: Query[PoolQuery]) -> PoolPage:
    """Newest first; claim one with ``POST /leads/{id}/claim``."""
    user = api_user(request)
    qs = access.leads_in_pool(user).select_related("channel")
    if filters.q:
        qs = selectors.lead_search_filter(qs, filters.q)
    if filters.province:
        qs = qs.filter(province=filters.province)
    page = paged(
        filters.cursor,
        lambda: keyset_page(
            qs, order=["-created_at", "-id"], cursor=filters.cursor, limit=filters.limit
        ),
    )
    return PoolPage(
        items=[
            PoolLeadOut(
                id=lead.pk,
                name=lead.name,
                company=lead.company,
                province=lead.province,
                city=lead.city,
                intent=lead.intent,
                channel=Ref(id=lead.channel.pk, name=lead.channel.name) if lead.channel else None,
                created_at=lead.created_at,
            )
            for lead in page.items
        ],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/leads/{lead_id}/claim",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-claim",
    summary="Claim a lead from the pool",
)
def lead_claim(request: HttpRequest, lead_id: LeadId) -> LeadOut:
    """The lead becomes yours, within your team's limit of open leads (422 beyond it, or
    when someone else got it first)."""
    user = api_user(request)
    if not user.has_perm("sales.change_lead"):
        raise PermissionDenied
    lead = access.leads_in_pool(user).filter(pk=lead_id).first()
    if lead is None:
        if access.leads_visible_to(user).filter(pk=lead_id).exists():
            raise DjangoValidationError(_("Someone else has claimed this lead, or it was closed."))
        raise Http404("No such lead")
    return LeadOut.from_lead(services.lead_claim(actor=user, lead=lead))


@router.post(
    "/leads",
    response={201: LeadOut, **WRITE_ERRORS},
    url_name="lead-create",
    summary="Capture a lead",
)
def lead_create(request: HttpRequest, payload: LeadIn) -> Status[LeadOut]:
    """Capture a lead (source ``api``). Without ``owner_id`` the assignment rules route it
    (it stays unassigned when none applies); ``owner_id`` null puts it in the unassigned
    pool without routing."""
    user = api_user(request)
    if not user.has_perm("sales.add_lead"):
        raise PermissionDenied
    fields = payload.model_dump(exclude_unset=True)
    data = _lead_data(request, fields, None)
    lead = services.lead_create(
        actor=user,
        data={**data, "consent": payload.consent},
        source=Lead.Source.API,
        route="owner_id" not in fields,
    )
    return Status(201, LeadOut.from_lead(lead))


@router.get(
    "/leads/{lead_id}",
    response={200: LeadOut, **READ_ERRORS},
    url_name="lead-detail",
    summary="Get a lead",
)
def lead_get(request: HttpRequest, lead_id: LeadId) -> LeadOut:
    return LeadOut.from_lead(access.lead_access_by_id(api_user(request), lead_id, "view"))


@router.patch(
    "/leads/{lead_id}",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-update",
    summary="Change a lead",
)
def lead_update(request: HttpRequest, lead_id: LeadId, payload: LeadPatch) -> LeadOut:
    """Change the fields sent of an open lead; the rest stay. Changing the owner needs the
    assign permission; disqualify and convert have their own operations."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "edit")
    data = _lead_data(request, payload.model_dump(exclude_unset=True), lead)
    lead = services.lead_update(actor=user, lead=lead, data=data)
    return LeadOut.from_lead(lead)


@router.delete(
    "/leads/{lead_id}",
    response={204: None, **WRITE_ERRORS},
    url_name="lead-delete",
    summary="Move a lead to the trash",
)
def lead_delete(request: HttpRequest, lead_id: LeadId) -> Status[None]:
    """Soft delete: hidden everywhere, restorable with ``POST …/restore``."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "delete")
    services.lead_delete(actor=user, lead=lead)
    return Status(204, None)


@router.post(
    "/leads/{lead_id}/restore",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-restore",
    summary="Restore a lead from the trash",
)
def lead_restore(request: HttpRequest, lead_id: LeadId) -> LeadOut:
    """Bring a soft-deleted lead back (a lead not in the trash is left as it is)."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "restore", include_deleted=True)
    if lead.deleted_at is not None:
        services.lead_restore(actor=user, lead=lead)
        lead.refresh_from_db(fields=["deleted_at", "updated_at"])
    return LeadOut.from_lead(lead)


@router.post(
    "/leads/{lead_id}/assign",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-assign",
    summary="Give a lead to an owner, or back to the pool",
)
def lead_assign(request: HttpRequest, lead_id: LeadId, payload: AssignIn) -> LeadOut:
    """The new owner's team becomes the lead's team; the move and ``reason`` are logged
    on the timeline and the new owner is notified. Only open leads can be assigned."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "assign")
    owner = owner_by_id(payload.owner_id) if payload.owner_id is not None else None
    if not lead.is_open:
        raise DjangoValidationError(_("Only an open lead can be assigned."))
    services.leads_assign(actor=user, leads=[lead], owner=owner, reason=payload.reason)
    return LeadOut.from_lead(lead)


@router.post(
    "/leads/{lead_id}/disqualify",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-disqualify",
    summary="Close a lead as not worth pursuing",
)
def lead_disqualify(request: HttpRequest, lead_id: LeadId, payload: DisqualifyIn) -> LeadOut:
    """Only an open lead; ``reason`` is required, ``note`` goes on the timeline."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "edit")
    lead = services.lead_disqualify(actor=user, lead=lead, reason=payload.reason, note=payload.note)
    return LeadOut.from_lead(lead)


@router.post(
    "/leads/{lead_id}/reopen",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-reopen",
    summary="Reopen a disqualified lead",
)
def lead_reopen(request: HttpRequest, lead_id: LeadId) -> LeadOut:
    """A disqualified lead goes back to work (status ``working``)."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "edit")
    lead = services.lead_reopen(actor=user, lead=lead)
    return LeadOut.from_lead(lead)


@router.post(
    "/leads/{lead_id}/convert",
    response={200: ConvertedOut, 201: ConvertedOut, 409: DuplicateConflictOut, **WRITE_ERRORS},
    url_name="lead-convert",
    summary="Convert a lead to a customer and contact",
)
def lead_convert(request: HttpRequest, lead_id: LeadId, payload: ConvertIn) -> Status[Any]:
    """Without ``customer_id`` a customer is created from the lead (201) — unless probable
    duplicates exist: then 409 with them, or send ``allow_duplicates``. With
    ``customer_id`` the person joins that customer as a contact (200). Only an open lead
    can be converted (else 422); its history moves to the customer's timeline."""
    user = api_user(request)
    lead = access.lead_access_by_id(user, lead_id, "convert")
    customer: Customer | None = None
    if payload.customer_id is not None:
        try:
            customer = customer_access.customer_access_by_id(user, payload.customer_id, "edit")
        except Http404 as exc:
            raise field_error("customer_id", _("No such customer."), "does_not_exist") from exc
    elif not user.has_perm("customers.add_customer"):
        raise PermissionDenied(_("You may not create customers."))
    try:
        converted = services.lead_convert(
            actor=user,
            lead=lead,
            customer=customer,
            allow_duplicates=payload.allow_duplicates,
        )
    except services.DuplicateCustomers as exc:
        return Status(
            409,
            DuplicateConflictOut(
                detail=_(
                    "Probable duplicates exist; send allow_duplicates=true to create the "
                    "customer anyway, or customer_id to add the person to one of them."
                ),
                duplicates=duplicates_out(user, exc.matches),
            ),
        )
    body = ConvertedOut(
        lead=LeadOut.from_lead(lead), customer_id=converted.pk, contact_id=lead.contact_id
    )
    return Status(200 if customer is not None else 201, body)


@router.get(
    "/leads/{lead_id}/timeline",
    response={200: TimelinePage, **READ_ERRORS, 400: ValidationErrorOut},
    url_name="lead-timeline",
    summary="A lead's timeline (audit trail)",
)
def lead_timeline(request: HttpRequest, lead_id: LeadId, page: Query[CursorQuery]) -> TimelinePage:
    """Every recorded change to the lead, newest first."""
    lead = access.lead_access_by_id(api_user(request), lead_id, "view")
    result = paged(
        page.cursor,
        lambda: keyset_page(
            selectors.lead_timeline_entries(lead),
            order=["-created_at", "-id"],
            cursor=page.cursor,
            limit=page.limit,
        ),
    )
    return TimelinePage(
        items=[
            TimelineEntryOut(
                id=e.pk,
                action=e.action,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                subject_label=e.subject_label,
                actor=UserRef.of(e.actor),
                changes=e.changes if isinstance(e.changes, dict) else {},
                message=e.message,
                created_at=e.created_at,
            )
            for e in result.items
        ],
        next_cursor=result.next_cursor,
        has_more=result.has_more,
    )


# --- pipelines and opportunities ----------------------------------------------------------

OPP_TAGS = ["opportunities"]
OpportunityId = Path[Id]


def _opportunity_data(
    request: HttpRequest, fields: dict[str, Any], opp: Opportunity | None
) -> dict[str, Any]:
    """API fields → service ``data`` (ids → rows the user may use); setting an owner other
    than yourself needs the assign permission."""
    user = api_user(request)
    refs = {"customer_id", "contact_id", "pipeline_id", "stage_id", "channel_id", "owner_id"}
    data = {k: v for k, v in fields.items() if k not in refs}
    if fields.get("customer_id") is not None:
        customer = (
            customer_access.customers_visible_to(user).filter(pk=fields["customer_id"]).first()
        )
        if customer is None:
            raise field_error("customer_id", _("No such customer."), "does_not_exist")
        data["customer"] = customer
    if "contact_id" in fields:
        contact = None
        if fields["contact_id"] is not None:
            contact = Contact.objects.filter(
                pk=fields["contact_id"], deleted_at__isnull=True
            ).first()
            if contact is None:
                raise field_error("contact_id", _("No such contact."), "does_not_exist")
        data["contact"] = contact
    if fields.get("pipeline_id") is not None:
        try:
            data["pipeline"] = access.pipeline_access_by_id(user, fields["pipeline_id"])
        except Http404 as exc:
            raise field_error("pipeline_id", _("No such pipeline."), "does_not_exist") from exc
    if fields.get("stage_id") is not None:
        pipeline = data.get("pipeline") or services.pipeline_default()
        stage = Stage.objects.filter(pk=fields["stage_id"], pipeline=pipeline).first()
        if stage is None:
            raise field_error("stage_id", _("No such stage in the pipeline."), "does_not_exist")
        data["stage"] = stage
    if "channel_id" in fields:
        data["channel"] = channel_by_id(fields["channel_id"]) if fields["channel_id"] else None
    if fields.get("owner_id") is not None:
        current = opp.owner_id if opp is not None else user.pk
        if fields["owner_id"] != current:
            allowed = (
                access.opportunity_can(user, opp, "assign")
                if opp is not None
                else user.has_perm(access.OPPORTUNITY_PERMS["assign"])
            )
            if not allowed:
                raise PermissionDenied(_("You may not assign opportunities to others."))
        data["owner"] = owner_by_id(fields["owner_id"])
    return data


@router.get(
    "/pipelines",
    response={200: list[PipelineOut], **AUTH_ERRORS},
    url_name="pipeline-list",
    summary="List pipelines with their stages",
    tags=OPP_TAGS,
)
def pipeline_list(request: HttpRequest) -> list[PipelineOut]:
    """The active pipelines you may work in, default first, each with its stages in order."""
    pipelines = access.pipelines_visible_to(api_user(request)).prefetch_related("stages")
    return [
        PipelineOut(
            id=p.pk,
            name=p.name,
            is_default=p.is_default,
            currency=p.currency,
            team_id=p.team_id,
            stages=[StageOut.of(s) for s in sorted(p.stages.all(), key=lambda s: (s.order, s.pk))],
        )
        for p in pipelines
    ]


@router.get(
    "/opportunities",
    response={200: OpportunityPage, **LIST_ERRORS},
    url_name="opportunity-list",
    summary="List opportunities",
    tags=OPP_TAGS,
)
def opportunity_list(request: HttpRequest, filters: Query[OpportunityListQuery]) -> OpportunityPage:
    """The opportunities you may see, filtered, searched and sorted; cursor-paginated."""
    user = api_user(request)
    owner_id = None
    if filters.owner == "me":
        owner_id = user.pk
    elif filters.owner:
        owner_id = int(filters.owner)
    criteria = selectors.OpportunityFilters(
        q=filters.q,
        pipeline_id=filters.pipeline,
        stage_id=filters.stage,
        status=filters.status or "",
        owner_id=owner_id,
        customer_id=filters.customer,
        intent=filters.intent or "",
        close_from=filters.close_from,
        close_to=filters.close_to,
        sort=filters.sort,
    )
    page = paged(
        filters.cursor,
        lambda: selectors.opportunity_list(
            user=user, filters=criteria, cursor=filters.cursor, limit=filters.limit
        ),
    )
    return OpportunityPage(
        items=[OpportunityListItem.from_opportunity(o) for o in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/opportunities",
    response={201: OpportunityOut, **WRITE_ERRORS},
    url_name="opportunity-create",
    summary="Open an opportunity",
    tags=OPP_TAGS,
)
def opportunity_create(request: HttpRequest, payload: OpportunityIn) -> Status[OpportunityOut]:
    """Open an opportunity for a customer you may see: in the default pipeline's first
    open stage unless ``pipeline_id``/``stage_id`` say otherwise; owned by you unless
    ``owner_id`` (which needs the assign permission)."""
    user = api_user(request)
    if not user.has_perm("sales.add_opportunity"):
        raise PermissionDenied
    data = _opportunity_data(request, payload.model_dump(exclude_unset=True), None)
    opp = services.opportunity_create(actor=user, data=data)
    return Status(201, OpportunityOut.from_opportunity(opp))


@router.get(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **READ_ERRORS},
    url_name="opportunity-detail",
    summary="Get an opportunity",
    tags=OPP_TAGS,
)
def opportunity_get(request: HttpRequest, opportunity_id: OpportunityId) -> OpportunityOut:
    opp = access.opportunity_access_by_id(api_user(request), opportunity_id, "view")
    return OpportunityOut.from_opportunity(opp)


@router.patch(
    "/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **WRITE_ERRORS},
    url_name="opportunity-update",
    summary="Change an opportunity",
    tags=OPP_TAGS,
)
def opportunity_update(
    request: HttpRequest, opportunity_id: OpportunityId, payload: OpportunityPatch
) -> OpportunityOut:
    """Change the fields sent; the rest stay. Changing the owner needs the assign
    permission; the stage changes with ``POST …/move``."""
    user = api_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "edit")
    data = _opportunity_data(request, payload.model_dump(exclude_unset=True), opp)
    opp = services.opportunity_update(actor=user, opportunity=opp, data=data)
    return OpportunityOut.from_opportunity(opp)


@router.delete(
    "/opportunities/{opportunity_id}",
    response={204: None, **WRITE_ERRORS},
    url_name="opportunity-delete",
    summary="Move an opportunity to the trash",
    tags=OPP_TAGS,
)
def opportunity_delete(request: HttpRequest, opportunity_id: OpportunityId) -> Status[None]:
    """Soft delete: hidden everywhere, restorable with ``POST …/restore``."""
    user = api_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "delete")
    services.opportunity_delete(actor=user, opportunity=opp)
    return Status(204, None)


@router.post(
    "/opportunities/{opportunity_id}/restore",
    response={200: OpportunityOut, **WRITE_ERRORS},
    url_name="opportunity-restore",
    summary="Restore an opportunity from the trash",
    tags=OPP_TAGS,
)
def opportunity_restore(request: HttpRequest, opportunity_id: OpportunityId) -> OpportunityOut:
    """Bring a soft-deleted opportunity back (one not in the trash is left as it is)."""
    user = api_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "restore", include_deleted=True)
    if opp.deleted_at is not None:
        services.opportunity_restore(actor=user, opportunity=opp)
        opp.refresh_from_db(fields=["deleted_at", "updated_at"])
    return OpportunityOut.from_opportunity(opp)


@router.post(
    "/opportunities/{opportunity_id}/move",
    response={200: OpportunityOut, **WRITE_ERRORS},
    url_name="opportunity-move",
    summary="Move an opportunity to another stage",
    tags=OPP_TAGS,
)
def opportunity_move(
    request: HttpRequest, opportunity_id: OpportunityId, payload: MoveIn
) -> OpportunityOut:
    """Move to a stage of the opportunity's pipeline; the time spent in the stage it
    leaves goes to the stage history. A won or lost stage closes the opportunity and
    needs ``win_loss_reason`` (else 422 naming it); an open stage reopens a closed one."""
    user = api_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "move")
    stage = Stage.objects.filter(pk=payload.stage_id, pipeline_id=opp.pipeline_id).first()
    if stage is None:
        raise field_error("stage_id", _("No such stage in the pipeline."), "does_not_exist")
    opp = services.opportunity_move(
        actor=user,
        opportunity=opp,
        stage=stage,
        win_loss_reason=payload.win_loss_reason or "",
        note=payload.note,
    )
    return OpportunityOut.from_opportunity(opp)


@router.get(
    "/opportunities/{opportunity_id}/stage-history",
    response={200: list[StageChangeOut], **READ_ERRORS},
    url_name="opportunity-stage-history",
    summary="An opportunity's stage changes",
    tags=OPP_TAGS,
)
def opportunity_stage_history(
    request: HttpRequest, opportunity_id: OpportunityId
) -> list[StageChangeOut]:
    """Every stage change, newest first, with the time spent in the stage left."""
    opp = access.opportunity_access_by_id(api_user(request), opportunity_id, "view")
    return [
        StageChangeOut(
            id=c.pk,
            from_stage=StageOut.of(c.from_stage) if c.from_stage else None,
            to_stage=StageOut.of(c.to_stage),
            actor=UserRef.of(c.actor),
            changed_at=c.changed_at,
            seconds_in_previous_stage=c.seconds_in_previous_stage,
        )
        for c in selectors.opportunity_stage_history(opp)
    ]


@router.get(
    "/forecast",
    response={200: ForecastOut, **READ_ERRORS},
    url_name="forecast",
    summary="Sales forecast by month and owner",
    tags=OPP_TAGS,
)
def forecast_get(request: HttpRequest, params: Query[ForecastQuery]) -> ForecastOut:
    """The forecast of a pipeline for a year over the opportunities you may see, by
    expected close month and by owner: won, open (unweighted and weighted by the stage's
    probability), commit and best case. 404 when you may not use the pipeline."""
    user = api_user(request)
    if params.pipeline is not None:
        pipeline = access.pipeline_access_by_id(user, params.pipeline)
    else:
        found = access.pipelines_visible_to(user).order_by("-is_default", "id").first()
        if found is None:
            raise Http404("No pipeline")
        pipeline = found
    year = params.year or timezone.localdate().year
    result = selectors.forecast(user=user, pipeline=pipeline, year=year)
    return ForecastOut(
        pipeline=Ref(id=pipeline.pk, name=pipeline.name),
        year=year,
        currency=pipeline.currency,
        months=[ForecastRowOut.of(m) for m in result.months],
        owners=[ForecastRowOut.of(o) for o in result.owners],
        total=ForecastRowOut.of(result.total),
    )
