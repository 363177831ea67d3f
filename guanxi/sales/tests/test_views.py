"""Lead pages: the list (filters, keyset "Load more", htmx fragments, bulk actions), the
create and edit forms (inline errors, owner choices, routing), the lead page and its
actions (assign, disqualify, reopen, delete, restore) and conversion to a customer."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from guanxi.activities.models import AuditEntry
from guanxi.customers.models import ContactLink, Customer
from guanxi.customers.tests.factories import ChannelFactory, CustomerFactory
from guanxi.sales import services
from guanxi.sales.models import Lead
from guanxi.sales.tests.factories import AssignmentRuleFactory, LeadFactory

pytestmark = pytest.mark.django_db

INDEX = "/sales/leads/"
NEW = "/sales/leads/new/"


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
    match = re.search(rf'<div class="field[^"]*" id="field-{name}">(.*?)</div>', html, re.S)
    assert match, f"field {name} not rendered"
    return match.group(0)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- list ---------------------------------------------------------------------------------


@pytest.fixture
def catalog(users):
    expo = ChannelFactory(name="展会")
    a = LeadFactory(
        owner=users["rep1"],
        name="甲-王芳",
        intent="A",
        channel=expo,
        province="浙江省",
        city="杭州市",
        source=Lead.Source.FORM,
    )
    b = LeadFactory(
        owner=users["rep2"], name="乙-李强", intent="B", province="上海市", city="上海市"
    )
    c = LeadFactory(owner=users["admin"], name="丙-赵敏", status=Lead.Status.WORKING)
    d = LeadFactory(
        owner=None, name="丁-孙丽", status=Lead.Status.DISQUALIFIED, disqualify_reason="spam"
    )
    return {"a": a, "b": b, "c": c, "d": d, "expo": expo}


def _listed(response) -> set[str]:
    return {lead.name.split("-")[0] for lead in response.context["page"].items}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"甲", "乙", "丙", "丁"}),
        ("status=open", {"甲", "乙", "丙"}),
        ("status=working", {"丙"}),
        ("status=disqualified", {"丁"}),
        ("intent=A", {"甲"}),
        ("owner=me", {"丙"}),
        ("owner=none", {"丁"}),
        ("source=form", {"甲"}),
        ("province=上海市", {"乙"}),
        ("city=杭州市", {"甲"}),
        ("q=李强", {"乙"}),
        ("status=open&intent=B", {"乙"}),
    ],
)
def test_list_filters_narrow_the_rows(client, users, catalog, query, expected):
    response = _as(client, users["admin"]).get(f"{INDEX}?{query}")
    assert response.status_code == 200
    assert _listed(response) == expected


def test_list_filters_by_owner_id_and_channel(client, users, catalog):
    client = _as(client, users["admin"])
    assert _listed(client.get(f"{INDEX}?owner={users['rep2'].pk}")) == {"乙"}
    assert _listed(client.get(f"{INDEX}?channel={catalog['expo'].pk}")) == {"甲"}


def test_list_filters_never_widen_the_access_scope(client, users, catalog):
    response = _as(client, users["rep1"]).get(f"{INDEX}?owner={users['rep2'].pk}")
    assert _listed(response) == set()
    assert _listed(client.get(f"{INDEX}?owner=none")) == set()


@pytest.mark.parametrize(
    "query", ["status=bogus", "intent=Z", "channel=abc", "owner=abc", "owner=²", "sort=password"]
)
def test_invalid_filter_values_are_ignored_with_a_message_not_a_500(client, users, catalog, query):
    response = _as(client, users["admin"]).get(f"{INDEX}?{query}")
    assert response.status_code == 200
    assert "Some filters are invalid; they were ignored." in _html(response)
    assert _listed(response) == {"甲", "乙", "丙", "丁"}


def test_a_garbage_cursor_shows_the_first_page_with_a_message(client, users, catalog):
    response = _as(client, users["admin"]).get(INDEX, {"cursor": "garbage"})
    assert response.status_code == 200
    assert "That page link has expired; showing the first page." in _html(response)


def test_load_more_with_htmx_returns_only_the_next_rows(client, users):
    # given 53 leads: one page of 50 and 3 more
    rep = users["rep1"]
    LeadFactory.create_batch(53, owner=rep)
    client = _as(client, rep)
    first = client.get(INDEX)
    assert len(first.context["page"].items) == 50
    next_url = first.context["next_url"]
    assert "cursor=" in next_url
    # when "Load more" is clicked (htmx)
    more = client.get(INDEX + next_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="more-row")
    # then only the rows fragment comes back: the 3 remaining leads and no further link
    html = _html(more)
    assert "<html" not in html
    assert html.count('href="/sales/leads/') == 3
    assert "Load more" not in html
    first_ids = {lead.pk for lead in first.context["page"].items}
    assert not first_ids & {lead.pk for lead in more.context["page"].items}


def test_htmx_filter_request_returns_the_results_fragment(client, users, catalog):
    response = _as(client, users["admin"]).get(
        f"{INDEX}?intent=A", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lead-results"
    )
    html = _html(response)
    assert '<div id="lead-results">' in html
    assert "<html" not in html
    assert "甲-王芳" in html
    assert "乙-李强" not in html


def test_list_runs_the_same_number_of_queries_for_5_and_for_60_leads(
    client, users, django_assert_num_queries
):
    # given 5 leads with a channel, seen by a manager (bulk actions shown)
    manager, rep = users["manager"], users["rep1"]
    channel = ChannelFactory(name="展会")
    LeadFactory.create_batch(5, owner=rep, channel=channel)
    client = _as(client, manager)
    client.get(INDEX)  # warm up caches that are not per request
    with CaptureQueriesContext(connection) as five:
        assert client.get(INDEX).status_code == 200
    # when there are 60 (more than a page)
    LeadFactory.create_batch(55, owner=rep, channel=channel)
    # then the list page runs exactly as many queries
    with django_assert_num_queries(len(five)):
        response = client.get(INDEX)
    assert len(response.context["page"].items) == 50
    assert len(five) <= 12


def test_bulk_delete_moves_leads_in_reach_to_the_trash(client, users):
    leads = LeadFactory.create_batch(2, owner=users["rep1"])
    response = _as(client, users["manager"]).post(
        reverse("sales:lead-bulk"),
        {"action": "delete", "ids": [lead.pk for lead in leads], "back": INDEX},
        follow=True,
    )
    assert "2 leads were moved to the trash." in _messages(response)
    assert Lead.objects.filter(pk__in=[x.pk for x in leads], deleted_at__isnull=False).count() == 2


@pytest.mark.parametrize("ids", [[], ["abc"], ["99999999999999999999999"]])
def test_bulk_action_with_a_bad_selection_explains_and_changes_nothing(client, users, ids):
    lead = LeadFactory(owner=users["rep1"])
    response = _as(client, users["admin"]).post(
        reverse("sales:lead-bulk"), {"action": "delete", "ids": ids, "back": INDEX}, follow=True
    )
    assert response.status_code == 200
    assert _messages(response)
    lead.refresh_from_db()
    assert lead.deleted_at is None


def test_bulk_action_does_not_redirect_off_site(client, users):
    lead = LeadFactory(owner=users["rep1"])
    response = _as(client, users["admin"]).post(
        reverse("sales:lead-bulk"),
        {"action": "delete", "ids": [lead.pk], "back": "https://evil.example/"},
    )
    assert response["Location"] == INDEX


# --- create and edit ----------------------------------------------------------------------


def test_create_with_a_bad_mobile_shows_the_field_error_and_saves_nothing(client, users):
    response = _as(client, users["rep1"]).post(NEW, {"name": "王芳", "mobile": "12345"})
    assert response.status_code == 200
    assert "valid mainland China mobile" in _field_block(_html(response), "mobile")
    assert not Lead.objects.exists()


def test_create_without_any_way_to_reach_the_lead_shows_the_service_error(client, users):
    response = _as(client, users["rep1"]).post(NEW, {"name": "王芳", "owner": users["rep1"].pk})
    assert response.status_code == 200
    assert "Give at least one way to reach the lead" in _field_block(_html(response), "mobile")
    assert not Lead.objects.exists()


def test_a_rep_creates_a_lead_for_themself_by_default(client, users):
    client = _as(client, users["rep1"])
    # the owner select comes pre-selected with the rep, with the rules as the alternative
    owner_block = _field_block(_html(client.get(NEW)), "owner")
    assert f'<option value="{users["rep1"].pk}" selected>' in owner_block
    assert "Unassigned (route by rules)" in owner_block
    assert f'value="{users["rep2"].pk}"' not in owner_block
    response = client.post(
        NEW, {"name": "王芳", "company": "苏州恒瑞", "mobile": "139 1234 5678", "intent": "B",
              "owner": users["rep1"].pk, "province": "江苏省", "city": "苏州市"}
    )  # fmt: skip
    lead = Lead.objects.get()
    assert response["Location"] == reverse("sales:lead-detail", args=[lead.pk])
    assert (lead.owner, lead.team, lead.mobile, lead.intent, lead.source) == (
        users["rep1"],
        users["rep1"].team,
        "13912345678",
        "B",
        Lead.Source.WEB,
    )


def test_a_rep_cannot_sneak_in_another_owner(client, users):
    response = _as(client, users["rep1"]).post(
        NEW, {"name": "王芳", "mobile": "13912345678", "owner": users["rep2"].pk}
    )
    assert response.status_code == 200
    assert "errorlist" in _field_block(_html(response), "owner")
    assert not Lead.objects.exists()


def test_an_unassigned_lead_is_routed_by_the_rules(client, users):
    # given a rule sending leads from 江苏省 to rep2
    AssignmentRuleFactory(province="江苏省", user=users["rep2"])
    # when rep1 leaves the owner empty
    response = _as(client, users["rep1"]).post(
        NEW,
        {"name": "王芳", "mobile": "13912345678", "owner": "", "province": "江苏省"},
        follow=True,
    )
    # then rep2 owns it and rep1, who can no longer see it, lands on the list
    lead = Lead.objects.get()
    assert lead.owner == users["rep2"]
    assert response.redirect_chain[-1][0] == INDEX
    assert any(f"assigned to {users['rep2']}" in m for m in _messages(response))


def test_a_marketer_leaves_new_leads_to_the_rules(client, users):
    client = _as(client, users["marketer1"])
    owner_block = _field_block(_html(client.get(NEW)), "owner")
    assert '<option value="" selected>' in owner_block
    client.post(NEW, {"name": "王芳", "mobile": "13912345678", "owner": ""})
    assert Lead.objects.get().owner is None


def test_edit_is_logged_on_the_lead_timeline(client, users):
    lead = services.lead_create(
        actor=users["rep1"], data={"name": "王芳", "mobile": "13912345678", "owner": users["rep1"]}
    )
    client = _as(client, users["rep1"])
    assert "owner" not in _html(client.get(reverse("sales:lead-edit", args=[lead.pk])))
    response = client.post(
        reverse("sales:lead-edit", args=[lead.pk]),
        {"name": "王芳", "mobile": "13912345678", "intent": "A", "status": "qualified"},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.intent, lead.status, lead.owner) == ("A", "qualified", users["rep1"])
    html = _html(client.get(reverse("sales:lead-detail", args=[lead.pk])))
    entry = AuditEntry.objects.filter(subject_type="lead", action="update").get()
    assert entry.changes["intent"] == ["", "A"]
    assert entry.changes["status"] == ["new", "qualified"]
    with translation.override("en"):  # the timeline shows the status by its label
        label = str(Lead.Status.QUALIFIED.label)
    assert 'id="timeline"' in html and label in html


def test_edit_refuses_a_closed_status_and_a_closed_lead(client, users):
    lead = LeadFactory(owner=users["rep1"])
    client = _as(client, users["rep1"])
    url = reverse("sales:lead-edit", args=[lead.pk])
    response = client.post(url, {"name": "王芳", "mobile": "13912345678", "status": "converted"})
    assert response.status_code == 200
    assert "errorlist" in _field_block(_html(response), "status")
    lead.status, lead.disqualify_reason = Lead.Status.DISQUALIFIED, "spam"
    lead.save()
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("sales:lead-detail", args=[lead.pk])
    assert "cannot be edited" in " ".join(_messages(response))


# --- the lead page and its actions --------------------------------------------------------


def test_disqualify_without_a_reason_shows_the_error_and_changes_nothing(client, users):
    lead = LeadFactory(owner=users["rep1"])
    response = _as(client, users["rep1"]).post(
        reverse("sales:lead-disqualify", args=[lead.pk]), {"reason": "", "note": "不需要"}
    )
    assert response.status_code == 200
    assert "errorlist" in _field_block(_html(response), "reason")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW


def test_disqualify_then_reopen(client, users):
    lead = LeadFactory(owner=users["rep1"])
    client = _as(client, users["rep1"])
    client.post(
        reverse("sales:lead-disqualify", args=[lead.pk]),
        {"reason": "no_budget", "note": "明年再说"},
    )
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "no_budget")
    html = _html(client.get(reverse("sales:lead-detail", args=[lead.pk])))
    assert "明年再说" in html
    assert reverse("sales:lead-reopen", args=[lead.pk]) in html
    assert reverse("sales:lead-edit", args=[lead.pk]) not in html
    client.post(reverse("sales:lead-reopen", args=[lead.pk]))
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("working", "")


def test_reopening_an_open_lead_explains_instead_of_failing(client, users):
    lead = LeadFactory(owner=users["rep1"])
    response = _as(client, users["rep1"]).post(
        reverse("sales:lead-reopen", args=[lead.pk]), follow=True
    )
    assert "Only a disqualified lead can be reopened." in _messages(response)


def test_assign_back_to_the_pool_and_to_an_inactive_user(client, users):
    lead = LeadFactory(owner=users["rep1"])
    client = _as(client, users["manager"])
    url = reverse("sales:lead-assign", args=[lead.pk])
    users["rep2"].is_active = False
    users["rep2"].save()
    response = client.post(url, {"owner": users["rep2"].pk})
    assert response.status_code == 200  # the form shows the error
    lead.refresh_from_db()
    assert lead.owner == users["rep1"]
    response = client.post(url, {"owner": ""})
    lead.refresh_from_db()
    assert lead.owner is None
    assert response["Location"] == INDEX  # a pool lead is out of a manager's team


def test_delete_trash_and_restore(client, users):
    lead = LeadFactory(owner=users["rep1"], name="王芳")
    client = _as(client, users["manager"])
    client.post(reverse("sales:lead-delete", args=[lead.pk]))
    assert client.get(reverse("sales:lead-detail", args=[lead.pk])).status_code == 404
    assert "王芳" in _html(client.get(reverse("sales:lead-trash")))
    response = client.post(reverse("sales:lead-restore", args=[lead.pk]))
    assert response["Location"] == reverse("sales:lead-detail", args=[lead.pk])
    lead.refresh_from_db()
    assert lead.deleted_at is None
    assert _as(client, users["rep1"]).get(reverse("sales:lead-trash")).status_code == 403


# --- conversion ---------------------------------------------------------------------------


def test_convert_creates_a_customer_and_contact_and_moves_the_timeline(client, users):
    # given a lead with some history
    lead = services.lead_create(
        actor=users["rep1"],
        data={"name": "王芳", "company": "苏州恒瑞电子", "title": "采购经理",
              "mobile": "13912345678", "owner": users["rep1"]},
    )  # fmt: skip
    services.lead_update(actor=users["rep1"], lead=lead, data={"intent": "A"})
    client = _as(client, users["rep1"])
    # when it is converted to a new customer
    response = client.post(reverse("sales:lead-convert", args=[lead.pk]), {"mode": "new"})
    # then a company customer with the person as contact exists and the page goes there
    customer = Customer.objects.get(name="苏州恒瑞电子")
    assert response["Location"] == reverse("customers:customer-detail", args=[customer.pk])
    link = ContactLink.objects.get(customer=customer)
    assert (link.contact.name, link.title) == ("王芳", "采购经理")
    # and the lead's history is on the customer's timeline
    html = _html(client.get(response["Location"]))
    lead_entries = AuditEntry.objects.filter(subject_type="lead", subject_id=lead.pk)
    assert lead_entries.count() == 3  # created, updated, converted
    assert all(e.customer_id == customer.pk for e in lead_entries)
    assert html.count(str(lead)) >= 3
    # and the lead page links to the customer
    html = _html(client.get(reverse("sales:lead-detail", args=[lead.pk])))
    assert reverse("customers:customer-detail", args=[customer.pk]) in html
    assert reverse("sales:lead-convert", args=[lead.pk]) not in html


def test_convert_with_a_duplicate_shows_the_matches_and_create_anyway_works(client, users):
    existing = CustomerFactory(owner=users["rep1"], name="苏州恒瑞电子", city="苏州市")
    hidden = CustomerFactory(owner=users["rep3"], name="苏州恒瑞电子有限", phone="051288886666")
    lead = LeadFactory(
        owner=users["rep1"], name="王芳", company="苏州恒瑞电子", phone="051288886666"
    )
    client = _as(client, users["rep1"])
    url = reverse("sales:lead-convert", args=[lead.pk])
    # when converting finds probable duplicates
    response = client.post(url, {"mode": "new"})
    # then they are shown: a link to the one rep1 may see, only the owner of the other
    html = _html(response)
    assert response.status_code == 200
    assert reverse("customers:customer-detail", args=[existing.pk]) in html
    assert reverse("customers:customer-detail", args=[hidden.pk]) not in html
    assert hidden.name not in html
    assert str(users["rep3"]) in html
    assert Customer.objects.count() == 2
    # and "create anyway" makes a new customer
    response = client.post(url, {"mode": "new", "allow_duplicates": "on"})
    assert response.status_code == 302
    assert Customer.objects.count() == 3
    lead.refresh_from_db()
    assert lead.customer not in {existing, hidden}


def test_convert_links_to_an_existing_customer_the_user_may_see(client, users):
    mine = CustomerFactory(owner=users["rep1"], name="苏州恒瑞电子")
    theirs = CustomerFactory(owner=users["rep2"], name="杭州万华")
    lead = LeadFactory(owner=users["rep1"], name="王芳", company="苏州恒瑞电子")
    client = _as(client, users["rep1"])
    url = reverse("sales:lead-convert", args=[lead.pk])
    # someone else's customer cannot be chosen
    response = client.post(url, {"mode": "existing", "customer": theirs.pk})
    assert "errorlist" in _field_block(_html(response), "customer")
    # the search offers only customers in sight
    html = _html(client.get(url, {"q": "杭州万华"}, HTTP_HX_REQUEST="true"))
    assert "<html" not in html and "杭州万华" not in html
    html = _html(client.get(url, {"q": "恒瑞"}, HTTP_HX_REQUEST="true"))
    assert f'name="customer" value="{mine.pk}"' in html
    # linking adds the person to the chosen customer
    response = client.post(url, {"mode": "existing", "customer": mine.pk})
    assert response["Location"] == reverse("customers:customer-detail", args=[mine.pk])
    lead.refresh_from_db()
    assert (lead.status, lead.customer) == (Lead.Status.CONVERTED, mine)
    assert ContactLink.objects.filter(customer=mine, contact__name="王芳").exists()
    assert Customer.objects.count() == 2


def test_a_converted_lead_cannot_be_converted_again(client, users):
    lead = LeadFactory(owner=users["rep1"])
    client = _as(client, users["rep1"])
    url = reverse("sales:lead-convert", args=[lead.pk])
    client.post(url, {"mode": "new", "allow_duplicates": "on"})
    response = client.post(url, {"mode": "new", "allow_duplicates": "on"}, follow=True)
    assert "Only an open lead can be converted." in _messages(response)
    assert Customer.objects.count() == 1


def test_convert_can_open_an_opportunity_in_the_same_step(client, users):
    from guanxi.sales.models import Opportunity

    lead = services.lead_create(
        actor=users["rep1"],
        data={"name": "王芳", "company": "苏州恒瑞电子有限公司", "mobile": "13912345678"},
    )
    services.leads_assign(actor=users["admin"], leads=[lead], owner=users["rep1"])
    client = _as(client, users["rep1"])
    url = reverse("sales:lead-convert", args=[lead.pk])
    # a negative amount is refused on the form, and nothing is converted
    response = client.post(
        url, {"mode": "new", "opportunity_name": "伺服电机", "opportunity_amount": "-1"}
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.is_open and not Opportunity.objects.exists()
    # an amount without a name is refused too
    response = client.post(url, {"mode": "new", "opportunity_amount": "100"})
    assert "Name the opportunity" in _html(response)
    response = client.post(
        url,
        {
            "mode": "new",
            "opportunity_name": "伺服电机 200 台",
            "opportunity_amount": "360000",
            "opportunity_close": "2030-03-31",
        },
    )
    assert response.status_code == 302
    opportunity = Opportunity.objects.get()
    assert (opportunity.name, str(opportunity.amount), opportunity.owner) == (
        "伺服电机 200 台",
        "360000.00",
        users["rep1"],
    )
    assert opportunity.customer.name == "苏州恒瑞电子有限公司"
    assert opportunity.lead_id == lead.pk


def test_create_anyway_after_duplicates_keeps_the_opportunity(client, users):
    from guanxi.sales.models import Opportunity

    CustomerFactory(name="苏州恒瑞电子有限公司", city="苏州市", owner=users["rep2"])
    lead = services.lead_create(
        actor=users["rep1"],
        data={
            "name": "王芳",
            "company": "苏州恒瑞电子有限公司",
            "city": "苏州市",
            "mobile": "13912345678",
            "owner": users["rep1"],
        },
    )
    client = _as(client, users["rep1"])
    url = reverse("sales:lead-convert", args=[lead.pk])
    page = _html(
        client.post(
            url, {"mode": "new", "opportunity_name": "年度备件", "opportunity_amount": "5000"}
        )
    )
    assert 'id="duplicates"' in page and 'value="年度备件"' in page
    response = client.post(
        url,
        {
            "mode": "new",
            "allow_duplicates": "on",
            "opportunity_name": "年度备件",
            "opportunity_amount": "5000",
        },
    )
    assert response.status_code == 302
    assert Opportunity.objects.get().name == "年度备件"
