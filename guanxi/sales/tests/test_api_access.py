"""Every role × action on a lead owned by rep1 through the REST API, with a token.

Default scopes (``users.roles.DEFAULT_ROLES``, module leads): the administrator reaches
every lead; the manager of 华东销售部 reaches its sub-teams (rep1 is in 上海组); reps
their own; marketers and executives read all leads and the marketer may capture them;
service agents and partners have no leads. The API answers 404 for a lead out of sight,
403 for one in sight that the role may not act on.
"""

import typing
from typing import Any

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
)
from guanxi.sales.models import Lead
from guanxi.sales.services import lead_delete
from guanxi.sales.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "rep1", "rep2", "rep3", "agent1", "marketer1", "exec1", "partner1"]
# Who sees rep1's lead (read scope) and who may change it (write scope).
SEES = {"admin", "manager", "rep1", "marketer1", "exec1"}
WRITES = {"admin", "manager", "rep1"}
# Roles holding each permission, before the row scope is applied.
MAY = {
    "create": {"admin", "manager", "rep1", "rep2", "rep3", "marketer1"},
    "update": {"admin", "manager", "rep1", "rep2", "rep3"},
    "disqualify": {"admin", "manager", "rep1", "rep2", "rep3"},
    "convert": {"admin", "manager", "rep1", "rep2", "rep3"},
    "assign": {"admin", "manager"},
    "delete": {"admin", "manager"},
    "restore": {"admin", "manager"},
}
# Who sees which of the leads of rep1, rep2 (杭州组), rep3 (华北销售部) and the pool.
LISTED = {
    "admin": {"rep1", "rep2", "rep3", "pool"},
    "manager": {"rep1", "rep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "rep3": {"rep3"},
    "agent1": set(),
    "marketer1": {"rep1", "rep2", "rep3", "pool"},
    "exec1": {"rep1", "rep2", "rep3", "pool"},
    "partner1": set(),
}


def expected(role: str, action: str | None, ok: int) -> int:
    """404 when the lead is out of sight, 403 when in sight but not allowed, else ``ok``."""
    if role not in SEES:
        return 404
    if action is None or (role in MAY[action] and role in WRITES):
        return ok
    return 403


@pytest.fixture
def lead(users) -> Lead:
    return typing.cast(Lead, LeadFactory(owner=users["rep1"], name="王芳", company="恒瑞电子"))


def send(api: Api, action: str, lead: Lead, users: dict[str, Any]):
    path = f"/leads/{lead.pk}"
    match action:
        case "retrieve":
            return api.get(path)
        case "timeline":
            return api.get(f"{path}/timeline")
        case "update":
            return api.patch(path, {"intent": "A"})
        case "assign":
            return api.post(f"{path}/assign", {"owner_id": users["rep2"].pk})
        case "disqualify":
            return api.post(f"{path}/disqualify", {"reason": "no_need"})
        case "convert":
            return api.post(f"{path}/convert", {})
        case "delete":
            return api.delete(path)
        case "restore":
            return api.post(f"{path}/restore")
    raise AssertionError(action)


# What each successful action leaves behind.
DONE = {
    "update": lambda lead, users: lead.intent == "A",
    "assign": lambda lead, users: lead.owner_id == users["rep2"].pk,
    "disqualify": lambda lead, users: lead.status == Lead.Status.DISQUALIFIED,
    "convert": lambda lead, users: lead.status == Lead.Status.CONVERTED,
    "delete": lambda lead, users: lead.deleted_at is not None,
    "restore": lambda lead, users: lead.deleted_at is None,
}
OK = {"update": 200, "assign": 200, "disqualify": 200, "convert": 201, "delete": 204}


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_leads_in_scope(users, role):
    leads = {o: LeadFactory(owner=users[o]) for o in ["rep1", "rep2", "rep3"]}
    leads["pool"] = LeadFactory(owner=None)
    response = Api(users[role]).get("/leads", limit=200)
    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == {leads[o].pk for o in LISTED[role]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["retrieve", "timeline"])
def test_read(users, lead, role, action):
    assert send(Api(users[role]), action, lead, users).status_code == expected(role, None, 200)


@pytest.mark.parametrize("role", ROLES)
def test_create(users, role):
    body = {"name": f"{role}的线索", "mobile": "13912345678", "owner_id": users[role].pk}
    response = Api(users[role]).post("/leads", body)
    assert response.status_code == (201 if role in MAY["create"] else 403), response.content
    assert Lead.objects.filter(name=f"{role}的线索").exists() == (role in MAY["create"])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["update", "assign", "disqualify", "convert", "delete"])
def test_write(users, lead, role, action):
    # given rep1's open lead
    # when the role tries the action on it
    response = send(Api(users[role]), action, lead, users)
    # then it is allowed exactly when the role holds the permission and the write scope
    want = expected(role, action, OK[action])
    assert response.status_code == want, response.content
    # and the lead changed exactly when it was allowed
    after = Lead.objects.get(pk=lead.pk)
    assert DONE[action](after, users) == (want == OK[action])
    if action == "convert":
        assert Customer.objects.exists() == (want == 201)


@pytest.mark.parametrize("role", ROLES)
def test_restore(users, lead, role):
    lead_delete(actor=users["admin"], lead=lead)
    response = send(Api(users[role]), "restore", lead, users)
    want = expected(role, "restore", 200)
    assert response.status_code == want, response.content
    assert DONE["restore"](Lead.objects.get(pk=lead.pk), users) == (want == 200)


@pytest.mark.parametrize("role", ["rep1", "manager", "marketer1"])
def test_setting_another_owner_needs_the_assign_permission(users, lead, role):
    api = Api(users[role])
    created = api.post(
        "/leads", {"name": "转给别人", "mobile": "13900001111", "owner_id": users["rep2"].pk}
    )
    allowed = role == "manager"
    assert created.status_code == (201 if allowed else 403)
    patched = api.patch(f"/leads/{lead.pk}", {"owner_id": users["rep2"].pk})
    assert patched.status_code == (200 if allowed else 403)
    assert (Lead.objects.get(pk=lead.pk).owner == users["rep2"]) == allowed
