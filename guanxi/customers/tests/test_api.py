"""REST API for customers and contacts: happy paths, bad input, auth, limits, paging."""

import json
import typing
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from guanxi.activities.models import AuditEntry
from guanxi.customers import schemas
from guanxi.customers.models import Channel, Contact, ContactLink, Customer, Industry, Tag
from guanxi.customers.tests import factories
from guanxi.users.models import User
from guanxi.users.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

BASE = "/api/v1"


# Typed wrappers: factory_boy factories are not generic, so mypy sees the factory class.
def make_customer(**kwargs: Any) -> Customer:
    return typing.cast(Customer, factories.CustomerFactory(**kwargs))


def make_contact(**kwargs: Any) -> Contact:
    return typing.cast(Contact, factories.ContactFactory(**kwargs))


def make_tag(**kwargs: Any) -> Tag:
    return typing.cast(Tag, factories.TagFactory(**kwargs))


def make_channel(**kwargs: Any) -> Channel:
    return typing.cast(Channel, factories.ChannelFactory(**kwargs))


class Api:
    """A test client speaking JSON with a personal API token."""

    def __init__(self, user: User | None = None, secret: str | None = None) -> None:
        self.client = Client()
        self.user = user
        if secret is None and user is not None:
            _token, secret = api_token_create(user=user, name="tests")
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def _send(self, method: str, path: str, body: Any = None, **query: Any):
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        elif query:
            kwargs["data"] = query
        return getattr(self.client, method)(BASE + path, **kwargs)

    def get(self, path: str, **query: Any):
        return self._send("get", path, **query)

    def post(self, path: str, body: Any = None):
        return self._send("post", path, {} if body is None else body)

    def patch(self, path: str, body: Any):
        return self._send("patch", path, body)

    def delete(self, path: str):
        return self._send("delete", path)


def error_fields(response) -> set[str | None]:
    return {e["field"] for e in response.json()["detail"]}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def admin_api(users):
    return Api(users["admin"])


@pytest.fixture
def rep_api(users):
    return Api(users["rep1"])


# --- authentication -----------------------------------------------------------------------


def test_without_a_token_the_api_answers_401_json(users):
    # given no credentials
    # when listing customers
    response = Api().get("/customers")
    # then 401 JSON, not a redirect to the login page
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_an_unknown_token_is_401(users):
    response = Api(secret="gx_not-a-real-token").get("/customers")
    assert response.status_code == 401


def test_a_revoked_token_is_401(users):
    # given a token that worked
    token, secret = api_token_create(user=users["rep1"], name="ci")
    api = Api(secret=secret)
    assert api.get("/customers").status_code == 200
    # when it is revoked
    assert api_token_revoke(user=users["rep1"], token_id=token.pk)
    # then it no longer authenticates
    assert api.get("/customers").status_code == 401


def test_a_deactivated_user_s_token_is_401(users, rep_api):
    User.objects.filter(pk=users["rep1"].pk).update(is_active=False)
    assert rep_api.get("/customers").status_code == 401


