"""Demo opportunities for ``make demo`` (wired in by the demo data command)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.sales import services
from guanxi.sales.models import Opportunity, Stage, StageChange
from guanxi.users.models import User

SEED = 20240618
PRODUCTS = [
    "数控机床",
    "工业机器人",
    "PLC 控制系统",
    "伺服电机",
    "激光切割设备",
    "自动化产线改造",
    "MES 系统",
    "质检视觉系统",
    "备件年度采购",
    "设备维保合同",
]
COMPETITORS = ["西门子", "发那科", "汇川技术", "大族激光", "ABB", "埃斯顿", ""]
NEXT_STEPS = [
    "发送报价单",
    "安排技术交流",
    "客户现场考察",
    "确认采购预算",
    "提交投标文件",
    "约见采购总监",
]


def demo_opportunities(users: dict[str, User], customers: list[Customer]) -> int:
    """Create about 150 opportunities across the default pipeline's stages for rep1, rep2
    and manager, with CNY amounts and stage histories; deterministic. Returns how many."""
    owners = [users[k] for k in ("rep1", "rep2", "manager") if k in users]
    if not owners or not customers:
        return 0
    rng = random.Random(SEED)
    pipeline = services.pipeline_default()
    if pipeline is None:
        return 0
    stages = list(pipeline.stages.order_by("order", "id"))
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    today = timezone.localdate()
    created = 0
    with transaction.atomic():
        for n in range(150):
            owner = owners[n % len(owners)]
            customer = customers[rng.randrange(len(customers))]
            product = rng.choice(PRODUCTS)
            amount = Decimal(rng.randrange(20, 3000) * 1000)
            opp = services.opportunity_create(
                actor=owner,
                data={
                    "name": f"{customer.name} · {product}",
                    "customer": customer,
                    "owner": owner,
                    "amount": amount,
                    "expected_close_date": today + timedelta(days=rng.randrange(-60, 300)),
                    "intent": rng.choice("ABCD"),
                    "forecast_category": rng.choice(
                        ["pipeline", "pipeline", "best_case", "commit", "omitted"]
                    ),
                    "products_of_interest": product,
                    "competitors": rng.choice(COMPETITORS),
                    "next_step": rng.choice(NEXT_STEPS),
                    "next_step_date": today + timedelta(days=rng.randrange(1, 21)),
                },
            )
            roll = rng.random()
            if roll < 0.12:
                target, reason = won, rng.choice(["price", "relationship", "product_fit"])
            elif roll < 0.22:
                target, reason = lost, rng.choice(["price", "competitor", "no_budget"])
            else:
                target, reason = open_stages[rng.randrange(len(open_stages))], ""
            for stage in open_stages:
                if stage.order > (target.order if target.kind == Stage.Kind.OPEN else 99):
                    break
                if stage.pk != opp.stage_id:
                    services.opportunity_move(actor=owner, opportunity=opp, stage=stage)
            if target.kind != Stage.Kind.OPEN:
                services.opportunity_move(
                    actor=owner, opportunity=opp, stage=target, win_loss_reason=reason
                )
            # Spread the history over the past weeks so durations in stage look real.
            days_back = rng.randrange(5, 120)
            changes = list(StageChange.objects.filter(opportunity=opp).order_by("id"))
            step = max(1, days_back // max(1, len(changes)))
            moment = timezone.now() - timedelta(days=days_back)
            previous = None
            for change in changes:
                change.changed_at = moment
                change.seconds_in_previous_stage = (
                    int((moment - previous).total_seconds()) if previous else None
                )
                previous = moment
                moment += timedelta(days=step, hours=rng.randrange(0, 24))
            StageChange.objects.bulk_update(changes, ["changed_at", "seconds_in_previous_stage"])
            Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=previous)
            created += 1
    return created
