"""REST: customers, contacts, tags and source channels.

Handlers parse input, authorise through ``access``, call a service or selector and render.
Invisible rows answer 404, visible rows the user may not act on answer 403.
"""

from datetime import datetime
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router
from ninja.responses import Status

from guanxi.activities.selectors import timeline_for_customer
from guanxi.core.api_support import api_user, field_error, paged
from guanxi.core.pagination import keyset_page
from guanxi.customers import access, selectors, services
from guanxi.customers.models import Channel, Contact, Customer, Tag
from guanxi.customers.schemas import (
    ChannelOut,
    ContactIn,
    ContactListQuery,
    ContactOut,
    ContactPage,
    ContactPatch,
    CursorPage,
    CursorQuery,
    CustomerIn,
    CustomerListItem,
    CustomerListQuery,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    DuplicateConflictOut,
    DuplicateOut,
    DuplicateQuery,
    ErrorOut,
    Id,
    Kind,
    Out,
    ReassignIn,
    Ref,
    Str32,
    Str100,
    TagOut,
    Tier,
    TimelineEntryOut,
    TimelinePage,
    UserRef,
    ValidationErrorOut,
)
from guanxi.customers.search import search_filter as customer_search_filter
from guanxi.users.models import Team, User
from guanxi.users.selectors import team_get, user_get_active

router = Router()

# What every authenticated operation may answer besides its own statuses.
AUTH_ERRORS: dict[int, Any] = {401: ErrorOut, 429: ErrorOut}
READ_ERRORS: dict[int, Any] = {**AUTH_ERRORS, 404: ErrorOut, 422: ValidationErrorOut}
LIST_ERRORS: dict[int, Any] = {**AUTH_ERRORS, 400: ValidationErrorOut, 422: ValidationErrorOut}
WRITE_ERRORS: dict[int, Any] = {
    **AUTH_ERRORS,
    400: ValidationErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ValidationErrorOut,
}

CustomerId = Path[Id]
ContactId = Path[Id]


# --- lookups by id of referenced rows (not row-scoped: anyone may pick them) -----------


def owner_by_id(owner_id: int) -> User:
    owner = user_get_active(user_id=owner_id)
    if owner is None:
        raise field_error("owner_id", _("No active user with this id."), "does_not_exist")
    return owner


def team_by_id(team_id: int) -> Team:
    team = team_get(team_id=team_id)
    if team is None:
        raise field_error("team_id", _("No team with this id."), "does_not_exist")
    return team


def channel_by_id(channel_id: int) -> Channel:
    channel = selectors.channel_get(channel_id=channel_id)
    if channel is None:
        raise field_error("channel_id", _("No source channel with this id."), "does_not_exist")
    return channel


def tags_by_ids(tag_ids: list[int]) -> list[Tag]:
    tags = selectors.tags_by_ids(tag_ids=set(tag_ids))
    if len(tags) != len(set(tag_ids)):
        missing = sorted(set(tag_ids) - {t.pk for t in tags})
        raise field_error(
            "tag_ids",
            _("No tag with id %(ids)s.") % {"ids": ", ".join(map(str, missing))},
            "does_not_exist",
        )
    return tags


def _customer_data(
    request: HttpRequest, fields: dict[str, Any], customer: Customer | None
) -> dict[str, Any]:
    """Turn API fields into service ``data`` (ids → rows); check who may set the owner."""
    data = {
        k: v
        for k, v in fields.items()
        if k not in {"channel_id", "owner_id", "team_id", "tag_ids", "allow_duplicates"}
    }
    if "channel_id" in fields:
        data["channel"] = channel_by_id(fields["channel_id"]) if fields["channel_id"] else None
    if "team_id" in fields:
        data["team"] = team_by_id(fields["team_id"]) if fields["team_id"] else None
    if "owner_id" in fields:
        actor = api_user(request)
        current = customer.owner_id if customer else actor.pk
        if fields["owner_id"] != current:
            allowed = (
                access.customer_can(actor, customer, "reassign")
                if customer
                else actor.has_perm(access.ACTION_PERMS["reassign"])
            )
            if not allowed:
                raise PermissionDenied(_("You may not change the owner of customers."))
        data["owner"] = owner_by_id(fields["owner_id"]) if fields["owner_id"] else None
    return data


