"""Follow-ups and to-dos on an opportunity, and open ones moving in a handover."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.models import AuditEntry, FollowUp
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
)
from guanxi.sales.tests.factories import LeadFactory, OpportunityFactory, default_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def opportunity(users):
    pipeline = default_pipeline()
    customer = CustomerFactory(owner=users["rep1"], team=users["rep1"].team)
    return OpportunityFactory(
        customer=customer, owner=users["rep1"], pipeline=pipeline, stage=pipeline.stages.first()
    )


def test_a_to_do_planned_on_the_opportunity_page_shows_there_and_on_the_customer(
    client, users, opportunity
):
    client.force_login(users["rep1"])
    page = reverse("sales:opportunity-detail", args=[opportunity.pk])
    assert 'name="opportunity"' in client.get(page).content.decode()
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("activities:follow-up-plan"),
        {"opportunity": opportunity.pk, "method": "task", "due_at": due, "plan": "寄样品"},
    )
    assert response["Location"] == page + "#follow-ups"
    todo = FollowUp.objects.get()
    assert (todo.opportunity, todo.customer, todo.method) == (
        opportunity,
        opportunity.customer,
        FollowUp.Method.TASK,
    )
    assert "寄样品" in client.get(page).content.decode()
    customer_page = reverse("customers:customer-detail", args=[opportunity.customer_id])
    assert "寄样品" in client.get(customer_page).content.decode()
    assert AuditEntry.objects.filter(customer_id=opportunity.customer_id).exists()
    # completing it goes back to the opportunity
    done = client.post(
        reverse("activities:follow-up-complete", args=[todo.pk]), {"outcome": "other"}
    )
    assert done["Location"].startswith(page)


def test_someone_who_may_not_change_the_opportunity_cannot_plan_on_it(client, users, opportunity):
    client.force_login(users["rep2"])
    due = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("activities:follow-up-plan"),
        {"opportunity": opportunity.pk, "method": "call", "due_at": due},
    )
    assert response.status_code == 404
    assert not FollowUp.objects.exists()


def test_api_plans_on_an_opportunity_and_filters_by_it(users, opportunity):
    api = Api(users["rep1"])
    due = (timezone.now() + timedelta(days=2)).isoformat()
    created = api.post(
        "/follow-ups",
        {"opportunity_id": opportunity.pk, "method": "visit", "due_at": due, "plan": "技术交流"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["opportunity_id"] == opportunity.pk
    assert created.json()["customer_id"] == opportunity.customer_id
    listed = api.get("/follow-ups", opportunity=opportunity.pk).json()["items"]
    assert [f["plan"] for f in listed] == ["技术交流"]
    both = api.post(
        "/follow-ups",
        {
            "opportunity_id": opportunity.pk,
            "customer_id": opportunity.customer_id,
            "method": "call",
            "due_at": due,
        },
    )
    assert both.status_code == 422
    other = Api(users["rep2"]).post(
        "/follow-ups", {"opportunity_id": opportunity.pk, "method": "call", "due_at": due}
    )
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "opportunity_id"


def test_handover_moves_open_follow_ups_with_their_customer_or_lead(client, users, opportunity):
    due = timezone.now() + timedelta(days=1)
    rep1 = users["rep1"]
    on_customer = services.follow_up_plan(
        actor=rep1, customer=opportunity.customer, method="call", due_at=due
    )
    lead = LeadFactory(owner=rep1)
    on_lead = services.follow_up_plan(actor=rep1, lead=lead, method="task", due_at=due)
    done = services.follow_up_record(
        actor=rep1, customer=opportunity.customer, method="call", outcome="reached"
    )
    client.force_login(users["admin"])
    response = client.post(
        reverse("users:handover"),
        {"from_user": rep1.pk, "to_users": [users["rep2"].pk, users["rep3"].pk]},
        follow=True,
    )
    assert "2 open follow-ups and to-dos were handed over." in response.content.decode()
    for follow_up in (on_customer, on_lead, done):
        follow_up.refresh_from_db()
    opportunity.customer.refresh_from_db()
    lead.refresh_from_db()
    assert on_customer.owner == opportunity.customer.owner
    assert on_lead.owner == lead.owner
    assert done.owner == rep1  # history stays
