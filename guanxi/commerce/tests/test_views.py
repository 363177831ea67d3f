"""The commerce pages: what a user does in the browser, and what bad input gets."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from guanxi.commerce import services
from guanxi.commerce.models import Invoice, Order, Policy, Product, Quote
from guanxi.commerce.tests.factories import ProductFactory, line
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory
from guanxi.sales.tests.factories import OpportunityFactory, default_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep1"], team=users["rep1"].team)


@pytest.fixture
def pump():
    return ProductFactory(sku="P-100", name="工业离心泵", price=Decimal("3000.00"))


@pytest.fixture
def opportunity(users, customer):
    pipeline = default_pipeline()
    return OpportunityFactory(
        customer=customer, owner=users["rep1"], pipeline=pipeline, stage=pipeline.stages.first()
    )


def _lines_post(rows):
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    return data


def test_rep_quotes_from_the_opportunity_page(client, users, opportunity, pump):
    client.force_login(users["rep1"])
    page = client.get(reverse("sales:opportunity-detail", args=[opportunity.pk]))
    assert f"?opportunity={opportunity.pk}" in page.content.decode()
    url = reverse("commerce:quote-new") + f"?opportunity={opportunity.pk}"
    form = client.get(url)
    assert form.status_code == 200
    response = client.post(
        url,
        {
            "title": "泵站改造",
            "currency": "CNY",
            "language": "zh-hans",
            **_lines_post(
                [
                    {"product": pump.pk, "quantity": "2", "discount_percent": "5"},
                    {"description": "", "quantity": ""},  # a blank row is ignored
                ]
            ),
        },
    )
    quote = Quote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("commerce:quote-detail", args=[quote.pk])
    assert quote.opportunity == opportunity
    assert quote.total == Decimal("6441.00")
    detail = client.get(response["Location"]).content.decode()
    assert "6,441.00" in detail


def test_bad_lines_show_on_their_row(client, users, customer, pump):
    client.force_login(users["rep1"])
    url = reverse("commerce:quote-new") + f"?customer={customer.pk}"
    response = client.post(
        url,
        {
            "currency": "CNY",
            "language": "zh-hans",
            **_lines_post(
                [
                    {"product": pump.pk, "quantity": "-2"},
                    {"product": pump.pk, "quantity": "1", "discount_percent": "80"},
                ]
            ),
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "The quantity must be more than zero." in body
    assert "The discount is above the highest allowed (40%)." in body
    assert not Quote.objects.exists()


def test_add_line_keeps_what_was_typed(client, users, customer, pump):
    client.force_login(users["rep1"])
    url = reverse("commerce:quote-new") + f"?customer={customer.pk}"
    data = {
        "currency": "CNY",
        "language": "zh-hans",
        "add_line": "1",
        **_lines_post([{"product": pump.pk, "quantity": "3"}]),
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert 'name="lines-TOTAL_FORMS" value="2"' in response.content.decode()
    assert not Quote.objects.exists()


def test_discount_approval_through_the_pages(client, users, customer, pump):
    quote = services.quote_create(
        actor=users["rep1"], customer=customer, lines=[line(pump, "1", discount_percent="20")]
    )
    client.force_login(users["rep1"])
    send = reverse("commerce:quote-act", args=[quote.pk, "send"])
    refused = client.post(send, {"to": ""})
    assert refused.status_code == 422
    assert "submit the quote for approval first" in refused.content.decode()
    client.post(reverse("commerce:quote-act", args=[quote.pk, "submit"]))
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING
    # the rep cannot approve (403), the manager sees it waiting and approves
    assert client.post(reverse("commerce:quote-act", args=[quote.pk, "approve"])).status_code == 403
    client.force_login(users["manager"])
    waiting = client.get(reverse("commerce:quote-index") + "?approval=1").content.decode()
    assert quote.number in waiting
    reject = client.post(reverse("commerce:quote-act", args=[quote.pk, "reject"]), {"note": ""})
    assert reject.status_code == 422
    assert "Say why the discount is rejected." in reject.content.decode()
    client.post(reverse("commerce:quote-act", args=[quote.pk, "approve"]), {"note": "同意"})
    quote.refresh_from_db()
    assert quote.status == Quote.Status.APPROVED


def test_send_rejects_a_bad_address_and_mails_the_pdf(
    client, users, customer, pump, django_capture_on_commit_callbacks
):
    quote = services.quote_create(actor=users["rep1"], customer=customer, lines=[line(pump)])
    client.force_login(users["rep1"])
    url = reverse("commerce:quote-act", args=[quote.pk, "send"])
    bad = client.post(url, {"to": "buyer@wanhua.cn, not-an-address"})
    assert bad.status_code == 422
    assert "not-an-address is not an e-mail address." in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"to": "buyer@wanhua.cn", "message": "请查收报价"})
    assert mail.outbox[-1].attachments[0][2] == "application/pdf"


def test_pdf_opens_inline(client, users, customer, pump):
    quote = services.quote_create(actor=users["rep1"], customer=customer, lines=[line(pump)])
    client.force_login(users["rep1"])
    response = client.get(reverse("commerce:quote-pdf", args=[quote.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response.content.startswith(b"%PDF")


def test_order_from_quote_then_partial_payment_and_overpayment(client, users, customer, pump):
    quote = services.quote_create(actor=users["rep1"], customer=customer, lines=[line(pump)])
    services.quote_send(actor=users["rep1"], quote=quote)
    client.force_login(users["rep1"])
    response = client.post(
        reverse("commerce:order-from-quote", args=[quote.pk]),
        {"ordered_on": "2026-11-01", "delivery_due": "2026-10-01"},
    )
    assert response.status_code == 422
    assert "Delivery cannot be due before the order date." in response.content.decode()
    response = client.post(
        reverse("commerce:order-from-quote", args=[quote.pk]), {"ordered_on": "2026-11-01"}
    )
    order = Order.objects.get()
    assert response["Location"] == reverse("commerce:order-detail", args=[order.pk])
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED
    invoice = order.invoices.get()
    pay = reverse("commerce:payment-new", args=[invoice.pk])
    client.post(pay, {"amount": "1000", "paid_on": "2026-11-02", "method": "bank"})
    over = client.post(pay, {"amount": "9999", "paid_on": "2026-11-02", "method": "bank"})
    assert over.status_code == 422
    assert "more than the 5780.00 CNY still due" in over.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTIAL
    overdue = client.get(reverse("commerce:invoice-index") + "?show=open").content.decode()
    assert invoice.number in overdue


def test_direct_order_with_serials_and_delivery(client, users, customer, pump):
    client.force_login(users["rep1"])
    url = reverse("commerce:order-new") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "currency": "CNY",
            "ordered_on": "2026-11-01",
            **_lines_post([{"product": pump.pk, "quantity": "1", "serial_numbers": "A1, A2"}]),
        },
    )
    assert response.status_code == 422
    assert "More serial numbers than the quantity." in response.content.decode()
    client.post(
        url,
        {
            "currency": "CNY",
            "ordered_on": "2026-11-01",
            **_lines_post([{"product": pump.pk, "quantity": "2", "serial_numbers": "A1, A2"}]),
        },
    )
    order = Order.objects.get()
    status = reverse("commerce:order-status", args=[order.pk])
    skip = client.post(status, {"status": "completed"})
    assert skip.status_code == 422
    client.post(status, {"status": "delivered", "on": "2026-11-05"})
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    page = client.get(reverse("commerce:order-detail", args=[order.pk])).content.decode()
    assert "A1" in page and "2027-11-05" in page
    customer_page = client.get(reverse("customers:customer-detail", args=[customer.pk]))
    assert order.number in customer_page.content.decode()


def test_products_are_managed_by_managers_not_reps(client, users):
    client.force_login(users["rep1"])
    assert client.get(reverse("commerce:product-index")).status_code == 200
    assert client.get(reverse("commerce:product-new")).status_code == 403
    client.force_login(users["manager"])
    response = client.post(
        reverse("commerce:product-new"),
        {
            "sku": "V-1",
            "name": "减压阀",
            "unit": "个",
            "price": "120",
            "currency": "cny",
            "tax_rate": "13",
            "warranty_months": "6",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(sku="V-1")
    assert product.currency == "CNY"
    assert product.name_initials == "jyf"
    dup = client.post(
        reverse("commerce:product-new"),
        {
            "sku": "v-1",
            "name": "x",
            "unit": "个",
            "price": "1",
            "currency": "CNY",
            "tax_rate": "0",
            "warranty_months": "0",
        },
    )
    assert dup.status_code == 422
    assert "Another product already has this SKU." in dup.content.decode()
    assert (
        client.get(reverse("commerce:product-index") + "?q=jyf").content.decode().count("V-1") == 1
    )


def test_policy_is_for_administrators_and_validated(client, users):
    client.force_login(users["manager"])
    assert client.get(reverse("commerce:policy-edit")).status_code == 403
    client.force_login(users["admin"])
    bad = client.post(
        reverse("commerce:policy-edit"),
        {
            "approval_threshold_percent": "50",
            "max_discount_percent": "30",
            "quote_validity_days": "30",
            "payment_terms_days": "30",
            "reminder_days": "-3, soon",
        },
    )
    assert bad.status_code == 422
    body = bad.content.decode()
    assert "soon is not a whole number of days." in body
    assert "cannot be above the highest discount allowed" in body
    client.post(
        reverse("commerce:policy-edit"),
        {
            "approval_threshold_percent": "15",
            "max_discount_percent": "30",
            "quote_validity_days": "14",
            "payment_terms_days": "45",
            "reminder_days": "7, -1,7",
        },
    )
    policy = Policy.objects.get()
    assert policy.reminder_days == "-1,7"
    assert policy.approval_threshold_percent == Decimal("15")


def test_contact_picker_offers_only_the_customers_contacts(client, users, customer):
    mine = ContactFactory(name="王经理", customer=customer)
    ContactFactory(name="外人")
    client.force_login(users["rep1"])
    body = client.get(reverse("commerce:quote-new") + f"?customer={customer.pk}").content.decode()
    assert mine.name in body
    assert "外人" not in body


def test_quote_for_a_customer_out_of_reach_is_404(client, users, customer):
    client.force_login(users["rep3"])
    response = client.get(reverse("commerce:quote-new") + f"?customer={customer.pk}")
    assert response.status_code == 404
    assert client.get(reverse("commerce:quote-new") + "?customer=abc").status_code == 404


def test_handover_page_moves_open_quotes_with_their_customer(client, users, customer, pump):
    quote = services.quote_create(actor=users["rep1"], customer=customer, lines=[line(pump)])
    client.force_login(users["admin"])
    response = client.post(
        reverse("users:handover"),
        {"from_user": users["rep1"].pk, "to_users": [users["rep2"].pk, users["rep3"].pk]},
        follow=True,
    )
    assert "Open quotes: 1" in response.content.decode()
    quote.refresh_from_db()
    customer.refresh_from_db()
    assert quote.owner == customer.owner
    assert quote.team == customer.owner.team


def test_editing_a_quote_removes_a_ticked_line_and_adds_one(client, users, customer, pump):
    quote = services.quote_create(
        actor=users["rep1"],
        customer=customer,
        lines=[line(pump, "1"), line(None, "1", description="运费", unit_price="200")],
    )
    client.force_login(users["rep1"])
    url = reverse("commerce:quote-edit", args=[quote.pk])
    form = client.get(url)
    assert 'name="lines-INITIAL_FORMS" value="2"' in form.content.decode()
    data = {
        "currency": "CNY",
        "language": "en",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "2",
        "lines-0-product": pump.pk,
        "lines-0-quantity": "1",
        "lines-0-DELETE": "on",
        "lines-1-description": "运费",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "200",
        "lines-1-tax_rate": "0",
        "lines-2-description": "安装",
        "lines-2-quantity": "2",
        "lines-2-unit_price": "500",
        "lines-2-tax_rate": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    quote.refresh_from_db()
    assert [ln.description for ln in quote.lines.all()] == ["运费", "安装"]
    assert quote.total == Decimal("1200.00")
