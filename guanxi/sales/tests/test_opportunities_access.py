"""Every role × action on an opportunity owned by rep1, through the web pages and the REST
API. Default scopes (module opportunities): admin all/all; the manager of 华东销售部 its
sub-teams (rep1 is in 上海组); reps their own; marketers and executives read all; service
agents and partners nothing. 404 when out of sight, 403 when in sight but not allowed."""

import typing

import pytest
from django.urls import reverse

from guanxi.customers.tests.factories import CustomerFactory
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
)
from guanxi.sales import services
from guanxi.sales.models import Opportunity
from guanxi.sales.tests.factories import OpportunityFactory, default_pipeline

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "rep1", "rep2", "rep3", "agent1", "marketer1", "exec1", "partner1"]
SEES = {"admin", "manager", "rep1", "marketer1", "exec1"}
WRITES = {"admin", "manager", "rep1"}
MAY = {
    "create": {"admin", "manager", "rep1", "rep2", "rep3"},
    "edit": {"admin", "manager", "rep1", "rep2", "rep3"},
    "move": {"admin", "manager", "rep1", "rep2", "rep3"},
    "assign": {"admin", "manager"},
    "delete": {"admin", "manager"},
    "restore": {"admin", "manager"},
}
LISTED = {
    "admin": {"rep1", "rep2", "rep3"},
    "manager": {"rep1", "rep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "rep3": {"rep3"},
    "agent1": set(),
    "marketer1": {"rep1", "rep2", "rep3"},
    "exec1": {"rep1", "rep2", "rep3"},
    "partner1": set(),
}


def expected(role: str, action: str | None, ok: int) -> int:
    if role not in SEES:
        return 404
    if action is None or (role in MAY[action] and role in WRITES):
        return ok
    return 403


@pytest.fixture
def opp(users) -> Opportunity:
    customer = CustomerFactory(owner=users["rep1"], name="宁波海天精工")
    return typing.cast(Opportunity, OpportunityFactory(customer=customer, owner=users["rep1"]))


def stage_id(name: str) -> int:
    return default_pipeline().stages.get(name=name).pk


# --- API --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_api_list_shows_exactly_the_opportunities_in_scope(users, role):
    opps = {
        o: OpportunityFactory(customer=CustomerFactory(owner=users[o]), owner=users[o])
        for o in ["rep1", "rep2", "rep3"]
    }
    response = Api(users[role]).get("/opportunities", limit=200)
    assert response.status_code == 200
    assert {i["id"] for i in response.json()["items"]} == {opps[o].pk for o in LISTED[role]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["", "/stage-history"])
def test_api_read(users, opp, role, path):
    response = Api(users[role]).get(f"/opportunities/{opp.pk}{path}")
    assert response.status_code == expected(role, None, 200)


@pytest.mark.parametrize("role", ROLES)
def test_api_create(users, role):
    customer = CustomerFactory(owner=users[role])
    response = Api(users[role]).post(
        "/opportunities", {"name": f"{role}的商机", "customer_id": customer.pk, "amount": "1000"}
    )
    allowed = role in MAY["create"]
    # a customer out of the role's sight is a field error, after the permission check
    assert response.status_code in ((201,) if allowed else (403,)), response.content
    assert Opportunity.objects.filter(name=f"{role}的商机").exists() == allowed


def _api_send(api: Api, action: str, opp: Opportunity, users):
    path = f"/opportunities/{opp.pk}"
    match action:
        case "edit":
            return api.patch(path, {"intent": "A"})
        case "move":
            return api.post(f"{path}/move", {"stage_id": stage_id("需求确认")})
        case "assign":
            return api.patch(path, {"owner_id": users["rep2"].pk})
        case "delete":
            return api.delete(path)
        case "restore":
            return api.post(f"{path}/restore")
    raise AssertionError(action)


DONE = {
    "edit": lambda o, users: o.intent == "A",
    "move": lambda o, users: o.stage.name == "需求确认",
    "assign": lambda o, users: o.owner_id == users["rep2"].pk,
    "delete": lambda o, users: o.deleted_at is not None,
    "restore": lambda o, users: o.deleted_at is None,
}
OK = {"edit": 200, "move": 200, "assign": 200, "delete": 204, "restore": 200}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["edit", "move", "assign", "delete", "restore"])
def test_api_write(users, opp, role, action):
    if action == "restore":
        services.opportunity_delete(actor=users["admin"], opportunity=opp)
    response = _api_send(Api(users[role]), action, opp, users)
    want = expected(role, action, OK[action])
    assert response.status_code == want, response.content
    assert DONE[action](Opportunity.objects.get(pk=opp.pk), users) == (want == OK[action])


def test_api_move_to_won_without_reason_names_the_field(users, opp):
    response = Api(users["rep1"]).post(
        f"/opportunities/{opp.pk}/move", {"stage_id": stage_id("赢单")}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["win_loss_reason"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"expected_close_date": "2025-02-30"}, "expected_close_date"),
        ({"customer_id": 999999}, "customer_id"),
        ({"stage_id": 999999}, "stage_id"),
        ({"currency": "rmb"}, "currency"),
    ],
)
def test_api_bad_input_is_a_422_naming_the_field(users, body, field):
    customer = CustomerFactory(owner=users["rep1"])
    response = Api(users["rep1"]).post(
        "/opportunities", {"name": "坏数据", "customer_id": customer.pk, **body}
    )
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["detail"]}


