"""REST API for leads: capture and routing, changes, assignment, disqualification,
conversion, lists, timeline and bad input."""

import typing
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.activities.models import AuditEntry, Notification
from guanxi.customers.models import ContactLink, Customer
from guanxi.customers.schemas import MAX_ID
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
    error_fields,
    make_channel,
    make_customer,
)
from guanxi.sales import schemas, services
from guanxi.sales.models import AssignmentRule, Intent, Lead
from guanxi.sales.selectors import OPEN, SORTS
from guanxi.sales.tests import factories
from guanxi.users import roles
from guanxi.users.models import User
from guanxi.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# Typed wrappers: factory_boy factories are not generic, so mypy sees the factory class.
def make_lead(**kwargs: Any) -> Lead:
    return typing.cast(Lead, factories.LeadFactory(**kwargs))


def make_rule(**kwargs: Any) -> AssignmentRule:
    return typing.cast(AssignmentRule, factories.AssignmentRuleFactory(**kwargs))


def lead_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "王芳",
        "company": "苏州恒瑞电子有限公司",
        "title": "采购经理",
        "mobile": "+86 139-1234-5678",
        "province": "江苏省",
        "city": "苏州市",
    }
    body.update(overrides)
    return body


@pytest.fixture
def admin_api(users):
    return Api(users["admin"])


@pytest.fixture
def rep_api(users):
    return Api(users["rep1"])


@pytest.fixture
def manager_api(users):
    return Api(users["manager"])


# --- capture and routing ------------------------------------------------------------------


def test_create_a_lead_for_yourself(users, rep_api):
    # given a source channel
    channel = make_channel(name="展会")
    # when a rep captures a lead for themself, with consent
    response = rep_api.post(
        "/leads",
        lead_body(
            owner_id=users["rep1"].pk,
            channel_id=channel.pk,
            email="Wang.Fang@Example.COM",
            intent="B",
            consent=True,
        ),
    )
    # then it is created through the API, normalised, owned by the rep and logged
    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert lead.source == body["source"] == "api"
    assert body["mobile"] == "13912345678"
    assert body["email"] == "wang.fang@example.com"
    assert body["owner"] == {"id": users["rep1"].pk, "name": str(users["rep1"])}
    assert body["team"]["name"] == "上海组"
    assert body["channel"] == {"id": channel.pk, "name": "展会"}
    assert (body["status"], body["intent"]) == ("new", "B")
    assert body["consent_at"] is not None and body["created_at"].endswith("Z")
    assert AuditEntry.objects.filter(subject_type="lead", subject_id=lead.pk, action="create")


def test_without_an_owner_the_city_rule_beats_the_province_round_robin(users, teams):
    # given a round-robin rule for 江苏省 over 上海组 (rep1 and a colleague) and a rule
    # sending 苏州市 to rep3
    colleague = UserFactory(username="rep4", role=roles.SALES_REP, team=teams["shanghai"])
    make_rule(
        name="江苏轮流",
        province="江苏省",
        method=AssignmentRule.Method.ROUND_ROBIN,
        team=teams["shanghai"],
    )
    make_rule(name="苏州", province="江苏省", city="苏州市", user=users["rep3"])
    marketer = Api(users["marketer1"])
    # when a marketer captures leads without an owner
    suzhou = marketer.post("/leads", lead_body())
    others = [
        marketer.post("/leads", lead_body(city=city, mobile=f"1391111000{i}"))
        for i, city in enumerate(["南京市", "无锡市", "常州市"])
    ]
    # then the 苏州 lead goes to the city rule's person, the rest take turns in the team
    assert suzhou.status_code == 201, suzhou.content
    assert suzhou.json()["owner"]["id"] == users["rep3"].pk
    assert [r.json()["owner"]["id"] for r in others] == [
        users["rep1"].pk,
        colleague.pk,
        users["rep1"].pk,
    ]
    # and each new owner is told
    assert Notification.objects.filter(user=users["rep3"]).count() == 1
    assert Notification.objects.filter(user=colleague).count() == 1


def test_owner_null_keeps_the_lead_in_the_pool(users, manager_api):
    make_rule(name="全国", user=users["rep3"])
    response = manager_api.post("/leads", lead_body(owner_id=None))
    assert response.status_code == 201, response.content
    assert response.json()["owner"] is None
    assert Lead.objects.get(pk=response.json()["id"]).owner_id is None


@pytest.mark.parametrize("owner", ["rep2", None])
def test_a_rep_may_not_give_a_new_lead_to_someone_else(users, rep_api, owner):
    owner_id = users[owner].pk if owner else None
    response = rep_api.post("/leads", lead_body(owner_id=owner_id))
    assert response.status_code == 403
    assert not Lead.objects.exists()


