"""Lead services: capture, routing, assignment, disqualification, conversion, handover."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from guanxi.activities.models import AuditEntry, Notification
from guanxi.customers.models import ContactLink, Customer
from guanxi.customers.tests.factories import ChannelFactory, CustomerFactory
from guanxi.sales import services
from guanxi.sales.models import AssignmentRule, Lead
from guanxi.sales.tests.factories import AssignmentRuleFactory, LeadFactory
from guanxi.users import roles
from guanxi.users.models import Module, RoleScope, Scope
from guanxi.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _lead_data(**overrides):
    data = {
        "name": "王芳",
        "company": "苏州恒瑞电子有限公司",
        "title": "采购经理",
        "mobile": "+86 139-1234-5678",
        "province": "江苏省",
        "city": "苏州市",
    }
    data.update(overrides)
    return data


# --- capture ------------------------------------------------------------------------------


def test_create_normalises_and_logs_the_lead(users):
    # when a rep captures a lead for themself
    lead = services.lead_create(actor=users["rep1"], data=_lead_data(owner=users["rep1"]))
    # then the mobile is normalised, pinyin filled, the team follows the owner, and it is logged
    assert lead.mobile == "13912345678"
    assert lead.name_initials == "wf"
    assert lead.team_id == users["rep1"].team_id
    assert lead.status == Lead.Status.NEW
    entry = AuditEntry.objects.get(subject_type="lead", subject_id=lead.pk)
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.changes["name"] == [None, "王芳"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"mobile": "12345"}, "mobile"),
        ({"name": "", "company": ""}, "name"),
        ({"mobile": "", "phone": "", "email": "", "wechat": ""}, "mobile"),
        ({"email": "not-an-email"}, "email"),
        ({"intent": "Z"}, "intent"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(users, data, field):
    with pytest.raises(ValidationError) as exc:
        services.lead_create(actor=users["rep1"], data=_lead_data(**data))
    assert field in exc.value.message_dict
    assert not Lead.objects.exists()


def test_a_company_alone_names_the_lead(users):
    lead = services.lead_create(actor=users["rep1"], data=_lead_data(name=""))
    assert lead.name == "苏州恒瑞电子有限公司"


# --- routing ------------------------------------------------------------------------------


def test_the_city_rule_wins_over_the_province_rule_and_the_catch_all(users):
    AssignmentRuleFactory(name="全国", user=users["rep3"], priority=1)
    AssignmentRuleFactory(name="江苏", province="江苏省", user=users["rep2"])
    AssignmentRuleFactory(name="苏州", province="江苏省", city="苏州市", user=users["rep1"])
    # a lead from 苏州 goes to the city rule's person
    suzhou = services.lead_create(actor=None, data=_lead_data(), source=Lead.Source.FORM)
    assert suzhou.owner == users["rep1"]
    # one from 南京 to the province rule's, one from 浙江 to the catch-all's
    nanjing = services.lead_create(
        actor=None, data=_lead_data(city="南京市"), source=Lead.Source.FORM
    )
    assert nanjing.owner == users["rep2"]
    zhejiang = services.lead_create(
        actor=None, data=_lead_data(province="浙江省", city="杭州市", email="a@b.cn")
    )
    assert zhejiang.owner == users["rep3"]
    # and the log says which rule decided
    entry = AuditEntry.objects.get(subject_type="lead", subject_id=suzhou.pk)
    assert "苏州" in entry.message


def test_round_robin_takes_turns_among_active_team_members(users, teams):
    colleague = UserFactory(username="rep4", role=roles.SALES_REP, team=teams["shanghai"])
    UserFactory(username="gone", role=roles.SALES_REP, team=teams["shanghai"], is_active=False)
    AssignmentRuleFactory(
        name="上海轮流", method=AssignmentRule.Method.ROUND_ROBIN, team=teams["shanghai"]
    )
    owners = [
        services.lead_create(actor=None, data=_lead_data(mobile=f"1391234{i:04d}")).owner
        for i in range(4)
    ]
    assert owners == [users["rep1"], colleague, users["rep1"], colleague]


def test_without_a_matching_rule_the_lead_stays_unassigned(users):
    AssignmentRuleFactory(name="广东", province="广东省", user=users["rep2"])
    lead = services.lead_create(actor=None, data=_lead_data())
    assert lead.owner is None
    assert not Notification.objects.exists()


def test_an_inactive_rule_is_ignored(users):
    AssignmentRuleFactory(name="停用", user=users["rep2"], is_active=False)
    assert services.lead_create(actor=None, data=_lead_data()).owner is None


def test_the_routed_owner_is_notified(users):
    AssignmentRuleFactory(name="全国", user=users["rep2"])
    lead = services.lead_create(actor=None, data=_lead_data(), source=Lead.Source.FORM)
    note = Notification.objects.get(user=users["rep2"])
    assert str(lead.pk) in note.url


def test_a_rule_needs_its_target(users, teams):
    rule = AssignmentRule(name="x", method=AssignmentRule.Method.ROUND_ROBIN, city="苏州市")
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert {"team", "province"} <= set(exc.value.message_dict)


# --- change, assign, disqualify ------------------------------------------------------------


def test_update_logs_changed_fields_and_owner_separately(users):
    lead = services.lead_create(actor=users["rep1"], data=_lead_data(owner=users["rep1"]))
    services.lead_update(
        actor=users["manager"], lead=lead, data={"intent": "A", "owner": users["rep2"]}
    )
    lead.refresh_from_db()
    assert lead.team_id == users["rep2"].team_id
    actions = list(
        AuditEntry.objects.filter(subject_type="lead", subject_id=lead.pk)
        .order_by("id")
        .values_list("action", "changes")
    )
    assert actions[1] == ("update", {"intent": ["", "A"]})
    assert actions[2][0] == "owner"
    assert Notification.objects.filter(user=users["rep2"]).exists()


def test_edit_cannot_close_a_lead_or_touch_a_closed_one(users):
    lead = LeadFactory(owner=users["rep1"])
    with pytest.raises(ValidationError):
        services.lead_update(actor=users["rep1"], lead=lead, data={"status": "converted"})
    services.lead_disqualify(actor=users["rep1"], lead=lead, reason=Lead.Reason.NO_NEED)
    with pytest.raises(ValidationError):
        services.lead_update(actor=users["rep1"], lead=lead, data={"intent": "A"})


def test_bulk_assign_moves_open_leads_only_and_notifies_once(users):
    open_leads = LeadFactory.create_batch(3, owner=users["rep1"])
    closed = LeadFactory(owner=users["rep1"], status=Lead.Status.CONVERTED)
    moved = services.leads_assign(
        actor=users["manager"], leads=[*open_leads, closed], owner=users["rep2"]
    )
    assert moved == 3
    assert Lead.objects.filter(owner=users["rep2"]).count() == 3
    assert Notification.objects.filter(user=users["rep2"]).count() == 1


def test_assign_to_nobody_returns_leads_to_the_pool(users):
    lead = LeadFactory(owner=users["rep1"])
    services.leads_assign(actor=users["manager"], leads=[lead], owner=None)
    lead.refresh_from_db()
    assert lead.owner is None and lead.team is None


def test_disqualify_needs_a_reason_and_reopen_brings_it_back(users):
    lead = LeadFactory(owner=users["rep1"])
    with pytest.raises(ValidationError):
        services.lead_disqualify(actor=users["rep1"], lead=lead, reason="bored")
    services.lead_disqualify(
        actor=users["rep1"], lead=lead, reason=Lead.Reason.COMPETITOR, note="选了别家"
    )
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "competitor")
    assert AuditEntry.objects.filter(action="disqualify", message="选了别家").exists()
    services.lead_reopen(actor=users["rep1"], lead=lead)
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("working", "")


# --- conversion -----------------------------------------------------------------------------


def test_convert_creates_company_and_contact_and_moves_the_history(users):
    channel = ChannelFactory(name="展会")
    lead = services.lead_create(
        actor=users["rep1"], data=_lead_data(owner=users["rep1"], channel=channel)
    )
    services.lead_update(actor=users["rep1"], lead=lead, data={"intent": "B"})
    customer = services.lead_convert(actor=users["rep1"], lead=lead)
    lead.refresh_from_db()
    assert customer.kind == Customer.Kind.COMPANY
    assert (customer.name, customer.owner, customer.channel) == (
        "苏州恒瑞电子有限公司",
        users["rep1"],
        channel,
    )
    link = ContactLink.objects.get(customer=customer)
    assert (link.contact.name, link.contact.mobile, link.title, link.is_primary) == (
        "王芳",
        "13912345678",
        "采购经理",
        True,
    )
    assert (lead.status, lead.customer, lead.contact) == ("converted", customer, link.contact)
    # every entry of the lead is now on the customer's timeline
    lead_entries = AuditEntry.objects.filter(subject_type="lead", subject_id=lead.pk)
    assert lead_entries.count() == 3
    assert set(lead_entries.values_list("customer_id", flat=True)) == {customer.pk}


def test_convert_a_person_makes_an_individual_without_a_contact(users):
    lead = services.lead_create(
        actor=users["rep1"], data=_lead_data(company="", owner=users["rep1"])
    )
    customer = services.lead_convert(actor=users["rep1"], lead=lead)
    assert customer.kind == Customer.Kind.PERSON
    assert customer.mobile == "13912345678"
    assert not ContactLink.objects.filter(customer=customer).exists()


def test_convert_stops_at_probable_duplicates_unless_allowed(users):
    existing = CustomerFactory(name="苏州恒瑞电子有限公司", city="苏州市", owner=users["rep2"])
    lead = LeadFactory(owner=users["rep1"], company="苏州恒瑞电子有限公司", city="苏州市")
    with pytest.raises(services.DuplicateCustomers) as exc:
        services.lead_convert(actor=users["rep1"], lead=lead)
    assert [c for c, _reasons in exc.value.matches] == [existing]
    lead.refresh_from_db()
    assert lead.is_open
    customer = services.lead_convert(actor=users["rep1"], lead=lead, allow_duplicates=True)
    assert customer.pk != existing.pk


def test_convert_into_an_existing_customer_adds_the_contact(users):
    existing = CustomerFactory(owner=users["rep1"])
    lead = LeadFactory(owner=users["rep1"])
    customer = services.lead_convert(actor=users["rep1"], lead=lead, customer=existing)
    assert customer == existing
    assert ContactLink.objects.filter(customer=existing, contact__name=lead.name).exists()
    assert Customer.objects.count() == 1


def test_a_closed_lead_cannot_be_converted_again(users):
    lead = LeadFactory(owner=users["rep1"])
    services.lead_convert(actor=users["rep1"], lead=lead)
    with pytest.raises(ValidationError):
        services.lead_convert(actor=users["rep1"], lead=lead, allow_duplicates=True)
    assert Customer.objects.count() == 1


# --- handover and roles ----------------------------------------------------------------------


def test_handover_shares_open_leads_in_turn(users):
    LeadFactory.create_batch(5, owner=users["rep1"])
    LeadFactory(owner=users["rep1"], status=Lead.Status.DISQUALIFIED, disqualify_reason="spam")
    result = services.leads_handover(
        actor=users["admin"], from_user=users["rep1"], to_users=[users["rep2"], users["rep3"]]
    )
    assert result == {users["rep2"].pk: 3, users["rep3"].pk: 2}
    assert Lead.objects.filter(owner=users["rep1"]).count() == 1  # the closed one stays


def test_default_roles_get_the_leads_module_when_they_never_had_it(db):
    roles.roles_ensure_defaults()
    rep = Group.objects.get(name=roles.SALES_REP)
    # given an install from before leads existed: no scope row and no lead permissions
    RoleScope.objects.filter(role=rep, module=Module.LEADS).delete()
    rep.permissions.remove(*rep.permissions.filter(content_type__app_label="sales"))
    # when the defaults are ensured again (after migrate)
    roles.roles_ensure_defaults()
    # then the module is set up, and an administrator's edit of another module is kept
    scope = RoleScope.objects.get(role=rep, module=Module.LEADS)
    assert (scope.read_scope, scope.write_scope) == (Scope.OWN, Scope.OWN)
    assert rep.permissions.filter(codename="view_lead").exists()
    RoleScope.objects.filter(role=rep, module=Module.CUSTOMERS).update(read_scope=Scope.ALL)
    roles.roles_ensure_defaults()
    assert RoleScope.objects.get(role=rep, module=Module.CUSTOMERS).read_scope == Scope.ALL


def test_capture_and_conversion_are_recorded_as_domain_events(users):
    from guanxi.core.models import DomainEvent

    lead = services.lead_create(actor=users["rep1"], data=_lead_data(owner=users["rep1"]))
    customer = services.lead_convert(actor=users["rep1"], lead=lead)
    events = list(DomainEvent.objects.values_list("name", "subject_id", "payload"))
    assert [e[0] for e in events] == ["lead.created", "lead.converted"]
    assert events[1][1] == lead.pk
    assert events[1][2]["customer_id"] == customer.pk


def test_a_refused_capture_records_no_event(users):
    from guanxi.core.models import DomainEvent

    with pytest.raises(ValidationError):
        services.lead_create(actor=users["rep1"], data=_lead_data(mobile="1"))
    assert not DomainEvent.objects.exists()


def test_a_very_long_chinese_name_fits_its_pinyin_column(users):
    # six letters a syllable: 100 characters of 庄 would be 600 letters of "zhuang"
    lead = services.lead_create(
        actor=users["rep1"], data=_lead_data(name="庄" * 100, owner=users["rep1"])
    )
    lead.refresh_from_db()
    assert len(lead.name_pinyin) <= Lead._meta.get_field("name_pinyin").max_length
    assert lead.name_pinyin.startswith("zhuangzhuang")


def test_a_company_too_long_for_a_name_is_cut_for_the_name_only(users):
    company = "苏州" + "恒" * 150 + "有限公司"
    lead = services.lead_create(actor=users["rep1"], data=_lead_data(name="", company=company))
    assert lead.company == company
    assert lead.name == company[:100]
