"""Every role × action on a quote, an order and a receivable owned by rep1, through the
pages. Default scopes (module "quotes, orders and payments"): admin all/all; the manager
of 华东销售部 its sub-teams (rep1 is in 上海组); reps their own; executives read all;
service agents and marketers read orders (not quotes or receivables); partners nothing.
404 when out of sight, 403 when in sight but not allowed."""

from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.commerce import services
from guanxi.commerce.models import Invoice, Order, Quote
from guanxi.commerce.tests.factories import ProductFactory, line
from guanxi.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "rep1", "rep2", "rep3", "agent1", "marketer1", "exec1", "partner1"]
SEES_QUOTES = {"admin", "manager", "rep1", "exec1"}
SEES_ORDERS = {"admin", "manager", "rep1", "exec1", "agent1", "marketer1"}
WRITES = {"admin", "manager", "rep1"}
APPROVES = {"admin", "manager"}  # never the owner


@pytest.fixture
def documents(users):
    customer = CustomerFactory(owner=users["rep1"], team=users["rep1"].team)
    pump = ProductFactory(price=Decimal("1000"))
    rep = users["rep1"]
    pending = services.quote_create(
        actor=rep, customer=customer, lines=[line(pump, "1", discount_percent="20")]
    )
    services.quote_submit(actor=rep, quote=pending)
    order = services.order_create(actor=rep, customer=customer, lines=[line(pump, "1")])
    return {"quote": pending, "order": order, "invoice": order.invoices.get()}


def _expect(role: str, sees: set[str], allowed: set[str]) -> int:
    if role not in sees:
        return 404
    return 302 if role in allowed else 403


@pytest.mark.parametrize("role", ROLES)
def test_view_pages(client, users, documents, role):
    client.force_login(users[role])
    quote = client.get(reverse("commerce:quote-detail", args=[documents["quote"].pk]))
    order = client.get(reverse("commerce:order-detail", args=[documents["order"].pk]))
    invoice = client.get(reverse("commerce:invoice-detail", args=[documents["invoice"].pk]))
    pdf = client.get(reverse("commerce:quote-pdf", args=[documents["quote"].pk]))
    assert quote.status_code == (200 if role in SEES_QUOTES else 404)
    assert pdf.status_code == (200 if role in SEES_QUOTES else 404)
    assert order.status_code == (200 if role in SEES_ORDERS else 404)
    assert invoice.status_code == (200 if role in SEES_QUOTES else 404)


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_what_is_in_reach(client, users, documents, role):
    client.force_login(users[role])
    for name, url, sees in (
        ("quote", "commerce:quote-index", SEES_QUOTES),
        ("order", "commerce:order-index", SEES_ORDERS),
        ("invoice", "commerce:invoice-index", SEES_QUOTES),
    ):
        response = client.get(reverse(url))
        if response.status_code == 403:
            assert role not in sees
            continue
        assert (documents[name].number in response.content.decode()) == (role in sees)


@pytest.mark.parametrize("role", ROLES)
def test_approve(client, users, documents, role):
    client.force_login(users[role])
    quote = documents["quote"]
    response = client.post(reverse("commerce:quote-act", args=[quote.pk, "approve"]))
    assert response.status_code == _expect(role, SEES_QUOTES, APPROVES)
    quote.refresh_from_db()
    assert (quote.status == Quote.Status.APPROVED) == (role in APPROVES)


@pytest.mark.parametrize("role", ROLES)
def test_revise_quote(client, users, documents, role):
    client.force_login(users[role])
    quote = documents["quote"]
    response = client.post(reverse("commerce:quote-act", args=[quote.pk, "revise"]))
    assert response.status_code == _expect(role, SEES_QUOTES, WRITES)
    assert Quote.objects.filter(number=quote.number).count() == (2 if role in WRITES else 1)


@pytest.mark.parametrize("role", ROLES)
def test_change_order_status(client, users, documents, role):
    client.force_login(users[role])
    order = documents["order"]
    response = client.post(reverse("commerce:order-status", args=[order.pk]), {"status": "shipped"})
    assert response.status_code == _expect(role, SEES_ORDERS, WRITES)
    order.refresh_from_db()
    assert (order.status == Order.Status.SHIPPED) == (role in WRITES)


@pytest.mark.parametrize("role", ROLES)
def test_record_payment(client, users, documents, role):
    client.force_login(users[role])
    invoice = documents["invoice"]
    response = client.post(
        reverse("commerce:payment-new", args=[invoice.pk]),
        {"amount": "100", "paid_on": "2026-11-01", "method": "bank"},
    )
    assert response.status_code == _expect(role, SEES_QUOTES, WRITES)
    invoice.refresh_from_db()
    assert (invoice.status == Invoice.Status.PARTIAL) == (role in WRITES)


@pytest.mark.parametrize("role", ROLES)
def test_new_quote_for_the_customer(client, users, documents, role):
    client.force_login(users[role])
    customer = documents["order"].customer
    response = client.get(reverse("commerce:quote-new") + f"?customer={customer.pk}")
    may_quote = {"admin", "manager", "rep1", "rep2", "rep3"}
    sees_customer = {"admin", "manager", "rep1", "agent1", "marketer1", "exec1"}
    if role not in may_quote:
        assert response.status_code == 403
    else:
        assert response.status_code == (200 if role in sees_customer else 404)