def test_the_browser_session_works_for_reads_and_needs_csrf_for_writes(users):
    # given a logged-in browser that enforces CSRF
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["rep1"])
    make_customer(owner=users["rep1"])
    # when reading
    response = client.get(f"{BASE}/customers")
    # then the session is enough
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1
    # and a write without the CSRF token is refused
    response = client.post(
        f"{BASE}/customers", data={"name": "无令牌"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Customer.objects.filter(name="无令牌").exists()


def test_me_describes_the_token_s_user(users, rep_api):
    response = rep_api.get("/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "rep1"
    assert body["team"]["name"] == "上海组"
    assert "customers.add_customer" in body["permissions"]


def test_the_openapi_document_is_public_and_the_docs_need_a_login(users):
    client = Client()
    schema = client.get(f"{BASE}/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Guanxi API"
    assert client.get(f"{BASE}/docs").status_code == 302
    client.force_login(users["rep1"])
    assert client.get(f"{BASE}/docs").status_code == 200


def test_every_documented_operation_lists_its_error_statuses(users):
    paths = Client().get(f"{BASE}/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "429"} <= codes, (method, path)
            if method in {"post", "patch", "delete"}:
                assert {"400", "403", "404", "422"} <= codes, (method, path)


# --- rate limiting ------------------------------------------------------------------------


def test_requests_over_the_per_minute_limit_get_429_with_retry_after(users, settings):
    # given a limit of 3 requests a minute
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    api = Api(users["rep1"])
    # when a fourth request comes within the minute
    statuses = [api.get("/customers").status_code for _ in range(4)]
    # then it is refused with a hint when to retry
    assert statuses == [200, 200, 200, 429]
    response = api.get("/customers")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"]


def test_the_rate_limit_counts_each_token_separately(users, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    first, second = Api(users["rep1"]), Api(users["rep1"])
    assert first.get("/customers").status_code == 200
    assert first.get("/customers").status_code == 429
    assert second.get("/customers").status_code == 200


# --- customers: happy paths ---------------------------------------------------------------


def test_create_a_customer(users, rep_api):
    # given a tag and a channel
    tag = make_tag(name="重点")
    channel = make_channel(name="展会")
    # when a rep creates a customer
    response = rep_api.post(
        "/customers",
        {
            "name": "  宁波  舟山港物流  ",
            "kind": "company",
            "industry": "G",
            "mobile": "+86 138-1234-5678",
            "email": "Info@Example.COM",
            "city": "宁波市",
            "province": "浙江省",
            "tag_ids": [tag.pk],
            "channel_id": channel.pk,
            "remarks": {"erp_code": "NB-001"},
        },
    )
    # then it is created, normalised, owned by the rep and logged
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert body["name"] == customer.name == "宁波 舟山港物流"
    assert body["mobile"] == "13812345678"
    assert body["email"] == "info@example.com"
    assert body["owner"] == {"id": users["rep1"].pk, "name": str(users["rep1"])}
    assert body["team"]["name"] == "上海组"
    assert [t["name"] for t in body["tags"]] == ["重点"]
    assert body["channel"] == {"id": channel.pk, "name": "展会"}
    assert body["remarks"] == {"erp_code": "NB-001"}
    assert body["created_at"].endswith("Z")
    assert AuditEntry.objects.filter(customer_id=customer.pk, action="create").exists()


def test_create_a_probable_duplicate_is_409_unless_allowed(users, rep_api):
    # given a customer another rep owns with the same mobile
    other = make_customer(owner=users["rep3"], name="北京燕山石化", mobile="13900001111")
    payload = {"name": "燕山石化北京公司", "mobile": "139-0000-1111"}
    # when creating the same company again
    response = rep_api.post("/customers", payload)
    # then 409 lists the duplicate without revealing what the rep may not see
    assert response.status_code == 409
    duplicate = response.json()["duplicates"][0]
    assert duplicate["visible"] is False
    assert duplicate["id"] is None
    assert duplicate["name"] is None
    assert duplicate["owner"]["id"] == users["rep3"].pk
    assert duplicate["reasons"]
    assert not Customer.objects.filter(name="燕山石化北京公司").exists()
    # and with allow_duplicates the customer is created
    response = rep_api.post("/customers", {**payload, "allow_duplicates": True})
    assert response.status_code == 201
    assert Customer.objects.filter(mobile=other.mobile).count() == 2


def test_duplicates_check(users, admin_api):
    customer = make_customer(owner=users["rep1"], name="上海宝钢贸易", city="上海市")
    response = admin_api.get("/customers/duplicates", name="上海宝钢贸易", city="上海市")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == [customer.pk]
    response = admin_api.get("/customers/duplicates", name="上海宝钢贸易", exclude_id=customer.pk)
    assert response.json() == []


def test_retrieve_a_customer_with_its_contacts(users, rep_api):
    customer = make_customer(owner=users["rep1"], notes="老客户")
    contact = make_contact(customer=customer, name="李四")
    response = rep_api.get(f"/customers/{customer.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == customer.pk
    assert body["notes"] == "老客户"
    assert [c["contact_id"] for c in body["contacts"]] == [contact.pk]


def test_patch_changes_only_the_fields_sent(users, rep_api):
    # given a customer
    customer = make_customer(owner=users["rep1"], city="杭州市", tier="ordinary")
    # when patching the tier
    response = rep_api.patch(f"/customers/{customer.pk}", {"tier": "key"})
    # then only the tier changes, and the change is on the timeline
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.tier, customer.city) == ("key", "杭州市")
    entry = AuditEntry.objects.get(customer_id=customer.pk, action="update")
    assert entry.changes["tier"] == ["ordinary", "key"]


def test_patch_replaces_tags_and_clears_the_channel(users, rep_api):
    customer = make_customer(owner=users["rep1"], channel=make_channel(name="官网"))
    customer.tags.add(make_tag(name="旧"))
    new = make_tag(name="新")
    response = rep_api.patch(f"/customers/{customer.pk}", {"tag_ids": [new.pk], "channel_id": None})
    assert response.status_code == 200
    assert [t["name"] for t in response.json()["tags"]] == ["新"]
    assert response.json()["channel"] is None


def test_delete_then_restore(users):
    # given a manager and a customer of the team
    api = Api(users["manager"])
    customer = make_customer(owner=users["rep1"])
    # when deleting
    response = api.delete(f"/customers/{customer.pk}")
    # then it is soft-deleted and gone from reads
    assert response.status_code == 204
    assert response.content == b""
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None
    assert api.get(f"/customers/{customer.pk}").status_code == 404
    # and restore brings it back
    response = api.post(f"/customers/{customer.pk}/restore")
    assert response.status_code == 200
    assert api.get(f"/customers/{customer.pk}").status_code == 200


def test_reassign_gives_the_customer_and_team_to_the_new_owner(users):
    api = Api(users["manager"])
    customer = make_customer(owner=users["rep1"])
    response = api.post(
        f"/customers/{customer.pk}/reassign", {"owner_id": users["rep2"].pk, "reason": "调岗"}
    )
    assert response.status_code == 200
    assert response.json()["owner"]["id"] == users["rep2"].pk
    customer.refresh_from_db()
    assert (customer.owner_id, customer.team_id) == (users["rep2"].pk, users["rep2"].team_id)
    entry = AuditEntry.objects.get(customer_id=customer.pk, action="owner")
    assert entry.message == "调岗"


def test_timeline_is_paginated_newest_first(users, rep_api):
    customer = make_customer(owner=users["rep1"])
    for tier in ["key", "suitable", "ordinary", "key"]:
        assert rep_api.patch(f"/customers/{customer.pk}", {"tier": tier}).status_code == 200
    first = rep_api.get(f"/customers/{customer.pk}/timeline", limit=3).json()
    assert len(first["items"]) == 3
    assert first["has_more"]
    second = rep_api.get(
        f"/customers/{customer.pk}/timeline", limit=3, cursor=first["next_cursor"]
    ).json()
    entries = first["items"] + second["items"]
    assert len({e["id"] for e in entries}) == len(entries) == 4
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert entries[0]["changes"]["tier"] == ["ordinary", "key"]
    assert entries[0]["actor"]["id"] == users["rep1"].pk


# --- customers: lists ---------------------------------------------------------------------


def test_list_filters(users, rep_api):
    tag = make_tag(name="VIP")
    mine = make_customer(owner=users["rep1"], name="上海宝钢贸易", tier="key", city="上海市")
    mine.tags.add(tag)
    make_customer(owner=users["rep1"], name="上海石化", tier="ordinary", city="上海市")
    make_customer(owner=users["rep2"], name="杭州万华", tier="key")

    def names(**query):
        response = rep_api.get("/customers", **query)
        assert response.status_code == 200, response.content
        return {c["name"] for c in response.json()["items"]}

    assert names() == {"上海宝钢贸易", "上海石化"}
    assert names(tier="key") == {"上海宝钢贸易"}
    assert names(tag=tag.pk) == {"上海宝钢贸易"}
    assert names(owner="me") == {"上海宝钢贸易", "上海石化"}
    assert names(owner=users["rep2"].pk) == set()
    assert names(q="宝钢") == {"上海宝钢贸易"}
    assert names(city="杭州市") == set()
    assert [c["name"] for c in rep_api.get("/customers", sort="name").json()["items"]] == sorted(
        ["上海宝钢贸易", "上海石化"]
    )


@pytest.mark.parametrize("sort", ["-updated_at", "name", "created_at"])
def test_cursor_pagination_walks_every_row_once(users, admin_api, sort):
    # given 23 customers
    expected = {make_customer(owner=users["rep1"]).pk for _ in range(23)}
    # when walking the list 5 at a time
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        query: dict[str, Any] = {"limit": 5, "sort": sort}
        if cursor:
            query["cursor"] = cursor
        body = admin_api.get("/customers", **query).json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    # then every row comes exactly once and the last page says so
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == expected
    assert cursor is None


def test_the_list_runs_a_fixed_number_of_queries(users, admin_api):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = admin_api.get("/customers", limit=200)
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["items"])

    admin_api.get("/me")  # the first use of a token also records its last use
    tag = make_tag()
    channel = make_channel()
    for _ in range(5):
        make_customer(owner=users["rep1"], channel=channel).tags.add(tag)
    count_queries()  # warm: permissions and scopes are cached after the first request
    small, rows = count_queries()
    assert rows == 5
    for _ in range(45):
        make_customer(owner=users["rep2"], channel=channel).tags.add(tag)
    large, rows = count_queries()
    assert rows == 50
    assert large == small


def test_list_items_carry_their_tags_by_name_and_untagged_rows_cost_no_query(users, admin_api):
    # given a customer with two tags and ten without any
    tagged = make_customer(owner=users["rep1"], name="标签客户")
    tagged.tags.add(make_tag(name="乙-重点"), make_tag(name="甲-展会"))
    for _ in range(10):
        make_customer(owner=users["rep1"])
    admin_api.get("/me")
    admin_api.get("/customers")  # warm the permission cache
    # when the list is read, searched, and read again with only untagged rows
    with CaptureQueriesContext(connection) as plain:
        items = admin_api.get("/customers", limit=200).json()["items"]
    searched = admin_api.get("/customers", q="标签客户").json()["items"]
    with CaptureQueriesContext(connection) as untagged:
        admin_api.get("/customers", limit=200, tier=tagged.tier, owner=users["rep2"].pk)
    # then the tags come sorted by name, the others have none, and no row adds a query
    by_id = {item["id"]: item for item in items}
    assert [t["name"] for t in by_id[tagged.pk]["tags"]] == ["乙-重点", "甲-展会"]
    assert [t["name"] for t in searched[0]["tags"]] == ["乙-重点", "甲-展会"]
    assert sum(1 for item in items if not item["tags"]) == 10
    assert len(untagged.captured_queries) <= len(plain.captured_queries)


def test_the_contact_list_runs_a_fixed_number_of_queries(users, admin_api):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_api.get("/contacts", limit=200).status_code == 200
        return len(ctx.captured_queries)

    admin_api.get("/me")  # the first use of a token also records its last use
    for _ in range(5):
        make_contact(customer=make_customer(owner=users["rep1"]))
    count_queries()  # warm the permission cache
    small = count_queries()
    for _ in range(30):
        make_contact(customer=make_customer(owner=users["rep2"]))
    assert count_queries() == small


# --- customers: bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "kind": "alien"}, "kind"),
        ({"name": "ok", "tier": "gold"}, "tier"),
        ({"name": "ok", "industry": "Z"}, "industry"),
        ({"name": "ok", "mobile": "12345"}, "mobile"),
        ({"name": "ok", "email": "not-an-email"}, "email"),
        ({"name": "ok", "website": "not a url"}, "website"),
        ({"name": "ok", "kind": "person", "uscc": "91330000MA27XYZ123"}, "uscc"),
        ({"name": "ok", "lunar_birthday": "13-40"}, "lunar_birthday"),
        ({"name": "ok", "birthday": "2024-02-30"}, "birthday"),
        ({"name": "ok", "channel_id": 999999}, "channel_id"),
        ({"name": "ok", "channel_id": "abc"}, "channel_id"),
        ({"name": "ok", "team_id": 999999}, "team_id"),
        ({"name": "ok", "tag_ids": [999999]}, "tag_ids"),
        ({"name": "ok", "owner_id": 2**70}, "owner_id"),
        ({"name": "ok", "remarks": {"k": {"nested": 1}}}, "remarks.k"),
        ({"name": "ok", "remarks": {"k": "\x00"}}, "remarks.k"),
        ({"name": "ok", "remarks": {"k": 2**60}}, "remarks.k"),
        ({"name": "ok", "unknown": 1}, "unknown"),
        ({"name": None}, "name"),
    ],
)
def test_create_with_bad_input_is_422_naming_the_field(users, rep_api, body, field):
    response = rep_api.post("/customers", body)
    assert response.status_code == 422, response.content
    fields = error_fields(response)
    assert field in fields or any(f and f.startswith(field) for f in fields), fields
    assert all(e["message"] for e in response.json()["detail"])
    assert not Customer.objects.exists()


def test_malformed_json_is_400(users, rep_api):
    response = rep_api.post("/customers", "{not json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["location"] == "body"


def test_patch_with_bad_input_is_422_and_changes_nothing(users, rep_api):
    customer = make_customer(owner=users["rep1"], name="原名")
    for body, field in [
        ({"name": None}, "name"),
        ({"status": "gone"}, "status"),
        ({"mobile": "999"}, "mobile"),
        ({"owner": 1}, "owner"),
    ]:
        response = rep_api.patch(f"/customers/{customer.pk}", body)
        assert response.status_code == 422, (body, response.content)
        assert field in error_fields(response)
    customer.refresh_from_db()
    assert customer.name == "原名"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"owner": "someone"}, "owner"),
        ({"team": "x"}, "team"),
        ({"tier": "gold"}, "tier"),
        ({"sort": "password"}, "sort"),
        ({"q": "x" * 201}, "q"),
        ({"tag": -1}, "tag"),
        ({"channel": 2**64}, "channel"),
    ],
)
def test_list_with_bad_query_is_422_naming_the_parameter(users, rep_api, query, field):
    response = rep_api.get("/customers", **query)
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
    # "e30" is {}, "WzEsMl0" is [1,2], then ["x","y"], [date, 1.5], a date past 9999
    # in UTC and a UTC offset PostgreSQL refuses (-20:00)
    response = rep_api.get("/customers", cursor=cursor)
    assert response.status_code == 400, response.content
    assert error_fields(response) == {"cursor"}
    timeline = rep_api.get(
        f"/customers/{make_customer(owner=users['rep1']).pk}/timeline", cursor=cursor
    )
    assert timeline.status_code == 400