def test_a_manager_may_give_a_new_lead_to_a_rep(users, manager_api):
    response = manager_api.post("/leads", lead_body(owner_id=users["rep2"].pk))
    assert response.status_code == 201, response.content
    assert response.json()["owner"]["id"] == users["rep2"].pk
    assert response.json()["team_id"] == users["rep2"].team_id


# --- read and change ----------------------------------------------------------------------


def test_retrieve_a_lead(users, rep_api):
    lead = make_lead(owner=users["rep1"], notes="展会上认识", intent=Intent.A)
    response = rep_api.get(f"/leads/{lead.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["notes"], body["intent"]) == (lead.pk, "展会上认识", "A")
    assert body["team"] == {"id": users["rep1"].team_id, "name": "上海组"}


def test_patch_changes_only_the_fields_sent(users, rep_api):
    lead = make_lead(owner=users["rep1"], city="苏州市")
    response = rep_api.patch(f"/leads/{lead.pk}", {"intent": "A", "status": "working"})
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.intent, lead.status, lead.city) == ("A", "working", "苏州市")
    entry = AuditEntry.objects.get(subject_type="lead", subject_id=lead.pk, action="update")
    assert entry.changes["intent"] == ["", "A"]


def test_patch_to_another_owner_needs_the_assign_permission(users, rep_api, manager_api):
    lead = make_lead(owner=users["rep1"])
    assert rep_api.patch(f"/leads/{lead.pk}", {"owner_id": users["rep2"].pk}).status_code == 403
    response = manager_api.patch(f"/leads/{lead.pk}", {"owner_id": users["rep2"].pk})
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == users["rep2"].pk
    assert response.json()["team"]["name"] == "杭州组"


def test_delete_then_restore(users, manager_api):
    lead = make_lead(owner=users["rep1"])
    response = manager_api.delete(f"/leads/{lead.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert Lead.objects.get(pk=lead.pk).deleted_at is not None
    assert manager_api.get(f"/leads/{lead.pk}").status_code == 404
    response = manager_api.post(f"/leads/{lead.pk}/restore")
    assert response.status_code == 200
    assert manager_api.get(f"/leads/{lead.pk}").status_code == 200
    actions = set(AuditEntry.objects.filter(subject_id=lead.pk).values_list("action", flat=True))
    assert {"delete", "restore"} <= actions


# --- assign, disqualify, reopen -----------------------------------------------------------


def test_assign_gives_the_lead_and_its_team_to_the_new_owner(users, manager_api):
    lead = make_lead(owner=users["rep1"])
    response = manager_api.post(
        f"/leads/{lead.pk}/assign", {"owner_id": users["rep2"].pk, "reason": "杭州客户"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == users["rep2"].pk
    lead.refresh_from_db()
    assert (lead.owner_id, lead.team_id) == (users["rep2"].pk, users["rep2"].team_id)
    entry = AuditEntry.objects.get(subject_id=lead.pk, subject_type="lead", action="owner")
    assert entry.message == "杭州客户"
    assert Notification.objects.filter(user=users["rep2"]).exists()


def test_assign_to_null_returns_the_lead_to_the_pool(users, manager_api):
    lead = make_lead(owner=users["rep1"])
    response = manager_api.post(f"/leads/{lead.pk}/assign", {"owner_id": None})
    assert response.status_code == 200, response.content
    assert response.json()["owner"] is None
    lead.refresh_from_db()
    assert (lead.owner_id, lead.team_id) == (None, None)


def test_assign_to_a_missing_or_inactive_user_is_422(users, manager_api):
    lead = make_lead(owner=users["rep1"])
    User.objects.filter(pk=users["rep2"].pk).update(is_active=False)
    for body in [{"owner_id": users["rep2"].pk}, {"owner_id": 999999}, {}, {"owner_id": "x"}]:
        response = manager_api.post(f"/leads/{lead.pk}/assign", body)
        assert response.status_code == 422, (body, response.content)
        assert "owner_id" in error_fields(response)
    lead.refresh_from_db()
    assert lead.owner_id == users["rep1"].pk


def test_assigning_a_closed_lead_is_422(users, manager_api):
    lead = make_lead(owner=users["rep1"], status=Lead.Status.CONVERTED)
    response = manager_api.post(f"/leads/{lead.pk}/assign", {"owner_id": users["rep2"].pk})
    assert response.status_code == 422
    assert Lead.objects.get(pk=lead.pk).owner_id == users["rep1"].pk


def test_disqualify_then_reopen(users, rep_api):
    # given an open lead
    lead = make_lead(owner=users["rep1"])
    # when it is disqualified with a reason and a note
    response = rep_api.post(
        f"/leads/{lead.pk}/disqualify", {"reason": "competitor", "note": "选了别家"}
    )
    # then it is closed with the reason, and the note is on the timeline
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["disqualify_reason"]) == (
        "disqualified",
        "competitor",
    )
    assert AuditEntry.objects.filter(subject_id=lead.pk, action="disqualify", message="选了别家")
    # and a closed lead can be neither disqualified again nor edited
    assert rep_api.post(f"/leads/{lead.pk}/disqualify", {"reason": "spam"}).status_code == 422
    assert rep_api.patch(f"/leads/{lead.pk}", {"intent": "A"}).status_code == 422
    # and reopening brings it back to work
    response = rep_api.post(f"/leads/{lead.pk}/reopen")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["disqualify_reason"]) == ("working", "")
    # and an open lead cannot be reopened
    assert rep_api.post(f"/leads/{lead.pk}/reopen").status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "bored"}, "reason"),
        ({"reason": ""}, "reason"),
        ({}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "spam", "note": "x" * 1001}, "note"),
        ({"reason": "spam", "why": "x"}, "why"),
    ],
)
def test_disqualify_with_bad_input_is_422(users, rep_api, body, field):
    lead = make_lead(owner=users["rep1"])
    response = rep_api.post(f"/leads/{lead.pk}/disqualify", body)
    assert response.status_code == 422, response.content
    assert field in error_fields(response)
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW


