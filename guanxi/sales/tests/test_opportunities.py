"""Services and selectors of opportunities: stage moves, closing, validation, handover,
conversion with an opportunity, kanban and list query counts, forecast sums."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.activities.models import AuditEntry
from guanxi.core.models import DomainEvent
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.sales import selectors, services
from guanxi.sales.models import Opportunity, Stage, StageChange
from guanxi.sales.tests.factories import LeadFactory, OpportunityFactory, default_pipeline
from guanxi.users.models import Module, RoleScope

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return default_pipeline().stages.get(name=name)


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep1"], name="苏州精工机械有限公司")


def test_the_default_pipeline_has_the_six_stages():
    stages = list(default_pipeline().stages.order_by("order"))
    assert [(s.name, s.probability, s.kind) for s in stages] == [
        ("初步接洽", 10, "open"),
        ("需求确认", 30, "open"),
        ("方案报价", 50, "open"),
        ("商务谈判", 70, "open"),
        ("赢单", 100, "won"),
        ("输单", 0, "lost"),
    ]


def test_default_roles_get_the_opportunities_module(users):
    scopes = {
        rs.role.name: (rs.read_scope, rs.write_scope)
        for rs in RoleScope.objects.filter(module=Module.OPPORTUNITIES).select_related("role")
    }
    assert scopes["Sales rep"] == ("own", "own")
    assert scopes["Sales manager"] == ("team", "team")
    assert scopes["Executive"] == ("all", "none")
    assert users["rep1"].has_perm("sales.add_opportunity")
    assert not users["rep1"].has_perm("sales.delete_opportunity")
    assert users["manager"].has_perm("sales.assign_opportunity")
    assert not users["agent1"].has_perm("sales.view_opportunity")


def test_create_defaults_owner_team_stage_and_probability(users, customer):
    # when rep1 opens an opportunity with only a name, customer and amount
    opp = services.opportunity_create(
        actor=users["rep1"],
        data={"name": " 五轴  加工中心 ", "customer": customer, "amount": Decimal("880000")},
    )
    # then it is theirs, in their team, in the first stage with its probability
    assert opp.owner == users["rep1"] and opp.team == users["rep1"].team
    assert opp.name == "五轴 加工中心"
    assert opp.stage.name == "初步接洽" and opp.probability == 10
    assert opp.currency == "CNY" and opp.status == Opportunity.Status.OPEN
    # and the creation is on the customer's timeline, the first stage in the history
    entry = AuditEntry.objects.get(subject_type="opportunity", subject_id=opp.pk)
    assert entry.customer_id == customer.pk and entry.action == AuditEntry.Action.CREATE
    assert StageChange.objects.get(opportunity=opp).from_stage is None
    assert DomainEvent.objects.filter(name="opportunity.created").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"expected_close_date": "2025-13-45"}, "expected_close_date"),
        ({"expected_close_date": "明天"}, "expected_close_date"),
        ({"next_step_date": "2025/01/01"}, "next_step_date"),
        ({"name": "   "}, "name"),
    ],
)
def test_bad_input_is_refused_with_a_field_error(users, customer, data, field):
    with pytest.raises(ValidationError) as exc:
        services.opportunity_create(
            actor=users["rep1"], data={"name": "机床", "customer": customer, **data}
        )
    assert field in exc.value.message_dict
    assert not Opportunity.objects.exists()


def test_a_contact_of_another_customer_is_refused(users, customer):
    from guanxi.customers.tests.factories import ContactFactory

    other = ContactFactory(customer=CustomerFactory(owner=users["rep1"]))
    with pytest.raises(ValidationError) as exc:
        services.opportunity_create(
            actor=users["rep1"], data={"name": "机床", "customer": customer, "contact": other}
        )
    assert "contact" in exc.value.message_dict


def test_a_stage_move_logs_the_time_spent_in_the_previous_stage(users, customer):
    # given an opportunity that entered its stage three days ago
    opp = services.opportunity_create(
        actor=users["rep1"], data={"name": "机床", "customer": customer}
    )
    Opportunity.objects.filter(pk=opp.pk).update(
        stage_entered_at=timezone.now() - timedelta(days=3)
    )
    opp.refresh_from_db()
    # when it moves on
    services.opportunity_move(actor=users["rep1"], opportunity=opp, stage=stage("方案报价"))
    # then the change is logged with about three days in the stage it left
    change = StageChange.objects.filter(opportunity=opp).order_by("-id").first()
    assert change is not None
    assert change.from_stage is not None and change.from_stage.name == "初步接洽"
    assert change.to_stage.name == "方案报价"
    assert abs(change.seconds_in_previous_stage - 3 * 86400) < 60
    opp.refresh_from_db()
    assert opp.probability == 50
    entry = AuditEntry.objects.filter(subject_id=opp.pk, subject_type="opportunity").latest("id")
    assert entry.changes["stage"] == ["初步接洽", "方案报价"]
    event = DomainEvent.objects.filter(name="opportunity.stage_changed").get()
    assert event.payload["to_stage_id"] == stage("方案报价").pk


def test_closing_as_won_needs_a_reason(users, customer):
    opp = OpportunityFactory(customer=customer, owner=users["rep1"])
    with pytest.raises(ValidationError) as exc:
        services.opportunity_move(actor=users["rep1"], opportunity=opp, stage=stage("赢单"))
    assert "win_loss_reason" in exc.value.message_dict
    opp.refresh_from_db()
    assert opp.status == Opportunity.Status.OPEN and not StageChange.objects.exists()
    # with a reason it closes
    services.opportunity_move(
        actor=users["rep1"], opportunity=opp, stage=stage("赢单"), win_loss_reason="price"
    )
    opp.refresh_from_db()
    assert opp.status == Opportunity.Status.WON and opp.closed_at is not None
    assert opp.win_loss_reason == "price" and opp.probability == 100


def test_close_lost_and_reopen_to_the_stage_it_left(users, customer):
    opp = OpportunityFactory(customer=customer, owner=users["rep1"], stage=stage("商务谈判"))
    services.opportunity_close(
        actor=users["rep1"], opportunity=opp, won=False, win_loss_reason="competitor"
    )
    assert opp.status == Opportunity.Status.LOST and opp.stage.name == "输单"
    services.opportunity_reopen(actor=users["rep1"], opportunity=opp)
    opp.refresh_from_db()
    assert opp.status == Opportunity.Status.OPEN and opp.stage.name == "商务谈判"
    assert opp.win_loss_reason == "" and opp.closed_at is None


def test_a_stage_of_another_pipeline_is_refused(users, customer):
    from guanxi.sales.models import Pipeline

    other = Pipeline.objects.create(name="项目型销售")
    foreign = Stage.objects.create(pipeline=other, name="立项", order=1, probability=20)
    opp = OpportunityFactory(customer=customer, owner=users["rep1"])
    with pytest.raises(ValidationError) as exc:
        services.opportunity_move(actor=users["rep1"], opportunity=opp, stage=foreign)
    assert "stage" in exc.value.message_dict


def test_update_logs_old_and_new_and_refuses_stage_changes(users, customer):
    opp = services.opportunity_create(
        actor=users["rep1"], data={"name": "机床", "customer": customer, "amount": 1000}
    )
    services.opportunity_update(
        actor=users["rep1"], opportunity=opp, data={"amount": Decimal("2500.50")}
    )
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE).get()
    assert entry.changes["amount"] == ["1000.00", "2500.50"]
    with pytest.raises(ValidationError):
        services.opportunity_update(
            actor=users["rep1"], opportunity=opp, data={"stage": stage("赢单")}
        )


def test_handover_shares_open_opportunities_only(users, customer):
    rep1 = users["rep1"]
    open_ones = [OpportunityFactory(customer=customer, owner=rep1) for _ in range(3)]
    won = OpportunityFactory(
        customer=customer, owner=rep1, stage=stage("赢单"), status="won", win_loss_reason="price"
    )
    result = services.opportunities_handover(
        actor=users["admin"], from_user=rep1, to_users=[users["rep2"], users["rep3"]]
    )
    assert result == {users["rep2"].pk: 2, users["rep3"].pk: 1}
    assert not Opportunity.objects.filter(pk__in=[o.pk for o in open_ones], owner=rep1).exists()
    won.refresh_from_db()
    assert won.owner == rep1


def test_convert_a_lead_with_an_opportunity_in_one_step(users):
    lead = LeadFactory(owner=users["rep1"], company="无锡新材料有限公司", intent="B")
    customer, opp = services.lead_convert_with_opportunity(
        actor=users["rep1"],
        lead=lead,
        opportunity={"name": "新材料产线", "amount": Decimal("300000")},
    )
    assert opp.customer == customer and opp.lead == lead and opp.intent == "B"
    assert opp.contact == lead.contact and opp.owner == users["rep1"]


def test_convert_with_a_bad_opportunity_converts_nothing(users):
    lead = LeadFactory(owner=users["rep1"], company="无锡新材料有限公司")
    with pytest.raises(ValidationError):
        services.lead_convert_with_opportunity(
            actor=users["rep1"], lead=lead, opportunity={"name": "x", "amount": Decimal("-5")}
        )
    lead.refresh_from_db()
    assert lead.status != "converted"


def test_rep_never_sees_another_teams_pipeline(users, teams):
    from guanxi.sales.access import pipelines_visible_to
    from guanxi.sales.models import Pipeline

    north = Pipeline.objects.create(name="华北项目流程", team=teams["north"])
    east = Pipeline.objects.create(name="华东流程", team=teams["east"])
    assert north not in pipelines_visible_to(users["rep1"])
    assert east in pipelines_visible_to(users["rep1"])  # 上海组 is under 华东销售部
    assert north in pipelines_visible_to(users["rep3"])
    assert {north, east} <= set(pipelines_visible_to(users["admin"]))
    assert not pipelines_visible_to(users["agent1"]).exists()


# --- kanban, list and forecast ----------------------------------------------------------


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def test_kanban_and_list_run_a_fixed_number_of_queries(users, customer):
    rep = users["manager"]
    stages = [s for s in default_pipeline().stages.order_by("order") if s.kind == "open"]

    def make(n):
        for i in range(n):
            OpportunityFactory(customer=customer, owner=users["rep1"], stage=stages[i % 4])

    make(5)
    pipeline = default_pipeline()
    board = lambda: selectors.kanban_board(user=rep, pipeline=pipeline, per_column=10)  # noqa: E731
    listing = lambda: selectors.opportunity_list(  # noqa: E731
        user=rep, filters=selectors.OpportunityFilters(), limit=50
    )
    board(), listing()  # warm the access caches
    five = (_queries(board), _queries(listing))
    make(55)
    assert (_queries(board), _queries(listing)) == five
    columns = selectors.kanban_board(user=rep, pipeline=pipeline, per_column=10)
    assert [c.count for c in columns] == [16, 15, 15, 14]
    assert all(len(c.cards) == 10 for c in columns)
    assert columns[0].total == Decimal("1600000.00")
    assert (
        len(selectors.opportunity_list(user=rep, filters=selectors.OpportunityFilters()).items)
        == 50
    )


def test_kanban_shows_only_the_opportunities_in_scope(users, customer):
    mine = OpportunityFactory(customer=customer, owner=users["rep1"])
    OpportunityFactory(customer=customer, owner=users["rep3"])
    columns = selectors.kanban_board(user=users["rep1"], pipeline=default_pipeline())
    assert [o.pk for c in columns for o in c.cards] == [mine.pk]


def test_forecast_sums_by_month_and_owner(users, customer):
    year = 2031
    rep1, rep2 = users["rep1"], users["rep2"]

    def opp(owner, stage_name, amount, month, **kw):
        return OpportunityFactory(
            customer=customer,
            owner=owner,
            stage=stage(stage_name),
            amount=Decimal(amount),
            expected_close_date=date(year, month, 15),
            **kw,
        )

    opp(rep1, "初步接洽", "100000", 1)  # weighted 10 000
    opp(rep1, "方案报价", "200000", 1, forecast_category="commit")  # weighted 100 000
    opp(rep2, "商务谈判", "50000", 3, forecast_category="best_case")  # weighted 35 000
    opp(rep2, "赢单", "80000", 3, status="won", win_loss_reason="price")
    opp(rep2, "输单", "999999", 3, status="lost", win_loss_reason="price")  # left out
    opp(rep1, "需求确认", "70000", 3, forecast_category="omitted")  # left out
    OpportunityFactory(
        customer=customer, owner=rep1, amount=Decimal("5"), expected_close_date=date(year + 1, 1, 1)
    )  # another year

    result = selectors.forecast(user=users["admin"], pipeline=default_pipeline(), year=year)
    jan, mar = result.months[0], result.months[2]
    assert (jan.unweighted, jan.weighted, jan.commit, jan.best_case, jan.won) == (
        Decimal("300000"),
        Decimal("110000"),
        Decimal("200000"),
        Decimal("200000"),
        Decimal("0"),
    )
    assert (mar.unweighted, mar.weighted, mar.commit, mar.best_case, mar.won) == (
        Decimal("50000"),
        Decimal("35000"),
        Decimal("80000"),
        Decimal("130000"),
        Decimal("80000"),
    )
    assert result.total.weighted == Decimal("145000")
    by_owner = {r.key: r for r in result.owners}
    assert by_owner[rep1.pk].unweighted == Decimal("300000")
    assert by_owner[rep2.pk].won == Decimal("80000")
    # a rep's forecast covers only their own opportunities
    mine = selectors.forecast(user=rep1, pipeline=default_pipeline(), year=year)
    assert mine.total.unweighted == Decimal("300000") and mine.total.won == 0


def test_demo_opportunities_are_deterministic(users):
    from guanxi.sales.demo import demo_opportunities

    customers = [CustomerFactory(owner=users["rep1"]) for _ in range(5)]
    assert demo_opportunities(users, customers) == 150
    assert Opportunity.objects.count() == 150
    assert Opportunity.objects.filter(status="won").exists()
    assert Opportunity.objects.filter(status="lost").exists()
    assert StageChange.objects.filter(seconds_in_previous_stage__gt=0).exists()
