"""Webhook delivery to a real HTTP endpoint on 127.0.0.1: signed, in order, retried."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from guanxi.core.events import event_record
from guanxi.core.models import DomainEvent, Webhook, WebhookDelivery
from guanxi.core.webhooks import (
    MAX_ATTEMPTS,
    SETTLE_SECONDS,
    deliveries_enqueue,
    deliveries_send,
    signature,
    webhook_save,
)
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
)

pytestmark = pytest.mark.django_db


class Receiver:
    """A local endpoint that records what it receives and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _events(*names: str) -> list[DomainEvent]:
    from guanxi.users.models import Team

    subject = Team.objects.create(name="事件")
    events = [event_record(n, subject=subject, payload={"n": i}) for i, n in enumerate(names)]
    DomainEvent.objects.update(occurred_at=timezone.now() - timedelta(seconds=SETTLE_SECONDS + 1))
    return events


def test_settled_events_are_posted_signed_and_only_the_wanted_ones(receiver):
    old = _events("lead.created")  # before the webhook existed: not sent
    hook = webhook_save(
        actor=None,
        data={"name": "ERP", "url": receiver.url, "events": ["order.created", "payment.received"]},
    )
    assert hook.last_event_id == old[0].pk and hook.secret
    order, _lead, payment = _events("order.created", "lead.created", "payment.received")
    assert deliveries_enqueue() == 2
    assert deliveries_enqueue() == 0  # idempotent
    assert deliveries_send() == {"delivered": 2, "retrying": 0, "failed": 0}
    assert [json.loads(body)["id"] for _, body in receiver.received] == [order.pk, payment.pk]
    headers, body = receiver.received[0]
    assert headers["X-Guanxi-Event"] == "order.created"
    assert headers["X-Guanxi-Signature"] == signature(hook.secret, body)
    assert json.loads(body)["payload"] == {"n": 0}


def test_unsettled_events_wait(receiver):
    webhook_save(actor=None, data={"name": "ERP", "url": receiver.url})
    from guanxi.users.models import Team

    event_record("order.created", subject=Team.objects.create(name="x"), payload={})
    assert deliveries_enqueue() == 0
    assert deliveries_enqueue(now=timezone.now() + timedelta(seconds=SETTLE_SECONDS + 1)) == 1


def test_a_failing_endpoint_is_retried_later_and_keeps_the_order(receiver):
    webhook_save(actor=None, data={"name": "ERP", "url": receiver.url})
    first, second = _events("order.created", "payment.received")
    deliveries_enqueue()
    receiver.status = 503
    assert deliveries_send() == {"delivered": 0, "retrying": 1, "failed": 0}
    assert len(receiver.received) == 1  # the second waits behind the first
    # not yet due: nothing is sent
    assert deliveries_send() == {"delivered": 0, "retrying": 0, "failed": 0}
    receiver.status = 200
    later = timezone.now() + timedelta(minutes=2)
    assert deliveries_send(now=later) == {"delivered": 2, "retrying": 0, "failed": 0}
    ids = [json.loads(body)["id"] for _, body in receiver.received]
    assert ids == [first.pk, first.pk, second.pk]


def test_gives_up_after_the_last_attempt():
    hook = webhook_save(actor=None, data={"name": "gone", "url": "http://127.0.0.1:9/none"})
    _events("order.created")
    deliveries_enqueue()
    moment = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        moment += timedelta(days=1)
        deliveries_send(now=moment)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == MAX_ATTEMPTS
    assert delivery.error


def test_bad_webhook_input_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        webhook_save(actor=None, data={"name": "x", "url": "ftp://example.com/"})
    assert "url" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        webhook_save(actor=None, data={"name": "x", "url": "http://127.0.0.1/", "events": [1]})
    assert "events" in caught.value.message_dict


@pytest.mark.parametrize(("role", "status"), [("admin", 201), ("manager", 403), ("rep1", 403)])
def test_webhook_api_is_for_administrators(users, role, status, receiver):
    api = Api(users[role])
    response = api.post(
        "/webhooks",
        {"name": "ERP", "url": receiver.url, "events": ["order.created"]},
    )
    assert response.status_code == status
    if status == 201:
        hook_id = response.json()["id"]
        assert Webhook.objects.get(pk=hook_id).events == ["order.created"]
        listed = api.get("/webhooks").json()
        assert [h["id"] for h in listed] == [hook_id]
        deliveries = api.get(f"/webhooks/{hook_id}/deliveries")
        assert deliveries.status_code == 200
        bad = api.post("/webhooks", {"name": "x", "url": "nope"})
        assert bad.status_code == 422
        assert api.delete(f"/webhooks/{hook_id}").status_code == 204