# --- conversion ---------------------------------------------------------------------------


def test_convert_creates_a_company_and_a_contact(users, rep_api):
    # given an open lead from a company
    lead = make_lead(owner=users["rep1"], name="王芳", company="苏州恒瑞电子有限公司")
    # when it is converted
    response = rep_api.post(f"/leads/{lead.pk}/convert", {})
    # then 201 names the new customer and contact, and the lead is converted
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["customer_id"])
    assert (customer.name, customer.owner_id) == ("苏州恒瑞电子有限公司", users["rep1"].pk)
    link = ContactLink.objects.get(customer=customer)
    assert link.contact_id == body["contact_id"]
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["customer_id"] == customer.pk
    # and converting it again is refused the same way, whatever the body
    for again in [{}, {"allow_duplicates": True}, {"customer_id": customer.pk}]:
        response = rep_api.post(f"/leads/{lead.pk}/convert", again)
        assert response.status_code == 422, (again, response.content)
    assert Customer.objects.count() == 1


def test_convert_with_probable_duplicates_is_409_unless_allowed(users, rep_api):
    # given a customer another rep owns with the lead's company name
    make_customer(owner=users["rep3"], name="苏州恒瑞电子有限公司", city="苏州市")
    lead = make_lead(owner=users["rep1"], company="苏州恒瑞电子有限公司", city="苏州市")
    # when converting
    response = rep_api.post(f"/leads/{lead.pk}/convert", {})
    # then 409 lists the duplicate without revealing what the rep may not see
    assert response.status_code == 409, response.content
    [duplicate] = response.json()["duplicates"]
    assert (duplicate["visible"], duplicate["id"], duplicate["name"]) == (False, None, None)
    assert duplicate["owner"]["id"] == users["rep3"].pk
    assert duplicate["reasons"]
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW
    # and with allow_duplicates a second customer is created
    response = rep_api.post(f"/leads/{lead.pk}/convert", {"allow_duplicates": True})
    assert response.status_code == 201, response.content
    assert Customer.objects.filter(name="苏州恒瑞电子有限公司").count() == 2


