"""Call lists: built from a customer filter, shared among reps in turn, worked one call
at a time (each call a follow-up on the customer's timeline), progress for the manager,
and reps who see only their own entries — on the pages and in the API."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import selectors, services
from guanxi.activities.models import AuditEntry, CallList, CallListEntry, FollowUp
from guanxi.activities.tests.test_follow_ups_api import Api
from guanxi.customers.models import Customer
from guanxi.customers.selectors import CustomerFilters
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _as(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def book(users):
    """Six key customers in 杭州 of the manager's team with a contact each (one without a
    phone number), and an ordinary customer in 上海."""
    customers = []
    for n, owner in enumerate(["rep1", "rep1", "rep2", "rep2", "manager", "rep1"]):
        customer = CustomerFactory(
            owner=users[owner], name=f"杭州客户{n}", city="杭州市", tier=Customer.Tier.KEY
        )
        ContactFactory(customer=customer, name=f"联系人{n}", mobile="" if n == 5 else f"139{n:08d}")
        customers.append(customer)
    other = CustomerFactory(owner=users["rep1"], city="上海市", tier=Customer.Tier.ORDINARY)
    ContactFactory(customer=other, name="上海联系人")
    return customers


def _build(users, who="manager", reps=("rep1", "rep2"), **filters):
    return services.call_list_create(
        actor=users[who],
        name="双十一回访",
        filters=CustomerFilters(**(filters or {"city": "杭州市", "tier": "key"})),
        assignees=[users[r] for r in reps],
    )


def test_a_list_takes_contacts_with_a_phone_and_shares_them_in_turn(users, book):
    call_list = _build(users)
    entries = list(call_list.entries.order_by("position").select_related("contact", "assignee"))
    # five contacts have a number; the one without and the 上海 one are left out
    assert [e.contact.name for e in entries] == [f"联系人{n}" for n in range(5)]
    assert [e.assignee.username for e in entries] == ["rep1", "rep2", "rep1", "rep2", "rep1"]
    assert call_list.filters == {"city": "杭州市", "tier": "key", "sort": "-updated_at"}
    assert AuditEntry.objects.filter(subject_type="calllist", subject_id=call_list.pk).exists()
    progress = selectors.call_list_progress(call_list=call_list)
    assert [(p.user.username, p.total, p.done) for p in progress] == [
        ("rep1", 3, 0),
        ("rep2", 2, 0),
    ]


def test_building_refuses_what_it_cannot_do_and_names_the_field(users, book):
    with pytest.raises(ValidationError) as exc:
        _build(users, reps=())
    assert "assignees" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _build(users, reps=("rep3",))  # not in the manager's team
    assert "assignees" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        _build(users, city="拉萨市")
    assert "filters" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.call_list_create(
            actor=users["manager"], name=" ", filters=CustomerFilters(), assignees=[users["rep1"]]
        )
    assert "name" in exc.value.message_dict
    assert not CallList.objects.exists()


def test_logging_a_call_records_a_follow_up_and_plans_the_next(users, book):
    call_list = _build(users)
    entry = (
        call_list.entries.filter(assignee=users["rep2"])
        .select_related("contact", "customer")
        .first()
    )
    follow_up = services.call_list_entry_log(
        actor=users["rep2"],
        entry=entry,
        outcome="interested",
        duration_minutes=6,
        notes="要资料",
        next_due_at=timezone.now() + timedelta(days=2),
    )
    entry.refresh_from_db()
    assert entry.done_at is not None and entry.follow_up == follow_up
    assert (follow_up.method, follow_up.outcome, follow_up.owner) == (
        "call",
        "interested",
        users["rep2"],
    )
    assert follow_up.customer == entry.customer and follow_up.duration_minutes == 6
    assert entry.contact.name in follow_up.summary and "要资料" in follow_up.summary
    assert AuditEntry.objects.filter(customer_id=entry.customer_id, action="follow_up").exists()
    planned = FollowUp.objects.get(done_at__isnull=True)
    assert (planned.customer, planned.method) == (entry.customer, "call")
    with pytest.raises(ValidationError) as exc:
        services.call_list_entry_log(actor=users["rep2"], entry=entry, outcome="reached")
    assert "outcome" in exc.value.message_dict
    progress = {p.user.username: p.done for p in selectors.call_list_progress(call_list=call_list)}
    assert progress == {"rep1": 0, "rep2": 1}


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("manager", 200), ("admin", 200), ("rep1", 403), ("exec1", 403), ("partner1", 403)],
)
def test_who_may_build_a_call_list(client, users, role, status):
    assert _as(client, users[role]).get(reverse("activities:call-list-new")).status_code == status


def test_building_in_the_browser_with_the_customer_filters(client, users, book):
    client = _as(client, users["manager"])
    preview = client.get(
        reverse("activities:call-list-new"),
        {"preview": "1", "city": "杭州市", "tier": "key"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "5 contacts with a phone number match." in preview and "<html" not in preview
    response = client.post(
        reverse("activities:call-list-new"),
        {
            "name": "杭州重点客户",
            "city": "杭州市",
            "tier": "key",
            "assignees": [users["rep1"].pk, users["rep2"].pk],
        },
    )
    assert response.status_code == 302
    call_list = CallList.objects.get()
    assert response["Location"] == reverse("activities:call-list-detail", args=[call_list.pk])
    html = client.get(response["Location"]).content.decode()
    assert 'id="progress"' in html and "0 / 3" in html and "0 / 2" in html
    # bad input is said on the form
    response = client.post(
        reverse("activities:call-list-new"), {"name": "", "tier": "gold", "assignees": []}
    )
    assert response.status_code == 400 and 'id="field-name"' in response.content.decode()


def test_a_rep_works_only_their_own_entries(client, users, book):
    call_list = _build(users)
    theirs = call_list.entries.filter(assignee=users["rep2"]).first()
    client = _as(client, users["rep1"])
    # the list shows only rep1's entries, without the progress of others
    html = client.get(reverse("activities:call-list-detail", args=[call_list.pk])).content.decode()
    assert 'id="progress"' not in html
    assert "联系人0" in html and "联系人1" not in html
    # another rep's entry is not there at all
    assert client.get(reverse("activities:call-list-entry", args=[theirs.pk])).status_code == 404
    # "next call" goes to rep1's first entry, with the number to tap
    response = client.get(reverse("activities:call-list-next", args=[call_list.pk]))
    mine = call_list.entries.filter(assignee=users["rep1"]).order_by("position").first()
    assert response["Location"] == reverse("activities:call-list-entry", args=[mine.pk])
    page = client.get(response["Location"]).content.decode()
    assert f'href="tel:{mine.contact.mobile}"' in page
    # logging the call moves on to the next one
    response = client.post(
        response["Location"], {"outcome": "reached", "duration_minutes": "3", "notes": "已沟通"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("activities:call-list-next", args=[call_list.pk])
    mine.refresh_from_db()
    assert mine.done_at is not None
    # a rep with no entries on the list does not see it
    client.logout()
    assert (
        _as(client, users["rep3"])
        .get(reverse("activities:call-list-detail", args=[call_list.pk]))
        .status_code
        == 404
    )


def test_my_call_lists_page_and_bad_log_input(client, users, book):
    call_list = _build(users)
    client = _as(client, users["rep1"])
    html = client.get(reverse("activities:call-list-index")).content.decode()
    assert "双十一回访" in html and "0 of 3 done" in html
    entry = call_list.entries.filter(assignee=users["rep1"]).first()
    response = client.post(
        reverse("activities:call-list-entry", args=[entry.pk]),
        {"outcome": "maybe", "duration_minutes": "-1", "next_due_at": "2001-01-01T10:00"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="field-outcome"' in html and "must be in the future" in html
    entry.refresh_from_db()
    assert entry.done_at is None


def test_another_manager_does_not_see_the_list(client, users, book):
    call_list = _build(users)
    assert selectors.call_list_may_manage(user=users["manager"], call_list=call_list)
    assert selectors.call_list_may_manage(user=users["admin"], call_list=call_list)
    assert not selectors.call_list_may_manage(user=users["rep1"], call_list=call_list)
    assert not selectors.call_list_may_manage(user=users["exec1"], call_list=call_list)


# --- API ----------------------------------------------------------------------------------------


def test_the_api_builds_lists_and_logs_calls(users, book):
    manager = Api(users["manager"])
    response = manager.post(
        "/call-lists",
        {
            "name": "杭州重点客户",
            "assignee_ids": [users["rep1"].pk, users["rep2"].pk],
            "filters": {"city": "杭州市", "tier": "key"},
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["total"] == 5 and created["done"] == 0
    assert [(p["user"]["id"], p["total"]) for p in created["progress"]] == [
        (users["rep1"].pk, 3),
        (users["rep2"].pk, 2),
    ]
    rep1 = Api(users["rep1"])
    listed = rep1.get("/call-lists").json()["items"]
    assert [(c["id"], c["my_total"], c["total"]) for c in listed] == [(created["id"], 3, None)]
    entries = rep1.get(f"/call-lists/{created['id']}/entries", status="open").json()["items"]
    assert len(entries) == 3 and all(e["assignee"]["id"] == users["rep1"].pk for e in entries)
    assert entries[0]["phone"]
    logged = rep1.post(
        f"/call-list-entries/{entries[0]['id']}/log",
        {"outcome": "not_reached", "duration_minutes": 1},
    )
    assert logged.status_code == 200 and logged.json()["done_at"] and logged.json()["follow_up_id"]
    assert (
        rep1.post(f"/call-list-entries/{entries[0]['id']}/log", {"outcome": "reached"}).status_code
        == 422
    )
    # rep2 may not log rep1's call, nor see it
    theirs = CallListEntry.objects.filter(assignee=users["rep1"], done_at__isnull=True).first()
    rep2 = Api(users["rep2"])
    assert (
        rep2.post(f"/call-list-entries/{theirs.pk}/log", {"outcome": "reached"}).status_code == 404
    )
    rep2_entries = rep2.get(f"/call-lists/{created['id']}/entries").json()["items"]
    assert {e["assignee"]["id"] for e in rep2_entries} == {users["rep2"].pk}
    detail = manager.get(f"/call-lists/{created['id']}").json()
    assert detail["done"] == 1


@pytest.mark.parametrize(
    ("role", "status", "field"),
    [
        ("rep1", 403, None),
        ("exec1", 403, None),
        ("partner1", 403, None),
    ],
)
def test_the_api_refuses_builders_without_the_right(users, book, role, status, field):
    response = Api(users[role]).post(
        "/call-lists", {"name": "x", "assignee_ids": [users["rep1"].pk]}
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "assignee_ids": ["REP1"]}, "name"),
        ({"name": "x", "assignee_ids": []}, "assignee_ids"),
        ({"name": "x", "assignee_ids": ["REP3"]}, "assignee_ids"),
        ({"name": "x", "assignee_ids": [999999]}, "assignee_ids"),
        ({"name": "x", "assignee_ids": ["REP1"], "filters": {"city": "拉萨市"}}, "filters"),
        ({"name": "x", "assignee_ids": ["REP1"], "filters": {"tier": "gold"}}, "filters.tier"),
    ],
)
def test_the_api_names_the_field_of_bad_input(users, book, body, field):
    ids = {"REP1": users["rep1"].pk, "REP3": users["rep3"].pk}
    body = {**body, "assignee_ids": [ids.get(v, v) for v in body["assignee_ids"]]}
    response = Api(users["manager"]).post("/call-lists", body)
    assert response.status_code == 422, response.content
    assert field in [d["field"] for d in response.json()["detail"]]
    assert not CallList.objects.exists()