def duplicates_out(user: User, found: list[tuple[Customer, list[str]]]) -> list[DuplicateOut]:
    """Probable duplicates; the id and name only of those the user may see."""
    ids = [c.pk for c, _reasons in found]
    visible = set(access.customers_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    return [
        DuplicateOut(
            id=c.pk if c.pk in visible else None,
            name=c.name if c.pk in visible else None,
            owner=UserRef.of(c.owner),
            visible=c.pk in visible,
            reasons=reasons,
        )
        for c, reasons in found
    ]


def _customer_out(user: User, customer: Customer) -> CustomerOut:
    detail = selectors.customer_detail(user=user, customer_id=customer.pk)
    return CustomerOut.from_customer(detail or customer)


# --- customers ----------------------------------------------------------------------------


@router.get(
    "/customers",
    response={200: CustomerPage, **LIST_ERRORS},
    tags=["customers"],
    url_name="customer-list",
    summary="List customers",
)
def customer_list(request: HttpRequest, filters: Query[CustomerListQuery]) -> CustomerPage:
    """The customers you may see, filtered, searched and sorted; cursor-paginated."""
    user = api_user(request)
    owner_id = None
    if filters.owner == "me":
        owner_id = user.pk
    elif filters.owner:
        owner_id = int(filters.owner)
    criteria = selectors.CustomerFilters(
        q=filters.q,
        owner_id=owner_id,
        team_id=filters.team,
        kind=filters.kind or "",
        tier=filters.tier or "",
        status=filters.status or "",
        industry=filters.industry or "",
        channel_id=filters.channel,
        tag_id=filters.tag,
        province=filters.province,
        city=filters.city,
        sort=filters.sort,
    )
    page = paged(
        filters.cursor,
        lambda: selectors.customer_list(
            user=user, filters=criteria, cursor=filters.cursor, limit=filters.limit
        ),
    )
    return CustomerPage(
        items=[CustomerListItem.from_customer(c) for c in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


class PoolCustomerOut(Out):
    """A customer in the pool: enough to choose it, not to contact it before claiming."""

    id: int
    name: str
    kind: Kind
    tier: Tier
    province: str
    city: str
    channel: Ref | None
    created_at: datetime


class PoolCustomerPage(CursorPage):
    items: list[PoolCustomerOut]


class PoolQuery(CursorQuery):
    q: Str100 = Field("", description="Search: name, pinyin, phone, city.")
    province: Str32 = ""


@router.get(
    "/customers/pool",
    response={200: PoolCustomerPage, **LIST_ERRORS},
    tags=["customers"],
    url_name="customer-pool",
    summary="Customers nobody owns (the pool)",
)
def customer_pool(request: HttpRequest, filters: Query[PoolQuery]) -> PoolCustomerPage:
    """Newest first; claim one with ``POST /customers/{id}/claim``."""
    user = api_user(request)
    qs = access.customers_in_pool(user).select_related("channel")
    if filters.q:
        qs = customer_search_filter(qs, filters.q)
    if filters.province:
        qs = qs.filter(province=filters.province)
    page = paged(
        filters.cursor,
        lambda: keyset_page(
            qs, order=["-created_at", "-id"], cursor=filters.cursor, limit=filters.limit
        ),
    )
    return PoolCustomerPage(
        items=[
            PoolCustomerOut(
                id=c.pk,
                name=c.name,
                kind=cast(Kind, c.kind),
                tier=cast(Tier, c.tier),
                province=c.province,
                city=c.city,
                channel=Ref(id=c.channel.pk, name=c.channel.name) if c.channel else None,
                created_at=c.created_at,
            )
            for c in page.items
        ],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get(
    "/customers/duplicates",
    tags=["customers"],
    url_name="customer-duplicates",
    response={200: list[DuplicateOut], **AUTH_ERRORS, 403: ErrorOut, 422: ValidationErrorOut},
    summary="Find probable duplicates",
)
def customer_duplicates(request: HttpRequest, query: Query[DuplicateQuery]) -> list[DuplicateOut]:
    """Customers that are probably the same as the given values (across the whole company;
    for those you may not see only the owner is shown, so you know whom to ask)."""
    user = api_user(request)
    if not user.has_perm(access.ACTION_PERMS["view"]):
        raise PermissionDenied
    found = services.duplicates_find(
        name=query.name,
        city=query.city,
        phone=query.phone,
        mobile=query.mobile,
        email=query.email,
        uscc=query.uscc,
        exclude_id=query.exclude_id,
    )
    return duplicates_out(user, found)


@router.post(
    "/customers",
    tags=["customers"],
    url_name="customer-create",
    response={201: CustomerOut, 409: DuplicateConflictOut, **WRITE_ERRORS},
    summary="Create a customer",
)
def customer_create(request: HttpRequest, payload: CustomerIn) -> Status[Any]:
    """Create a customer (owned by you unless ``owner_id`` says otherwise). If probable
    duplicates exist the answer is 409 with them, unless ``allow_duplicates`` is true."""
    user = api_user(request)
    if not user.has_perm("customers.add_customer"):
        raise PermissionDenied
    fields = payload.model_dump(exclude_unset=True)
    data = _customer_data(request, fields, None)
    tags = tags_by_ids(fields["tag_ids"]) if "tag_ids" in fields else None
    if not payload.allow_duplicates:
        found = services.duplicates_find(
            name=payload.name,
            city=payload.city or "",
            phone=payload.phone or "",
            mobile=payload.mobile or "",
            email=payload.email or "",
            uscc=payload.uscc or "",
        )
        if found:
            return Status(
                409,
                DuplicateConflictOut(
                    detail=_(
                        "Probable duplicates exist; send allow_duplicates=true to create "
                        "the customer anyway."
                    ),
                    duplicates=duplicates_out(user, found),
                ),
            )
    customer = services.customer_create(actor=user, data=data, tags=tags)
    return Status(201, _customer_out(user, customer))


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerOut, **READ_ERRORS},
    tags=["customers"],
    url_name="customer-detail",
    summary="Get a customer",
)
def customer_get(request: HttpRequest, customer_id: CustomerId) -> CustomerOut:
    customer = selectors.customer_detail(user=api_user(request), customer_id=customer_id)
    if customer is None:
        raise Http404(_("No such customer."))
    return CustomerOut.from_customer(customer)


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerOut, **WRITE_ERRORS},
    tags=["customers"],
    url_name="customer-update",
    summary="Change a customer",
)
def customer_update(
    request: HttpRequest, customer_id: CustomerId, payload: CustomerPatch
) -> CustomerOut:
    """Change the fields sent; the rest stay. Changing the owner needs the reassign
    permission; ``tag_ids`` replaces the tags."""
    user = api_user(request)
    customer = access.customer_access_by_id(user, customer_id, "edit")
    fields = payload.model_dump(exclude_unset=True)
    data = _customer_data(request, fields, customer)
    tags = tags_by_ids(fields["tag_ids"]) if "tag_ids" in fields else None
    customer = services.customer_update(actor=user, customer=customer, data=data, tags=tags)
    return _customer_out(user, customer)


