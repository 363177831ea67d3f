"""REST API of products, price lists, quotes, orders, receivables and warranties:
behaviour, bad input (always a 4xx naming the field), pagination."""

import typing
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.commerce import schemas, services
from guanxi.commerce.models import (
    Invoice,
    Order,
    Payment,
    PriceListItem,
    Product,
    Quote,
    Warranty,
)
from guanxi.commerce.tests.factories import ProductFactory, line
from guanxi.customers.models import Contact, Customer
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory
from guanxi.customers.tests.test_api import (
    Api,
    _fresh_rate_limits,  # noqa: F401  (autouse fixture)
    error_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(users) -> Customer:
    return typing.cast(
        Customer,
        CustomerFactory(
            owner=users["rep1"], team=users["rep1"].team, name="杭州万华化工", email="buy@wanhua.cn"
        ),
    )


@pytest.fixture
def contact(customer) -> Contact:
    return typing.cast(
        Contact, ContactFactory(name="王经理", email="wang@wanhua.cn", customer=customer)
    )


@pytest.fixture
def pump() -> Product:
    return typing.cast(
        Product, ProductFactory(sku="P-100", name="工业离心泵", price=Decimal("3000.00"))
    )


@pytest.fixture
def rep(users) -> Api:
    return Api(users["rep1"])


def _quote_body(customer, pump, discount="0", **extra):
    return {
        "customer_id": customer.pk,
        "title": "离心泵报价",
        "lines": [
            {"product_id": pump.pk, "quantity": "2", "discount_percent": discount},
            {"description": "安装调试", "quantity": 1, "unit_price": "800", "tax_rate": "0"},
        ],
        **extra,
    }


def _create_quote(api, customer, pump, discount="0", **extra):
    response = api.post("/quotes", _quote_body(customer, pump, discount, **extra))
    assert response.status_code == 201, response.content
    return response.json()


# --- quotes -------------------------------------------------------------------------------


def test_create_quote_with_lines_prices_discounts_and_taxes(rep, customer, contact, pump):
    # given a pump at 3000 (13 % tax) and a free-text installation line
    # when rep1 quotes two pumps at 5 % off and installation at 800 without tax
    body = _create_quote(rep, customer, pump, discount="5", contact_id=contact.pk)
    # then each line is priced and the totals are money strings
    assert body["status"] == "draft" and body["version"] == 1
    assert body["number"].startswith(f"Q-{timezone.localdate().year}-")
    assert body["customer"] == {"id": customer.pk, "name": "杭州万华化工"}
    assert body["contact_id"] == contact.pk
    assert [(x["description"], x["quantity"], x["net_amount"]) for x in body["lines"]] == [
        ("工业离心泵", "2", "5700.00"),
        ("安装调试", "1", "800.00"),
    ]
    assert body["lines"][0]["unit_price"] == "3000.00"
    assert body["lines"][0]["tax_rate"] == "13"
    assert (body["subtotal"], body["discount_total"], body["tax_total"], body["total"]) == (
        "6500.00",
        "300.00",
        "741.00",
        "7241.00",
    )
    assert body["needs_approval"] is False and body["expired"] is False
    assert body["valid_until"] == (timezone.localdate() + timedelta(days=30)).isoformat()
    # and reading it back gives the same quote
    again = rep.get(f"/quotes/{body['id']}").json()
    assert again["lines"] == body["lines"] and again["total"] == "7241.00"


def test_create_quote_from_an_opportunity_takes_its_customer(users, rep, customer, pump):
    from guanxi.sales.tests.factories import OpportunityFactory

    opp = OpportunityFactory(customer=customer, owner=users["rep1"], name="万华扩产项目")
    response = rep.post(
        "/quotes",
        {"opportunity_id": opp.pk, "lines": [{"product_id": pump.pk, "quantity": "1"}]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"]["id"] == customer.pk
    assert body["opportunity_id"] == opp.pk and body["title"] == "万华扩产项目"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"product_id": 0, "quantity": "-1"}]}, "lines.0.quantity"),
        (
            {"lines": [{"description": "x", "quantity": "-1", "unit_price": "5"}]},
            "lines.0.quantity",
        ),
        (
            {"lines": [{"description": "x", "quantity": "1", "unit_price": "1,5"}]},
            "lines.0.unit_price",
        ),
        (
            {"lines": [{"description": "x", "quantity": "abc", "unit_price": "1"}]},
            "lines.0.quantity",
        ),
        (
            {"lines": [{"description": "x", "quantity": "1", "unit_price": "NaN"}]},
            "lines.0.unit_price",
        ),
        (
            {"lines": [{"description": "x", "quantity": "1e400", "unit_price": "1"}]},
            "lines.0.quantity",
        ),
        (
            {"lines": [{"description": "x", "quantity": "1.0001", "unit_price": "1"}]},
            "lines.0.quantity",
        ),
        ({"lines": [{"quantity": "1", "unit_price": "1"}]}, "lines.0.description"),
        ({"lines": [{"product_id": 999999, "quantity": "1"}]}, "lines.0.product_id"),
        (
            {
                "lines": [
                    {"description": "x", "quantity": 1, "unit_price": 1, "discount_percent": 101}
                ]
            },
            "lines.0.discount_percent",
        ),
        ({"lines": []}, "lines"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": 999999}, "customer_id"),
        ({"contact_id": 999999}, "contact_id"),
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"valid_until": "2026-02-30"}, "valid_until"),
        ({"currency": "rmb"}, "currency"),
        ({"language": "fr"}, "language"),
        ({"price_list_id": 999999}, "price_list_id"),
        ({"opportunity_id": 999999}, "opportunity_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_quote_input_is_a_422_naming_the_field(rep, customer, pump, change, field):
    if "lines" in change and change["lines"] and change["lines"][0].get("product_id") == 0:
        change["lines"][0]["product_id"] = pump.pk
    response = rep.post("/quotes", {**_quote_body(customer, pump), **change})
    assert response.status_code == 422, response.content
    assert field in error_fields(response)
    assert not Quote.objects.exists()


def test_discount_above_the_policy_maximum_is_named_with_its_message(rep, customer, pump):
    response = rep.post("/quotes", _quote_body(customer, pump, discount="45"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "lines.0.discount_percent"
    assert "highest allowed (40%)" in error["message"]


def test_contact_of_another_customer_is_refused(rep, customer, pump):
    other = CustomerFactory(owner=rep.user)
    stranger = ContactFactory(customer=other)
    response = rep.post("/quotes", _quote_body(customer, pump, contact_id=stranger.pk))
    assert response.status_code == 422
    assert error_fields(response) == {"contact_id"}


def test_withdrawn_product_cannot_be_quoted(rep, customer, pump):
    Product.objects.filter(pk=pump.pk).update(is_active=False)
    response = rep.post("/quotes", _quote_body(customer, pump))
    assert response.status_code == 422
    assert error_fields(response) == {"lines.0.product_id"}


def test_malformed_json_is_a_400(rep):
    response = rep.post("/quotes", "{not json")
    assert response.status_code == 400


def test_patch_header_keeps_lines_and_lines_replace(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    # when only the title changes, the lines stay
    body = rep.patch(f"/quotes/{quote['id']}", {"title": "新标题", "language": "en"}).json()
    assert body["title"] == "新标题" and body["language"] == "en"
    assert [x["description"] for x in body["lines"]] == ["工业离心泵", "安装调试"]
    assert body["total"] == quote["total"]
    # when lines are sent, they replace the old ones
    body = rep.patch(
        f"/quotes/{quote['id']}", {"lines": [{"product_id": pump.pk, "quantity": "3"}]}
    ).json()
    assert [x["quantity"] for x in body["lines"]] == ["3"]
    assert body["total"] == "10170.00"
    # a null title is refused, and bad lines are named
    assert rep.patch(f"/quotes/{quote['id']}", {"title": None}).status_code == 422
    bad = rep.patch(
        f"/quotes/{quote['id']}",
        {"lines": [{"product_id": pump.pk, "quantity": "1"}, {"quantity": "1"}]},
    )
    assert bad.status_code == 422 and "lines.1.description" in error_fields(bad)


def test_only_a_draft_quote_can_be_patched(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    assert rep.post(f"/quotes/{quote['id']}/send", {}).status_code == 200
    response = rep.patch(f"/quotes/{quote['id']}", {"title": "改"})
    assert response.status_code == 422
    assert "new version" in response.json()["detail"][0]["message"]


def test_approval_flow_through_the_api(users, rep, customer, pump):
    # given rep1's quote with 15 % off (the policy asks approval above 10 %)
    quote = _create_quote(rep, customer, pump, discount="15")
    qid = quote["id"]
    assert quote["needs_approval"] is True and quote["max_discount_percent"] == "15"
    # it cannot be sent before approval, nor approved before it is submitted
    refused = rep.post(f"/quotes/{qid}/send", {})
    assert refused.status_code == 422 and "approval" in refused.json()["detail"][0]["message"]
    manager = Api(users["manager"])
    assert manager.post(f"/quotes/{qid}/approve", {}).status_code == 422
    # when rep1 submits it
    assert rep.post(f"/quotes/{qid}/submit").json()["status"] == "pending"
    # then it waits for the manager's approval, not for rep1's
    waiting = manager.get("/quotes", awaiting_approval="true").json()["items"]
    assert [q["id"] for q in waiting] == [qid]
    assert rep.get("/quotes", awaiting_approval="true").json()["items"] == []
    # a rep may not approve (not even their own), a rep of another team does not see it
    assert rep.post(f"/quotes/{qid}/approve", {}).status_code == 403
    assert Api(users["rep2"]).post(f"/quotes/{qid}/approve", {}).status_code == 404
    # a rejection needs a reason
    no_reason = manager.post(f"/quotes/{qid}/reject", {"note": " "})
    assert no_reason.status_code == 422 and error_fields(no_reason) == {"note"}
    # the manager approves
    approved = manager.post(f"/quotes/{qid}/approve", {"note": "战略客户"}).json()
    assert approved["status"] == "approved"
    assert approved["approved_by"]["id"] == users["manager"].pk
    assert approved["approval_note"] == "战略客户"
    assert rep.post(f"/quotes/{qid}/send", {}).json()["status"] == "sent"


def test_the_owner_may_not_approve_their_own_quote(users, customer, pump):
    # given a quote the manager made (and may approve others' in the team)
    manager = Api(users["manager"])
    quote = _create_quote(manager, customer, pump, discount="15")
    assert quote["owner"]["id"] == users["manager"].pk
    manager.post(f"/quotes/{quote['id']}/submit")
    # when the manager approves it: refused
    response = manager.post(f"/quotes/{quote['id']}/approve", {})
    assert response.status_code == 403
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.PENDING
    # the administrator may
    admin = Api(users["admin"])
    assert admin.post(f"/quotes/{quote['id']}/approve", {}).json()["status"] == "approved"


def test_rejected_quote_is_changed_and_goes_back_to_draft(users, rep, customer, pump):
    quote = _create_quote(rep, customer, pump, discount="15")
    rep.post(f"/quotes/{quote['id']}/submit")
    rejected = Api(users["manager"]).post(f"/quotes/{quote['id']}/reject", {"note": "折扣太大"})
    assert rejected.json()["status"] == "rejected"
    body = rep.patch(
        f"/quotes/{quote['id']}",
        {"lines": [{"product_id": pump.pk, "quantity": "2", "discount_percent": "8"}]},
    ).json()
    assert body["status"] == "draft" and body["needs_approval"] is False


def test_send_emails_the_pdf(rep, customer, pump, django_capture_on_commit_callbacks):
    quote = _create_quote(rep, customer, pump)
    with django_capture_on_commit_callbacks(execute=True):
        response = rep.post(
            f"/quotes/{quote['id']}/send", {"to": ["buy@wanhua.cn"], "message": "请查收报价"}
        )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "sent" and response.json()["sent_at"]
    sent = mail.outbox[-1]
    assert sent.to == ["buy@wanhua.cn"]
    assert sent.body == "请查收报价"
    name, content, mimetype = sent.attachments[0]
    assert name == f"{quote['number']}-v1.pdf"
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")


def test_send_to_a_bad_address_names_it(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    response = rep.post(f"/quotes/{quote['id']}/send", {"to": ["buy@wanhua.cn", "not-an-email"]})
    assert response.status_code == 422
    assert error_fields(response) == {"to.1"}
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.DRAFT


def test_pdf_download(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    response = rep.get(f"/quotes/{quote['id']}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"{quote['number']}-v1.pdf" in response["Content-Disposition"]


def test_accept_decline_and_revise(rep, customer, pump):
    first = _create_quote(rep, customer, pump)
    rep.post(f"/quotes/{first['id']}/send", {})
    declined = rep.post(f"/quotes/{first['id']}/decline", {"reason": "预算不足"}).json()
    assert declined["status"] == "declined" and declined["decline_reason"] == "预算不足"
    # a new version copies the lines and supersedes the declined one
    revised = rep.post(f"/quotes/{first['id']}/revise")
    assert revised.status_code == 201
    second = revised.json()
    assert (second["number"], second["version"], second["status"]) == (first["number"], 2, "draft")
    assert second["total"] == first["total"]
    assert [v["version"] for v in second["versions"]] == [2, 1]
    listed = rep.get("/quotes").json()["items"]
    assert [q["id"] for q in listed] == [second["id"]]
    superseded = rep.get("/quotes", status="superseded").json()["items"]
    assert [q["id"] for q in superseded] == [first["id"]]
    # the customer accepts the new version; it cannot be revised any more
    assert rep.post(f"/quotes/{second['id']}/accept").json()["status"] == "accepted"
    assert rep.post(f"/quotes/{second['id']}/revise").status_code == 422


# --- orders -------------------------------------------------------------------------------


def test_order_from_an_accepted_quote(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    rep.post(f"/quotes/{quote['id']}/send", {})
    rep.post(f"/quotes/{quote['id']}/accept")
    today = timezone.localdate()
    response = rep.post(
        "/orders/from-quote",
        {
            "quote_id": quote["id"],
            "ordered_on": today.isoformat(),
            "delivery_due": (today + timedelta(days=14)).isoformat(),
            "shipping_address": "浙江省杭州市滨江区",
        },
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "confirmed" and order["quote_id"] == quote["id"]
    assert order["total"] == quote["total"] == "7580.00"
    assert [x["description"] for x in order["lines"]] == ["工业离心泵", "安装调试"]
    assert order["shipping_address"] == "浙江省杭州市滨江区"
    # one receivable for the total, due after the payment terms
    [invoice] = order["invoices"]
    assert invoice["amount"] == "7580.00" and invoice["status"] == "open"
    assert invoice["due_on"] == (today + timedelta(days=30)).isoformat()
    assert order["uninvoiced"] == "0.00"
    assert rep.get(f"/quotes/{quote['id']}").json()["order_id"] == order["id"]
    # a quote is ordered once
    again = rep.post("/orders/from-quote", {"quote_id": quote["id"]})
    assert again.status_code == 422 and error_fields(again) == {"quote_id"}


def test_order_from_an_expired_quote_is_refused_naming_the_quote(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    Quote.objects.filter(pk=quote["id"]).update(valid_until=date(2020, 1, 1))
    response = rep.post("/orders/from-quote", {"quote_id": quote["id"]})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "quote_id" and "expired" in error["message"]
    assert not Order.objects.exists()
    # nor can it be sent; its validity date is named
    sent = rep.post(f"/quotes/{quote['id']}/send", {})
    assert sent.status_code == 422 and error_fields(sent) == {"valid_until"}


def test_a_refused_order_leaves_the_quote_as_it_was(rep, customer, pump):
    quote = _create_quote(rep, customer, pump)
    rep.post(f"/quotes/{quote['id']}/send", {})
    response = rep.post(
        "/orders/from-quote",
        {"quote_id": quote["id"], "ordered_on": "2026-03-01", "delivery_due": "2026-02-01"},
    )
    assert response.status_code == 422 and error_fields(response) == {"delivery_due"}
    assert Quote.objects.get(pk=quote["id"]).status == Quote.Status.SENT


@pytest.mark.parametrize("field", ["ordered_on", "delivery_due"])
def test_dates_the_services_cannot_count_from_are_refused(rep, customer, pump, field):
    response = rep.post("/orders", _order_body(customer, pump, **{field: "9999-12-31"}))
    assert response.status_code == 422 and error_fields(response) == {field}


def test_order_from_a_quote_nobody_may_see_is_a_field_error(users, customer, pump):
    quote = _create_quote(Api(users["rep1"]), customer, pump)
    response = Api(users["rep2"]).post("/orders/from-quote", {"quote_id": quote["id"]})
    assert response.status_code == 422 and error_fields(response) == {"quote_id"}


def _order_body(customer, pump, **extra):
    return {
        "customer_id": customer.pk,
        "lines": [{"product_id": pump.pk, "quantity": "2", "serial_numbers": ["SN-1", "SN-2"]}],
        **extra,
    }


def test_direct_order_serials_delivery_and_warranties(users, rep, customer, pump):
    # given an order entered directly with two serial numbers
    response = rep.post("/orders", _order_body(customer, pump, ordered_on="2026-01-10"))
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["ordered_on"] == "2026-01-10" and order["total"] == "6780.00"
    assert order["lines"][0]["serial_numbers"] == ["SN-1", "SN-2"]
    # when a serial number is corrected and the order is delivered
    line_id = order["lines"][0]["id"]
    patched = rep.patch(
        f"/orders/{order['id']}",
        {"serials": {str(line_id): ["SN-1", "SN-3"]}, "notes": "易碎"},
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["lines"][0]["serial_numbers"] == ["SN-1", "SN-3"]
    delivered = rep.post(
        f"/orders/{order['id']}/status", {"status": "delivered", "on": "2026-01-20"}
    )
    assert delivered.status_code == 200, delivered.content
    body = delivered.json()
    assert body["status"] == "delivered" and body["delivered_on"] == "2026-01-20"
    # then each unit has a warranty of 12 months
    warranties = body["lines"][0]["warranties"]
    assert [(w["serial_number"], w["starts_on"], w["ends_on"]) for w in warranties] == [
        ("SN-1", "2026-01-20", "2027-01-20"),
        ("SN-3", "2026-01-20", "2027-01-20"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"lines": [{"product_id": 0, "quantity": "1", "serial_numbers": ["A", "B"]}]},
            "lines.0.serial_numbers",
        ),
        (
            {"lines": [{"product_id": 0, "quantity": "2", "serial_numbers": ["A", "A"]}]},
            "lines.0.serial_numbers",
        ),
        (
            {"lines": [{"product_id": 0, "quantity": "2", "serial_numbers": ["A,B"]}]},
            "lines.0.serial_numbers.0",
        ),
        (
            {"lines": [{"product_id": 0, "quantity": "2", "serial_numbers": ["x" * 101]}]},
            "lines.0.serial_numbers.0",
        ),
        ({"lines": [{"product_id": 0, "quantity": "-2"}]}, "lines.0.quantity"),
        ({"delivery_due": "2026-01-01", "ordered_on": "2026-02-01"}, "delivery_due"),
        ({"ordered_on": "01/02/2026"}, "ordered_on"),
        ({"customer_id": 999999}, "customer_id"),
        ({"currency": "USD"}, "lines.0.unit_price"),
    ],
)
def test_bad_order_input_is_a_422_naming_the_field(rep, customer, pump, change, field):
    for item in change.get("lines", []):
        item["product_id"] = pump.pk
    response = rep.post("/orders", {**_order_body(customer, pump), **change})
    assert response.status_code == 422, response.content
    assert field in error_fields(response)
    assert not Order.objects.exists()


def test_order_status_flow_and_cancel_reason(rep, customer, pump):
    order = rep.post("/orders", _order_body(customer, pump)).json()
    path = f"/orders/{order['id']}/status"
    skipped = rep.post(path, {"status": "completed"})
    assert skipped.status_code == 422 and error_fields(skipped) == {"status"}
    unknown = rep.post(path, {"status": "lost"})
    assert unknown.status_code == 422 and error_fields(unknown) == {"status"}
    no_reason = rep.post(path, {"status": "cancelled"})
    assert no_reason.status_code == 422 and error_fields(no_reason) == {"reason"}
    cancelled = rep.post(path, {"status": "cancelled", "reason": "客户撤单"}).json()
    assert cancelled["status"] == "cancelled"
    assert [i["status"] for i in cancelled["invoices"]] == ["cancelled"]
    assert rep.patch(f"/orders/{order['id']}", {"notes": "x"}).status_code == 422


def test_patch_serials_of_an_unknown_line_names_it(rep, customer, pump):
    order = rep.post("/orders", _order_body(customer, pump)).json()
    response = rep.patch(f"/orders/{order['id']}", {"serials": {"999999": ["X"]}})
    assert response.status_code == 422 and error_fields(response) == {"serials.999999"}


def test_invoices_split_an_order_but_never_exceed_it(rep, customer, pump):
    order = rep.post("/orders", _order_body(customer, pump)).json()
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    # the order's receivable already covers its total
    over = rep.post(f"/orders/{order['id']}/invoices", {"amount": "1", "due_on": due})
    assert over.status_code == 422 and error_fields(over) == {"amount"}
    # cancel it, then invoice a deposit and the rest
    [invoice] = order["invoices"]
    no_reason = rep.post(f"/invoices/{invoice['id']}/cancel", {"reason": ""})
    assert no_reason.status_code == 422 and error_fields(no_reason) == {"reason"}
    assert rep.post(f"/invoices/{invoice['id']}/cancel", {"reason": "分两期"}).status_code == 200
    deposit = rep.post(
        f"/orders/{order['id']}/invoices", {"amount": "2000.00", "due_on": due, "note": "预付款"}
    )
    assert deposit.status_code == 201, deposit.content
    assert deposit.json()["amount"] == "2000.00" and deposit.json()["note"] == "预付款"
    early = rep.post(
        f"/orders/{order['id']}/invoices",
        {"amount": "4780", "due_on": "2020-01-01", "issued_on": "2020-02-01"},
    )
    assert early.status_code == 422 and error_fields(early) == {"due_on"}
    rest = rep.post(f"/orders/{order['id']}/invoices", {"amount": "4780", "due_on": due})
    assert rest.status_code == 201
    assert rep.get(f"/orders/{order['id']}").json()["uninvoiced"] == "0.00"
    zero = rep.post(f"/orders/{order['id']}/invoices", {"amount": "0", "due_on": due})
    assert zero.status_code == 422 and error_fields(zero) == {"amount"}


# --- receivables --------------------------------------------------------------------------


def test_partial_payments_and_the_overpayment_error(rep, customer, pump):
    order = rep.post("/orders", _order_body(customer, pump)).json()
    invoice_id = order["invoices"][0]["id"]
    path = f"/invoices/{invoice_id}/payments"
    # a first partial payment
    first = rep.post(path, {"amount": "2000", "method": "alipay", "reference": "支付宝 0001"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["status"], body["paid_amount"], body["outstanding"]) == (
        "partial",
        "2000.00",
        "4780.00",
    )
    assert body["payments"][0]["method"] == "alipay"
    # more than is still due: refused, naming the amount and what is due
    over = rep.post(path, {"amount": "5000"})
    assert over.status_code == 422
    [error] = over.json()["detail"]
    assert error["field"] == "amount" and "4780.00 CNY still due" in error["message"]
    # malformed, negative, future or unknown-method payments are refused too
    for bad, field in [
        ({"amount": "12.345"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        (
            {"amount": "10", "paid_on": (timezone.localdate() + timedelta(days=1)).isoformat()},
            "paid_on",
        ),
        ({"amount": "10", "method": "bitcoin"}, "method"),
    ]:
        response = rep.post(path, bad)
        assert response.status_code == 422, (bad, response.content)
        assert error_fields(response) == {field}
    # the rest pays it
    paid = rep.post(path, {"amount": "4780.00"}).json()
    assert (paid["status"], paid["outstanding"]) == ("paid", "0.00")
    assert len(paid["payments"]) == 2
    assert Payment.objects.count() == 2
    # a paid receivable is listed as paid, not as open, and cannot be cancelled
    assert [i["id"] for i in rep.get("/invoices", show="paid").json()["items"]] == [invoice_id]
    assert rep.get("/invoices").json()["items"] == []
    assert rep.post(f"/invoices/{invoice_id}/cancel", {"reason": "x"}).status_code == 422


def test_overdue_list_and_customer_filter(users, rep, customer, pump):
    other = CustomerFactory(owner=users["rep1"])
    late = rep.post("/orders", _order_body(customer, pump, ordered_on="2025-01-01")).json()
    rep.post("/orders", _order_body(other, pump))
    overdue = rep.get("/invoices", show="overdue").json()["items"]
    assert [i["order"]["id"] for i in overdue] == [late["id"]]
    assert overdue[0]["overdue"] is True
    mine = rep.get("/invoices", customer_id=customer.pk, show="all").json()["items"]
    assert {i["customer"]["id"] for i in mine} == {customer.pk}


# --- warranties ---------------------------------------------------------------------------


def test_warranty_lookup_by_serial_customer_and_product(users, customer, pump):
    order = services.order_create(
        actor=users["rep1"],
        customer=customer,
        lines=[line(pump, "2", serial_numbers="SN-A\nSN-B")],
        data={"ordered_on": date(2024, 1, 1)},
    )
    services.order_set_status(
        actor=users["rep1"], order=order, status="delivered", on=date(2024, 1, 5)
    )
    Warranty.objects.filter(serial_number="SN-B").update(
        ends_on=timezone.localdate() + timedelta(days=1)
    )
    desk = Api(users["agent1"])
    # by serial number: the service desk sees any customer's
    [found] = desk.get("/warranties", serial="SN-A").json()
    assert found["customer"]["id"] == customer.pk and found["product"]["sku"] == "P-100"
    assert (found["starts_on"], found["ends_on"], found["status"]) == (
        "2024-01-05",
        "2025-01-05",
        "expired",
    )
    assert found["order_id"] == order.pk
    # by customer (and product): latest end first, in or expired against today
    listed = desk.get("/warranties", customer_id=customer.pk, product_id=pump.pk).json()
    assert [(w["serial_number"], w["status"]) for w in listed] == [
        ("SN-B", "in"),
        ("SN-A", "expired"),
    ]
    # nothing to look up by: a 422; nobody else's scope leaks
    assert desk.get("/warranties").status_code == 422
    assert desk.get("/warranties", serial="NOPE").json() == []
    assert Api(users["rep2"]).get("/warranties", serial="SN-A").json() == []
    assert Api(users["partner1"]).get("/warranties", customer_id=customer.pk).json() == []


# --- lists and pagination -----------------------------------------------------------------


def test_quote_pages_follow_the_cursor(rep, customer, pump):
    ids = [_create_quote(rep, customer, pump)["id"] for _ in range(5)]
    first = rep.get("/quotes", limit=2).json()
    assert first["has_more"] is True and len(first["items"]) == 2
    seen = [q["id"] for q in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = rep.get("/quotes", limit=2, cursor=cursor).json()
        seen += [q["id"] for q in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))
    assert rep.get("/quotes", cursor="not-a-cursor").status_code == 400
    assert error_fields(rep.get("/quotes", cursor="not-a-cursor")) == {"cursor"}


def test_quote_list_filters(users, rep, customer, pump):
    other = CustomerFactory(owner=users["rep1"], name="宁波港")
    mine = _create_quote(rep, customer, pump)
    theirs = _create_quote(rep, other, pump)
    rep.post(f"/quotes/{theirs['id']}/send", {})
    assert [q["id"] for q in rep.get("/quotes", customer_id=customer.pk).json()["items"]] == [
        mine["id"]
    ]
    assert [q["id"] for q in rep.get("/quotes", status="sent").json()["items"]] == [theirs["id"]]
    assert [q["id"] for q in rep.get("/quotes", q="宁波").json()["items"]] == [theirs["id"]]
    assert len(rep.get("/quotes", mine="true").json()["items"]) == 2
    assert rep.get("/quotes", status="nonsense").status_code == 422


@pytest.mark.parametrize("path", ["/quotes", "/orders", "/invoices"])
def test_list_query_count_is_constant(users, rep, customer, pump, path):
    def add(n):
        for _ in range(n):
            quote = services.quote_create(
                actor=users["rep1"], customer=customer, lines=[line(pump, "1")]
            )
            services.order_from_quote(actor=users["rep1"], quote=quote)

    add(2)
    rep.get(path, show="all")  # caches the token's user, permissions and scopes
    with CaptureQueriesContext(connection) as few:
        assert rep.get(path, show="all").status_code == 200
    add(8)
    with CaptureQueriesContext(connection) as many:
        response = rep.get(path, show="all")
    assert len(response.json()["items"]) == 10
    assert len(many) == len(few)


def test_order_pages_and_filters(users, rep, customer, pump):
    ids = [rep.post("/orders", _order_body(customer, pump)).json()["id"] for _ in range(3)]
    page = rep.get("/orders", limit=2).json()
    rest = rep.get("/orders", limit=2, cursor=page["next_cursor"]).json()
    assert [o["id"] for o in page["items"] + rest["items"]] == list(reversed(ids))
    assert rest["next_cursor"] is None and rest["has_more"] is False
    assert rep.get("/orders", status="delivered").json()["items"] == []
    assert len(rep.get("/orders", customer_id=customer.pk).json()["items"]) == 3


# --- products and price lists -------------------------------------------------------------


def test_products_catalogue(users, pump):
    admin = Api(users["admin"])
    created = admin.post(
        "/products",
        {"sku": "V-200", "name": "不锈钢阀门", "price": "450.50", "warranty_months": 24},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["price"], body["currency"], body["tax_rate"]) == ("450.50", "CNY", "0")
    # the SKU is unique, case-insensitively
    clash = admin.post("/products", {"sku": "v-200", "name": "重复"})
    assert clash.status_code == 422 and error_fields(clash) == {"sku"}
    for bad, field in [
        ({"sku": "X", "name": "x", "price": "-1"}, "price"),
        ({"sku": "X", "name": "x", "tax_rate": "101"}, "tax_rate"),
        ({"sku": "", "name": "x"}, "sku"),
        ({"sku": "X", "name": "x", "currency": "yuan"}, "currency"),
    ]:
        response = admin.post("/products", bad)
        assert response.status_code == 422 and field in error_fields(response), bad
    # reps see the catalogue but may not change it
    rep = Api(users["rep1"])
    assert rep.post("/products", {"sku": "R-1", "name": "x"}).status_code == 403
    assert rep.patch(f"/products/{pump.pk}", {"name": "x"}).status_code == 403
    off = admin.patch(f"/products/{pump.pk}", {"is_active": False}).json()
    assert off["is_active"] is False
    assert [p["sku"] for p in rep.get("/products").json()["items"]] == ["P-100", "V-200"]
    assert [p["sku"] for p in rep.get("/products", active="true").json()["items"]] == ["V-200"]
    assert [p["sku"] for p in rep.get("/products", q="famen").json()["items"]] == ["V-200"]
    page = rep.get("/products", limit=1).json()
    assert [p["sku"] for p in rep.get("/products", cursor=page["next_cursor"]).json()["items"]] == [
        "V-200"
    ]
    assert Api(users["partner1"]).get(f"/products/{pump.pk}").status_code == 404


def test_price_lists_set_the_quote_price(users, rep, customer, pump):
    admin = Api(users["admin"])
    created = admin.post("/price-lists", {"name": "大客户价", "customer_tier": "key"})
    assert created.status_code == 201, created.content
    pl = created.json()
    bad = admin.post(
        "/price-lists", {"name": "x", "valid_from": "2026-05-01", "valid_until": "2026-04-01"}
    )
    assert bad.status_code == 422 and error_fields(bad) == {"valid_until"}
    # when the pump costs 2600 on the key-customer list
    item = admin.post(f"/price-lists/{pl['id']}/items", {"product_id": pump.pk, "price": "2600"})
    assert item.status_code == 200, item.content
    assert item.json()["items"] == [
        {"product": {"id": pump.pk, "sku": "P-100", "name": "工业离心泵"}, "price": "2600.00"}
    ]
    assert (
        rep.post(
            f"/price-lists/{pl['id']}/items", {"product_id": pump.pk, "price": "1"}
        ).status_code
        == 403
    )
    unknown = admin.post(f"/price-lists/{pl['id']}/items", {"product_id": 999999, "price": "1"})
    assert unknown.status_code == 422 and error_fields(unknown) == {"product_id"}
    # then a key customer's quote is priced from it
    Customer.objects.filter(pk=customer.pk).update(tier=Customer.Tier.KEY)
    quote = rep.post(
        "/quotes", {"customer_id": customer.pk, "lines": [{"product_id": pump.pk, "quantity": 1}]}
    ).json()
    assert quote["lines"][0]["unit_price"] == "2600.00" and quote["price_list_id"] == pl["id"]
    # removing the price
    assert admin.delete(f"/price-lists/{pl['id']}/items/{pump.pk}").status_code == 204
    assert not PriceListItem.objects.exists()
    assert [p["name"] for p in rep.get("/price-lists").json()] == ["大客户价"]
    assert rep.get(f"/price-lists/{pl['id']}").json()["items"] == []
    assert Api(users["partner1"]).get("/price-lists").json() == []


def test_literal_types_match_the_model_choices():
    from guanxi.commerce.models import PriceList

    assert set(typing.get_args(schemas.QuoteStatus)) == set(Quote.Status.values)
    assert set(typing.get_args(schemas.OrderStatus)) == set(Order.Status.values)
    assert set(typing.get_args(schemas.InvoiceStatus)) == set(Invoice.Status.values)
    assert set(typing.get_args(schemas.PaymentMethod)) == set(Payment.Method.values)
    assert set(typing.get_args(schemas.Language)) == set(Quote.Language.values)
    tiers = {c for c, _label in PriceList._meta.get_field("customer_tier").choices}
    assert set(typing.get_args(schemas.CustomerTier)) == {"", *tiers}
