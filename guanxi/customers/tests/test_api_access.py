"""Every role × action on customers and contacts through the REST API.

The expected rows come from the service-level access test (``test_access.py``): the API
must answer 404 for rows a role may not see, 403 for rows it sees but may not act on.
"""

from typing import Any

import pytest

from guanxi.customers.models import Contact, Customer
from guanxi.customers.services import customer_delete
from guanxi.customers.tests.test_access import EDITABLE, VISIBLE
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
    make_contact,
    make_customer,
)

pytestmark = pytest.mark.django_db

ROLES = list(VISIBLE)
OWNERS = ["rep1", "rep2", "rep3"]
# Roles holding the permission, before the row scope is applied.
MAY = {
    "create": {"admin", "manager", "rep1", "rep2", "rep3"},
    "edit": {"admin", "manager", "rep1", "rep2", "rep3"},
    "delete": {"admin", "manager"},
    "restore": {"admin", "manager"},
    "reassign": {"admin", "manager"},
    "contact_create": {"admin", "manager", "rep1", "rep2", "rep3"},
    "contact_edit": {"admin", "manager", "rep1", "rep2", "rep3"},
    "contact_delete": {"admin", "manager"},
}


@pytest.fixture
def book(users) -> dict[str, Customer]:
    return {owner: make_customer(owner=users[owner], name=f"{owner}的客户") for owner in OWNERS}


@pytest.fixture
def people(book) -> dict[str, Contact]:
    return {owner: make_contact(customer=book[owner], name=f"{owner}的联系人") for owner in OWNERS}


def expected(role: str, owner: str, action: str | None, ok: int) -> int:
    """404 when the row is out of sight, 403 when in sight but not allowed, else ``ok``."""
    if owner not in VISIBLE[role]:
        return 404
    if action is None:
        return ok
    if role in MAY[action] and owner in EDITABLE[role]:
        return ok
    return 403


def statuses(send: Any) -> dict[str, int]:
    return {owner: send(owner).status_code for owner in OWNERS}


# --- customers ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_visible_customers(users, book, role):
    response = Api(users[role]).get("/customers")
    assert response.status_code == 200
    ids = {c["id"] for c in response.json()["items"]}
    assert ids == {book[o].pk for o in VISIBLE[role]}


@pytest.mark.parametrize("role", ROLES)
def test_view_and_timeline(users, book, role):
    api = Api(users[role])
    want = {o: expected(role, o, None, 200) for o in OWNERS}
    assert statuses(lambda o: api.get(f"/customers/{book[o].pk}")) == want
    assert statuses(lambda o: api.get(f"/customers/{book[o].pk}/timeline")) == want


@pytest.mark.parametrize("role", ROLES)
def test_create(users, role):
    response = Api(users[role]).post("/customers", {"name": f"{role}新建的客户"})
    assert response.status_code == (201 if role in MAY["create"] else 403)
    assert Customer.objects.filter(name=f"{role}新建的客户").exists() == (role in MAY["create"])


@pytest.mark.parametrize("role", ROLES)
def test_edit(users, book, role):
    api = Api(users[role])
    got = statuses(lambda o: api.patch(f"/customers/{book[o].pk}", {"tier": "key"}))
    assert got == {o: expected(role, o, "edit", 200) for o in OWNERS}
    changed = {o for o in OWNERS if Customer.objects.get(pk=book[o].pk).tier == "key"}
    assert changed == {o for o, status in got.items() if status == 200}


@pytest.mark.parametrize("role", ROLES)
def test_delete(users, book, role):
    api = Api(users[role])
    got = statuses(lambda o: api.delete(f"/customers/{book[o].pk}"))
    assert got == {o: expected(role, o, "delete", 204) for o in OWNERS}
    deleted = {o for o in OWNERS if Customer.objects.get(pk=book[o].pk).deleted_at}
    assert deleted == {o for o, status in got.items() if status == 204}


