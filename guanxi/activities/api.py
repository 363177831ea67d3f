"""REST: follow-ups (plan, record, complete, cancel), My day, meetings (with conflict
checks and the calendar feed address) and call lists."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, prefetch_related_objects
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StrictBool, StringConstraints

from guanxi.activities import selectors, services
from guanxi.activities.access import (
    calendar_people,
    call_list_access_by_id,
    call_list_entries_visible_to,
    call_list_entry_access_by_id,
    call_lists_managed_by,
    call_lists_visible_to,
    follow_up_can_work,
    follow_ups_visible_to,
    meeting_access_by_id,
    meeting_can_create,
    meetings_visible_to,
)
from guanxi.activities.models import CallList, CallListEntry, FollowUp, Meeting
from guanxi.core.api_support import api_user, field_error, paged
from guanxi.core.pagination import Page, keyset_page
from guanxi.customers.access import (
    contacts_visible_to,
    customer_access_by_id,
    customers_visible_to,
)
from guanxi.customers.api import AUTH_ERRORS, LIST_ERRORS, READ_ERRORS, WRITE_ERRORS
from guanxi.customers.schemas import (
    CursorPage,
    ErrorOut,
    Id,
    Industry,
    Kind,
    Name200,
    Out,
    Ref,
    Str32,
    Str100,
    Str200,
    Str500,
    Tier,
    UserRef,
    _storable,
)
from guanxi.customers.schemas import Status as CustomerStatus
from guanxi.customers.selectors import CustomerFilters
from guanxi.sales.access import (
    lead_access_by_id,
    leads_visible_to,
    opportunities_visible_to,
    opportunity_access_by_id,
)
from guanxi.users.models import User

router = Router(tags=["follow-ups"])

Method = Literal["call", "visit", "wechat", "email", "meeting", "task", "other"]
Outcome = Literal["reached", "interested", "appointment", "not_reached", "not_interested", "other"]
Text4000 = Annotated[str, StringConstraints(max_length=4000)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]


class FollowUpOut(Out):
    id: int
    owner: UserRef | None
    customer_id: int | None
    lead_id: int | None
    opportunity_id: int | None = Field(description="Set when it is about an opportunity.")
    subject: str = Field(description="The customer's or the lead's name.")
    method: Method
    due_at: datetime | None = Field(description="When it is planned; null for a record.")
    plan: str
    done_at: datetime | None
    outcome: Outcome | Literal[""]
    summary: str
    duration_minutes: int | None
    cancelled_at: datetime | None

    @staticmethod
    def of(f: FollowUp) -> "FollowUpOut":
        return FollowUpOut(
            id=f.pk,
            owner=UserRef.of(f.owner),
            customer_id=f.customer_id,
            lead_id=f.lead_id,
            opportunity_id=f.opportunity_id,
            subject=str(f.customer or f.lead),
            method=f.method,  # type: ignore[arg-type]
            due_at=f.due_at,
            plan=f.plan,
            done_at=f.done_at,
            outcome=f.outcome,  # type: ignore[arg-type]
            summary=f.summary,
            duration_minutes=f.duration_minutes,
            cancelled_at=f.cancelled_at,
        )


class FollowUpPage(CursorPage):
    items: list[FollowUpOut]


class MyDayOut(Out):
    overdue: list[FollowUpOut]
    today: list[FollowUpOut]
    upcoming: list[FollowUpOut] = Field(description="The next seven days.")
    done_today: list[FollowUpOut]
    meetings: list["MeetingOut"] = Field(
        default_factory=list, description="Today's meetings you organise or attend."
    )


class FollowUpQuery(Schema):
    status: Literal["open", "done", "all"] = "open"
    mine: bool = Field(True, description="Only your own; false: all you may see.")
    customer: Id | None = None
    lead: Id | None = None
    opportunity: Id | None = None
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)


class _Subject(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id | None = None
    lead_id: Id | None = None
    opportunity_id: Id | None = Field(
        None, description="An opportunity instead (its customer is set too)."
    )


class PlanIn(_Subject):
    method: Method
    due_at: datetime
    plan: Str500 = ""


class RecordIn(_Subject):
    method: Method
    outcome: Outcome
    summary: Text4000 = ""
    duration_minutes: Minutes | None = None
    done_at: datetime | None = Field(None, description="Default: now.")


class CompleteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    summary: Text4000 = ""
    duration_minutes: Minutes | None = None
    next_due_at: datetime | None = Field(None, description="Plan the next follow-up.")
    next_method: Method | None = None
    next_plan: Str500 = ""


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Str500 = ""


def _subject(user: Any, body: _Subject) -> dict[str, Any]:
    given = {
        name: value
        for name, value in (
            ("customer_id", body.customer_id),
            ("lead_id", body.lead_id),
            ("opportunity_id", body.opportunity_id),
        )
        if value is not None
    }
    if len(given) != 1:
        raise DjangoValidationError(
            {"customer_id": [_("Give exactly one of customer_id, lead_id and opportunity_id.")]}
        )
    field, pk = next(iter(given.items()))
    try:
        if field == "customer_id":
            return {"customer": customer_access_by_id(user, pk, "edit")}
        if field == "lead_id":
            return {"lead": lead_access_by_id(user, pk, "edit")}
        return {"opportunity": opportunity_access_by_id(user, pk, "edit")}
    except Http404 as exc:
        raise DjangoValidationError({field: [_("No such record you may change.")]}) from exc


def _work(user: Any, pk: int) -> FollowUp:
    follow_up = (
        follow_ups_visible_to(user)
        .select_related("owner", "customer", "lead")
        .filter(pk=pk)
        .first()
    )
    if follow_up is None:
        raise Http404("No such follow-up")
    if not follow_up_can_work(user, follow_up):
        raise PermissionDenied
    return follow_up


@router.get(
    "/follow-ups",
    response={200: FollowUpPage, **LIST_ERRORS},
    url_name="follow-up-list",
    summary="List follow-ups",
)
def follow_up_list(request: HttpRequest, query: Query[FollowUpQuery]) -> FollowUpPage:
    """Open plans soonest first, done ones latest first, or all newest first."""
    user = api_user(request)
    qs = follow_ups_visible_to(user).select_related("owner", "customer", "lead")
    if query.mine:
        qs = qs.filter(owner=user)
    if query.customer:
        qs = qs.filter(customer_id=query.customer)
    if query.lead:
        qs = qs.filter(lead_id=query.lead)
    if query.opportunity:
        qs = qs.filter(opportunity_id=query.opportunity)
    if query.status == "open":
        qs, order = qs.filter(done_at__isnull=True, cancelled_at__isnull=True), ["due_at", "id"]
    elif query.status == "done":
        qs, order = qs.filter(done_at__isnull=False), ["-done_at", "-id"]
    else:
        order = ["-id"]
    page: Page[FollowUp] = paged(
        query.cursor,
        lambda: keyset_page(qs, order=order, cursor=query.cursor, limit=query.limit),
    )
    return FollowUpPage(
        items=[FollowUpOut.of(f) for f in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get("/my-day", response={200: MyDayOut, **AUTH_ERRORS}, url_name="my-day", summary="My day")
def my_day(request: HttpRequest) -> MyDayOut:
    """Your follow-ups: overdue, due today, the next seven days, done today; and today's
    meetings."""
    day = selectors.my_day(user=api_user(request))
    prefetch_related_objects(day.meetings, "organiser", "attendees", "contacts")
    return MyDayOut(
        overdue=[FollowUpOut.of(f) for f in day.overdue],
        today=[FollowUpOut.of(f) for f in day.today],
        upcoming=[FollowUpOut.of(f) for f in day.upcoming],
        done_today=[FollowUpOut.of(f) for f in day.done_today],
        meetings=[MeetingOut.of(m) for m in day.meetings],
    )


@router.post(
    "/follow-ups",
    response={201: FollowUpOut, **WRITE_ERRORS},
    url_name="follow-up-plan",
    summary="Plan a follow-up",
)
def follow_up_plan(request: HttpRequest, body: PlanIn) -> Status:
    """Plan a follow-up of a customer or a lead you may change (yours to do)."""
    user = api_user(request)
    follow_up = services.follow_up_plan(
        actor=user, method=body.method, due_at=body.due_at, plan=body.plan, **_subject(user, body)
    )
    return Status(201, FollowUpOut.of(follow_up))


@router.post(
    "/follow-ups/record",
    response={201: FollowUpOut, **WRITE_ERRORS},
    url_name="follow-up-record",
    summary="Record a follow-up that happened",
)
def follow_up_record(request: HttpRequest, body: RecordIn) -> Status:
    user = api_user(request)
    follow_up = services.follow_up_record(
        actor=user,
        method=body.method,
        outcome=body.outcome,
        summary=body.summary,
        duration_minutes=body.duration_minutes,
        done_at=body.done_at,
        **_subject(user, body),
    )
    return Status(201, FollowUpOut.of(follow_up))


@router.post(
    "/follow-ups/{follow_up_id}/complete",
    response={200: FollowUpOut, **WRITE_ERRORS},
    url_name="follow-up-complete",
    summary="Record a planned follow-up as done",
)
def follow_up_complete(
    request: HttpRequest, follow_up_id: Path[Id], body: CompleteIn
) -> FollowUpOut:
    """Returns the done follow-up; with ``next_due_at`` the next one is planned too."""
    user = api_user(request)
    follow_up = _work(user, follow_up_id)
    services.follow_up_complete(
        actor=user,
        follow_up=follow_up,
        outcome=body.outcome,
        summary=body.summary,
        duration_minutes=body.duration_minutes,
        next_due_at=body.next_due_at,
        next_method=body.next_method or "",
        next_plan=body.next_plan,
    )
    return FollowUpOut.of(follow_up)


@router.post(
    "/follow-ups/{follow_up_id}/cancel",
    response={200: FollowUpOut, **WRITE_ERRORS},
    url_name="follow-up-cancel",
    summary="Cancel a planned follow-up",
)
def follow_up_cancel(request: HttpRequest, follow_up_id: Path[Id], body: CancelIn) -> FollowUpOut:
    user = api_user(request)
    follow_up = _work(user, follow_up_id)
    services.follow_up_cancel(actor=user, follow_up=follow_up, reason=body.reason)
    follow_up.refresh_from_db()
    return FollowUpOut.of(follow_up)


# --- meetings -----------------------------------------------------------------------------------

Title = Name200
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_only(value: Any) -> Any:
    """Only ISO 8601 text (or a datetime): pydantic would also take a number of seconds."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise ValueError("Use an ISO 8601 date and time, e.g. 2026-11-23T10:00:00+08:00.")


IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]
Text200 = Str200
Text4000Ok = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_storable)]
Ids = Annotated[list[Id], Field(max_length=200)]
# Service field names → the API's.
MEETING_API_FIELDS = {
    "attendees": "attendee_ids",
    "contacts": "contact_ids",
    "opportunity": "opportunity_id",
    "lead": "lead_id",
    "customer": "customer_id",
}


class MeetingOut(Out):
    id: int
    uid: str = Field(description="The iCalendar UID (stable across changes).")
    title: str
    organiser: UserRef | None
    start: datetime
    end: datetime = Field(description="Exclusive; midnight after the last day when all day.")
    all_day: bool
    location: str
    description: str
    customer_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    attendees: list[UserRef]
    contacts: list[Ref]
    no_double_booking: bool
    sequence: int = Field(description="The iCalendar SEQUENCE: raised by each change.")
    cancelled_at: datetime | None

    @staticmethod
    def of(m: Meeting, *, attendees: list[Any] | None = None) -> "MeetingOut":
        people = attendees if attendees is not None else list(m.attendees.all())
        return MeetingOut(
            id=m.pk,
            uid=m.uid,
            title=m.title,
            organiser=UserRef.of(m.organiser),
            start=m.start_at,
            end=m.end_at,
            all_day=m.all_day,
            location=m.location,
            description=m.description,
            customer_id=m.customer_id,
            lead_id=m.lead_id,
            opportunity_id=m.opportunity_id,
            attendees=[UserRef(id=u.pk, name=str(u)) for u in people],
            contacts=[Ref(id=c.pk, name=c.name) for c in m.contacts.all()],
            no_double_booking=m.no_double_booking,
            sequence=m.sequence,
            cancelled_at=m.cancelled_at,
        )