def test_a_cursor_of_the_wrong_type_for_a_search_is_400(users, rep_api):
    # ["x", "2024-01-01T00:00:00Z", 1] does not fit (rank, updated_at, id)
    import base64

    cursor = base64.urlsafe_b64encode(json.dumps(["x", "2024-01-01T00:00:00Z", 1]).encode())
    response = rep_api.get("/customers", q="宝钢贸易", cursor=cursor.decode().rstrip("="))
    assert response.status_code == 400


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", str(2**64), "1.5"])
def test_bad_ids_in_the_path_are_422(users, rep_api, bad_id):
    for method, path in [
        ("get", f"/customers/{bad_id}"),
        ("delete", f"/customers/{bad_id}"),
        ("get", f"/contacts/{bad_id}"),
        ("get", f"/customers/{bad_id}/timeline"),
    ]:
        response = getattr(rep_api, method)(path)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["detail"][0]["location"] == "path"


def test_reassign_to_a_missing_or_inactive_user_is_422(users):
    api = Api(users["manager"])
    customer = make_customer(owner=users["rep1"])
    User.objects.filter(pk=users["rep2"].pk).update(is_active=False)
    for body in [{"owner_id": users["rep2"].pk}, {"owner_id": 999999}, {}, {"owner_id": "x"}]:
        response = api.post(f"/customers/{customer.pk}/reassign", body)
        assert response.status_code == 422, (body, response.content)
        assert "owner_id" in error_fields(response)
    customer.refresh_from_db()
    assert customer.owner_id == users["rep1"].pk


