"""From opportunity to money in a real browser: a rep quotes with a discount that needs
approval, the manager approves it, the PDF opens, the quote becomes an order, a partial
payment is recorded, and the overdue remainder reminds the rep."""

import re
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from tests.browser.test_sales_journeys import COMPANY, ensure_default_pipeline

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect
if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def _fill_line(page: "Page", row: int, product_id: int, quantity: str, discount: str) -> None:
    page.locator(f"[name=lines-{row}-product]").select_option(str(product_id))
    page.locator(f"[name=lines-{row}-quantity]").fill(quantity)
    page.locator(f"[name=lines-{row}-discount_percent]").fill(discount)


def test_quote_with_approval_to_order_payment_and_overdue_reminder(login, users):
    from guanxi.commerce.models import Invoice, Order, Quote
    from guanxi.commerce.services import collection_reminders_send
    from guanxi.commerce.tests.factories import ProductFactory
    from guanxi.customers.tests.factories import CustomerFactory
    from guanxi.sales.services import opportunity_create

    ensure_default_pipeline()
    customer = CustomerFactory(owner=users["rep1"], team=users["rep1"].team, name=COMPANY)
    opportunity = opportunity_create(
        actor=users["rep1"],
        data={"name": "200 台伺服电机", "customer": customer, "amount": "800000"},
    )
    motor = ProductFactory(sku="SRV-2K", name="伺服电机 2kW", price=Decimal("4200"))

    # rep1 quotes from the opportunity with 20 % off: above the 10 % threshold.
    rep = login("rep1")
    rep.goto(f"/sales/opportunities/{opportunity.pk}/")
    rep.locator("#quotes").get_by_role("link", name="New quote").click()
    _fill_line(rep, 0, motor.pk, "200", "20")
    rep.locator("form.card button[type=submit]", has_text="Save").click()
    rep.wait_for_url(re.compile(r"/commerce/quotes/\d+/$"))
    quote_url = rep.url
    expect(rep.locator("main")).to_contain_text("672,000.00")  # 200 × 4200 × 0.8
    expect(rep.locator("#send")).to_have_count(0)  # not sendable before approval
    rep.get_by_role("button", name="Submit for approval").click()
    expect(rep.locator("h1")).to_contain_text("Awaiting approval")

    # The manager is notified, finds it waiting and approves.
    manager = login("manager")
    manager.goto("/activities/notifications/")
    expect(manager.locator("main")).to_contain_text("asks you to approve quote")
    manager.goto("/commerce/quotes/?approval=1")
    manager.locator("#quote-results a", has_text=re.compile(r"Q-\d{4}-")).first.click()
    manager.locator("#approval [name=note]").fill("战略客户，同意")
    manager.get_by_role("button", name="Approve").click()
    expect(manager.locator("h1")).to_contain_text("Approved")

    # rep1: the PDF opens (a real PDF with the CJK font), the quote is marked sent,
    # then the order is created from it.
    rep.goto(quote_url)
    pdf = rep.context.request.get(quote_url + "pdf/")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF") and b"NotoSansCJK" in pdf.body()
    rep.locator("#send button[type=submit]").click()
    expect(rep.locator("h1")).to_contain_text("Sent")
    rep.get_by_role("link", name="Create the order").click()
    rep.locator("form.card button[type=submit]").click()
    rep.wait_for_url(re.compile(r"/commerce/orders/\d+/$"))
    order = Order.objects.get()
    assert Quote.objects.get().status == Quote.Status.ACCEPTED

    # A first payment of 200,000 against the receivable.
    rep.locator("#receivables a", has_text="INV-").click()
    rep.locator("#pay [name=amount]").fill("200000")
    rep.locator("#pay button[type=submit]").click()
    expect(rep.locator("h1")).to_contain_text("Partly paid")
    invoice = Invoice.objects.get(order=order)
    assert invoice.outstanding == Decimal("559360.00")  # 759,360 with 13 % tax, less 200,000

    # A week after the due date the beat job reminds rep1, who sees it in the browser.
    assert collection_reminders_send(today=invoice.due_on + timedelta(days=8)) == 1
    rep.goto("/activities/notifications/")
    # Written in the rep's language (the default, Chinese, as rep1 chose none).
    expect(rep.locator("main")).to_contain_text(invoice.number)
    expect(rep.locator("main")).to_contain_text("Payment collection")
    rep.goto("/commerce/receivables/?show=open")
    expect(rep.locator("#invoice-results")).to_contain_text(invoice.number)