class MeetingPage(CursorPage):
    items: list[MeetingOut]


MyDayOut.model_rebuild()


class ConflictOut(Out):
    user: UserRef
    meeting_id: int | None = Field(description="The meeting, when you may see it.")
    title: str = Field(description="Its title when you may see it; empty: busy.")
    start: datetime
    end: datetime
    blocking: bool = Field(description="Double booking refused: cannot be overridden.")


class ConflictsOut(Out):
    detail: str
    blocking: bool = Field(
        description="True: refused whatever you send; false: send allow_conflicts=true."
    )
    conflicts: list[ConflictOut]


class MeetingQuery(Schema):
    start: IsoTime | None = Field(None, description="Meetings ending after this time.")
    end: IsoTime | None = Field(None, description="Meetings starting before this time.")
    user_id: Id | None = Field(None, description="Whose calendar (default: yours).")
    include_cancelled: bool = False
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)


class MeetingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Title
    start: IsoTime
    end: IsoTime
    all_day: StrictBool = False
    location: Text200 = ""
    description: Text4000Ok = ""
    customer_id: Id | None = None
    lead_id: Id | None = None
    opportunity_id: Id | None = None
    attendee_ids: Ids = Field(default_factory=list, description="Colleagues invited.")
    contact_ids: Ids = Field(default_factory=list, description="Contacts of the customer invited.")
    no_double_booking: StrictBool = False
    allow_conflicts: StrictBool = Field(
        False, description="Save although someone is booked (unless double booking is refused)."
    )


class MeetingPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    start: IsoTime | None = None
    end: IsoTime | None = None
    all_day: StrictBool | None = None
    location: Text200 | None = None
    description: Text4000Ok | None = None
    customer_id: Id | None = None
    lead_id: Id | None = None
    opportunity_id: Id | None = None
    attendee_ids: Ids | None = None
    contact_ids: Ids | None = None
    no_double_booking: StrictBool | None = None
    allow_conflicts: StrictBool = False


class ConflictCheckIn(Schema):
    model_config = ConfigDict(extra="forbid")

    start: IsoTime
    end: IsoTime
    attendee_ids: Ids = Field(default_factory=list)
    meeting_id: Id | None = Field(None, description="The meeting being changed (left out).")
    no_double_booking: StrictBool = False


class FeedOut(Out):
    url: str = Field(description="Your secret iCalendar address; shown only now.")


def _utc_time(value: datetime | None, field: str) -> datetime | None:
    """Naive times are UTC; times the databases cannot hold are a field error."""
    if value is None:
        return None
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise field_error(field, _("Choose a date between 2000 and 2099.")) from exc


def _renamed(exc: DjangoValidationError) -> DjangoValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    return DjangoValidationError(
        {MEETING_API_FIELDS.get(k, k): v for k, v in exc.error_dict.items()}
    )