@router.delete(
    "/customers/{customer_id}",
    response={204: None, **WRITE_ERRORS},
    tags=["customers"],
    url_name="customer-delete",
    summary="Move a customer to the trash",
)
def customer_delete(request: HttpRequest, customer_id: CustomerId) -> Status[None]:
    """Soft delete: hidden everywhere, restorable with ``POST …/restore``."""
    user = api_user(request)
    customer = access.customer_access_by_id(user, customer_id, "delete")
    services.customer_delete(actor=user, customer=customer)
    return Status(204, None)


@router.post(
    "/customers/{customer_id}/claim",
    response={200: CustomerOut, **WRITE_ERRORS},
    tags=["customers"],
    url_name="customer-claim",
    summary="Claim a customer from the pool",
)
def customer_claim(request: HttpRequest, customer_id: CustomerId) -> CustomerOut:
    """The customer becomes yours, within your team's limit (422 beyond it, or when
    someone else got it first)."""
    user = api_user(request)
    if not user.has_perm("customers.change_customer"):
        raise PermissionDenied
    customer = access.customers_in_pool(user).filter(pk=customer_id).first()
    if customer is None:
        if access.customers_visible_to(user).filter(pk=customer_id).exists():
            raise DjangoValidationError(
                _("Someone else has claimed this customer, or it was deleted.")
            )
        raise Http404("No such customer")
    claimed = services.customer_claim(actor=user, customer=customer)
    return _customer_out(user, claimed)