@pytest.mark.parametrize("role", ROLES)
def test_restore(users, book, role):
    for customer in book.values():
        customer_delete(actor=users["admin"], customer=customer)
    api = Api(users[role])
    got = statuses(lambda o: api.post(f"/customers/{book[o].pk}/restore"))
    assert got == {o: expected(role, o, "restore", 200) for o in OWNERS}


@pytest.mark.parametrize("role", ROLES)
def test_reassign(users, book, role):
    api = Api(users[role])

    def send(owner: str):
        new_owner = users["rep2" if owner == "rep1" else "rep1"]
        return api.post(f"/customers/{book[owner].pk}/reassign", {"owner_id": new_owner.pk})

    got = statuses(send)
    assert got == {o: expected(role, o, "reassign", 200) for o in OWNERS}
    moved = {o for o in OWNERS if Customer.objects.get(pk=book[o].pk).owner != users[o]}
    assert moved == {o for o, status in got.items() if status == 200}


@pytest.mark.parametrize("role", ["rep1", "manager"])
def test_setting_another_owner_needs_the_reassign_permission(users, book, role):
    api = Api(users[role])
    created = api.post("/customers", {"name": "转给别人", "owner_id": users["rep2"].pk})
    patched = api.patch(f"/customers/{book['rep1'].pk}", {"owner_id": users["rep2"].pk})
    allowed = role == "manager"
    assert created.status_code == (201 if allowed else 403)
    assert patched.status_code == (200 if allowed else 403)
    assert (Customer.objects.get(pk=book["rep1"].pk).owner == users["rep2"]) == allowed


# --- contacts -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_contact_list_and_view(users, people, role):
    api = Api(users[role])
    listed = {c["id"] for c in api.get("/contacts").json()["items"]}
    assert listed == {people[o].pk for o in VISIBLE[role]}
    got = statuses(lambda o: api.get(f"/contacts/{people[o].pk}"))
    assert got == {o: expected(role, o, None, 200) for o in OWNERS}


@pytest.mark.parametrize("role", ROLES)
def test_contact_create(users, book, role):
    api = Api(users[role])
    got = statuses(lambda o: api.post("/contacts", {"customer_id": book[o].pk, "name": "新人"}))
    want = {}
    for owner in OWNERS:
        if role not in MAY["contact_create"]:
            want[owner] = 403
        elif owner not in VISIBLE[role]:
            want[owner] = 422  # the customer_id in the body names no customer they see
        else:
            want[owner] = 201 if owner in EDITABLE[role] else 403
    assert got == want
    assert Contact.objects.filter(name="新人").count() == list(got.values()).count(201)


@pytest.mark.parametrize("role", ROLES)
def test_contact_edit(users, people, role):
    api = Api(users[role])
    got = statuses(lambda o: api.patch(f"/contacts/{people[o].pk}", {"wechat": "changed"}))
    assert got == {o: expected(role, o, "contact_edit", 200) for o in OWNERS}
    changed = {o for o in OWNERS if Contact.objects.get(pk=people[o].pk).wechat == "changed"}
    assert changed == {o for o, status in got.items() if status == 200}


@pytest.mark.parametrize("role", ROLES)
def test_contact_delete(users, people, role):
    api = Api(users[role])
    got = statuses(lambda o: api.delete(f"/contacts/{people[o].pk}"))
    assert got == {o: expected(role, o, "contact_delete", 204) for o in OWNERS}
    deleted = {o for o in OWNERS if Contact.objects.get(pk=people[o].pk).deleted_at}
    assert deleted == {o for o, status in got.items() if status == 204}


@pytest.mark.parametrize("role", ROLES)
def test_duplicates_check_needs_the_view_permission(users, book, role):
    response = Api(users[role]).get("/customers/duplicates", name=book["rep1"].name)
    if role == "partner1":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    [duplicate] = response.json()
    assert duplicate["visible"] == ("rep1" in VISIBLE[role])
    assert duplicate["id"] == (book["rep1"].pk if duplicate["visible"] else None)