def _meeting_links(user: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Turn the API's ids into the records the service takes, each checked for access."""
    data: dict[str, Any] = {}
    for key in ("title", "all_day", "location", "description", "no_double_booking"):
        if key in fields:
            data[key] = fields[key]
    for key in ("start", "end"):
        if key in fields:
            data[key] = _utc_time(fields[key], key)
    if fields.get("customer_id") is not None:
        data["customer"] = customers_visible_to(user).filter(pk=fields["customer_id"]).first()
        if data["customer"] is None:
            raise field_error("customer_id", _("No such customer you may see."))
    elif "customer_id" in fields:
        data["customer"] = None
    if fields.get("lead_id") is not None:
        data["lead"] = leads_visible_to(user).filter(pk=fields["lead_id"]).first()
        if data["lead"] is None:
            raise field_error("lead_id", _("No such lead you may see."))
    elif "lead_id" in fields:
        data["lead"] = None
    if fields.get("opportunity_id") is not None:
        data["opportunity"] = (
            opportunities_visible_to(user).filter(pk=fields["opportunity_id"]).first()
        )
        if data["opportunity"] is None:
            raise field_error("opportunity_id", _("No such opportunity you may see."))
    elif "opportunity_id" in fields:
        data["opportunity"] = None
    if fields.get("attendee_ids") is not None:
        wanted = set(fields["attendee_ids"])
        people = list(User.objects.filter(pk__in=wanted, is_active=True))
        if len(people) != len(wanted):
            raise field_error("attendee_ids", _("Invite only active colleagues."))
        data["attendees"] = people
    if fields.get("contact_ids") is not None:
        wanted = set(fields["contact_ids"])
        guests = list(contacts_visible_to(user).filter(pk__in=wanted))
        if len(guests) != len(wanted):
            raise field_error("contact_ids", _("No such contact you may see."))
        data["contacts"] = guests
    return data


def _conflicts_out(exc: services.MeetingConflict) -> ConflictsOut:
    return ConflictsOut(
        detail=exc.messages[0],
        blocking=exc.blocking,
        conflicts=[
            ConflictOut(
                user=UserRef(id=c.user.pk, name=str(c.user)),
                meeting_id=c.meeting.pk if c.title else None,
                title=c.title,
                start=c.meeting.start_at,
                end=c.meeting.end_at,
                blocking=c.blocking,
            )
            for c in exc.conflicts
        ],
    )


def _meeting_for(user: Any, pk: int, action: str = "view") -> Meeting:
    meeting = meeting_access_by_id(user, pk, action)
    return meeting


@router.get(
    "/meetings",
    tags=["meetings"],
    response={200: MeetingPage, **LIST_ERRORS, 404: ErrorOut},
    url_name="meeting-list",
    summary="List meetings",
)
def meeting_list(request: HttpRequest, query: Query[MeetingQuery]) -> MeetingPage:
    """Meetings of a calendar (yours, or a colleague's your scope covers) that overlap
    [start, end), by start time."""
    user = api_user(request)
    person = user
    if query.user_id is not None and query.user_id != user.pk:
        found = calendar_people(user).filter(pk=query.user_id).first()
        if found is None:
            raise Http404("No such calendar")
        person = found
    start = _utc_time(query.start, "start") or datetime(2000, 1, 1, tzinfo=UTC)
    end = _utc_time(query.end, "end") or datetime(2100, 1, 1, tzinfo=UTC)
    qs = (
        selectors.meetings_of(user=person, start=start, end=end)
        .filter(pk__in=meetings_visible_to(user).values("pk"))
        .select_related("organiser")
        .prefetch_related("attendees", "contacts")
    )
    if not query.include_cancelled:
        qs = qs.filter(cancelled_at__isnull=True)
    page: Page[Meeting] = paged(
        query.cursor,
        lambda: keyset_page(qs, order=["start_at", "id"], cursor=query.cursor, limit=query.limit),
    )
    return MeetingPage(
        items=[MeetingOut.of(m) for m in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/meetings",
    tags=["meetings"],
    response={201: MeetingOut, 409: ConflictsOut, **WRITE_ERRORS},
    url_name="meeting-create",
    summary="Create a meeting",
)
def meeting_create(request: HttpRequest, payload: MeetingIn) -> Status[Any]:
    """You organise it. Someone already booked: 409 with the conflicts; send
    ``allow_conflicts=true`` to save anyway, unless double booking is refused
    (``blocking``). Invitations with an .ics go out once saved."""
    user = api_user(request)
    if not meeting_can_create(user):
        raise PermissionDenied
    fields = payload.model_dump(exclude={"allow_conflicts"})
    data = _meeting_links(user, fields)
    try:
        meeting = services.meeting_create(
            actor=user, data=data, allow_conflicts=payload.allow_conflicts
        )
    except services.MeetingConflict as exc:
        return Status(409, _conflicts_out(exc))
    except DjangoValidationError as exc:
        raise _renamed(exc) from exc
    return Status(201, MeetingOut.of(meeting))


@router.post(
    "/meetings/conflicts",
    tags=["meetings"],
    response={200: ConflictsOut, **WRITE_ERRORS},
    url_name="meeting-conflicts",
    summary="Check who is already booked",
)
def meeting_conflicts(request: HttpRequest, payload: ConflictCheckIn) -> ConflictsOut:
    """Who of you and the colleagues given already has a meeting then (nothing is saved)."""
    user = api_user(request)
    start, end = _utc_time(payload.start, "start"), _utc_time(payload.end, "end")
    assert start is not None and end is not None
    if end <= start:
        raise field_error("end", _("The meeting must end after it starts."))
    people = [user, *User.objects.filter(pk__in=payload.attendee_ids[:200], is_active=True)]
    organiser: Any = user
    if payload.meeting_id is not None:
        meeting = meeting_access_by_id(user, payload.meeting_id)
        organiser = meeting.organiser
        people[0] = organiser
    conflicts = services.meeting_conflicts(
        start=start,
        end=end,
        people=list(dict.fromkeys(people)),
        exclude_id=payload.meeting_id,
        refuse_double_booking=payload.no_double_booking,
        viewer=user,
    )
    if not conflicts:
        return ConflictsOut(detail=_("Everyone is free."), blocking=False, conflicts=[])
    del organiser
    return _conflicts_out(services.MeetingConflict(conflicts))


@router.get(
    "/meetings/{meeting_id}",
    tags=["meetings"],
    response={200: MeetingOut, **READ_ERRORS},
    url_name="meeting-detail",
    summary="Get a meeting",
)
def meeting_get(request: HttpRequest, meeting_id: Path[Id]) -> MeetingOut:
    return MeetingOut.of(_meeting_for(api_user(request), meeting_id))


@router.patch(
    "/meetings/{meeting_id}",
    tags=["meetings"],
    response={200: MeetingOut, 409: ConflictsOut, **WRITE_ERRORS},
    url_name="meeting-update",
    summary="Change a meeting",
)
def meeting_update(
    request: HttpRequest, meeting_id: Path[Id], payload: MeetingPatch
) -> Status[Any]:
    """Change the fields sent. The organiser or whoever's calendar scope covers them may;
    invitations go out again with a higher SEQUENCE."""
    user = api_user(request)
    meeting = _meeting_for(user, meeting_id, "edit")
    fields = payload.model_dump(exclude_unset=True, exclude={"allow_conflicts"})
    for key in ("title", "start", "end", "all_day", "no_double_booking"):
        if key in fields and fields[key] is None:
            raise field_error(key, _("This field cannot be null."))
    for key in ("location", "description"):
        if key in fields and fields[key] is None:
            fields[key] = ""
    for key in ("attendee_ids", "contact_ids"):
        if key in fields and fields[key] is None:
            fields[key] = []
    data = _meeting_links(user, fields)
    try:
        updated = services.meeting_update(
            actor=user, meeting=meeting, data=data, allow_conflicts=payload.allow_conflicts
        )
    except services.MeetingConflict as exc:
        return Status(409, _conflicts_out(exc))
    except DjangoValidationError as exc:
        raise _renamed(exc) from exc
    return Status(200, MeetingOut.of(updated))


@router.post(
    "/meetings/{meeting_id}/cancel",
    tags=["meetings"],
    response={200: MeetingOut, **WRITE_ERRORS},
    url_name="meeting-cancel",
    summary="Cancel a meeting",
)
def meeting_cancel(request: HttpRequest, meeting_id: Path[Id], payload: CancelIn) -> MeetingOut:
    """Everyone invited gets a cancellation (.ics METHOD:CANCEL)."""
    user = api_user(request)
    meeting = _meeting_for(user, meeting_id, "edit")
    cancelled = services.meeting_cancel(actor=user, meeting=meeting, reason=payload.reason)
    return MeetingOut.of(cancelled)


@router.post(
    "/calendar/feed",
    tags=["meetings"],
    response={200: FeedOut, **WRITE_ERRORS},
    url_name="calendar-feed-reset",
    summary="Make a new secret calendar address",
)
def calendar_feed_reset(request: HttpRequest) -> FeedOut:
    """A new iCalendar subscription address for your meetings and follow-ups; the old one
    stops working. Only shown in this answer."""
    token = services.calendar_feed_reset(user=api_user(request))
    return FeedOut(url=request.build_absolute_uri(reverse("calendar:feed", args=[token])))


# --- call lists ---------------------------------------------------------------------------------


class CallListOut(Out):
    id: int
    name: str
    owner: UserRef | None
    created_at: datetime
    my_total: int = Field(description="Entries for you to call.")
    my_done: int
    total: int | None = Field(description="All entries; null unless you oversee the list.")
    done: int | None


class CallListPage(CursorPage):
    items: list[CallListOut]


class RepProgressOut(Out):
    user: UserRef
    total: int
    done: int


class CallListDetailOut(CallListOut):
    progress: list[RepProgressOut] = Field(description="Per rep; empty unless you oversee it.")
    filters: dict[str, Any]


class CallListEntryOut(Out):
    id: int
    call_list_id: int
    customer: Ref
    contact: Ref
    phone: str = Field(description="The contact's mobile, else phone.")
    assignee: UserRef | None
    done_at: datetime | None
    follow_up_id: int | None


class CallListEntryPage(CursorPage):
    items: list[CallListEntryOut]


class CallListFilterIn(Schema):
    model_config = ConfigDict(extra="forbid")

    q: Str100 = ""
    owner_id: Id | None = None
    team_id: Id | None = None
    kind: Literal["", Kind] = ""
    tier: Literal["", Tier] = ""
    status: Literal["", CustomerStatus] = ""
    industry: Industry = ""
    channel_id: Id | None = None
    tag_id: Id | None = None
    province: Str32 = ""
    city: Str32 = ""


class CallListIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Title
    assignee_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    filters: CallListFilterIn = Field(default_factory=CallListFilterIn)


class CallListQuery(Schema):
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)


class EntryQuery(Schema):
    status: Literal["open", "done", "all"] = "all"
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)


