"""REST: the domain event feed (for integrations that poll) and the webhooks that push
the same events."""

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import BaseModel, ConfigDict

from guanxi.core.models import DomainEvent, Webhook
from guanxi.core.webhooks import webhook_save
from guanxi.customers.schemas import ErrorOut, ValidationErrorOut

router = Router(tags=["events and webhooks"])


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


# --- webhooks --------------------------------------------------------------------------------


class WebhookIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=500, description="http:// or https:// address.")
    events: list[str] = Field(
        default_factory=list, description="Event names to send; empty: every event."
    )
    secret: str = Field("", max_length=100, description="Empty: a random one is made.")
    is_active: bool = True


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    events: list[str]
    secret: str = Field(description="Verify X-Guanxi-Signature (sha256 HMAC of the body).")
    is_active: bool
    last_event_id: int


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    status: str
    attempts: int
    response_status: int | None
    error: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def _webhook_admin(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm("users.manage_users"):
        raise PermissionDenied
    return user


def _webhook(webhook_id: int) -> Webhook:
    webhook = Webhook.objects.filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook")
    return webhook


WEBHOOK_ERRORS: dict[int, Any] = {
    400: ValidationErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ValidationErrorOut,
    429: ErrorOut,
}


@router.get(
    "/webhooks",
    response={200: list[WebhookOut], **WEBHOOK_ERRORS},
    url_name="webhook-list",
    summary="Webhooks",
)
def webhook_list(request: HttpRequest) -> list[WebhookOut]:
    """Every webhook (administrators)."""
    _webhook_admin(request)
    return [WebhookOut.model_validate(w) for w in Webhook.objects.all()]


@router.post(
    "/webhooks",
    response={201: WebhookOut, **WEBHOOK_ERRORS},
    url_name="webhook-create",
    summary="Add a webhook",
)
def webhook_create(request: HttpRequest, body: WebhookIn) -> Status:
    """Events from now on are POSTed to ``url``, signed with the secret."""
    user = _webhook_admin(request)
    webhook = webhook_save(actor=user, data=body.model_dump())
    return Status(201, WebhookOut.model_validate(webhook))


@router.delete(
    "/webhooks/{webhook_id}",
    response={204: None, **WEBHOOK_ERRORS},
    url_name="webhook-delete",
    summary="Remove a webhook",
)
def webhook_delete(request: HttpRequest, webhook_id: int) -> Status:
    _webhook_admin(request)
    _webhook(webhook_id).delete()
    return Status(204, None)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: list[DeliveryOut], **WEBHOOK_ERRORS},
    url_name="webhook-deliveries",
    summary="The latest deliveries of a webhook",
)
def webhook_deliveries(request: HttpRequest, webhook_id: int) -> list[DeliveryOut]:
    """The 100 latest deliveries, newest first, with their status and last error."""
    _webhook_admin(request)
    webhook = _webhook(webhook_id)
    return [DeliveryOut.model_validate(d) for d in webhook.deliveries.order_by("-id")[:100]]
