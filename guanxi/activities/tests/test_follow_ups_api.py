"""Follow-ups through the API: the same rules as the pages."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import FollowUp
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.sales.tests.factories import LeadFactory
from guanxi.users.services import api_token_create

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user):
        _token, secret = api_token_create(user=user, name="tests")
        self.client = Client(headers={"Authorization": f"Bearer {secret}"})

    def get(self, path, **query):
        return self.client.get("/api/v1" + path, query)

    def post(self, path, body):
        return self.client.post("/api/v1" + path, body, content_type="application/json")


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep1"])


def _due(days=1):
    return (timezone.now() + timedelta(days=days)).isoformat()


def test_plan_list_complete_with_next_and_my_day(users, customer):
    api = Api(users["rep1"])
    response = api.post(
        "/follow-ups", {"customer_id": customer.pk, "method": "call", "due_at": _due(-1)}
    )
    assert response.status_code == 201, response.content
    first = response.json()
    assert first["subject"] == customer.name and first["done_at"] is None
    listed = api.get("/follow-ups").json()["items"]
    assert [f["id"] for f in listed] == [first["id"]]
    assert [f["id"] for f in api.get("/my-day").json()["overdue"]] == [first["id"]]
    done = api.post(
        f"/follow-ups/{first['id']}/complete",
        {
            "outcome": "appointment",
            "summary": "约了拜访",
            "next_due_at": _due(3),
            "next_method": "visit",
        },
    )
    assert done.status_code == 200 and done.json()["outcome"] == "appointment"
    open_ = api.get("/follow-ups").json()["items"]
    assert [f["method"] for f in open_] == ["visit"]
    assert [f["id"] for f in api.get("/follow-ups", status="done").json()["items"]] == [first["id"]]


def test_record_on_a_lead_and_cancel(users):
    api = Api(users["rep1"])
    lead = LeadFactory(owner=users["rep1"])
    response = api.post(
        "/follow-ups/record", {"lead_id": lead.pk, "method": "wechat", "outcome": "reached"}
    )
    assert response.status_code == 201 and response.json()["lead_id"] == lead.pk
    plan = api.post("/follow-ups", {"lead_id": lead.pk, "method": "call", "due_at": _due()}).json()
    cancelled = api.post(f"/follow-ups/{plan['id']}/cancel", {"reason": "不需要了"})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"]
    assert api.post(f"/follow-ups/{plan['id']}/cancel", {}).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "call", "due_at": "2030-01-01T10:00:00+08:00"}, "customer_id"),
        (
            {"customer_id": 1, "lead_id": 1, "method": "call", "due_at": "2030-01-01T10:00:00Z"},
            "customer_id",
        ),
        ({"customer_id": "CUSTOMER", "method": "fax", "due_at": "2030-01-01T10:00:00Z"}, "method"),
        ({"customer_id": "CUSTOMER", "method": "call", "due_at": "tomorrow"}, "due_at"),
        (
            {"customer_id": "CUSTOMER", "method": "call", "due_at": "2030-01-01T10:00:00Z", "x": 1},
            "x",
        ),
    ],
)
def test_bad_input_is_422_naming_the_field(users, customer, body, field):
    body = {k: (customer.pk if v == "CUSTOMER" else v) for k, v in body.items()}
    response = Api(users["rep1"]).post("/follow-ups", body)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(
    ("role", "plan", "complete"),
    [
        ("rep1", 201, 200),
        ("manager", 201, 200),
        ("admin", 201, 200),
        ("rep2", 422, 404),
        ("exec1", 403, 403),
        ("agent1", 403, 403),
        ("partner1", 422, 404),
    ],
)
def test_access_by_role(users, customer, role, plan, complete):
    api = Api(users[role])
    response = api.post(
        "/follow-ups", {"customer_id": customer.pk, "method": "call", "due_at": _due()}
    )
    assert response.status_code == plan
    theirs = services.follow_up_plan(
        actor=users["rep1"], customer=customer, method="call", due_at=timezone.now()
    )
    response = api.post(f"/follow-ups/{theirs.pk}/complete", {"outcome": "reached"})
    assert response.status_code == complete
    theirs.refresh_from_db()
    assert theirs.is_open is (complete != 200)


def test_others_see_only_follow_ups_of_what_they_may_see(users, customer):
    services.follow_up_plan(
        actor=users["rep1"], customer=customer, method="call", due_at=timezone.now()
    )
    assert len(Api(users["manager"]).get("/follow-ups", mine="false").json()["items"]) == 1
    assert Api(users["rep2"]).get("/follow-ups", mine="false").json()["items"] == []
    assert Api(users["rep2"]).get("/follow-ups", cursor="garbage").status_code == 400
