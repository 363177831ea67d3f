"""Quotes, orders, warranties, receivables and payments through the services."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from guanxi.activities.models import AuditEntry, Notification
from guanxi.commerce import services
from guanxi.commerce.models import (
    CollectionReminder,
    Invoice,
    Order,
    Policy,
    PriceListItem,
    Quote,
    Warranty,
)
from guanxi.commerce.pdf import quote_pdf
from guanxi.commerce.tests.factories import PriceListFactory, ProductFactory, line
from guanxi.core.models import DomainEvent
from guanxi.customers.models import Customer
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory
from guanxi.sales.tests.factories import OpportunityFactory, default_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep1"], team=users["rep1"].team, email="buy@wanhua.cn")


@pytest.fixture
def pump():
    return ProductFactory(sku="P-100", name="工业离心泵", price=Decimal("3000.00"))


def _quote(users, customer, pump, discount="0", **kwargs):
    return services.quote_create(
        actor=users["rep1"],
        customer=customer,
        lines=[line(pump, "2", discount_percent=discount)],
        **kwargs,
    )


def test_quote_totals_discount_and_tax_per_line(users, customer, pump):
    # given a product at 3000 with 13 % tax and a free-text service line
    # when rep1 quotes two pumps at 5 % off and installation at 800 without tax
    quote = services.quote_create(
        actor=users["rep1"],
        customer=customer,
        lines=[
            line(pump, "2", discount_percent="5"),
            line(None, "1", description="安装调试", unit_price="800", tax_rate="0"),
        ],
    )
    # then each line is priced, discounted and taxed, and the quote adds them up
    lines = list(quote.lines.all())
    assert lines[0].net_amount == Decimal("5700.00")
    assert lines[0].tax_amount == Decimal("741.00")
    assert lines[1].net_amount == Decimal("800.00")
    assert quote.subtotal == Decimal("6500.00")
    assert quote.discount_total == Decimal("300.00")
    assert quote.tax_total == Decimal("741.00")
    assert quote.total == Decimal("7241.00")
    assert quote.number.startswith(f"Q-{timezone.localdate().year}-")
    assert quote.status == Quote.Status.DRAFT
    assert quote.owner == users["rep1"]
    assert AuditEntry.objects.filter(customer_id=customer.pk, subject_type="quote").exists()


def test_bad_lines_are_named_field_by_field(users, customer, pump):
    with pytest.raises(ValidationError) as caught:
        services.quote_create(
            actor=users["rep1"],
            customer=customer,
            lines=[
                line(pump, "-1"),
                line(pump, "1", discount_percent="90"),
                line(None, "1", unit_price="5"),
                line(pump, "abc"),
            ],
        )
    errors = caught.value.message_dict
    assert "lines.0.quantity" in errors
    assert "highest allowed" in errors["lines.1.discount_percent"][0]
    assert "lines.2.description" in errors
    assert errors["lines.3.quantity"] == ["Enter a number."]
    assert not Quote.objects.exists()


def test_price_list_for_the_customer_tier_wins(users, customer, pump):
    general = PriceListFactory(name="通用")
    key = PriceListFactory(name="大客户", customer_tier=Customer.Tier.KEY)
    PriceListItem.objects.create(price_list=general, product=pump, price=Decimal("2900"))
    PriceListItem.objects.create(price_list=key, product=pump, price=Decimal("2600"))
    assert _quote(users, customer, pump).lines.get().unit_price == Decimal("2900")
    customer.tier = Customer.Tier.KEY
    customer.save()
    quote = _quote(users, customer, pump)
    assert quote.price_list == key
    assert quote.lines.get().unit_price == Decimal("2600")


def test_product_without_price_in_currency_asks_for_a_price(users, customer, pump):
    with pytest.raises(ValidationError) as caught:
        _quote(users, customer, pump, data={"currency": "USD"})
    assert "USD" in caught.value.message_dict["lines.0.unit_price"][0]


def test_big_discount_needs_approval_by_someone_else(users, customer, pump):
    # given a quote with 15 % off (threshold 10 %)
    quote = _quote(users, customer, pump, discount="15")
    assert services.quote_needs_approval(quote)
    # then it cannot be sent before approval
    with pytest.raises(ValidationError, match="approval"):
        services.quote_send(actor=users["rep1"], quote=quote)
    # when rep1 submits it, the manager (not rep1, not rep2's manager-less peers) is asked
    services.quote_submit(actor=users["rep1"], quote=quote)
    assert quote.status == Quote.Status.PENDING
    asked = set(
        Notification.objects.filter(kind=Notification.Kind.APPROVAL).values_list(
            "user__username", flat=True
        )
    )
    assert asked == {"admin", "manager"}
    # a rejection needs a reason
    with pytest.raises(ValidationError):
        services.quote_reject(actor=users["manager"], quote=quote, note=" ")
    services.quote_approve(actor=users["manager"], quote=quote, note="大客户")
    assert quote.status == Quote.Status.APPROVED
    assert quote.approved_by == users["manager"]
    assert AuditEntry.objects.filter(
        subject_type="quote", action=AuditEntry.Action.APPROVE
    ).exists()
    assert Notification.objects.filter(user=users["rep1"], kind="approval").exists()
    services.quote_send(actor=users["rep1"], quote=quote)
    assert quote.status == Quote.Status.SENT


def test_rejected_quote_goes_back_to_draft_when_changed(users, customer, pump):
    quote = _quote(users, customer, pump, discount="15")
    services.quote_submit(actor=users["rep1"], quote=quote)
    services.quote_reject(actor=users["manager"], quote=quote, note="太低")
    assert quote.status == Quote.Status.REJECTED
    services.quote_update(
        actor=users["rep1"], quote=quote, lines=[line(pump, "2", discount_percent="8")]
    )
    assert quote.status == Quote.Status.DRAFT
    assert not services.quote_needs_approval(quote)


def test_send_by_email_attaches_the_pdf(users, customer, pump, django_capture_on_commit_callbacks):
    quote = _quote(users, customer, pump)
    with django_capture_on_commit_callbacks(execute=True):
        services.quote_send(
            actor=users["rep1"], quote=quote, to=["buy@wanhua.cn"], message="请查收"
        )
    assert quote.status == Quote.Status.SENT
    sent = mail.outbox[-1]
    assert sent.to == ["buy@wanhua.cn"]
    name, content, mimetype = sent.attachments[0]
    assert name == f"{quote.number}-v1.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")


def test_pdf_in_chinese_and_english_embeds_the_cjk_font(users, customer, pump):
    quote = _quote(users, customer, pump, data={"terms": "付款方式：电汇"})
    chinese = quote_pdf(quote)
    quote.language = Quote.Language.EN
    english = quote_pdf(quote)
    for document in (chinese, english):
        assert document.startswith(b"%PDF")
        assert b"NotoSansCJK" in document
        assert len(document) < 200_000  # a subset, not the 19 MB font
    assert chinese != english


def test_expired_quote_cannot_be_sent_or_ordered(users, customer, pump):
    quote = _quote(users, customer, pump)
    Quote.objects.filter(pk=quote.pk).update(valid_until=date(2020, 1, 1))
    quote.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        services.quote_send(actor=users["rep1"], quote=quote)
    assert "valid_until" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.order_from_quote(actor=users["rep1"], quote=quote)
    assert "expired" in caught.value.message_dict["quote"][0]
    assert not Order.objects.exists()


def test_new_version_supersedes_and_copies_lines(users, customer, pump):
    quote = _quote(users, customer, pump)
    services.quote_send(actor=users["rep1"], quote=quote)
    second = services.quote_revise(actor=users["rep1"], quote=quote)
    quote.refresh_from_db()
    assert (second.number, second.version, second.status) == (quote.number, 2, "draft")
    assert quote.status == Quote.Status.SUPERSEDED
    assert second.lines.count() == 1
    assert second.total == quote.total


def test_order_from_quote_invoice_warranty_and_payments(
    users, customer, pump, django_capture_on_commit_callbacks
):
    # given an opportunity, its quote accepted by the customer
    opp = OpportunityFactory(
        customer=customer,
        owner=users["rep1"],
        pipeline=default_pipeline(),
        stage=default_pipeline().stages.first(),
    )
    quote = services.quote_create(
        actor=users["rep1"], customer=customer, opportunity=opp, lines=[line(pump, "2")]
    )
    services.quote_send(actor=users["rep1"], quote=quote)
    services.quote_accept(actor=users["rep1"], quote=quote)
    # when it becomes an order
    order = services.order_from_quote(actor=users["rep1"], quote=quote)
    # then the order copies the lines and totals, and one receivable is due after the terms
    assert order.total == quote.total == Decimal("6780.00")
    assert order.opportunity == opp
    invoice = order.invoices.get()
    assert invoice.amount == order.total
    assert invoice.due_on == order.ordered_on + timedelta(days=30)
    assert DomainEvent.objects.filter(name="order.created", subject_id=order.pk).exists()
    with pytest.raises(ValidationError, match="already"):
        services.order_from_quote(actor=users["rep1"], quote=quote)
    # when it is delivered with serial numbers, each unit gets a warranty
    line_ = order.lines.get()
    services.order_update(actor=users["rep1"], order=order, data={}, serials={line_.pk: "SN1, SN2"})
    services.order_set_status(
        actor=users["rep1"], order=order, status="delivered", on=order.ordered_on
    )
    warranties = Warranty.objects.filter(customer=customer).order_by("serial_number")
    assert [w.serial_number for w in warranties] == ["SN1", "SN2"]
    assert warranties[0].starts_on == order.ordered_on
    assert warranties[0].ends_on == services._add_months(order.ordered_on, 12)
    # partial payment, then more than is due, then the rest
    services.payment_record(actor=users["rep1"], invoice=invoice, amount="2000")
    assert invoice.status == Invoice.Status.PARTIAL
    with pytest.raises(ValidationError) as caught:
        services.payment_record(actor=users["rep1"], invoice=invoice, amount="5000")
    assert "still due" in caught.value.message_dict["amount"][0]
    services.payment_record(actor=users["rep1"], invoice=invoice, amount="4780")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert DomainEvent.objects.filter(name="payment.received").count() == 2
    # a paid order cannot be cancelled
    with pytest.raises(ValidationError):
        services.order_set_status(actor=users["rep1"], order=order, status="cancelled", reason="x")


def test_order_status_flow_is_enforced(users, customer, pump):
    order = services.order_create(actor=users["rep1"], customer=customer, lines=[line(pump, "1")])
    with pytest.raises(ValidationError) as caught:
        services.order_set_status(actor=users["rep1"], order=order, status="completed")
    assert "status" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.order_set_status(actor=users["rep1"], order=order, status="cancelled")
    assert "reason" in caught.value.message_dict
    services.order_set_status(
        actor=users["rep1"], order=order, status="cancelled", reason="客户撤单"
    )
    assert order.invoices.get().status == Invoice.Status.CANCELLED


def test_order_without_serials_gets_one_warranty_per_line(users, customer, pump):
    free = ProductFactory(warranty_months=0)
    order = services.order_create(
        actor=users["rep1"], customer=customer, lines=[line(pump, "3"), line(free, "1")]
    )
    services.order_set_status(actor=users["rep1"], order=order, status="delivered")
    assert Warranty.objects.filter(customer=customer).count() == 1


def test_invoices_never_exceed_the_order(users, customer, pump):
    order = services.order_create(actor=users["rep1"], customer=customer, lines=[line(pump, "1")])
    with pytest.raises(ValidationError) as caught:
        services.invoice_create(
            actor=users["rep1"], order=order, amount="1", due_on=timezone.localdate()
        )
    assert "not yet invoiced" in caught.value.message_dict["amount"][0]


def test_collection_reminders_follow_the_schedule_once_per_step(
    users, customer, pump, django_capture_on_commit_callbacks
):
    Policy.objects.update_or_create(pk=1, defaults={"remind_customers": True})
    users["rep1"].email = "rep1@example.com"
    users["rep1"].save()
    order = services.order_create(
        actor=users["rep1"],
        customer=customer,
        lines=[line(pump, "1")],
        data={"ordered_on": date(2026, 1, 1)},
    )
    invoice = order.invoices.get()
    due = invoice.due_on  # 31 January
    # three days before: the owner is told, not the customer
    with django_capture_on_commit_callbacks(execute=True):
        assert services.collection_reminders_send(today=due - timedelta(days=3)) == 1
    assert [m.to for m in mail.outbox] == [["rep1@example.com"]]
    # the same day again: nothing new
    assert services.collection_reminders_send(today=due - timedelta(days=3)) == 0
    # a week overdue after a missed run: only the latest step, to owner and customer
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.collection_reminders_send(today=due + timedelta(days=8)) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["buy@wanhua.cn", "rep1@example.com"]
    assert set(CollectionReminder.objects.values_list("offset_days", flat=True)) == {-3, 7}
    assert Notification.objects.filter(user=users["rep1"], kind="collection").count() == 2
    # paid invoices are left alone
    services.payment_record(actor=users["rep1"], invoice=invoice, amount=invoice.amount)
    assert services.collection_reminders_send(today=due + timedelta(days=40)) == 0


def test_quote_contact_must_belong_to_the_customer(users, customer, pump):
    stranger = ContactFactory()
    with pytest.raises(ValidationError) as caught:
        _quote(users, customer, pump, data={"contact": stranger})
    assert "contact" in caught.value.message_dict


def test_handover_moves_open_documents_only(users, customer, pump):
    open_quote = _quote(users, customer, pump)
    done = _quote(users, customer, pump)
    services.quote_accept(actor=users["rep1"], quote=done)
    order = services.order_from_quote(actor=users["rep1"], quote=done)
    counts = services.commerce_handover(
        actor=users["admin"], from_user=users["rep1"], to_users=[users["rep2"]]
    )
    assert counts == {"quotes": 1, "orders": 1, "invoices": 1}
    open_quote.refresh_from_db()
    done.refresh_from_db()
    order.refresh_from_db()
    assert open_quote.owner == users["rep2"]
    assert done.owner == users["rep1"]
    assert order.owner == users["rep2"]


def test_ordering_with_bad_dates_leaves_the_quote_as_it_was(users, customer, pump):
    quote = _quote(users, customer, pump)
    services.quote_send(actor=users["rep1"], quote=quote)
    with pytest.raises(ValidationError) as caught:
        services.order_from_quote(
            actor=users["rep1"],
            quote=quote,
            data={"ordered_on": date(2026, 11, 1), "delivery_due": date(2026, 10, 1)},
        )
    assert "delivery_due" in caught.value.message_dict
    quote.refresh_from_db()
    assert quote.status == Quote.Status.SENT
    with pytest.raises(ValidationError) as caught:
        services.order_create(
            actor=users["rep1"],
            customer=customer,
            lines=[line(pump)],
            data={"ordered_on": date(9999, 12, 1)},
        )
    assert "ordered_on" in caught.value.message_dict


def test_withdrawn_products_and_long_serials_are_refused(users, customer, pump):
    old = ProductFactory(is_active=False)
    with pytest.raises(ValidationError) as caught:
        _quote(users, customer, old)
    assert caught.value.message_dict["lines.0.product"] == ["This product is no longer on sale."]
    with pytest.raises(ValidationError) as caught:
        services.order_create(
            actor=users["rep1"],
            customer=customer,
            lines=[line(pump, "1", serial_numbers="X" * 101)],
        )
    assert "100 characters" in caught.value.message_dict["lines.0.serial_numbers"][0]


def test_correcting_serials_after_delivery_corrects_the_warranties(users, customer, pump):
    order = services.order_create(
        actor=users["rep1"], customer=customer, lines=[line(pump, "2", serial_numbers="A1, A2")]
    )
    services.order_set_status(actor=users["rep1"], order=order, status="delivered")
    order_line = order.lines.get()
    services.order_update(
        actor=users["rep1"], order=order, data={}, serials={order_line.pk: "A1, B2"}
    )
    warranties = Warranty.objects.filter(customer=customer)
    assert sorted(warranties.values_list("serial_number", flat=True)) == ["A1", "B2"]
    later = services.order_create(actor=users["rep1"], customer=customer, lines=[line(pump)])
    with pytest.raises(ValidationError) as caught:
        services.order_set_status(
            actor=users["rep1"],
            order=later,
            status="delivered",
            on=timezone.localdate() + timedelta(days=30),
        )
    assert "on" in caught.value.message_dict


def test_product_and_price_list_changes_are_logged(users, pump):
    services.product_save(actor=users["manager"], product=pump, data={"price": Decimal("3100")})
    product_entry = AuditEntry.objects.filter(subject_type="product").latest("id")
    assert product_entry.changes == {"price": ["3000.00", "3100"]}
    price_list = services.price_list_save(
        actor=users["manager"], data={"name": "经销商价", "currency": "cny"}
    )
    assert price_list.currency == "CNY"
    set_price = services.price_list_item_set
    set_price(actor=users["manager"], price_list=price_list, product=pump, price="2800")
    set_price(actor=users["manager"], price_list=price_list, product=pump, price=None)
    entries = AuditEntry.objects.filter(subject_type="pricelist").order_by("id")
    assert [e.action for e in entries] == ["create", "update", "update"]
    assert entries[2].changes == {str(pump): ["2800.00", None]}