@router.post(
    "/customers/{customer_id}/restore",
    response={200: CustomerOut, **WRITE_ERRORS},
    tags=["customers"],
    url_name="customer-restore",
    summary="Restore a customer from the trash",
)
def customer_restore(request: HttpRequest, customer_id: CustomerId) -> CustomerOut:
    """Bring a soft-deleted customer back (a customer not in the trash is left as it is)."""
    user = api_user(request)
    customer = access.customer_access_by_id(user, customer_id, "restore", include_deleted=True)
    if customer.deleted_at is not None:
        services.customer_restore(actor=user, customer=customer)
    return _customer_out(user, customer)


@router.post(
    "/customers/{customer_id}/reassign",
    response={200: CustomerOut, **WRITE_ERRORS},
    tags=["customers"],
    url_name="customer-reassign",
    summary="Give a customer to another owner",
)
def customer_reassign(
    request: HttpRequest, customer_id: CustomerId, payload: ReassignIn
) -> CustomerOut:
    """The new owner's team becomes the customer's team; the change and ``reason`` are
    logged on the timeline and the new owner is notified."""
    user = api_user(request)
    customer = access.customer_access_by_id(user, customer_id, "reassign")
    new_owner = owner_by_id(payload.owner_id)
    services.customers_reassign(
        actor=user,
        customers=access.customers_actionable_by(user, "reassign").filter(pk=customer.pk),
        new_owner=new_owner,
        reason=payload.reason,
    )
    customer.refresh_from_db()
    return _customer_out(user, customer)


