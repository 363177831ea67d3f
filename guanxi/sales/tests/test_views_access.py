"""Web access for every role and action on leads.

Leads are owned by rep1 (上海组), rep2 (杭州组) and rep3 (华北销售部); the manager heads 华东销售部
(上海组 and 杭州组 below it). The pages must not show or allow more (or less) than the
access layer does: 404 for a lead out of sight, 403 for one in sight but not in reach.
"""

import pytest
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.sales.models import Lead
from guanxi.sales.tests.factories import LeadFactory
from guanxi.users import roles
from guanxi.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NAMES = {"rep1": "宝钢王经理", "rep2": "万华李总", "rep3": "燕山赵工"}
COMPANIES = {"rep1": "上海宝钢贸易", "rep2": "杭州万华化工", "rep3": "北京燕山石化"}
ALL = {"rep1", "rep2", "rep3"}
VISIBLE = {
    "admin": ALL,
    "manager": {"rep1", "rep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "rep3": {"rep3"},
    "agent1": set(),
    "marketer1": ALL,
    "exec1": ALL,
    "partner1": set(),
}
WRITABLE = {
    "admin": ALL,
    "manager": {"rep1", "rep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "rep3": {"rep3"},
    "agent1": set(),
    "marketer1": set(),
    "exec1": set(),
    "partner1": set(),
}
ROLES = list(VISIBLE)
CREATORS = {"admin", "manager", "rep1", "rep2", "rep3", "marketer1"}
MANAGERS = {"admin", "manager"}  # hold sales.assign_lead and sales.delete_lead


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def leads(users):
    return {
        key: LeadFactory(owner=users[key], name=NAMES[key], company=COMPANIES[key]) for key in NAMES
    }


def _login(client, users, role):
    client.force_login(users[role])
    return client


def _expected(role: str, target: str, *, allowed: set[str]) -> int:
    """404 when the lead is out of sight, 403 when in sight but not allowed, else 200."""
    if target not in VISIBLE[role]:
        return 404
    return 200 if target in allowed else 403


def test_anonymous_users_are_sent_to_the_login_page(client, leads):
    response = client.get(reverse("sales:lead-index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_exactly_the_leads_in_sight(client, users, leads, role):
    response = _login(client, users, role).get(reverse("sales:lead-index"))
    assert response.status_code == 200
    shown = {key for key, name in NAMES.items() if name in response.content.decode()}
    assert shown == VISIBLE[role]
    assert {lead.pk for lead in response.context["page"].items} == {
        leads[k].pk for k in VISIBLE[role]
    }


@pytest.mark.parametrize("role", ROLES)
def test_detail_is_200_when_in_sight_else_404(client, users, leads, role):
    client = _login(client, users, role)
    for target, lead in leads.items():
        response = client.get(reverse("sales:lead-detail", args=[lead.pk]))
        assert response.status_code == (200 if target in VISIBLE[role] else 404), target
        if response.status_code == 200:
            assert NAMES[target] in response.content.decode()


@pytest.mark.parametrize("role", [r for r in ROLES if "rep1" in VISIBLE[r]])
def test_detail_offers_only_the_permitted_actions(client, users, leads, role):
    html = _login(client, users, role).get(reverse("sales:lead-detail", args=[leads["rep1"].pk]))
    html = html.content.decode()
    writes = role in {"admin", "manager", "rep1"}
    assert (reverse("sales:lead-edit", args=[leads["rep1"].pk]) in html) == writes
    assert (reverse("sales:lead-convert", args=[leads["rep1"].pk]) in html) == writes
    assert (reverse("sales:lead-disqualify", args=[leads["rep1"].pk]) in html) == writes
    assert (reverse("sales:lead-assign", args=[leads["rep1"].pk]) in html) == (role in MANAGERS)
    assert (reverse("sales:lead-delete", args=[leads["rep1"].pk]) in html) == (role in MANAGERS)


@pytest.mark.parametrize("role", ROLES)
def test_create_needs_the_add_permission(client, users, role):
    client = _login(client, users, role)
    url = reverse("sales:lead-create")
    assert client.get(url).status_code == (200 if role in CREATORS else 403)
    response = client.post(url, {"name": f"新线索{role}", "mobile": "13900001111"})
    created = Lead.objects.filter(name=f"新线索{role}").first()
    if role in CREATORS:
        assert response.status_code == 302
        assert created is not None
    else:
        assert response.status_code == 403
        assert created is None


@pytest.mark.parametrize("role", ROLES)
def test_edit_is_200_in_reach_403_in_sight_404_otherwise(client, users, leads, role):
    client = _login(client, users, role)
    for target, lead in leads.items():
        url = reverse("sales:lead-edit", args=[lead.pk])
        expected = _expected(role, target, allowed=WRITABLE[role])
        assert client.get(url).status_code == expected, target
        data = {"name": NAMES[target] + "（改）", "mobile": lead.mobile, "status": "working"}
        if role in MANAGERS:
            data["owner"] = lead.owner_id
        response = client.post(url, data)
        lead.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert lead.name == NAMES[target] + "（改）"
            assert lead.owner == users[target]
        else:
            assert response.status_code == expected, target
            assert lead.name == NAMES[target]


@pytest.mark.parametrize("role", ROLES)
def test_assign_needs_the_assign_permission_and_reach(client, users, leads, role):
    receiver = UserFactory(username="receiver", role=roles.SALES_REP, team=users["rep1"].team)
    client = _login(client, users, role)
    allowed = WRITABLE[role] if role in MANAGERS else set()
    for target, lead in leads.items():
        expected = _expected(role, target, allowed=allowed)
        response = client.post(reverse("sales:lead-assign", args=[lead.pk]), {"owner": receiver.pk})
        lead.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert lead.owner == receiver
        else:
            assert response.status_code == expected, target
            assert lead.owner == users[target]


@pytest.mark.parametrize("role", ROLES)
def test_disqualify_needs_reach(client, users, leads, role):
    client = _login(client, users, role)
    for target, lead in leads.items():
        expected = _expected(role, target, allowed=WRITABLE[role])
        response = client.post(
            reverse("sales:lead-disqualify", args=[lead.pk]), {"reason": "no_need"}
        )
        lead.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert lead.status == Lead.Status.DISQUALIFIED
        else:
            assert response.status_code == expected, target
            assert lead.status == Lead.Status.NEW


@pytest.mark.parametrize("role", ROLES)
def test_convert_needs_the_convert_permission_and_reach(client, users, leads, role):
    client = _login(client, users, role)
    for target, lead in leads.items():
        url = reverse("sales:lead-convert", args=[lead.pk])
        expected = _expected(role, target, allowed=WRITABLE[role])
        assert client.get(url).status_code == expected, target
        response = client.post(url, {"mode": "new"})
        lead.refresh_from_db()
        if expected == 200:
            customer = Customer.objects.get(name=COMPANIES[target])
            assert response.status_code == 302, target
            assert response["Location"] == reverse("customers:customer-detail", args=[customer.pk])
            assert lead.status == Lead.Status.CONVERTED
            assert lead.customer == customer
        else:
            assert response.status_code == expected, target
            assert lead.status == Lead.Status.NEW
            assert not Customer.objects.filter(name=COMPANIES[target]).exists()


@pytest.mark.parametrize("role", ROLES)
def test_delete_is_soft_and_needs_the_delete_permission(client, users, leads, role):
    client = _login(client, users, role)
    allowed = WRITABLE[role] if role in MANAGERS else set()
    for target, lead in leads.items():
        expected = _expected(role, target, allowed=allowed)
        response = client.post(reverse("sales:lead-delete", args=[lead.pk]))
        lead.refresh_from_db()
        if expected == 200:
            assert response.status_code == 302, target
            assert lead.deleted_at is not None
        else:
            assert response.status_code == expected, target
            assert lead.deleted_at is None


@pytest.mark.parametrize("role", ROLES)
def test_bulk_assign_changes_only_leads_in_reach_and_skips_the_rest(client, users, leads, role):
    receiver = UserFactory(username="receiver", role=roles.SALES_REP, team=users["rep1"].team)
    response = _login(client, users, role).post(
        reverse("sales:lead-bulk"),
        {
            "action": "assign",
            "owner": receiver.pk,
            "ids": [lead.pk for lead in leads.values()],
            "back": "/sales/leads/",
        },
        follow=True,
    )
    assert response.status_code == 200
    moved = WRITABLE[role] if role in MANAGERS else set()
    for key, lead in leads.items():
        lead.refresh_from_db()
        assert lead.owner == (receiver if key in moved else users[key]), key
    messages = [str(m) for m in response.context["messages"]]
    skipped = 3 - len(moved)
    if skipped:
        assert any(f"{skipped} selected lead" in m and "skipped" in m for m in messages)


def test_get_on_a_post_only_action_is_refused(client, users, leads):
    client = _login(client, users, "admin")
    for name in ["lead-delete", "lead-assign", "lead-disqualify", "lead-reopen", "lead-restore"]:
        assert client.get(reverse(f"sales:{name}", args=[leads["rep1"].pk])).status_code == 405
    leads["rep1"].refresh_from_db()
    assert leads["rep1"].deleted_at is None


def test_an_unknown_lead_is_404(client, users):
    client = _login(client, users, "admin")
    assert client.get(reverse("sales:lead-detail", args=[999999])).status_code == 404
    assert client.post(reverse("sales:lead-convert", args=[999999])).status_code == 404


@pytest.mark.parametrize(("role", "shown"), [("rep1", True), ("exec1", True), ("agent1", False)])
def test_leads_appear_in_the_navigation_for_those_who_may_see_them(client, users, role, shown):
    html = _login(client, users, role).get(reverse("customers:customer-index")).content.decode()
    assert (f'href="{reverse("sales:lead-index")}"' in html) == shown
