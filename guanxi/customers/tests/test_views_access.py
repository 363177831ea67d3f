"""Web access for every role and action on customers and contacts.

The expectations are the same as the service-layer ones in test_access.py: the pages must
not show or allow more (or less) than the access layer does.
"""

import pytest
from django.urls import reverse

from guanxi.customers.models import Contact, Customer
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory
from guanxi.customers.tests.test_access import EDITABLE, VISIBLE
from guanxi.users import roles
from guanxi.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = list(VISIBLE)
NAMES = {"rep1": "上海宝钢贸易", "rep2": "杭州万华", "rep3": "北京燕山石化"}
CONTACT_NAMES = {"rep1": "宝钢王经理", "rep2": "万华李总", "rep3": "燕山赵工"}
# Roles holding customers.delete_customer / delete_contact / reassign_customer.
DELETERS = {"admin", "manager"}
REASSIGNERS = {"admin", "manager"}
CREATORS = {"admin", "manager", "rep1", "rep2", "rep3"}


@pytest.fixture(autouse=True)
def _english(client):
    """Pages in English, whatever translations exist, so messages can be matched."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def book(users):
    return {key: CustomerFactory(owner=users[key], name=name) for key, name in NAMES.items()}


@pytest.fixture
def contacts(book):
    return {
        key: ContactFactory(customer=book[key], name=name) for key, name in CONTACT_NAMES.items()
    }


def _login(client, users, role):
    client.force_login(users[role])
    return client


def customer_form_data(customer: Customer, **overrides) -> dict:
    data = {
        "kind": customer.kind,
        "name": customer.name,
        "tier": customer.tier,
        "status": customer.status,
        "province": customer.province,
        "city": customer.city,
        "owner": customer.owner_id or "",
    }
    data.update(overrides)
    return data


def _expected_status(role: str, target: str, *, allowed: set[str]) -> int:
    """404 when the row is invisible, 403 when visible but not allowed, else 200."""
    if target not in VISIBLE[role]:
        return 404
    return 200 if target in allowed else 403


def test_anonymous_users_are_sent_to_the_login_page(client, book):
    response = client.get(reverse("customers:customer-index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


# --- customers --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_customer_list_shows_exactly_the_rows_in_reach(client, users, book, role):
    # given three customers owned by reps of three teams
    # when each role opens the customer list
    response = _login(client, users, role).get(reverse("customers:customer-index"))
    # then exactly the visible ones are listed
    assert response.status_code == 200
    shown = {key for key, name in NAMES.items() if name in response.content.decode()}
    assert shown == VISIBLE[role]
    assert {c.pk for c in response.context["page"].items} == {book[k].pk for k in VISIBLE[role]}


@pytest.mark.parametrize("role", ROLES)
def test_customer_detail_is_200_when_visible_else_404(client, users, book, role):
    client = _login(client, users, role)
    for target, customer in book.items():
        response = client.get(reverse("customers:customer-detail", args=[customer.pk]))
        assert response.status_code == (200 if target in VISIBLE[role] else 404), target
        if response.status_code == 200:
            assert NAMES[target] in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_customer_create_needs_the_add_permission(client, users, book, role):
    client = _login(client, users, role)
    url = reverse("customers:customer-create")
    # when the form is opened
    response = client.get(url)
    assert response.status_code == (200 if role in CREATORS else 403)
    # and when it is posted
    data = {"kind": "company", "name": f"新客户{role}", "tier": "ordinary", "status": "prospect"}
    if role in REASSIGNERS:
        data["owner"] = users[role].pk  # the owner select comes pre-selected with oneself
    response = client.post(url, data)
    # then only creators get a new customer, owned by themselves
    created = Customer.objects.filter(name=f"新客户{role}").first()
    if role in CREATORS:
        assert response.status_code == 302
        assert created is not None
        assert created.owner == users[role]
        assert response["Location"] == reverse("customers:customer-detail", args=[created.pk])
    else:
        assert response.status_code == 403
        assert created is None


@pytest.mark.parametrize("role", ROLES)
def test_customer_edit_is_200_for_editable_403_for_visible_404_otherwise(client, users, book, role):
    client = _login(client, users, role)
    for target, customer in book.items():
        url = reverse("customers:customer-edit", args=[customer.pk])
        expected = _expected_status(role, target, allowed=EDITABLE[role])
        # when the edit form is opened
        assert client.get(url).status_code == expected, target
        # and when a change is posted
        response = client.post(url, customer_form_data(customer, name=NAMES[target] + "（改）"))
        # then only an allowed edit saves and redirects; the others change nothing
        customer.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert customer.name == NAMES[target] + "（改）"
        else:
            assert response.status_code == expected, target
            assert customer.name == NAMES[target]


@pytest.mark.parametrize("role", ROLES)
def test_customer_delete_is_soft_and_needs_the_delete_permission(client, users, book, role):
    client = _login(client, users, role)
    allowed = EDITABLE[role] if role in DELETERS else set()
    for target, customer in book.items():
        expected = _expected_status(role, target, allowed=allowed)
        # when the role posts a delete
        response = client.post(reverse("customers:customer-delete", args=[customer.pk]))
        customer.refresh_from_db()  # a soft delete keeps the row
        if expected == 200:
            assert response.status_code == 302, target
            assert customer.deleted_at is not None
            assert customer.deleted_by == users[role]
        else:
            assert response.status_code == expected, target
            assert customer.deleted_at is None


def test_customer_delete_refuses_get(client, users, book):
    response = _login(client, users, "admin").get(
        reverse("customers:customer-delete", args=[book["rep1"].pk])
    )
    assert response.status_code == 405
    book["rep1"].refresh_from_db()
    assert book["rep1"].deleted_at is None


@pytest.mark.parametrize("role", ROLES)
def test_bulk_assign_changes_only_rows_in_reach_and_skips_the_rest(client, users, book, role):
    # given a colleague to receive customers
    receiver = UserFactory(username="receiver", role=roles.SALES_REP, team=users["rep1"].team)
    before = {k: c.owner_id for k, c in book.items()}
    # when the role selects all three customers and assigns them
    response = _login(client, users, role).post(
        reverse("customers:customer-bulk"),
        {
            "action": "assign",
            "owner": receiver.pk,
            "ids": [c.pk for c in book.values()],
            "back": "/customers/",
        },
        follow=True,
    )
    assert response.status_code == 200
    # then only the rows the role may reassign moved; the others kept their owner
    moved = set(EDITABLE[role]) if role in REASSIGNERS else set()
    for key, customer in book.items():
        customer.refresh_from_db()
        if key in moved:
            assert customer.owner == receiver, key
            assert customer.team == receiver.team
        else:
            assert customer.owner_id == before[key], key
    messages = [str(m) for m in response.context["messages"]]
    skipped = 3 - len(moved)
    if skipped:
        assert any(f"{skipped} selected customer" in m and "skipped" in m for m in messages)


# --- contacts ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_contact_list_shows_contacts_of_visible_customers_only(client, users, contacts, role):
    response = _login(client, users, role).get(reverse("customers:contact-index"))
    assert response.status_code == 200
    shown = {k for k, name in CONTACT_NAMES.items() if name in response.content.decode()}
    assert shown == VISIBLE[role]


@pytest.mark.parametrize("role", ROLES)
def test_contact_detail_is_200_when_its_customer_is_visible(client, users, contacts, role):
    client = _login(client, users, role)
    for target, contact in contacts.items():
        response = client.get(reverse("customers:contact-detail", args=[contact.pk]))
        assert response.status_code == (200 if target in VISIBLE[role] else 404), target


@pytest.mark.parametrize("role", ROLES)
def test_contact_create_needs_an_editable_customer(client, users, book, role):
    client = _login(client, users, role)
    for target, customer in book.items():
        url = reverse("customers:contact-create", args=[customer.pk])
        expected = _expected_status(role, target, allowed=EDITABLE[role])
        assert client.get(url).status_code == expected, target
        response = client.post(url, {"name": f"新联系人{target}", "mobile": "13900001111"})
        created = Contact.objects.filter(name=f"新联系人{target}").first()
        if expected == 200:
            assert response.status_code == 302, target
            assert created is not None
            assert list(created.customers.all()) == [customer]
        else:
            assert response.status_code == expected, target
            assert created is None


@pytest.mark.parametrize("role", ROLES)
def test_contact_edit_is_200_for_editable_403_for_visible_404_otherwise(
    client, users, contacts, role
):
    client = _login(client, users, role)
    for target, contact in contacts.items():
        url = reverse("customers:contact-edit", args=[contact.pk])
        expected = _expected_status(role, target, allowed=EDITABLE[role])
        assert client.get(url).status_code == expected, target
        response = client.post(url, {"name": CONTACT_NAMES[target] + "2", "mobile": contact.mobile})
        contact.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert contact.name == CONTACT_NAMES[target] + "2"
        else:
            assert response.status_code == expected, target
            assert contact.name == CONTACT_NAMES[target]


@pytest.mark.parametrize("role", ROLES)
def test_contact_delete_is_soft_and_needs_the_delete_permission(client, users, contacts, role):
    client = _login(client, users, role)
    allowed = EDITABLE[role] if role in DELETERS else set()
    for target, contact in contacts.items():
        expected = _expected_status(role, target, allowed=allowed)
        response = client.post(reverse("customers:contact-delete", args=[contact.pk]))
        contact.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert contact.deleted_at is not None
        else:
            assert response.status_code == expected, target
            assert contact.deleted_at is None
