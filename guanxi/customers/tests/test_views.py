"""Customer pages: the list (filters, sort, keyset "Load more", htmx fragments), the create and
edit forms (inline errors, duplicate warnings, timeline), the 360° page and its actions."""

import base64
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.activities.models import AuditEntry
from guanxi.core.validators import uscc_check_character
from guanxi.customers.models import Customer, Note
from guanxi.customers.tests.factories import (
    ChannelFactory,
    ContactFactory,
    CustomerFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

INDEX = "/customers/"
REAL_USCC = "91350100M000100Y43"


@pytest.fixture(autouse=True)
def _english(client):
    """Pages in English, whatever translations exist, so messages can be matched."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def _as(client, user):
    client.force_login(user)
    return client


def _html(response) -> str:
    return response.content.decode()


def _field_block(html: str, name: str) -> str:
    """The rendered block of one form field (components/field.html)."""
    match = re.search(rf'<div class="field[^"]*" id="field-{name}">(.*?)</div>', html, re.S)
    assert match, f"field {name} not rendered"
    return match.group(0)


def _form_data(**overrides) -> dict:
    data = {"kind": "company", "name": "新客户", "tier": "ordinary", "status": "prospect"}
    data.update(overrides)
    return data


# --- list: filters and sort ---------------------------------------------------------------


@pytest.fixture
def catalog(users, teams):
    vip = TagFactory(name="VIP")
    expo = ChannelFactory(name="展会")
    web = ChannelFactory(name="官网")
    a = CustomerFactory(
        owner=users["rep1"],
        name="甲-宝钢贸易",
        kind="company",
        tier="key",
        status="active",
        industry="C",
        channel=expo,
        province="浙江省",
        city="杭州市",
    )
    a.tags.add(vip)
    b = CustomerFactory(
        owner=users["rep2"],
        name="乙-王小姐",
        kind="person",
        tier="ordinary",
        status="prospect",
        province="上海市",
        city="上海市",
    )
    c = CustomerFactory(
        owner=users["rep3"],
        name="丙-燕山石化",
        tier="suitable",
        status="lost",
        industry="I",
        channel=web,
        province="广东省",
        city="深圳市",
    )
    d = CustomerFactory(owner=users["admin"], name="丁-总部直管", tier="ordinary", status="dormant")
    return {"a": a, "b": b, "c": c, "d": d, "vip": vip, "expo": expo}


def _listed(response) -> set[str]:
    return {c.name.split("-")[0] for c in response.context["page"].items}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"甲", "乙", "丙", "丁"}),
        ("tier=key", {"甲"}),
        ("status=lost", {"丙"}),
        ("kind=person", {"乙"}),
        ("industry=I", {"丙"}),
        ("province=上海市", {"乙"}),
        ("city=深圳市", {"丙"}),
        ("owner=me", {"丁"}),
        ("tier=ordinary&status=dormant", {"丁"}),
    ],
)
def test_list_filters_narrow_the_rows(client, users, catalog, query, expected):
    response = _as(client, users["admin"]).get(f"{INDEX}?{query}")
    assert response.status_code == 200
    assert _listed(response) == expected


def test_list_filters_by_owner_team_channel_and_tag(client, users, teams, catalog):
    client = _as(client, users["admin"])
    assert _listed(client.get(f"{INDEX}?owner={users['rep2'].pk}")) == {"乙"}
    assert _listed(client.get(f"{INDEX}?team={teams['shanghai'].pk}")) == {"甲"}
    assert _listed(client.get(f"{INDEX}?channel={catalog['expo'].pk}")) == {"甲"}
    assert _listed(client.get(f"{INDEX}?tag={catalog['vip'].pk}")) == {"甲"}


def test_list_filters_never_widen_the_access_scope(client, users, catalog):
    # rep1 asks for rep2's customers by owner id: still only what rep1 may see (nothing)
    response = _as(client, users["rep1"]).get(f"{INDEX}?owner={users['rep2'].pk}")
    assert _listed(response) == set()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alpha", "Beta", "Gamma"]),
        ("-name", ["Gamma", "Beta", "Alpha"]),
        ("created_at", ["Beta", "Gamma", "Alpha"]),
        ("-created_at", ["Alpha", "Gamma", "Beta"]),
        ("-updated_at", ["Gamma", "Alpha", "Beta"]),
        ("updated_at", ["Beta", "Alpha", "Gamma"]),
    ],
)
def test_list_sorts(client, users, sort, expected):
    # given three customers created Beta, Gamma, Alpha; then Alpha and Gamma edited in turn
    rep = users["rep1"]
    made = {n: CustomerFactory(owner=rep, name=f"{n} Ltd") for n in ["Beta", "Gamma", "Alpha"]}
    for name in ["Alpha", "Gamma"]:
        made[name].save()
    # when the list is sorted
    response = _as(client, rep).get(f"{INDEX}?sort={sort}")
    # then the rows come in that order
    assert [c.name.removesuffix(" Ltd") for c in response.context["page"].items] == expected


# --- list: pagination and htmx ------------------------------------------------------------


def test_load_more_with_htmx_returns_only_the_next_rows(client, users):
    # given 60 customers: one page of 50 and 10 more
    rep = users["rep1"]
    CustomerFactory.create_batch(60, owner=rep)
    client = _as(client, rep)
    first = client.get(INDEX)
    assert len(first.context["page"].items) == 50
    next_url = first.context["next_url"]
    assert next_url.startswith("?") and "cursor=" in next_url
    assert "Load more" in _html(first)
    # when "Load more" is clicked (htmx)
    more = client.get(INDEX + next_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="more-row")
    # then only the rows fragment comes back: the 10 remaining rows and no further link
    html = _html(more)
    assert more.status_code == 200
    assert "<html" not in html
    assert 'class="card filters"' not in html
    assert html.count('name="ids"') == 10
    assert "Load more" not in html
    first_ids = {c.pk for c in first.context["page"].items}
    more_ids = {c.pk for c in more.context["page"].items}
    assert not first_ids & more_ids
    assert len(first_ids | more_ids) == 60


def test_load_more_without_htmx_renders_the_whole_page(client, users):
    CustomerFactory.create_batch(52, owner=users["rep1"])
    client = _as(client, users["rep1"])
    next_url = client.get(INDEX).context["next_url"]
    html = _html(client.get(INDEX + next_url))
    assert "<html" in html
    assert html.count('name="ids"') == 2


def test_htmx_filter_request_returns_the_results_fragment(client, users, catalog):
    response = _as(client, users["admin"]).get(
        f"{INDEX}?tier=key", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results"
    )
    html = _html(response)
    assert '<div id="customer-results">' in html
    assert "<html" not in html
    assert "甲-宝钢贸易" in html
    assert "乙-王小姐" not in html


def test_list_runs_the_same_number_of_queries_for_5_and_for_60_customers(
    client, users, django_assert_num_queries
):
    # given 5 customers with a channel and a tag each
    rep = users["rep1"]
    tag, channel = TagFactory(name="重点"), ChannelFactory(name="展会")

    def make(n):
        for c in CustomerFactory.create_batch(n, owner=rep, channel=channel):
            c.tags.add(tag)

    make(5)
    client = _as(client, rep)
    client.get(INDEX)  # warm up caches that are not per request
    with CaptureQueriesContext(connection) as five:
        assert client.get(INDEX).status_code == 200
    # when there are 60 (more than a page)
    make(55)
    # then the list page runs exactly as many queries
    with django_assert_num_queries(len(five)):
        response = client.get(INDEX)
    assert len(response.context["page"].items) == 50
    assert len(five) <= 15


@pytest.mark.parametrize(
    "query",
    [
        "tier=bogus",
        "status=%00",
        "kind=robot",
        "industry=ZZ",
        "team=abc",
        "team=999999",
        "team=99999999999999999999",
        "channel=abc",
        "tag=-1",
        "owner=abc",
        "sort=password",
        "q=" + "x" * 300,
        "city=" + "长" * 40,
    ],
)
def test_invalid_filter_values_are_ignored_with_a_message_not_a_500(client, users, catalog, query):
    response = _as(client, users["admin"]).get(f"{INDEX}?{query}")
    assert response.status_code == 200
    assert "Some filters are invalid; they were ignored." in _html(response)
    assert _listed(response) == {"甲", "乙", "丙", "丁"}


def test_owner_filter_with_a_unicode_digit_is_not_a_500(client, users, catalog):
    response = _as(client, users["admin"]).get(f"{INDEX}?owner=²")
    assert response.status_code == 200


def test_owner_filter_with_a_huge_id_is_not_a_500(client, users, catalog):
    response = _as(client, users["admin"]).get(f"{INDEX}?owner=99999999999999999999")
    assert response.status_code == 200
    assert _listed(response) == set() or "Some filters are invalid" in _html(response)


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", ["garbage", "%%%", "AAAA", _cursor({"x": 1}), _cursor(["yesterday", 1])]
)
def test_a_garbage_cursor_shows_the_first_page_with_a_message(client, users, catalog, cursor):
    response = _as(client, users["admin"]).get(INDEX, {"cursor": cursor})
    assert response.status_code == 200
    assert "That page link has expired; showing the first page." in _html(response)
    assert _listed(response) == {"甲", "乙", "丙", "丁"}


@pytest.mark.parametrize(
    "cursor", [_cursor([12345, 1]), _cursor(["2025-13-45T00:00:00", 1]), _cursor([None, 1])]
)
def test_a_well_formed_cursor_with_bad_values_is_not_a_500(client, users, catalog, cursor):
    response = _as(client, users["admin"]).get(INDEX, {"cursor": cursor})
    assert response.status_code == 200


# --- create and edit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"mobile": "12345"}, "mobile", "Enter a valid mainland China mobile number"),
        ({"mobile": "+86 128 0013 8000"}, "mobile", "Enter a valid mainland China mobile"),
        ({"uscc": REAL_USCC[:-1] + "4"}, "uscc", "fails its checksum"),
        ({"uscc": "91350100M000100I43"}, "uscc", "has 18 characters"),
        (
            {"kind": "person", "uscc": REAL_USCC},
            "uscc",
            "Only companies have a Unified Social Credit Code.",
        ),
        ({"phone": "12-3"}, "phone", "Enter a valid phone number."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_create_shows_inline_errors_on_the_field(client, users, overrides, field, message):
    # when a rep posts a customer with one bad value
    response = _as(client, users["rep1"]).post(
        reverse("customers:customer-create"), _form_data(**overrides)
    )
    # then the form comes back with the error under that field, and nothing is saved
    assert response.status_code == 200
    block = _field_block(_html(response), field)
    assert "has-error" in block
    assert message in block
    assert not Customer.objects.exists()


def test_create_normalises_mobile_and_uscc(client, users):
    response = _as(client, users["rep1"]).post(
        reverse("customers:customer-create"),
        _form_data(mobile="+86 138-0013-8000", uscc=REAL_USCC.lower()),
    )
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.mobile == "13800138000"
    assert customer.uscc == REAL_USCC
    assert AuditEntry.objects.filter(customer_id=customer.pk, action="create").exists()


@pytest.fixture
def existing(users):
    return CustomerFactory(
        owner=users["rep2"],
        name="杭州万华化工有限公司",
        city="杭州市",
        mobile="13800138000",
        email="info@wanhua.example",
        uscc=REAL_USCC,
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"name": "另一家", "mobile": "+86 138 0013 8000"}, "same phone number"),
        ({"name": "另一家", "email": "INFO@wanhua.example"}, "same e-mail"),
        ({"name": "另一家", "uscc": REAL_USCC}, "same Unified Social Credit Code"),
        ({"name": "杭州万华化工有限公司", "city": "杭州市"}, "same name in the same city"),
    ],
)
def test_create_warns_of_a_duplicate_and_saves_when_allowed(
    client, users, existing, overrides, reason
):
    client = _as(client, users["rep1"])
    url = reverse("customers:customer-create")
    data = _form_data(**overrides)
    # when a customer like an existing one is posted
    response = client.post(url, data)
    # then the form warns (naming the match and why) and saves nothing
    html = _html(response)
    assert response.status_code == 200
    assert "This looks like a customer that already exists" in html
    assert existing.name in html
    assert reason in html
    assert 'name="allow_duplicate"' in html
    assert Customer.objects.count() == 1
    # and when "save anyway" is ticked, it is created
    response = client.post(url, {**data, "allow_duplicate": "on"})
    assert response.status_code == 302
    assert Customer.objects.count() == 2


def test_rep_does_not_get_a_link_to_a_duplicate_they_cannot_see(client, users, existing):
    response = _as(client, users["rep1"]).post(
        reverse("customers:customer-create"), _form_data(name="另一家", mobile="13800138000")
    )
    html = _html(response)
    assert existing.name in html
    assert reverse("customers:customer-detail", args=[existing.pk]) not in html


def test_live_duplicate_check_lists_similar_customers(client, users, existing):
    response = _as(client, users["rep2"]).get(
        reverse("customers:duplicate-check"), {"mobile": "138 0013 8000"}
    )
    html = _html(response)
    assert "These customers look similar" in html
    assert existing.name in html
    # excluding the customer being edited, nothing matches
    response = client.get(
        reverse("customers:duplicate-check"), {"mobile": "13800138000", "exclude": existing.pk}
    )
    assert existing.name not in _html(response)


def test_partner_cannot_probe_customer_names_through_the_duplicate_check(client, users, existing):
    response = _as(client, users["partner1"]).get(
        reverse("customers:duplicate-check"), {"mobile": "13800138000"}
    )
    assert response.status_code == 403 or existing.name not in _html(response)


def test_edit_is_logged_on_the_timeline_with_old_and_new_values(client, users):
    # given a rep's customer
    rep = users["rep1"]
    customer = CustomerFactory(owner=rep, name="旧名称", tier="ordinary")
    client = _as(client, rep)
    # when the rep renames it and raises its tier
    response = client.post(
        reverse("customers:customer-edit", args=[customer.pk]),
        _form_data(name="新名称", tier="key", province="浙江省", city="杭州市"),
    )
    assert response.status_code == 302
    # then the timeline shows both changes as old → new, by the rep
    entry = AuditEntry.objects.get(customer_id=customer.pk, action="update")
    assert entry.actor == rep
    assert entry.changes["name"] == ["旧名称", "新名称"]
    assert entry.changes["tier"] == ["ordinary", "key"]
    assert "province" not in entry.changes  # unchanged fields are not logged
    html = _html(client.get(reverse("customers:customer-detail", args=[customer.pk])))
    assert "name: 旧名称 → 新名称" in html
    assert "value tier: Ordinary customer → Key customer" in html
    timeline = _html(client.get(reverse("customers:customer-timeline", args=[customer.pk])))
    assert "<html" not in timeline
    assert "value tier: Ordinary customer → Key customer" in timeline


def test_owner_field_is_only_offered_to_users_who_may_reassign(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    for role, offered in [("rep1", False), ("manager", True), ("admin", True)]:
        client.force_login(users[role])
        for url in [
            reverse("customers:customer-create"),
            reverse("customers:customer-edit", args=[customer.pk]),
        ]:
            html = _html(client.get(url))
            assert ('name="owner"' in html) is offered, (role, url)


def test_a_rep_cannot_sneak_in_an_owner(client, users):
    client = _as(client, users["rep1"])
    customer = CustomerFactory(owner=users["rep1"], name="我的客户")
    client.post(reverse("customers:customer-create"), _form_data(owner=users["rep2"].pk))
    client.post(
        reverse("customers:customer-edit", args=[customer.pk]),
        _form_data(name="我的客户", owner=users["rep2"].pk),
    )
    assert set(Customer.objects.values_list("owner__username", flat=True)) == {"rep1"}


def test_manager_reassigns_through_the_edit_form_and_the_new_owner_is_notified(
    client, users, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(owner=users["rep1"], name="转给杭州")
    with django_capture_on_commit_callbacks(execute=True):
        response = _as(client, users["manager"]).post(
            reverse("customers:customer-edit", args=[customer.pk]),
            _form_data(name="转给杭州", owner=users["rep2"].pk),
        )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.owner == users["rep2"]
    assert customer.team == users["rep2"].team
    entry = AuditEntry.objects.get(customer_id=customer.pk, action="owner")
    assert entry.changes["owner"] == [str(users["rep1"]), str(users["rep2"])]
    assert users["rep2"].notifications.filter(kind="assigned").count() == 1
    assert not users["rep1"].notifications.exists()


def test_a_manager_who_leaves_the_owner_empty_still_sees_the_new_customer(client, users):
    client = _as(client, users["manager"])
    response = client.post(
        reverse("customers:customer-create"), _form_data(name="无主客户", owner=""), follow=True
    )
    assert response.status_code == 200
    assert Customer.objects.get(name="无主客户").owner == users["manager"]


# --- the 360° page and its actions ----------------------------------------------------------


def test_detail_page_shows_contacts_and_only_permitted_buttons(client, users):
    customer = CustomerFactory(owner=users["rep1"], name="宝钢")
    ContactFactory(customer=customer, name="王经理")
    rep_html = _html(_as(client, users["rep1"]).get(f"/customers/{customer.pk}/"))
    assert "王经理" in rep_html
    assert f"/customers/{customer.pk}/edit/" in rep_html
    assert f"/customers/{customer.pk}/delete/" not in rep_html  # reps cannot delete
    exec_html = _html(_as(client, users["exec1"]).get(f"/customers/{customer.pk}/"))
    assert f"/customers/{customer.pk}/edit/" not in exec_html
    assert f"/customers/{customer.pk}/notes/" not in exec_html


def test_adding_a_note_with_htmx_returns_the_notes_fragment(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    response = _as(client, users["agent1"]).post(
        reverse("customers:note-create", args=[customer.pk]),
        {"body": "客户来电询价"},
        HTTP_HX_REQUEST="true",
    )
    html = _html(response)
    assert response.status_code == 200
    assert 'id="notes"' in html
    assert "<html" not in html
    assert "客户来电询价" in html
    assert Note.objects.get().author == users["agent1"]


def test_an_empty_note_is_refused_inline(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    response = _as(client, users["rep1"]).post(
        reverse("customers:note-create", args=[customer.pk]),
        {"body": "   "},
        HTTP_HX_REQUEST="true",
    )
    assert "has-error" in _field_block(_html(response), "body")
    assert not Note.objects.exists()


def test_executive_cannot_add_notes(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    response = _as(client, users["exec1"]).post(
        reverse("customers:note-create", args=[customer.pk]), {"body": "hi"}
    )
    assert response.status_code == 403
    assert not Note.objects.exists()


def test_trash_restore_and_purge_through_the_pages(client, users):
    customer = CustomerFactory(owner=users["rep1"], name="将被清除")
    client = _as(client, users["admin"])
    # purge refuses a live customer
    response = client.post(reverse("customers:customer-purge", args=[customer.pk]), follow=True)
    assert "Only customers in the trash can be purged." in _html(response)
    assert Customer.objects.filter(pk=customer.pk).exists()
    # delete → in the trash
    client.post(reverse("customers:customer-delete", args=[customer.pk]))
    assert "将被清除" in _html(client.get(reverse("customers:customer-trash")))
    assert client.get(f"/customers/{customer.pk}/").status_code == 404
    # restore → back
    client.post(reverse("customers:customer-restore", args=[customer.pk]))
    assert client.get(f"/customers/{customer.pk}/").status_code == 200
    # delete again and purge → gone for good
    client.post(reverse("customers:customer-delete", args=[customer.pk]))
    response = client.post(reverse("customers:customer-purge", args=[customer.pk]))
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_only_purgers_may_purge_and_reps_have_no_trash(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    _as(client, users["manager"]).post(reverse("customers:customer-delete", args=[customer.pk]))
    response = client.post(reverse("customers:customer-purge", args=[customer.pk]))
    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert _as(client, users["rep1"]).get(reverse("customers:customer-trash")).status_code == 403


def test_merge_through_the_page_after_a_preview(client, users):
    target = CustomerFactory(owner=users["rep1"], name="万华化工")
    source = CustomerFactory(owner=users["rep2"], name="万华化工（重复）", mobile="13800138000")
    client = _as(client, users["manager"])
    url = reverse("customers:customer-merge", args=[target.pk])
    preview = client.get(url, {"source": source.pk})
    assert "万华化工（重复）" in _html(preview)
    response = client.post(url, {"source": source.pk, "confirm": "1"})
    assert response.status_code == 302
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into == target
    assert source.deleted_at is not None
    assert target.mobile == "13800138000"


def test_merge_refuses_a_source_outside_reach(client, users):
    target = CustomerFactory(owner=users["rep1"])
    outsider = CustomerFactory(owner=users["rep3"])
    response = _as(client, users["manager"]).post(
        reverse("customers:customer-merge", args=[target.pk]),
        {"source": outsider.pk, "confirm": "1"},
    )
    assert response.status_code == 200
    assert "Choose another customer that you may change." in _html(response)
    outsider.refresh_from_db()
    assert outsider.deleted_at is None


def test_merging_a_company_into_an_individual_is_not_a_500(client, users):
    target = CustomerFactory(owner=users["rep1"], name="王先生", kind="person")
    source = CustomerFactory(owner=users["rep1"], name="王先生的公司", uscc=REAL_USCC)
    response = _as(client, users["admin"]).post(
        reverse("customers:customer-merge", args=[target.pk]),
        {"source": source.pk, "confirm": "1"},
    )
    assert response.status_code in {200, 302}
    target.refresh_from_db()
    assert target.uscc == ""


def test_bulk_action_does_not_redirect_off_site(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    response = _as(client, users["manager"]).post(
        reverse("customers:customer-bulk"),
        {"action": "delete", "ids": [customer.pk], "back": "//evil.example/phish"},
    )
    assert response.status_code == 302
    assert not response["Location"].startswith("//")


def test_bulk_action_with_a_bad_selection_explains_and_changes_nothing(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    client = _as(client, users["manager"])
    for data in [{"action": "delete"}, {"action": "delete", "ids": ["x"]}]:
        response = client.post(reverse("customers:customer-bulk"), data, follow=True)
        assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.deleted_at is None


def test_bulk_tag_adds_a_tag_to_editable_rows(client, users):
    mine = CustomerFactory(owner=users["rep1"])
    theirs = CustomerFactory(owner=users["rep2"])
    tag = TagFactory(name="展会线索")
    _as(client, users["rep1"]).post(
        reverse("customers:customer-bulk"),
        {"action": "tag", "tag": tag.pk, "ids": [mine.pk, theirs.pk]},
    )
    assert list(mine.tags.all()) == [tag]
    assert not theirs.tags.exists()


# --- contacts on the customer's timeline ------------------------------------------------------


def test_editing_a_contact_on_the_page_is_logged_on_the_customer_timeline(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    contact = ContactFactory(customer=customer, name="王经理", mobile="13900000001")
    response = _as(client, users["rep1"]).post(
        reverse("customers:contact-edit", args=[contact.pk]),
        {"name": "王总", "mobile": "13900000001"},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(customer_id=customer.pk, action="update").first()
    assert entry is not None
    assert entry.changes["name"] == ["王经理", "王总"]


def test_unlinking_a_contact_on_the_page_is_logged(client, users):
    customer = CustomerFactory(owner=users["rep1"])
    contact = ContactFactory(customer=customer)
    response = _as(client, users["rep1"]).post(
        reverse("customers:contact-unlink", args=[customer.pk, contact.pk])
    )
    assert response.status_code == 302
    assert not customer.contact_links.exists()
    assert AuditEntry.objects.filter(
        customer_id=customer.pk, action="unlink", subject_id=contact.pk
    ).exists()


def test_uscc_check_character_is_used_for_the_form_as_well(client, users):
    # a freshly computed valid code is accepted by the form
    code = "91330100MA27XXXX0"
    code += uscc_check_character(code)
    response = _as(client, users["rep1"]).post(
        reverse("customers:customer-create"), _form_data(uscc=code)
    )
    assert response.status_code == 302
    assert Customer.objects.get().uscc == code


def test_a_uscc_pasted_with_spaces_is_accepted(client, users):
    response = _as(client, users["rep1"]).post(
        reverse("customers:customer-create"), _form_data(uscc="9135 0100 M000 100Y 43")
    )
    assert response.status_code == 302
    assert Customer.objects.get().uscc == REAL_USCC
