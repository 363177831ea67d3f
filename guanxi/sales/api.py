"""REST: leads — capture, assignment, disqualification and conversion to a customer.

Handlers parse input, authorise through ``access``, call a service or selector and render
(the conventions, error shapes and helpers of ``guanxi.customers.api``). Invisible leads
answer 404, visible leads the user may not act on answer 403.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router
from ninja.responses import Status

from guanxi.core.pagination import keyset_page
from guanxi.customers import access as customer_access
from guanxi.customers.api import (
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    _actor,
    _channel,
    _duplicates,
    _field_error,
    _owner,
    _paged,
)
from guanxi.customers.models import Customer
from guanxi.customers.schemas import (
    CursorQuery,
    DuplicateConflictOut,
    Id,
    TimelineEntryOut,
    TimelinePage,
    UserRef,
    ValidationErrorOut,
)
from guanxi.sales import access, selectors, services
from guanxi.sales.models import Lead
from guanxi.sales.schemas import (
    AssignIn,
    ConvertedOut,
    ConvertIn,
    DisqualifyIn,
    LeadIn,
    LeadListItem,
    LeadListQuery,
    LeadOut,
    LeadPage,
    LeadPatch,
)

router = Router(tags=["leads"])

LeadId = Path[Id]


def _lead_data(request: HttpRequest, fields: dict[str, Any], lead: Lead | None) -> dict[str, Any]:
    """Turn API fields into service ``data`` (ids → rows); check who may set the owner:
    anyone but yourself (or the pool) needs the assign permission."""
    data = {k: v for k, v in fields.items() if k not in {"channel_id", "owner_id", "consent"}}
    if "channel_id" in fields:
        data["channel"] = _channel(fields["channel_id"]) if fields["channel_id"] else None
    if "owner_id" in fields:
        actor = _actor(request)
        current = lead.owner_id if lead is not None else actor.pk
        if fields["owner_id"] != current:
            allowed = (
                access.lead_can(actor, lead, "assign")
                if lead is not None
                else actor.has_perm(access.ACTION_PERMS["assign"])
            )
            if not allowed:
                raise PermissionDenied(_("You may not assign leads to others."))
        data["owner"] = _owner(fields["owner_id"]) if fields["owner_id"] else None
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
    user = _actor(request)
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
    page = _paged(
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
    user = _actor(request)
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
    return LeadOut.from_lead(access.lead_access_by_id(_actor(request), lead_id, "view"))


@router.patch(
    "/leads/{lead_id}",
    response={200: LeadOut, **WRITE_ERRORS},
    url_name="lead-update",
    summary="Change a lead",
)
def lead_update(request: HttpRequest, lead_id: LeadId, payload: LeadPatch) -> LeadOut:
    """Change the fields sent of an open lead; the rest stay. Changing the owner needs the
    assign permission; disqualify and convert have their own operations."""
    user = _actor(request)
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
    user = _actor(request)
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
    user = _actor(request)
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
    user = _actor(request)
    lead = access.lead_access_by_id(user, lead_id, "assign")
    owner = _owner(payload.owner_id) if payload.owner_id is not None else None
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
    user = _actor(request)
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
    user = _actor(request)
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
    user = _actor(request)
    lead = access.lead_access_by_id(user, lead_id, "convert")
    customer: Customer | None = None
    if payload.customer_id is not None:
        try:
            customer = customer_access.customer_access_by_id(user, payload.customer_id, "edit")
        except Http404 as exc:
            raise _field_error("customer_id", _("No such customer."), "does_not_exist") from exc
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
                duplicates=_duplicates(user, exc.matches),
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
    lead = access.lead_access_by_id(_actor(request), lead_id, "view")
    result = _paged(
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
