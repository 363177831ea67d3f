"""REST: the domain event feed, for integrations that poll instead of taking webhooks."""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel, ConfigDict

from guanxi.core.models import DomainEvent
from guanxi.customers.schemas import ErrorOut, ValidationErrorOut

router = Router(tags=["events"])


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Increasing: pass the last one you processed as ``after``.")
    name: str = Field(description="e.g. lead.created, lead.converted.")
    subject_type: str
    subject_id: int | None
    payload: dict[str, Any]
    actor_id: int | None
    occurred_at: datetime


class EventPage(BaseModel):
    items: list[EventOut]
    last_id: int | None = Field(description="Pass as ``after`` to read on; null if none.")


class EventQuery(Schema):
    after: int = Field(0, ge=0, le=2**62, description="Only events with a larger id.")
    name: str = Field("", max_length=60, description="Only events of this name.")
    limit: int = Field(100, ge=1, le=500)


@router.get(
    "/events",
    response={
        200: EventPage,
        401: ErrorOut,
        403: ErrorOut,
        422: ValidationErrorOut,
        429: ErrorOut,
    },
    url_name="event-list",
    summary="Domain events after a given id",
)
def event_list(request: HttpRequest, query: Query[EventQuery]) -> EventPage:
    """Events in the order they happened (administrators: permission
    ``core.view_domainevent``). Poll with the last id you processed."""
    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm("core.view_domainevent"):
        raise PermissionDenied
    qs = DomainEvent.objects.filter(id__gt=query.after)
    if query.name:
        qs = qs.filter(name=query.name)
    items = [EventOut.model_validate(e) for e in qs.order_by("id")[: query.limit]]
    return EventPage(items=items, last_id=items[-1].id if items else None)
