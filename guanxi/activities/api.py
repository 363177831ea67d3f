"""REST: follow-ups (plan, record, complete, cancel) and My day."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import ConfigDict, StringConstraints

from guanxi.activities import selectors, services
from guanxi.activities.access import follow_up_can_work, follow_ups_visible_to
from guanxi.activities.models import FollowUp
from guanxi.core.api_support import api_user, paged
from guanxi.core.pagination import Page, keyset_page
from guanxi.customers.access import customer_access_by_id
from guanxi.customers.api import AUTH_ERRORS, LIST_ERRORS, WRITE_ERRORS
from guanxi.customers.schemas import CursorPage, Id, Out, Str500, UserRef
from guanxi.sales.access import lead_access_by_id

router = Router(tags=["follow-ups"])

Method = Literal["call", "visit", "wechat", "email", "meeting", "other"]
Outcome = Literal["reached", "interested", "appointment", "not_reached", "not_interested", "other"]
Text4000 = Annotated[str, StringConstraints(max_length=4000)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]


class FollowUpOut(Out):
    id: int
    owner: UserRef | None
    customer_id: int | None
    lead_id: int | None
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


class FollowUpQuery(Schema):
    status: Literal["open", "done", "all"] = "open"
    mine: bool = Field(True, description="Only your own; false: all you may see.")
    customer: Id | None = None
    lead: Id | None = None
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None
    limit: int = Field(50, ge=1, le=200)


class _Subject(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id | None = None
    lead_id: Id | None = None


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
    if (body.customer_id is None) == (body.lead_id is None):
        raise DjangoValidationError(
            {"customer_id": [_("Give exactly one of customer_id and lead_id.")]}
        )
    try:
        if body.customer_id is not None:
            return {"customer": customer_access_by_id(user, body.customer_id, "edit")}
        assert body.lead_id is not None
        return {"lead": lead_access_by_id(user, body.lead_id, "edit")}
    except Http404 as exc:
        field = "customer_id" if body.customer_id is not None else "lead_id"
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
    """Your follow-ups: overdue, due today, the next seven days, done today."""
    day = selectors.my_day(user=api_user(request))
    return MyDayOut(
        overdue=[FollowUpOut.of(f) for f in day.overdue],
        today=[FollowUpOut.of(f) for f in day.today],
        upcoming=[FollowUpOut.of(f) for f in day.upcoming],
        done_today=[FollowUpOut.of(f) for f in day.done_today],
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
