"""Every role × action on a quote, an order and a receivable owned by rep1, through the
REST API. Default scopes (module quotes, orders and payments): admin all/all; the manager of
华东销售部 its sub-teams (rep1 is in 上海组) and may approve discounts; reps their own;
service agents and marketers read orders (not quotes or receivables) everywhere;
executives read everything; partners nothing. 404 when out of sight, 403 when in sight
but not allowed."""

import typing
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.commerce import services
from guanxi.commerce.models import Invoice, Order, Product, Quote
from guanxi.commerce.tests.factories import ProductFactory, line
from guanxi.customers.models import Customer
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
)

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "rep1", "rep2", "rep3", "agent1", "marketer1", "exec1", "partner1"]
SEES = {
    "quote": {"admin", "manager", "rep1", "exec1"},
    "order": {"admin", "manager", "rep1", "agent1", "marketer1", "exec1"},
    "invoice": {"admin", "manager", "rep1", "exec1"},
}
WRITES = {"admin", "manager", "rep1"}
APPROVES = {"admin", "manager"}
LISTED = {
    "quote": {
        "admin": {"rep1", "rep2", "rep3"},
        "manager": {"rep1", "rep2"},
        "rep1": {"rep1"},
        "rep2": {"rep2"},
        "rep3": {"rep3"},
        "agent1": set(),
        "marketer1": set(),
        "exec1": {"rep1", "rep2", "rep3"},
        "partner1": set(),
    },
}
LISTED["invoice"] = LISTED["quote"]
LISTED["order"] = {
    **LISTED["quote"],
    "agent1": {"rep1", "rep2", "rep3"},
    "marketer1": {"rep1", "rep2", "rep3"},
}


def expected(role: str, kind: str, action: str | None, ok: int) -> int:
    if role not in SEES[kind]:
        return 404
    if action is None:
        return ok
    allowed = APPROVES if action in ("approve", "reject") else WRITES
    return ok if role in allowed else 403


@pytest.fixture
def customer(users) -> Customer:
    return typing.cast(
        Customer, CustomerFactory(owner=users["rep1"], team=users["rep1"].team, name="宁波海天")
    )


@pytest.fixture
def pump() -> Product:
    return typing.cast(Product, ProductFactory(sku="P-1", price=Decimal("1000.00")))


def _quote(users, customer, pump, discount: str = "0") -> Quote:
    return services.quote_create(
        actor=users["rep1"],
        customer=customer,
        lines=[line(pump, "2", discount_percent=discount)],
    )


def _order(users, customer, pump) -> Order:
    return services.order_create(
        actor=users["rep1"], customer=customer, lines=[line(pump, "1", serial_numbers="SN-9")]
    )


# --- lists --------------------------------------------------------------------------------


def _one_each(users, pump) -> dict[str, Order]:
    orders = {}
    for owner in ["rep1", "rep2", "rep3"]:
        customer = CustomerFactory(owner=users[owner], team=users[owner].team)
        quote = services.quote_create(
            actor=users[owner], customer=customer, lines=[line(pump, "1")]
        )
        orders[owner] = services.order_from_quote(actor=users[owner], quote=quote)
    return orders


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_exactly_what_is_in_scope(users, pump, role):
    orders = _one_each(users, pump)
    api = Api(users[role])
    quotes = api.get("/quotes", status="accepted", limit=200).json()["items"]
    assert {q["id"] for q in quotes} == {orders[o].quote_id for o in LISTED["quote"][role]}
    listed = api.get("/orders", limit=200).json()["items"]
    assert {o["id"] for o in listed} == {orders[o].pk for o in LISTED["order"][role]}
    invoices = api.get("/invoices", show="all", limit=200).json()["items"]
    assert {i["order"]["id"] for i in invoices} == {orders[o].pk for o in LISTED["invoice"][role]}


# --- reads --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reads(users, customer, pump, role):
    quote = _quote(users, customer, pump)
    order = _order(users, customer, pump)
    invoice = order.invoices.get()
    api = Api(users[role])
    assert api.get(f"/quotes/{quote.pk}").status_code == expected(role, "quote", None, 200)
    assert api.get(f"/quotes/{quote.pk}/pdf").status_code == expected(role, "quote", None, 200)
    response = api.get(f"/orders/{order.pk}")
    assert response.status_code == expected(role, "order", None, 200)
    if response.status_code == 200:
        # the order's receivables only for those who may see receivables
        shown = [i["id"] for i in response.json()["invoices"]]
        assert shown == ([invoice.pk] if role in SEES["invoice"] else [])
    assert api.get(f"/invoices/{invoice.pk}").status_code == expected(role, "invoice", None, 200)


@pytest.mark.parametrize("role", ROLES)
def test_warranty_lookup_follows_the_order_scope(users, customer, pump, role):
    order = _order(users, customer, pump)
    services.order_set_status(actor=users["rep1"], order=order, status="delivered")
    found = Api(users[role]).get("/warranties", serial="SN-9").json()
    assert len(found) == (1 if role in SEES["order"] else 0)


# --- creating -----------------------------------------------------------------------------

MAY_CREATE = {"admin", "manager", "rep1", "rep2", "rep3"}  # hold the add permissions


@pytest.mark.parametrize("role", ROLES)
def test_create_quote_and_order_for_rep1_s_customer(users, customer, pump, role):
    api = Api(users[role])
    lines = [{"product_id": pump.pk, "quantity": "1"}]
    quote = api.post("/quotes", {"customer_id": customer.pk, "lines": lines})
    order = api.post("/orders", {"customer_id": customer.pk, "lines": lines})
    if role in WRITES:
        want = 201
    elif role in MAY_CREATE:
        want = 422  # the customer is out of their sight: a field error
    else:
        want = 403
    assert (quote.status_code, order.status_code) == (want, want), (quote.content, order.content)
    if want == 422:
        assert quote.json()["detail"][0]["field"] == "customer_id"
    assert Quote.objects.exists() == (want == 201)
    assert Order.objects.exists() == (want == 201)


