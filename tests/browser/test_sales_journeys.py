"""Sales in a real browser: a visitor's web form becomes a lead for the right rep, who
follows it up and converts it; a rep of another team never sees it."""

import re
from typing import TYPE_CHECKING

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect
if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

VISITOR = "王芳"
COMPANY = "苏州恒瑞电子有限公司"


@pytest.fixture
def web_form(users):
    from guanxi.customers.tests.factories import ChannelFactory
    from guanxi.sales.models import WebForm
    from guanxi.sales.tests.factories import AssignmentRuleFactory

    AssignmentRuleFactory(name="苏州", province="江苏省", city="苏州市", user=users["rep1"])
    AssignmentRuleFactory(name="浙江", province="浙江省", user=users["rep2"])
    return WebForm.objects.create(
        name="官网咨询",
        title="联系我们",
        consent_text="我同意贵公司使用以上信息与我联系。",
        thanks="谢谢，我们会尽快与您联系。",
        channel=ChannelFactory(name="官网"),
        campaign="2026 春季工业展",
    )


def fill_web_form(page: "Page", key: str) -> None:
    page.goto(f"/f/{key}/")
    expect(page.locator("h1")).to_have_text("联系我们")
    page.locator("#id_name").fill(VISITOR)
    page.locator("#id_company").fill(COMPANY)
    page.locator("#id_mobile").fill("139 1234 5678")
    page.locator("#id_province").fill("江苏省")
    page.locator("#id_city").fill("苏州市")
    page.locator("#id_message").fill("想了解报价")
    page.locator("#id_consent").check()
    page.wait_for_timeout(3200)  # a person takes a few seconds; faster is treated as a robot
    page.locator("form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("谢谢，我们会尽快与您联系。")


def test_web_form_lead_reaches_the_right_rep_who_follows_up_and_converts(
    new_page, login, web_form, users
):
    # A visitor from 苏州 fills in the public form (no login).
    fill_web_form(new_page(), web_form.key)

    # rep1 (the 苏州 rule) finds the lead on the list, "open" and from the web form.
    page = login("rep1")
    page.goto("/sales/leads/?status=open")
    row = page.locator("#lead-rows tr", has_text=VISITOR)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=re.compile(VISITOR)).click()
    page.wait_for_url(re.compile(r"/sales/leads/\d+/$"))
    lead_url = page.url
    expect(page.locator("main")).to_contain_text("2026 春季工业展")

    # A call is recorded from the follow-up panel; the lead becomes "Contacted".
    panel = page.locator("#follow-ups")
    panel.get_by_text("Record a follow-up that just happened").click()
    record = panel.locator("form", has=page.locator("[name=outcome]"))
    record.locator("[name=method]").select_option("call")
    record.locator("[name=outcome]").select_option("interested")
    record.locator("[name=summary]").fill("需要 200 台，下周报价")
    record.locator("button[type=submit]").click()
    expect(page.locator("#follow-ups")).to_contain_text("需要 200 台，下周报价")
    expect(page.locator("h1")).to_contain_text("Contacted")

    # Convert: a new company with the visitor as its contact; the history follows.
    page.get_by_role("link", name="Convert to customer").click()
    page.locator("form.card button[type=submit]").click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator("h1")).to_contain_text(COMPANY)
    expect(page.locator("main")).to_contain_text(VISITOR)
    expect(page.locator("main")).to_contain_text("需要 200 台，下周报价")

    # rep2 (another team) cannot open the lead.
    other = login("rep2")
    response = other.goto(lead_url)
    assert response is not None and response.status == 404


def test_a_robot_that_posts_at_once_creates_nothing(new_page, web_form):
    from guanxi.sales.models import Lead

    page = new_page()
    page.goto(f"/f/{web_form.key}/")
    page.locator("#id_name").fill("bot")
    page.locator("#id_mobile").fill("13912345678")
    page.locator("#id_consent").check()
    page.locator("form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("谢谢")
    assert not Lead.objects.exists()


def ensure_default_pipeline() -> None:
    """Browser tests flush the database between tests, taking the default pipeline that a
    data migration created with it; put it back the same way."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("guanxi.sales.migrations.0003_default_pipeline")
    migration.create_default_pipeline(apps, None)


def test_kanban_drag_moves_the_opportunity_and_a_won_drop_asks_for_the_reason(login, users):
    from guanxi.customers.tests.factories import CustomerFactory
    from guanxi.sales.models import Opportunity, Stage
    from guanxi.sales.services import opportunity_create

    ensure_default_pipeline()
    customer = CustomerFactory(owner=users["rep1"], name=COMPANY)
    opportunity = opportunity_create(
        actor=users["rep1"],
        data={"name": "200 台伺服电机", "customer": customer, "amount": "360000"},
    )
    stages = list(opportunity.pipeline.stages.order_by("order", "id"))
    second = next(s for s in stages if s.kind == Stage.Kind.OPEN and s.pk != opportunity.stage_id)
    won = next(s for s in stages if s.kind == Stage.Kind.WON)

    page = login("rep1")
    page.goto("/sales/opportunities/board/")
    card = page.locator(f".kanban-card[data-id='{opportunity.pk}']")
    expect(card).to_be_visible()

    # Drag to the next stage: saved at once.
    card.drag_to(page.locator(f".kanban-cards[data-stage='{second.pk}']"))
    expect(page.locator(f".kanban-cards[data-stage='{second.pk}'] .kanban-card")).to_have_count(1)
    page.wait_for_function(
        "id => !document.querySelector(`.kanban-card[data-id='${id}']`)"
        ".classList.contains('is-saving')",
        arg=opportunity.pk,
    )
    opportunity.refresh_from_db()
    assert opportunity.stage_id == second.pk

    # Drop on "won": the reason is asked first, then the deal is closed.
    card.drag_to(page.locator(f".kanban-cards[data-stage='{won.pk}']"))
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=win_loss_reason]").select_option(index=1)
    dialog.locator("button[value=ok]").click()
    expect(page.locator(f".kanban-card[data-id='{opportunity.pk}']")).to_have_count(0)
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.stage_id) == (Opportunity.Status.WON, won.pk)