def test_nonexistent_customer_is_404(users, admin_api):
    assert admin_api.get("/customers/999999").status_code == 404
    assert admin_api.patch("/customers/999999", {"tier": "key"}).status_code == 404
    assert admin_api.delete("/customers/999999").status_code == 404
    assert admin_api.post("/customers/999999/restore").status_code == 404
    assert admin_api.get("/customers/999999/timeline").status_code == 404


# --- contacts -----------------------------------------------------------------------------


def test_contact_crud(users, rep_api):
    # given a customer of the rep
    customer = make_customer(owner=users["rep1"], name="上海宝钢贸易")
    # when creating a contact there
    response = rep_api.post(
        "/contacts",
        {
            "customer_id": customer.pk,
            "name": "王五",
            "mobile": "13812345678",
            "title": "采购经理",
            "department": "采购部",
            "is_primary": True,
        },
    )
    # then it is linked with its role
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customers"] == [
        {
            "customer_id": customer.pk,
            "customer_name": "上海宝钢贸易",
            "title": "采购经理",
            "department": "采购部",
            "is_primary": True,
        }
    ]
    contact_id = body["id"]
    # and it can be read, listed, changed and deleted
    assert rep_api.get(f"/contacts/{contact_id}").json()["name"] == "王五"
    listed = rep_api.get("/contacts", customer=customer.pk).json()
    assert [c["id"] for c in listed["items"]] == [contact_id]
    assert rep_api.get("/contacts", q="王五").json()["items"][0]["id"] == contact_id
    response = rep_api.patch(f"/contacts/{contact_id}", {"wechat": "wangwu88"})
    assert response.status_code == 200
    assert response.json()["wechat"] == "wangwu88"
    assert Api(users["manager"]).delete(f"/contacts/{contact_id}").status_code == 204
    assert Contact.objects.get(pk=contact_id).deleted_at is not None
    assert rep_api.get(f"/contacts/{contact_id}").status_code == 404