class LogCallIn(Schema):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    duration_minutes: Minutes | None = None
    notes: Text4000Ok = ""
    next_due_at: IsoTime | None = Field(None, description="Plan the next follow-up.")
    next_method: Method | None = None
    next_plan: Str500 = ""


def _call_list_rows(user: Any, lists: list[CallList]) -> list[CallListOut]:
    ids = [c.pk for c in lists]
    mine = {
        r["call_list_id"]: r
        for r in CallListEntry.objects.filter(call_list_id__in=ids, assignee=user)
        .values("call_list_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(done_at__isnull=False)))
    }
    managed = set(call_lists_managed_by(user).filter(pk__in=ids).values_list("pk", flat=True))
    everyone = {
        r["call_list_id"]: r
        for r in CallListEntry.objects.filter(call_list_id__in=managed)
        .values("call_list_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(done_at__isnull=False)))
    }
    empty = {"total": 0, "done": 0}
    return [
        CallListOut(
            id=c.pk,
            name=c.name,
            owner=UserRef.of(c.owner),
            created_at=c.created_at,
            my_total=mine.get(c.pk, empty)["total"],
            my_done=mine.get(c.pk, empty)["done"],
            total=everyone.get(c.pk, empty)["total"] if c.pk in managed else None,
            done=everyone.get(c.pk, empty)["done"] if c.pk in managed else None,
        )
        for c in lists
    ]


def _entry_out(e: CallListEntry) -> CallListEntryOut:
    return CallListEntryOut(
        id=e.pk,
        call_list_id=e.call_list_id,
        customer=Ref(id=e.customer.pk, name=e.customer.name),
        contact=Ref(id=e.contact.pk, name=e.contact.name),
        phone=e.phone,
        assignee=UserRef.of(e.assignee),
        done_at=e.done_at,
        follow_up_id=e.follow_up_id,
    )


@router.get(
    "/call-lists",
    tags=["call lists"],
    response={200: CallListPage, **LIST_ERRORS},
    url_name="call-list-list",
    summary="List call lists",
)
def call_list_list(request: HttpRequest, query: Query[CallListQuery]) -> CallListPage:
    """Lists with calls for you, and lists you built or oversee; newest first."""
    user = api_user(request)
    qs = call_lists_visible_to(user).select_related("owner")
    page: Page[CallList] = paged(
        query.cursor,
        lambda: keyset_page(
            qs, order=["-created_at", "-id"], cursor=query.cursor, limit=query.limit
        ),
    )
    return CallListPage(
        items=_call_list_rows(user, page.items),
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/call-lists",
    tags=["call lists"],
    response={201: CallListDetailOut, **WRITE_ERRORS},
    url_name="call-list-create",
    summary="Build a call list",
)
def call_list_create(request: HttpRequest, payload: CallListIn) -> Status[Any]:
    """Contacts with a phone number of the customers you may see that match ``filters``
    (as the customer list filters), shared among ``assignee_ids`` in turn."""
    user = api_user(request)
    if not user.has_perm("activities.add_calllist"):
        raise PermissionDenied
    wanted = list(dict.fromkeys(payload.assignee_ids))
    found = User.objects.in_bulk(wanted)
    # In the order given: the shares go round in that order.
    reps = [found[pk] for pk in wanted if pk in found]
    if len(reps) != len(wanted):
        raise field_error("assignee_ids", _("Choose colleagues of your team who work call lists."))
    f = payload.filters
    filters = CustomerFilters(
        q=f.q,
        owner_id=f.owner_id,
        team_id=f.team_id,
        kind=f.kind,
        tier=f.tier,
        status=f.status,
        industry=f.industry,
        channel_id=f.channel_id,
        tag_id=f.tag_id,
        province=f.province,
        city=f.city,
    )
    try:
        call_list = services.call_list_create(
            actor=user, name=payload.name, filters=filters, assignees=reps
        )
    except DjangoValidationError as exc:
        renamed = {"assignees": "assignee_ids"}
        if hasattr(exc, "error_dict"):
            raise DjangoValidationError(
                {renamed.get(k, k): v for k, v in exc.error_dict.items()}
            ) from exc
        raise
    return Status(201, _call_list_detail(user, call_list))


def _call_list_detail(user: Any, call_list: CallList) -> CallListDetailOut:
    row = _call_list_rows(user, [call_list])[0]
    progress = []
    if row.total is not None:
        progress = [
            RepProgressOut(user=UserRef(id=r.user.pk, name=str(r.user)), total=r.total, done=r.done)
            for r in selectors.call_list_progress(call_list=call_list)
        ]
    return CallListDetailOut(**row.model_dump(), progress=progress, filters=call_list.filters or {})


@router.get(
    "/call-lists/{call_list_id}",
    tags=["call lists"],
    response={200: CallListDetailOut, **READ_ERRORS},
    url_name="call-list-detail",
    summary="Get a call list",
)
def call_list_get(request: HttpRequest, call_list_id: Path[Id]) -> CallListDetailOut:
    """With every rep's progress when you oversee it."""
    user = api_user(request)
    return _call_list_detail(user, call_list_access_by_id(user, call_list_id))


@router.get(
    "/call-lists/{call_list_id}/entries",
    tags=["call lists"],
    response={200: CallListEntryPage, **LIST_ERRORS, 404: ErrorOut},
    url_name="call-list-entries",
    summary="List the entries of a call list",
)
def call_list_entry_list(
    request: HttpRequest, call_list_id: Path[Id], query: Query[EntryQuery]
) -> CallListEntryPage:
    """Yours, in calling order; every entry when you oversee the list."""
    user = api_user(request)
    call_list = call_list_access_by_id(user, call_list_id)
    qs = call_list_entries_visible_to(user, call_list).select_related(
        "customer", "contact", "assignee"
    )
    if query.status == "open":
        qs = qs.filter(done_at__isnull=True)
    elif query.status == "done":
        qs = qs.filter(done_at__isnull=False)
    page: Page[CallListEntry] = paged(
        query.cursor,
        lambda: keyset_page(qs, order=["id"], cursor=query.cursor, limit=query.limit),
    )
    return CallListEntryPage(
        items=[_entry_out(e) for e in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "/call-list-entries/{entry_id}/log",
    tags=["call lists"],
    response={200: CallListEntryOut, **WRITE_ERRORS},
    url_name="call-list-entry-log",
    summary="Log the call of an entry",
)
def call_list_entry_log(request: HttpRequest, entry_id: Path[Id], payload: LogCallIn) -> Any:
    """Records a done phone call (a follow-up on the customer's timeline), marks the entry
    done and, with ``next_due_at``, plans the next follow-up."""
    user = api_user(request)
    entry = call_list_entry_access_by_id(user, entry_id)
    services.call_list_entry_log(
        actor=user,
        entry=entry,
        outcome=payload.outcome,
        duration_minutes=payload.duration_minutes,
        notes=payload.notes,
        next_due_at=_utc_time(payload.next_due_at, "next_due_at"),
        next_method=payload.next_method or "",
        next_plan=payload.next_plan,
    )
    return _entry_out(entry)
