"""The sales statistics: the figures, who sees whose, and the dashboard page."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.activities.models import FollowUp
from guanxi.commerce import services as commerce
from guanxi.commerce.tests.factories import ProductFactory, line
from guanxi.customers.tests.factories import ChannelFactory
from guanxi.performance.selectors import month_bounds, sales_statistics
from guanxi.sales import services as sales
from guanxi.sales.models import Lead
from guanxi.sales.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def period():
    return month_bounds(timezone.localdate())


@pytest.fixture
def activity(users):
    """rep1: 2 new leads (1 converted), 1 won and 1 lost opportunity, an order of 1130
    with 500 paid, 2 follow-ups due this month (1 done) and 1 overdue. rep2: 1 lead."""
    rep1, rep2 = users["rep1"], users["rep2"]
    fair = ChannelFactory(name="展会")
    converted = LeadFactory(owner=rep1, channel=fair)
    LeadFactory(owner=rep1, channel=fair)
    LeadFactory(owner=rep2)
    customer = sales.lead_convert(actor=rep1, lead=converted)
    customer.channel = fair
    customer.save()
    won = sales.opportunity_create(
        actor=rep1,
        data={"name": "泵", "customer": customer, "amount": Decimal("1000"), "lead": converted},
    )
    sales.opportunity_close(actor=rep1, opportunity=won, won=True, win_loss_reason="price")
    lost = sales.opportunity_create(
        actor=rep1, data={"name": "阀", "customer": customer, "amount": Decimal("500")}
    )
    sales.opportunity_close(actor=rep1, opportunity=lost, won=False, win_loss_reason="price")
    order = commerce.order_create(
        actor=rep1, customer=customer, lines=[line(ProductFactory(price=Decimal("1000")), "1")]
    )
    commerce.payment_record(actor=rep1, invoice=order.invoices.get(), amount="500")
    now = timezone.now()
    FollowUp.objects.create(owner=rep1, customer=customer, method="call", due_at=now, done_at=now)
    FollowUp.objects.create(
        owner=rep1, customer=customer, method="call", due_at=now + timedelta(minutes=5)
    )
    FollowUp.objects.create(
        owner=rep1, customer=customer, method="visit", due_at=now - timedelta(days=40)
    )
    return {"customer": customer, "order": order}


def test_figures_per_rep(users, activity, period):
    stats = sales_statistics(user=users["admin"], start=period[0], end=period[1])
    rep1 = next(r for r in stats.rows if r.key == users["rep1"].pk)
    assert (rep1.new_leads, rep1.converted_leads) == (2, 1)
    assert rep1.conversion_rate == 0.5
    assert (rep1.won, rep1.lost, rep1.win_rate) == (1, 1, 0.5)
    assert rep1.revenue == Decimal("1130.00")
    assert rep1.collections == Decimal("500.00")
    assert (rep1.follow_ups_due, rep1.follow_ups_done) == (2, 1)
    assert rep1.follow_ups_overdue == 1
    assert rep1.days_lead_to_won is not None and rep1.days_lead_to_won < 1
    assert stats.total.new_leads == 3
    fair = next(c for c in stats.channels if c.label == "展会")
    assert (fair.leads, fair.customers_won, fair.revenue) == (2, 1, Decimal("1130.00"))


def test_teams_and_departments_add_up(users, activity, period):
    by_team = sales_statistics(user=users["admin"], start=period[0], end=period[1], grouping="team")
    shanghai = next(r for r in by_team.rows if r.label == "上海组")
    assert shanghai.revenue == Decimal("1130.00")
    by_department = sales_statistics(
        user=users["admin"], start=period[0], end=period[1], grouping="department"
    )
    east = next(r for r in by_department.rows if r.label == "华东销售部")
    assert east.new_leads == 3  # rep1 (上海组) and rep2 (杭州组) are both under 华东销售部


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("admin", {"rep1", "rep2"}),
        ("manager", {"rep1", "rep2"}),
        ("rep1", {"rep1"}),
        ("rep3", set()),
        ("exec1", {"rep1", "rep2"}),
        ("marketer1", {"rep1", "rep2"}),
    ],
)
def test_each_role_sees_the_people_in_reach(users, activity, period, role, sees):
    stats = sales_statistics(user=users[role], start=period[0], end=period[1])
    with_leads = {r.label for r in stats.rows if r.new_leads}
    assert with_leads == {str(users[name]) for name in sees}


@pytest.mark.parametrize("role", ["agent1", "partner1"])
def test_dashboard_needs_opportunity_access(client, users, role):
    client.force_login(users[role])
    assert client.get(reverse("performance:sales-dashboard")).status_code == 403


def test_dashboard_page(client, users, activity):
    client.force_login(users["manager"])
    response = client.get(reverse("performance:sales-dashboard") + "?grouping=team")
    assert response.status_code == 200
    body = response.content.decode()
    assert "上海组" in body and 'id="chart-data"' in body and "echarts.min.js" in body
    bad = client.get(reverse("performance:sales-dashboard") + "?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 422
    assert "The end is before the start." in bad.content.decode()
    assert client.get(reverse("performance:sales-dashboard") + "?start=garbage").status_code == 422


def test_month_bounds():
    assert month_bounds(date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_bounds(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))


def test_leads_without_owner_are_not_counted(users, period):
    LeadFactory(owner=None)
    stats = sales_statistics(user=users["admin"], start=period[0], end=period[1])
    assert stats.total.new_leads == 0
    assert Lead.objects.count() == 1


def test_targets_are_set_by_managers_for_their_team_and_compared_with_closed_won(
    client, users, activity, period
):
    from guanxi.performance.models import SalesTarget

    today = timezone.localdate()
    client.force_login(users["manager"])
    url = reverse("performance:targets") + f"?year={today.year}"
    page = client.get(url)
    assert page.status_code == 200
    assert f'name="t-{users["rep1"].pk}-{today.month}"' in page.content.decode()
    assert f'name="t-{users["rep3"].pk}-' not in page.content.decode()  # another department
    bad = client.post(url, {"year": today.year, f"t-{users['rep1'].pk}-{today.month}": "lots"})
    assert bad.status_code == 422
    assert "Enter a number." in bad.content.decode()
    client.post(url, {"year": today.year, f"t-{users['rep1'].pk}-{today.month}": "2,000"})
    assert SalesTarget.objects.get().amount == Decimal("2000.00")
    stats = sales_statistics(user=users["manager"], start=period[0], end=period[1])
    rep1 = next(r for r in stats.rows if r.key == users["rep1"].pk)
    assert rep1.target == Decimal("2000.00")
    assert rep1.target_attainment == 0.5  # 1000 won of 2000
    # half a month: half the target
    first, last = period
    half = sales_statistics(
        user=users["manager"], start=first, end=first + timedelta(days=last.day // 2 - 1)
    )
    assert next(r for r in half.rows if r.key == users["rep1"].pk).target < Decimal("2000")


def test_reps_read_their_targets_but_cannot_set_them(client, users):
    from django.core.exceptions import PermissionDenied

    from guanxi.performance.services import targets_set

    client.force_login(users["rep1"])
    page = client.get(reverse("performance:targets"))
    assert page.status_code == 200
    assert '<input type="text"' not in page.content.decode()
    with pytest.raises(PermissionDenied):
        targets_set(actor=users["rep1"], year=2026, values={(users["rep1"].pk, 1): "5"})