def test_contact_roles_at_invisible_customers_are_not_shown(users, rep_api):
    mine = make_customer(owner=users["rep1"])
    theirs = make_customer(owner=users["rep3"], name="北京燕山石化")
    contact = make_contact(customer=mine)
    ContactLink.objects.create(customer=theirs, contact=contact)
    listed = rep_api.get("/contacts").json()["items"]
    assert [r["customer_id"] for r in listed[0]["customers"]] == [mine.pk]
    detail = rep_api.get(f"/contacts/{contact.pk}").json()
    assert [r["customer_id"] for r in detail["customers"]] == [mine.pk]
    assert rep_api.get("/contacts", customer=theirs.pk).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "王五"}, "customer_id"),
        ({"customer_id": "x", "name": "王五"}, "customer_id"),
        ({"customer_id": 999999, "name": "王五"}, "customer_id"),
        ({"customer_id": None, "name": ""}, "name"),
        ({"name": "王五", "mobile": "123"}, "mobile"),
        ({"name": "王五", "email": "nope"}, "email"),
        ({"name": "王五", "gender": "x"}, "gender"),
        ({"name": "王五", "title": "t" * 101}, "title"),
        ({"name": "王五", "nickname": "五哥"}, "nickname"),
    ],
)
def test_contact_create_with_bad_input_is_422(users, rep_api, body, field):
    customer = make_customer(owner=users["rep1"])
    if field != "customer_id":
        body = {"customer_id": customer.pk, **body}
    response = rep_api.post("/contacts", body)
    assert response.status_code == 422, response.content
    assert field in error_fields(response)
    assert not Contact.objects.exists()


