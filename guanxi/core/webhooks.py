"""Webhook delivery: domain events POSTed as signed JSON to integrators' endpoints.

The run (a Celery beat task every minute) first turns settled events (older than
``SETTLE_SECONDS``, so that a transaction that committed late is not skipped by the
cursor) into deliveries, one per webhook that wants them, then sends the due ones. A
failed delivery is retried with growing pauses (1, 2, 4 … minutes) up to ``MAX_ATTEMPTS``;
each webhook receives its events in order as long as none is failing. A receiver must
answer 2xx within ``TIMEOUT_SECONDS``; deliveries are at least once, so receivers should
ignore an ``X-Guanxi-Delivery`` id they have seen.
"""

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.models import DomainEvent, Webhook, WebhookDelivery

SETTLE_SECONDS = 30
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 5
BATCH = 200


def webhook_save(*, actor: Any, data: dict[str, Any], webhook: Webhook | None = None) -> Webhook:
    """Create or change a webhook; a new one gets a random secret unless given, and starts
    with the events that happen from now on."""
    creating = webhook is None
    webhook = webhook or Webhook(created_by=actor if actor and actor.pk else None)
    for key in ("name", "url", "secret", "events", "is_active"):
        if key in data and data[key] is not None:
            setattr(webhook, key, data[key])
    if not webhook.secret:
        webhook.secret = secrets.token_urlsafe(24)
    if not str(webhook.url).lower().startswith(("http://", "https://")):
        raise ValidationError({"url": _("Use an http:// or https:// address.")})
    if not isinstance(webhook.events, list) or not all(
        isinstance(e, str) and e for e in webhook.events
    ):
        raise ValidationError({"events": _("Give a list of event names.")})
    webhook.full_clean(exclude=["created_by"])
    if creating:
        last = DomainEvent.objects.order_by("-id").values_list("id", flat=True).first()
        webhook.last_event_id = last or 0
    webhook.save()
    return webhook


def signature(secret: str, body: bytes) -> str:
    """The value of X-Guanxi-Signature for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliveries_enqueue(*, now: Any = None) -> int:
    """Create the deliveries of settled events for every active webhook (idempotent)."""
    now = now or timezone.now()
    settled = now - timedelta(seconds=SETTLE_SECONDS)
    created = 0
    for webhook in Webhook.objects.filter(is_active=True):
        with transaction.atomic():
            locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
            events = list(
                DomainEvent.objects.filter(id__gt=locked.last_event_id, occurred_at__lte=settled)
                .order_by("id")
                .only("id", "name")[:BATCH]
            )
            if not events:
                continue
            WebhookDelivery.objects.bulk_create(
                [
                    WebhookDelivery(webhook=locked, event=event, next_attempt_at=now)
                    for event in events
                    if locked.wants(event.name)
                ],
                ignore_conflicts=True,
            )
            created += sum(1 for event in events if locked.wants(event.name))
            locked.last_event_id = events[-1].id
            locked.save(update_fields=["last_event_id"])
    return created


def _body(event: DomainEvent) -> bytes:
    return json.dumps(
        {
            "id": event.pk,
            "event": event.name,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "payload": event.payload,
            "actor_id": event.actor_id,
            "occurred_at": event.occurred_at,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    ).encode()


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = _body(delivery.event)
    request = urllib.request.Request(
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Guanxi-Webhooks/1",
            "X-Guanxi-Event": delivery.event.name,
            "X-Guanxi-Delivery": str(delivery.pk),
            "X-Guanxi-Signature": signature(delivery.webhook.secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))[:300]


def deliveries_send(*, now: Any = None) -> dict[str, int]:
    """Send the due deliveries, oldest event first; a webhook whose delivery fails waits
    for its retry before its later events go out, so it receives them in order."""
    now = now or timezone.now()
    result = {"delivered": 0, "retrying": 0, "failed": 0}
    blocked: set[int] = set()
    due = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .select_related("webhook", "event")
        .order_by("webhook_id", "event_id")
    )
    for delivery in due[: BATCH * 5]:
        if delivery.webhook_id in blocked or not delivery.webhook.is_active:
            continue
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            blocked.add(delivery.webhook_id)
            continue
        code, error = _post(delivery)
        delivery.attempts += 1
        delivery.response_status = code
        if code is not None and 200 <= code < 300:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.error = ""
            result["delivered"] += 1
        else:
            delivery.error = error or f"HTTP {code}"
            blocked.add(delivery.webhook_id)
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.FAILED
                result["failed"] += 1
                blocked.discard(delivery.webhook_id)
            else:
                delivery.next_attempt_at = now + timedelta(minutes=2 ** (delivery.attempts - 1))
                result["retrying"] += 1
        delivery.save()
    return result


def webhooks_run() -> dict[str, int]:
    """One run of the beat job: enqueue settled events, then send what is due."""
    enqueued = deliveries_enqueue()
    return {"enqueued": enqueued, **deliveries_send()}
