"""Row-level access for every role on customers (service layer)."""

import pytest

from guanxi.customers import access
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(users):
    return {
        "rep1": CustomerFactory(owner=users["rep1"], name="上海宝钢贸易"),
        "rep2": CustomerFactory(owner=users["rep2"], name="杭州万华"),
        "rep3": CustomerFactory(owner=users["rep3"], name="北京燕山石化"),
    }


VISIBLE = {
    "admin": {"rep1", "rep2", "rep3"},
    "manager": {"rep1", "rep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "rep3": {"rep3"},
    "agent1": {"rep1", "rep2", "rep3"},
    "marketer1": {"rep1", "rep2", "rep3"},
    "exec1": {"rep1", "rep2", "rep3"},
    "partner1": set(),
}
EDITABLE = {
    "admin": {"rep1", "rep2", "rep3"},
    "manager": {"rep1", "rep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "rep3": {"rep3"},
    "agent1": set(),
    "marketer1": set(),
    "exec1": set(),
    "partner1": set(),
}


@pytest.mark.parametrize("role", list(VISIBLE))
def test_visible_and_editable_rows_follow_the_role_scope(users, book, role):
    user = users[role]
    visible = {k for k, c in book.items() if access.customers_visible_to(user).filter(pk=c.pk)}
    editable = {k for k, c in book.items() if access.customers_editable_by(user).filter(pk=c.pk)}
    assert visible == VISIBLE[role]
    assert editable == EDITABLE[role]


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("rep1", "reassign", False),
        ("manager", "reassign", True),
        ("admin", "reassign", True),
        ("rep1", "delete", False),
        ("manager", "delete", True),
        ("exec1", "delete", False),
        ("rep1", "export", False),
        ("manager", "export", True),
        ("exec1", "export", True),
        ("marketer1", "export", True),
        ("agent1", "export", False),
        ("agent1", "note", True),
        ("exec1", "edit", False),
        ("rep1", "edit", True),
        ("admin", "purge", True),
        ("manager", "purge", False),
    ],
)
def test_actions_on_an_own_team_customer(users, book, role, action, allowed):
    assert access.customer_can(users[role], book["rep1"], action) is allowed


def test_contacts_follow_their_customers(users, book):
    contact = ContactFactory(customer=book["rep2"])
    assert access.contacts_visible_to(users["rep2"]).filter(pk=contact.pk).exists()
    assert not access.contacts_visible_to(users["rep1"]).filter(pk=contact.pk).exists()
    assert access.contacts_visible_to(users["manager"]).filter(pk=contact.pk).exists()
    assert not access.contacts_editable_by(users["exec1"]).filter(pk=contact.pk).exists()


def test_deleted_customers_are_hidden_unless_asked_for(users, book):
    from guanxi.customers.services import customer_delete

    customer_delete(actor=users["admin"], customer=book["rep1"])
    assert not access.customers_visible_to(users["rep1"]).filter(pk=book["rep1"].pk).exists()
    assert (
        access.customers_visible_to(users["admin"], include_deleted=True)
        .filter(pk=book["rep1"].pk)
        .exists()
    )