def test_convert_into_an_existing_customer(users, rep_api):
    customer = make_customer(owner=users["rep1"], name="苏州恒瑞电子有限公司")
    lead = make_lead(owner=users["rep1"], name="王芳", company="恒瑞电子")
    response = rep_api.post(f"/leads/{lead.pk}/convert", {"customer_id": customer.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == customer.pk
    assert ContactLink.objects.filter(customer=customer, contact_id=body["contact_id"]).exists()
    assert Customer.objects.count() == 1


def test_convert_into_a_customer_you_cannot_see_is_422(users, rep_api):
    theirs = make_customer(owner=users["rep3"])
    lead = make_lead(owner=users["rep1"])
    for customer_id in [theirs.pk, 999999]:
        response = rep_api.post(f"/leads/{lead.pk}/convert", {"customer_id": customer_id})
        assert response.status_code == 422, response.content
        assert error_fields(response) == {"customer_id"}
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.NEW


# --- timeline -----------------------------------------------------------------------------


def test_timeline_is_paginated_newest_first(users, rep_api):
    lead = services.lead_create(actor=users["rep1"], data={**lead_body(), "owner": users["rep1"]})
    for intent in ["A", "B", "C"]:
        assert rep_api.patch(f"/leads/{lead.pk}", {"intent": intent}).status_code == 200
    first = rep_api.get(f"/leads/{lead.pk}/timeline", limit=3).json()
    assert len(first["items"]) == 3
    assert first["has_more"]
    second = rep_api.get(f"/leads/{lead.pk}/timeline", limit=3, cursor=first["next_cursor"])
    entries = first["items"] + second.json()["items"]
    assert [e["action"] for e in entries] == ["update", "update", "update", "create"]
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert entries[0]["changes"]["intent"] == ["B", "C"]
    assert entries[0]["actor"]["id"] == users["rep1"].pk
    assert not second.json()["has_more"]


# --- lists --------------------------------------------------------------------------------


def test_list_filters(users, admin_api):
    channel = make_channel(name="展会")
    make_lead(owner=users["rep1"], name="张伟", intent="A", channel=channel)
    make_lead(owner=users["rep1"], name="李娜", status=Lead.Status.QUALIFIED, city="南京市")
    make_lead(owner=users["rep2"], name="王强", status=Lead.Status.CONVERTED)
    make_lead(owner=None, name="赵敏", source=Lead.Source.FORM, province="浙江省", city="杭州市")

    def names(api: Api = admin_api, **query: Any) -> set[str]:
        response = api.get("/leads", **query)
        assert response.status_code == 200, response.content
        return {lead["name"] for lead in response.json()["items"]}

    assert names() == {"张伟", "李娜", "王强", "赵敏"}
    assert names(status="open") == {"张伟", "李娜", "赵敏"}
    assert names(status="converted") == {"王强"}
    assert names(intent="A") == {"张伟"}
    assert names(owner="none") == {"赵敏"}
    assert names(owner=users["rep2"].pk) == {"王强"}
    assert names(Api(users["rep1"]), owner="me") == {"张伟", "李娜"}
    assert names(channel=channel.pk) == {"张伟"}
    assert names(source="form") == {"赵敏"}
    assert names(province="浙江省") == {"赵敏"}
    assert names(city="南京市") == {"李娜"}
    assert names(q="zhangwei") == {"张伟"}
    assert names(q="ln") == {"李娜"}
    sorted_names = [lead["name"] for lead in admin_api.get("/leads", sort="name").json()["items"]]
    assert sorted_names == sorted(sorted_names)


@pytest.mark.parametrize("sort", ["-updated_at", "name", "created_at"])
def test_cursor_pagination_walks_every_row_once(users, admin_api, sort):
    expected = {make_lead(owner=users["rep1"]).pk for _ in range(23)}
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        query: dict[str, Any] = {"limit": 5, "sort": sort}
        if cursor:
            query["cursor"] = cursor
        body = admin_api.get("/leads", **query).json()
        seen += [lead["id"] for lead in body["items"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == expected
    assert cursor is None


def test_the_list_runs_a_fixed_number_of_queries(users, admin_api):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = admin_api.get("/leads", limit=200)
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["items"])

    admin_api.get("/me")  # the first use of a token also records its last use
    channel = make_channel()
    for _ in range(5):
        make_lead(owner=users["rep1"], channel=channel)
    count_queries()  # warm: permissions and scopes are cached after the first request
    small, rows = count_queries()
    assert rows == 5
    for owner in ["rep2", "rep3", "manager"]:
        for _ in range(15):
            make_lead(owner=users[owner], channel=make_channel())
    large, rows = count_queries()
    assert rows == 50
    assert large == small


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "", "company": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 42}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": None}, "name"),
        ({"mobile": "12345"}, "mobile"),
        ({"mobile": "", "phone": "", "email": "", "wechat": ""}, "mobile"),
        ({"email": "not-an-email"}, "email"),
        ({"intent": "Z"}, "intent"),
        ({"status": "converted"}, "status"),
        ({"source": "web"}, "source"),
        ({"channel_id": 999999}, "channel_id"),
        ({"channel_id": "abc"}, "channel_id"),
        ({"owner_id": 999999}, "owner_id"),
        ({"owner_id": 2**70}, "owner_id"),
        ({"consent": "maybe"}, "consent"),
        ({"wechat": "w" * 51}, "wechat"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_create_with_bad_input_is_422_naming_the_field(users, admin_api, body, field):
    response = admin_api.post("/leads", body if body == {} else lead_body(**body))
    assert response.status_code == 422, response.content
    assert field in error_fields(response), response.content
    assert all(e["message"] for e in response.json()["detail"])
    assert not Lead.objects.exists()


def test_malformed_json_is_400(users, rep_api):
    response = rep_api.post("/leads", "{not json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["location"] == "body"


def test_patch_with_bad_input_is_422_and_changes_nothing(users, rep_api):
    lead = make_lead(owner=users["rep1"], name="原名")
    for body, field in [
        ({"name": None}, "name"),
        ({"status": "converted"}, "status"),
        ({"status": None}, "status"),
        ({"mobile": "999"}, "mobile"),
        ({"owner": 1}, "owner"),
        ({"consent": True}, "consent"),
    ]:
        response = rep_api.patch(f"/leads/{lead.pk}", body)
        assert response.status_code == 422, (body, response.content)
        assert field in error_fields(response)
    lead.refresh_from_db()
    assert (lead.name, lead.status) == ("原名", "new")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"owner": "someone"}, "owner"),
        ({"owner": "0"}, "owner"),
        ({"status": "gone"}, "status"),
        ({"intent": "Z"}, "intent"),
        ({"source": "fax"}, "source"),
        ({"sort": "password"}, "sort"),
        ({"q": "x" * 201}, "q"),
        ({"channel": -1}, "channel"),
        ({"channel": 2**64}, "channel"),
    ],
)
def test_list_with_bad_query_is_422_naming_the_parameter(users, rep_api, query, field):
    response = rep_api.get("/leads", **query)
    assert response.status_code == 422, response.content
    assert error_fields(response) == {field}
    assert response.json()["detail"][0]["location"] == "query"


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "e30",
        "WzEsMl0",
        "WyJ4IiwgInkiXQ",
        "WyIyMDI0LTAxLTAxVDAwOjAwOjAwWiIsIDEuNV0",
        "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTIzOjAwIiwgMV0",
        "WyIyMDI0LTAxLTAxVDAwOjAwOjAwLTIwOjAwIiwgMV0",
    ],
)
def test_an_invalid_cursor_is_400(users, rep_api, cursor):
    response = rep_api.get("/leads", cursor=cursor)
    assert response.status_code == 400, response.content
    assert error_fields(response) == {"cursor"}
    lead = make_lead(owner=users["rep1"])
    assert rep_api.get(f"/leads/{lead.pk}/timeline", cursor=cursor).status_code == 400


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", str(MAX_ID + 1), str(2**64), "1.5"])
def test_bad_ids_in_the_path_are_422(users, admin_api, bad_id):
    for method, path in [
        ("get", f"/leads/{bad_id}"),
        ("delete", f"/leads/{bad_id}"),
        ("get", f"/leads/{bad_id}/timeline"),
        ("post", f"/leads/{bad_id}/convert"),
        ("post", f"/leads/{bad_id}/restore"),
    ]:
        response = getattr(admin_api, method)(path)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["detail"][0]["location"] == "path"


