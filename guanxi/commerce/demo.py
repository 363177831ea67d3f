"""Demo products, quotes, orders, receivables and payments for ``make demo`` (wired in by
the demo data command): deterministic, through the services, so the timelines are real."""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from guanxi.commerce import services
from guanxi.commerce.models import (
    Invoice,
    Order,
    Payment,
    Policy,
    PriceList,
    PriceListItem,
    Product,
    Quote,
)
from guanxi.commerce.services import LineInput
from guanxi.customers.models import Customer
from guanxi.sales.models import Opportunity
from guanxi.users.models import User

SEED = 20241111
# SKU, name, unit, list price (CNY), tax rate, warranty months
CATALOGUE = [
    ("CNC-V850", "立式加工中心 V850", "台", "468000", "13", 24),
    ("CNC-L400", "数控车床 L400", "台", "236000", "13", 24),
    ("ROB-6A20", "六轴工业机器人 20kg", "台", "158000", "13", 18),
    ("PLC-S7X", "PLC 控制系统 S7X", "套", "38600", "13", 12),
    ("SRV-2K", "伺服电机 2kW", "台", "4200", "13", 12),
    ("LAS-3015", "光纤激光切割机 3015", "台", "520000", "13", 24),
    ("VIS-QC1", "质检视觉系统 QC1", "套", "86000", "13", 12),
    ("MES-STD", "MES 系统标准版（许可）", "套", "280000", "6", 0),
    ("SVC-INST", "安装调试服务", "人天", "2800", "6", 0),
    ("SVC-MAINT", "设备年度维保合同", "年", "36000", "6", 0),
    ("SPR-KIT", "备件包（常用易损件）", "套", "6800", "13", 6),
    ("TRN-OPS", "操作培训", "人天", "1800", "6", 0),
]


def demo_commerce(users: dict[str, User]) -> dict[str, int]:
    """The catalogue, a price list for key customers, and for the demo opportunities:
    quotes in every state (one awaiting the manager's approval), orders from the won ones,
    some delivered with warranties, receivables paid, partly paid and overdue."""
    rng = random.Random(SEED)
    today = timezone.localdate()
    counts = {"products": 0, "quotes": 0, "orders": 0, "payments": 0}
    with transaction.atomic():
        policy = services.policy_get()
        Policy.objects.filter(pk=policy.pk).update(
            seller_name="华东智能装备有限公司",
            seller_details="上海市浦东新区张江路 88 号 · 电话 021-5080 8888\n"
            "开户行：招商银行上海张江支行 · 账号 1219 0888 8888 001",
        )
        products = []
        for sku, name, unit, price, tax, warranty in CATALOGUE:
            product, created = Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "unit": unit,
                    "price": Decimal(price),
                    "tax_rate": Decimal(tax),
                    "warranty_months": warranty,
                },
            )
            if created:
                services.product_save(actor=users["admin"], product=product, data={})
                counts["products"] += 1
            products.append(product)
        key_list, _ = PriceList.objects.get_or_create(
            name="大客户价 2026", defaults={"currency": "CNY", "customer_tier": Customer.Tier.KEY}
        )
        for product in products:
            PriceListItem.objects.get_or_create(
                price_list=key_list,
                product=product,
                defaults={"price": (product.price * Decimal("0.95")).quantize(Decimal("1"))},
            )
        hardware = [p for p in products if p.warranty_months]
        services_ = [p for p in products if not p.warranty_months]
        mine = Opportunity.objects.filter(
            owner__in=[users["rep1"], users["rep2"], users["manager"]]
        ).select_related("customer", "owner")
        opportunities = [
            *mine.filter(status=Opportunity.Status.WON).order_by("pk")[:30],
            *mine.filter(status=Opportunity.Status.OPEN).order_by("pk")[:36],
        ]
        pending_done = False
        for n, opp in enumerate(opportunities):
            actor = opp.owner or users["rep1"]
            lines = [
                LineInput(product=rng.choice(hardware), quantity=rng.randrange(1, 4)),
                LineInput(product=rng.choice(services_), quantity=rng.randrange(1, 6)),
            ]
            won = opp.status == Opportunity.Status.WON
            discount = "15" if not won and not pending_done and actor == users["rep1"] else "5"
            lines[0].discount_percent = discount
            quote = services.quote_create(
                actor=actor, customer=opp.customer, opportunity=opp, lines=lines
            )
            counts["quotes"] += 1
            if discount == "15":
                services.quote_submit(actor=actor, quote=quote)
                pending_done = True
                continue
            if not won:
                if n % 3:
                    services.quote_send(actor=actor, quote=quote)
                continue
            services.quote_send(actor=actor, quote=quote)
            services.quote_accept(actor=actor, quote=quote)
            ordered_on = today - timedelta(days=rng.randrange(10, 120))
            order = services.order_from_quote(
                actor=actor,
                quote=quote,
                data={"ordered_on": ordered_on, "delivery_due": ordered_on + timedelta(days=30)},
            )
            counts["orders"] += 1
            if ordered_on + timedelta(days=20) < today:
                services.order_set_status(
                    actor=actor,
                    order=order,
                    status=Order.Status.DELIVERED,
                    on=ordered_on + timedelta(days=rng.randrange(10, 20)),
                )
            invoice = Invoice.objects.get(order=order)
            roll = rng.random()
            paid_on = min(today, invoice.due_on - timedelta(days=rng.randrange(0, 10)))
            if roll < 0.4:
                amount = invoice.amount
            elif roll < 0.7:
                amount = (invoice.amount * Decimal("0.3")).quantize(Decimal("0.01"))
            else:
                continue  # unpaid: overdue once its due date has passed
            services.payment_record(
                actor=actor,
                invoice=invoice,
                amount=amount,
                paid_on=max(paid_on, order.ordered_on),
                method=rng.choice(list(Payment.Method.values[:3])),
                reference=f"HD{order.pk:06d}",
            )
            counts["payments"] += 1
    return counts


def commerce_remove(customer_ids: list[int]) -> None:
    """Delete the quotes, orders, receivables and payments of these customers (demo reset)."""
    Payment.objects.filter(invoice__customer_id__in=customer_ids).delete()
    Invoice.objects.filter(customer_id__in=customer_ids).delete()
    Order.objects.filter(customer_id__in=customer_ids).delete()
    Quote.objects.filter(customer_id__in=customer_ids).delete()
