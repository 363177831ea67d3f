"""The lead pool (公海): who sees it, claiming within the team's limit, races."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import AuditEntry
from guanxi.sales import access, services
from guanxi.sales.models import Lead
from guanxi.sales.tests.factories import LeadFactory
from guanxi.users.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(users):
    return LeadFactory.create_batch(3, owner=None)


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("rep1", True),
        ("rep3", True),
        ("manager", True),
        ("admin", True),
        ("marketer1", False),
        ("exec1", False),
        ("agent1", False),
        ("partner1", False),
    ],
)
def test_who_sees_the_pool(users, pool, role, sees):
    assert (access.leads_in_pool(users[role]).count() == 3) is sees


def test_owned_and_closed_leads_are_not_in_the_pool(users, pool):
    LeadFactory(owner=users["rep2"])
    LeadFactory(owner=None, status=Lead.Status.DISQUALIFIED, disqualify_reason="spam")
    assert set(access.leads_in_pool(users["rep1"])) == set(pool)


def test_claiming_makes_the_lead_yours_and_logs_it(users, pool):
    lead = services.lead_claim(actor=users["rep1"], lead=pool[0])
    assert (lead.owner, lead.team_id) == (users["rep1"], users["rep1"].team_id)
    entry = AuditEntry.objects.get(subject_type="lead", subject_id=lead.pk, action="owner")
    assert entry.changes["owner"][0] is None
    # the next one to try gets a clear refusal, not the lead
    with pytest.raises(ValidationError):
        services.lead_claim(actor=users["rep2"], lead=pool[0])
    assert Lead.objects.get(pk=lead.pk).owner == users["rep1"]


def test_the_team_limit_stops_claiming(users, teams, pool):
    teams["shanghai"].lead_claim_limit = 2
    teams["shanghai"].save(update_fields=["lead_claim_limit"])
    LeadFactory(owner=users["rep1"])  # already holds one
    services.lead_claim(actor=users["rep1"], lead=pool[0])
    with pytest.raises(ValidationError) as exc:
        services.lead_claim(actor=users["rep1"], lead=pool[1])
    assert "2" in " ".join(exc.value.messages)
    assert Lead.objects.get(pk=pool[1].pk).owner is None


def test_pool_page_and_claim_in_the_browser(client, users, pool):
    client.force_login(users["rep1"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("sales:lead-pool")).content.decode()
    assert all(lead.name in page for lead in pool)
    assert pool[0].mobile not in page  # contact details only once claimed
    response = client.post(reverse("sales:lead-claim", args=[pool[0].pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:lead-detail", args=[pool[0].pk])
    again = client.post(reverse("sales:lead-claim", args=[pool[0].pk]), follow=True)
    assert "Someone else has claimed this lead" in again.content.decode()
    client.force_login(users["exec1"])
    assert client.get(reverse("sales:lead-pool")).status_code == 403


def test_pool_and_claim_through_the_api(users, pool):
    _token, secret = api_token_create(user=users["rep1"], name="t")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    body = api.get("/api/v1/leads/pool").json()
    assert {item["id"] for item in body["items"]} == {lead.pk for lead in pool}
    assert "mobile" not in body["items"][0]
    claimed = api.post(f"/api/v1/leads/{pool[1].pk}/claim")
    assert claimed.status_code == 200 and claimed.json()["owner"]["id"] == users["rep1"].pk
    assert api.post(f"/api/v1/leads/{pool[1].pk}/claim").status_code == 422
    assert api.post("/api/v1/leads/999999/claim").status_code == 404
    _token, secret = api_token_create(user=users["exec1"], name="t")
    viewer = Client(headers={"Authorization": f"Bearer {secret}"})
    assert viewer.post(f"/api/v1/leads/{pool[2].pk}/claim").status_code == 403
    assert viewer.get("/api/v1/leads/pool").json()["items"] == []


# --- automatic return ----------------------------------------------------------------------


def _age(lead, days):
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def policy(teams):
    teams["shanghai"].lead_return_days = 10
    teams["shanghai"].return_warning_days = 2
    teams["shanghai"].save(update_fields=["lead_return_days", "return_warning_days"])
    return teams["shanghai"]


def test_idle_leads_return_to_the_pool_with_notice_and_a_log_entry(users, policy):
    from guanxi.activities.models import Notification
    from guanxi.activities.services import follow_up_record

    rep = users["rep1"]
    idle = LeadFactory(owner=rep, team=policy)
    _age(idle, 20)
    followed = LeadFactory(owner=rep, team=policy)
    _age(followed, 20)
    follow_up_record(
        actor=rep,
        lead=followed,
        method="call",
        outcome="reached",
        done_at=timezone.now() - timedelta(days=3),
    )
    soon = LeadFactory(owner=rep, team=policy)
    _age(soon, 9)
    elsewhere = LeadFactory(owner=users["rep2"], team=users["rep2"].team)  # no policy
    _age(elsewhere, 100)

    returned, warned = services.leads_return_to_pool()

    assert (returned, warned) == (1, 1)
    idle.refresh_from_db()
    assert idle.owner is None and idle in access.leads_in_pool(users["rep2"])
    for lead in (followed, soon, elsewhere):
        lead.refresh_from_db()
        assert lead.owner is not None
    entry = AuditEntry.objects.filter(subject_type="lead", subject_id=idle.pk).latest("id")
    assert entry.action == "owner" and "10" in entry.message and entry.actor is None
    assert Notification.objects.filter(user=rep, kind="pool").count() == 2
    # run again the same day: nothing more is returned, nobody is told twice
    assert services.leads_return_to_pool() == (0, 0)
    assert Notification.objects.filter(user=rep, kind="pool").count() == 2


def test_a_lead_given_to_someone_recently_is_not_returned(users, policy):
    lead = LeadFactory(owner=users["rep3"])
    _age(lead, 30)
    services.leads_assign(actor=users["admin"], leads=[lead], owner=users["rep1"])
    assert services.leads_return_to_pool() == (0, 0)
    lead.refresh_from_db()
    assert lead.owner == users["rep1"]