@pytest.mark.parametrize("lead_id", [999999, MAX_ID])
def test_a_lead_that_does_not_exist_is_404_everywhere(users, admin_api, lead_id):
    base = f"/leads/{lead_id}"
    responses = [
        admin_api.get(base),
        admin_api.patch(base, {"intent": "A"}),
        admin_api.delete(base),
        admin_api.post(f"{base}/restore"),
        admin_api.post(f"{base}/assign", {"owner_id": None}),
        admin_api.post(f"{base}/disqualify", {"reason": "spam"}),
        admin_api.post(f"{base}/reopen"),
        admin_api.post(f"{base}/convert", {}),
        admin_api.get(f"{base}/timeline"),
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert all(r.json()["detail"] for r in responses)


def test_without_a_token_it_is_401(users):
    assert Api().get("/leads").status_code == 401
    assert Api().post("/leads", lead_body()).status_code == 401


def test_schema_enums_match_the_model_choices():
    assert set(typing.get_args(schemas.LeadStatus)) == set(Lead.Status.values)
    assert set(typing.get_args(schemas.OpenStatus)) == set(Lead.OPEN_STATUSES)
    assert set(typing.get_args(schemas.StatusFilter)) == {OPEN, *Lead.Status.values}
    assert set(typing.get_args(schemas.Source)) == set(Lead.Source.values)
    assert set(typing.get_args(schemas.Intent)) == {"", *Intent.values}
    assert set(typing.get_args(schemas.Reason)) == set(Lead.Reason.values)
    assert set(typing.get_args(schemas.Sort)) == set(SORTS)
