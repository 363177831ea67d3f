"""The domain event feed: administrators poll it in order; others are refused."""

import pytest
from django.test import Client

from guanxi.core.events import event_record
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.users.services import api_token_create

pytestmark = pytest.mark.django_db


def _get(user, **query):
    _token, secret = api_token_create(user=user, name="events")
    return Client().get("/api/v1/events", query, headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def events(users):
    customer = CustomerFactory(owner=users["rep1"])
    return [
        event_record("lead.created", subject=customer, payload={"n": i}, actor=users["rep1"])
        for i in range(3)
    ] + [event_record("lead.converted", subject=customer, payload={"n": 3})]


def test_events_come_in_order_after_the_given_id(users, events):
    body = _get(users["admin"], after=events[0].pk, limit=2).json()
    assert [e["payload"]["n"] for e in body["items"]] == [1, 2]
    assert body["last_id"] == events[2].pk
    rest = _get(users["admin"], after=body["last_id"]).json()
    assert [e["name"] for e in rest["items"]] == ["lead.converted"]
    assert _get(users["admin"], after=rest["last_id"]).json() == {"items": [], "last_id": None}


def test_events_filter_by_name(users, events):
    body = _get(users["admin"], name="lead.converted").json()
    assert [e["id"] for e in body["items"]] == [events[3].pk]


@pytest.mark.parametrize("role", ["manager", "rep1", "agent1", "marketer1", "exec1", "partner1"])
def test_only_administrators_read_events(users, events, role):
    assert _get(users[role]).status_code == 403


@pytest.mark.parametrize("query", [{"after": -1}, {"limit": 0}, {"limit": 501}, {"after": "x"}])
def test_bad_query_is_422(users, query):
    response = _get(users["admin"], **query)
    assert response.status_code == 422
    assert response.json()["detail"]