@pytest.mark.parametrize("role", ROLES)
def test_order_from_rep1_s_quote(users, customer, pump, role):
    quote = _quote(users, customer, pump)
    response = Api(users[role]).post("/orders/from-quote", {"quote_id": quote.pk})
    if role in WRITES:
        want = 201
    elif role not in MAY_CREATE:
        want = 403  # no permission to add orders
    else:
        want = 422  # out of sight: no such quote
    assert response.status_code == want, response.content
    assert Order.objects.filter(quote=quote).exists() == (want == 201)


# --- quote actions ------------------------------------------------------------------------


def _quote_in_state(users, customer, pump, action: str) -> Quote:
    if action in ("submit", "approve", "reject"):
        quote = _quote(users, customer, pump, discount="15")
        if action != "submit":
            services.quote_submit(actor=users["rep1"], quote=quote)
        return quote
    quote = _quote(users, customer, pump)
    if action in ("accept", "decline", "revise"):
        services.quote_send(actor=users["rep1"], quote=quote)
    return quote


QUOTE_CALLS = {
    "edit": ("patch", "", {"title": "改过的标题"}),
    "submit": ("post", "/submit", {}),
    "approve": ("post", "/approve", {"note": "同意"}),
    "reject": ("post", "/reject", {"note": "折扣太大"}),
    "send": ("post", "/send", {}),
    "accept": ("post", "/accept", {}),
    "decline": ("post", "/decline", {"reason": "太贵"}),
    "revise": ("post", "/revise", {}),
}
QUOTE_DONE = {
    "edit": lambda q: q.title == "改过的标题",
    "submit": lambda q: q.status == "pending",
    "approve": lambda q: q.status == "approved",
    "reject": lambda q: q.status == "rejected",
    "send": lambda q: q.status == "sent",
    "accept": lambda q: q.status == "accepted",
    "decline": lambda q: q.status == "declined",
    "revise": lambda q: q.status == "superseded",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(QUOTE_CALLS))
def test_quote_actions(users, customer, pump, role, action):
    quote = _quote_in_state(users, customer, pump, action)
    method, suffix, body = QUOTE_CALLS[action]
    response = getattr(Api(users[role]), method)(f"/quotes/{quote.pk}{suffix}", body)
    ok = 201 if action == "revise" else 200
    want = expected(role, "quote", action, ok)
    assert response.status_code == want, response.content
    assert QUOTE_DONE[action](Quote.objects.get(pk=quote.pk)) == (want == ok)


@pytest.mark.parametrize("owner", ["admin", "manager"])
def test_nobody_approves_their_own_quote_even_with_the_permission(users, customer, pump, owner):
    quote = services.quote_create(
        actor=users[owner], customer=customer, lines=[line(pump, "1", discount_percent="20")]
    )
    services.quote_submit(actor=users[owner], quote=quote)
    assert Api(users[owner]).post(f"/quotes/{quote.pk}/approve", {}).status_code == 403
    assert Quote.objects.get(pk=quote.pk).status == Quote.Status.PENDING
    if owner == "manager":
        assert Api(users["admin"]).post(f"/quotes/{quote.pk}/approve", {}).status_code == 200


# --- order and receivable actions ---------------------------------------------------------


def _due() -> str:
    return (timezone.localdate() + timedelta(days=30)).isoformat()


ORDER_CALLS = {
    "edit": ("patch", "", lambda o: {"notes": "轻放"}),
    "status": ("post", "/status", lambda o: {"status": "shipped"}),
    "invoice": ("post", "/invoices", lambda o: {"amount": "100", "due_on": _due()}),
}
ORDER_DONE = {
    "edit": lambda o: o.notes == "轻放",
    "status": lambda o: o.status == "shipped",
    "invoice": lambda o: o.invoices.filter(amount=Decimal("100")).exists(),
}
ORDER_OK = {"edit": 200, "status": 200, "invoice": 201}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ORDER_CALLS))
def test_order_actions(users, customer, pump, role, action):
    order = _order(users, customer, pump)
    if action == "invoice":  # leave room on the order for another receivable
        services.invoice_cancel(actor=users["rep1"], invoice=order.invoices.get(), reason="分期")
    method, suffix, body = ORDER_CALLS[action]
    response = getattr(Api(users[role]), method)(f"/orders/{order.pk}{suffix}", body(order))
    want = expected(role, "order", action, ORDER_OK[action])
    assert response.status_code == want, response.content
    assert ORDER_DONE[action](Order.objects.get(pk=order.pk)) == (want == ORDER_OK[action])


INVOICE_CALLS = {
    "pay": ("/payments", {"amount": "300"}, 201),
    "cancel": ("/cancel", {"reason": "开错了"}, 200),
}
INVOICE_DONE = {
    "pay": lambda i: i.paid_amount == Decimal("300.00"),
    "cancel": lambda i: i.status == Invoice.Status.CANCELLED,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(INVOICE_CALLS))
def test_invoice_actions(users, customer, pump, role, action):
    invoice = _order(users, customer, pump).invoices.get()
    suffix, body, ok = INVOICE_CALLS[action]
    response = Api(users[role]).post(f"/invoices/{invoice.pk}{suffix}", body)
    want = expected(role, "invoice", action, ok)
    assert response.status_code == want, response.content
    assert INVOICE_DONE[action](Invoice.objects.get(pk=invoice.pk)) == (want == ok)