@router.get(
    "/customers/{customer_id}/timeline",
    response={200: TimelinePage, **READ_ERRORS, 400: ValidationErrorOut},
    tags=["customers"],
    url_name="customer-timeline",
    summary="A customer's timeline (audit trail)",
)
def customer_timeline(
    request: HttpRequest, customer_id: CustomerId, page: Query[CursorQuery]
) -> TimelinePage:
    """Every recorded change to the customer, newest first."""
    customer = access.customer_access_by_id(api_user(request), customer_id, "view")
    result = paged(
        page.cursor,
        lambda: keyset_page(
            timeline_for_customer(customer_id=customer.pk),
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


# --- contacts -----------------------------------------------------------------------------


@router.get(
    "/contacts",
    response={200: ContactPage, **LIST_ERRORS},
    tags=["contacts"],
    url_name="contact-list",
    summary="List contacts",
)
def contact_list(request: HttpRequest, filters: Query[ContactListQuery]) -> ContactPage:
    """Contacts of customers you may see, by name; cursor-paginated."""
    user = api_user(request)
    if (
        filters.customer
        and not access.customers_visible_to(user).filter(pk=filters.customer).exists()
    ):
        return ContactPage(items=[], next_cursor=None, has_more=False)
    page = paged(
        filters.cursor,
        lambda: selectors.contact_list(
            user=user,
            q=filters.q,
            customer_id=filters.customer,
            cursor=filters.cursor,
            limit=filters.limit,
        ),
    )
    # The selector prefetches every link; show only roles at customers the user may see.
    customer_ids = {link.customer_id for c in page.items for link in c.links.all()}
    visible = (
        set(
            access.customers_visible_to(user)
            .filter(pk__in=customer_ids)
            .values_list("pk", flat=True)
        )
        if customer_ids
        else set()
    )
    return ContactPage(
        items=[
            ContactOut.of(c, [link for link in c.links.all() if link.customer_id in visible])
            for c in page.items
        ],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactOut, **READ_ERRORS},
    tags=["contacts"],
    url_name="contact-detail",
    summary="Get a contact",
)
def contact_get(request: HttpRequest, contact_id: ContactId) -> ContactOut:
    user = api_user(request)
    contact = access.contact_access_by_id(user, contact_id, "view")
    return ContactOut.of(contact, selectors.contact_links_visible(user=user, contact=contact))


@router.post(
    "/contacts",
    response={201: ContactOut, **WRITE_ERRORS},
    tags=["contacts"],
    url_name="contact-create",
    summary="Create a contact of a customer",
)
def contact_create(request: HttpRequest, payload: ContactIn) -> Status[ContactOut]:
    """A new person at ``customer_id``, with their title and department there."""
    user = api_user(request)
    if not user.has_perm("customers.add_contact"):
        raise PermissionDenied
    try:
        customer = access.customer_access_by_id(user, payload.customer_id, "edit")
    except Http404 as exc:
        raise field_error("customer_id", _("No such customer."), "does_not_exist") from exc
    data = payload.model_dump(
        exclude_unset=True, exclude={"customer_id", "title", "department", "is_primary"}
    )
    contact = services.contact_create(
        actor=user,
        customer=customer,
        data=data,
        title=payload.title,
        department=payload.department,
        is_primary=payload.is_primary,
    )
    return Status(
        201, ContactOut.of(contact, selectors.contact_links_visible(user=user, contact=contact))
    )


@router.patch(
    "/contacts/{contact_id}",
    response={200: ContactOut, **WRITE_ERRORS},
    tags=["contacts"],
    url_name="contact-update",
    summary="Change a contact",
)
def contact_update(
    request: HttpRequest,
    contact_id: ContactId,
    payload: ContactPatch,
) -> ContactOut:
    user = api_user(request)
    contact = access.contact_access_by_id(user, contact_id, "edit")
    contact = services.contact_update(
        actor=user, contact=contact, data=payload.model_dump(exclude_unset=True)
    )
    return ContactOut.of(contact, selectors.contact_links_visible(user=user, contact=contact))


@router.delete(
    "/contacts/{contact_id}",
    response={204: None, **WRITE_ERRORS},
    tags=["contacts"],
    url_name="contact-delete",
    summary="Delete a contact",
)
def contact_delete(request: HttpRequest, contact_id: ContactId) -> Status[None]:
    user = api_user(request)
    contact: Contact = access.contact_access_by_id(user, contact_id, "delete")
    services.contact_delete(actor=user, contact=contact)
    return Status(204, None)


# --- reference lists ----------------------------------------------------------------------


@router.get(
    "/tags",
    response={200: list[TagOut], **AUTH_ERRORS},
    tags=["reference"],
    url_name="tag-list",
    summary="All tags",
)
def tag_list(request: HttpRequest) -> list[TagOut]:
    return [TagOut(id=t.pk, name=t.name, color=t.color) for t in selectors.tag_list()]


@router.get(
    "/channels",
    response={200: list[ChannelOut], **AUTH_ERRORS},
    tags=["reference"],
    url_name="channel-list",
    summary="All source channels",
)
def channel_list(request: HttpRequest) -> list[ChannelOut]:
    return [
        ChannelOut(id=c.pk, name=c.name, is_active=c.is_active) for c in selectors.channel_list()
    ]
