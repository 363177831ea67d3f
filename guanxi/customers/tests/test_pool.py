"""The customer pool (公海): who sees it, claiming within the team's limit, automatic return."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import AuditEntry, Notification
from guanxi.activities.services import follow_up_record
from guanxi.customers import access, services
from guanxi.customers.models import Customer
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.users.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(users):
    return CustomerFactory.create_batch(3, owner=None, mobile="13912345678")


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("rep1", True),
        ("manager", True),
        ("admin", True),
        ("agent1", False),
        ("marketer1", False),
        ("exec1", False),
        ("partner1", False),
    ],
)
def test_who_sees_the_pool(users, pool, role, sees):
    assert (access.customers_in_pool(users[role]).count() == 3) is sees


def test_claiming_is_logged_and_only_one_gets_it(users, pool):
    customer = services.customer_claim(actor=users["rep1"], customer=pool[0])
    assert (customer.owner, customer.team_id) == (users["rep1"], users["rep1"].team_id)
    assert AuditEntry.objects.filter(customer_id=customer.pk, action="owner").exists()
    with pytest.raises(ValidationError):
        services.customer_claim(actor=users["rep2"], customer=pool[0])
    assert Customer.objects.get(pk=customer.pk).owner == users["rep1"]


def test_the_team_limit_stops_claiming(users, teams, pool):
    teams["shanghai"].customer_claim_limit = 1
    teams["shanghai"].save(update_fields=["customer_claim_limit"])
    services.customer_claim(actor=users["rep1"], customer=pool[0])
    with pytest.raises(ValidationError):
        services.customer_claim(actor=users["rep1"], customer=pool[1])
    assert Customer.objects.get(pk=pool[1].pk).owner is None


def test_pool_page_and_claim_in_the_browser(client, users, pool):
    client.force_login(users["rep1"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("customers:customer-pool")).content.decode()
    assert all(c.name in page for c in pool) and "13912345678" not in page
    response = client.post(reverse("customers:customer-claim", args=[pool[0].pk]))
    assert response["Location"] == reverse("customers:customer-detail", args=[pool[0].pk])
    again = client.post(reverse("customers:customer-claim", args=[pool[0].pk]), follow=True)
    assert "Someone else has claimed this customer" in again.content.decode()
    client.force_login(users["exec1"])
    assert client.get(reverse("customers:customer-pool")).status_code == 403


def test_pool_and_claim_through_the_api(users, pool):
    _token, secret = api_token_create(user=users["rep1"], name="t")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    items = api.get("/api/v1/customers/pool").json()["items"]
    assert {i["id"] for i in items} == {c.pk for c in pool} and "mobile" not in items[0]
    claimed = api.post(f"/api/v1/customers/{pool[1].pk}/claim")
    assert claimed.status_code == 200 and claimed.json()["owner"]["id"] == users["rep1"].pk
    assert api.post(f"/api/v1/customers/{pool[1].pk}/claim").status_code == 422
    assert api.post("/api/v1/customers/999999/claim").status_code == 404
    _token, secret = api_token_create(user=users["exec1"], name="t")
    viewer = Client(headers={"Authorization": f"Bearer {secret}"})
    assert viewer.post(f"/api/v1/customers/{pool[2].pk}/claim").status_code == 403


def _age(customer, days):
    Customer.objects.filter(pk=customer.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_idle_customers_return_to_the_pool_with_notice(users, teams):
    team = teams["shanghai"]
    team.customer_return_days, team.return_warning_days = 30, 3
    team.save(update_fields=["customer_return_days", "return_warning_days"])
    rep = users["rep1"]
    idle = CustomerFactory(owner=rep, team=team)
    _age(idle, 60)
    followed = CustomerFactory(owner=rep, team=team)
    _age(followed, 60)
    follow_up_record(
        actor=rep,
        customer=followed,
        method="visit",
        outcome="reached",
        done_at=timezone.now() - timedelta(days=5),
    )
    soon = CustomerFactory(owner=rep, team=team)
    _age(soon, 28)
    other = CustomerFactory(owner=users["rep2"])  # a team without the rule
    _age(other, 365)

    assert services.customers_return_to_pool() == (1, 1)
    idle.refresh_from_db()
    assert idle.owner is None and idle in access.customers_in_pool(users["rep2"])
    for customer in (followed, soon, other):
        customer.refresh_from_db()
        assert customer.owner is not None
    entry = AuditEntry.objects.filter(customer_id=idle.pk, action="owner").latest("id")
    assert entry.actor is None and "30" in entry.message
    assert Notification.objects.filter(user=rep, kind="pool").count() == 2
    assert services.customers_return_to_pool() == (0, 0)