def test_contact_patch_with_bad_input_is_422(users, rep_api):
    contact = make_contact(customer=make_customer(owner=users["rep1"]), name="李四")
    for body, field in [
        ({"name": None}, "name"),
        ({"mobile": "1"}, "mobile"),
        ({"customer_id": 1}, "customer_id"),
    ]:
        response = rep_api.patch(f"/contacts/{contact.pk}", body)
        assert response.status_code == 422, response.content
        assert field in error_fields(response)
    contact.refresh_from_db()
    assert contact.name == "李四"


def test_contact_list_bad_query_and_cursor(users, rep_api):
    assert rep_api.get("/contacts", limit=0).status_code == 422
    assert rep_api.get("/contacts", customer="abc").status_code == 422
    response = rep_api.get("/contacts", cursor="garbage")
    assert response.status_code == 400
    assert error_fields(response) == {"cursor"}


# --- reference lists ----------------------------------------------------------------------


def test_tags_and_channels(users, rep_api):
    make_tag(name="重点")
    make_channel(name="展会")
    assert [t["name"] for t in rep_api.get("/tags").json()] == ["重点"]
    assert [c["name"] for c in rep_api.get("/channels").json()] == ["展会"]


def test_schema_enums_match_the_model_choices():
    assert set(typing.get_args(schemas.Kind)) == set(Customer.Kind.values)
    assert set(typing.get_args(schemas.Tier)) == set(Customer.Tier.values)
    assert set(typing.get_args(schemas.Status)) == set(Customer.Status.values)
    assert set(typing.get_args(schemas.Gender)) == set(Customer.Gender.values)
    assert set(typing.get_args(schemas.Industry)) == {"", *Industry.values}