def test_api_pipelines_and_forecast(users, opp):
    api = Api(users["rep1"])
    pipelines = api.get("/pipelines").json()
    assert pipelines[0]["name"] == "标准销售流程" and len(pipelines[0]["stages"]) == 6
    forecast = api.get("/forecast", year=2030)
    assert forecast.status_code == 200 and len(forecast.json()["months"]) == 12
    assert Api(users["agent1"]).get("/forecast").status_code == 404


# --- web --------------------------------------------------------------------------------


def _as(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_web_list_and_detail(client, users, opp, role):
    client = _as(client, users[role])
    index = client.get(reverse("sales:opportunity-index"))
    may_view = role not in {"agent1", "partner1"}  # holds the view permission
    assert index.status_code == (200 if may_view else 403)
    if may_view:
        assert (opp.name in index.content.decode()) == (role in SEES)
    detail = client.get(reverse("sales:opportunity-detail", args=[opp.pk]))
    assert detail.status_code == expected(role, None, 200)
    board = client.get(reverse("sales:opportunity-board"))
    assert board.status_code == (200 if may_view else 403)
    forecast = client.get(reverse("sales:opportunity-forecast"))
    assert forecast.status_code == (200 if may_view else 403)


@pytest.mark.parametrize("role", ROLES)
def test_web_create(client, users, role):
    customer = CustomerFactory(owner=users[role], name=f"{role}客户")
    client = _as(client, users[role])
    url = reverse("sales:opportunity-create") + f"?customer={customer.pk}"
    page = client.get(url)
    assert page.status_code == (200 if role in MAY["create"] else 403)
    response = client.post(
        url,
        {
            "name": f"{role}网页商机",
            "customer": customer.pk,
            "amount": "5000",
            "forecast_category": "pipeline",
            "currency": "CNY",
        },
    )
    assert Opportunity.objects.filter(name=f"{role}网页商机").exists() == (role in MAY["create"])
    if role in MAY["create"]:
        assert response.status_code == 302


def _web_send(client, action, opp, users):
    pk = opp.pk
    match action:
        case "edit":
            return client.post(
                reverse("sales:opportunity-edit", args=[pk]),
                {
                    "name": "改过的名字",
                    "customer": opp.customer_id,
                    "amount": "1",
                    "forecast_category": "pipeline",
                    "currency": "CNY",
                    "owner": opp.owner_id,
                },
            )
        case "move":
            return client.post(
                reverse("sales:opportunity-move", args=[pk]), {"stage": stage_id("需求确认")}
            )
        case "assign":
            return client.post(
                reverse("sales:opportunity-assign", args=[pk]), {"owner": users["rep2"].pk}
            )
        case "delete":
            return client.post(reverse("sales:opportunity-delete", args=[pk]))
        case "restore":
            return client.post(reverse("sales:opportunity-restore", args=[pk]))
    raise AssertionError(action)


WEB_DONE = {**DONE, "edit": lambda o, users: o.name == "改过的名字"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ["edit", "move", "assign", "delete", "restore"])
def test_web_write(client, users, opp, role, action):
    if action == "restore":
        services.opportunity_delete(actor=users["admin"], opportunity=opp)
    response = _web_send(_as(client, users[role]), action, opp, users)
    want = expected(role, action, 302)
    assert response.status_code == want, response.content[:500]
    assert WEB_DONE[action](Opportunity.objects.get(pk=opp.pk), users) == (want == 302)


def test_kanban_drop_on_won_without_reason_is_refused_with_the_message(client, users, opp):
    client = _as(client, users["rep1"])
    url = reverse("sales:opportunity-move", args=[opp.pk])
    refused = client.post(url, {"stage": stage_id("赢单")}, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and refused.content
    done = client.post(
        url,
        {"stage": stage_id("赢单"), "win_loss_reason": "relationship"},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 204
    assert Opportunity.objects.get(pk=opp.pk).status == "won"


@pytest.mark.parametrize(
    "query",
    ["?close_from=2025-99-01", "?owner=abc", "?cursor=xyz", "?pipeline=abc&stage=-1", "?year=x"],
)
def test_bad_query_strings_never_500(client, users, opp, query):
    client = _as(client, users["manager"])
    for name in ["opportunity-index", "opportunity-board", "opportunity-forecast"]:
        assert client.get(reverse(f"sales:{name}") + query).status_code == 200


def test_customer_page_shows_its_visible_opportunities(client, users, opp):
    page = _as(client, users["rep1"]).get(
        reverse("customers:customer-detail", args=[opp.customer_id])
    )
    assert page.status_code == 200 and opp.name in page.content.decode()


def test_list_page_query_count_is_constant(client, users, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    customer = CustomerFactory(owner=users["rep1"])
    client = _as(client, users["rep1"])
    for _ in range(5):
        OpportunityFactory(customer=customer, owner=users["rep1"])
    for name in ["opportunity-index", "opportunity-board"]:
        client.get(reverse(f"sales:{name}"))
    counts = {}
    for name in ["opportunity-index", "opportunity-board"]:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(f"sales:{name}")).status_code == 200
        counts[name] = len(ctx)
    for _ in range(55):
        OpportunityFactory(customer=customer, owner=users["rep1"])
    for name in ["opportunity-index", "opportunity-board"]:
        with django_assert_num_queries(counts[name]):
            client.get(reverse(f"sales:{name}"))
