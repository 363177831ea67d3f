#!/usr/bin/env python3
"""Seed a customer benchmark database with a sales history: opportunities, stage changes,
follow-ups, audit entries and meetings, written with ``COPY`` (for benchmarks only).

    .venv/bin/python bench/seed_sales.py --db guanxi_bench_1m \
        [--opportunities 2000000] [--activities 10000000] [--extra-reps 100] [--force]

Needs a database set up by ``bench/setup_db.sh`` (demo users, 18 bench reps, customers) and
migrated. What it writes, all relative to ``--now`` (default: the current minute):

* ``--extra-reps`` more sales reps (rep21, rep22, …; password ``guanxi-demo``) spread over
  上海组, 杭州组 and 华北销售部 like the bench reps, so that a rep's book and day look like a
  real rep's (~16,000 opportunities and ~20 follow-ups a day each with the defaults);
* opportunities on the default pipeline: each on a random customer, owned by a sales user
  of the customer owner's team (reps weigh 4, managers 1), expected close dates from 18
  months ago to 6 months ahead, created 20–200 days before; past ones mostly won (35 %) or
  lost with a reason and ``closed_at``, future ones mostly open, spread over the open
  stages; ``stage_entered_at``, probability and ``updated_at`` follow the stage history;
* one ``StageChange`` per stage reached (the first from no stage, as ``opportunity_create``
  records it) and one audit entry per creation and per move, as the services write them;
* follow-ups on the opportunity (and its customer) by its owner: done ones (outcome, summary,
  duration; most of them planned first) between the opportunity's creation and its close
  (or now), 2 % cancelled, and for 40 % of the open opportunities one open plan due in
  office hours (Asia/Shanghai) from 30 days ago (overdue) to 60 days ahead; one audit entry
  each (the record for done ones, the plan for the others). Their number is chosen so that
  follow-ups + audit entries written = ``--activities``;
* meetings (if the table exists): 0–3 per sales user and weekday from 60 days ago to 30
  days ahead (2–4 today), about a customer of theirs, 30 % with a colleague attending.

Every row satisfies the models' check constraints. One transaction for the opportunities,
follow-ups and audit entries (secondary indexes and foreign keys dropped first and rebuilt
at the end — rebuilding a foreign key validates every row; then ``VACUUM (ANALYZE)``), one
for the meetings; each
phase refuses to run when its table already holds seeded rows, unless ``--force``, so a
re-run after a failure resumes at the phase that failed. Deterministic for a given
``--seed`` and ``--now``. Prints rows/s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from bisect import bisect
from collections import defaultdict
from datetime import UTC, date, datetime
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHANGHAI = 8 * 3600  # Asia/Shanghai has no daylight saving time
DAY = 86400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
ALREADY_SEEDED = 10_000  # more rows than demo_data makes: treat the table as seeded

METHODS = ["call"] * 5 + ["wechat"] * 3 + ["visit"] * 2 + ["email", "meeting", "other"]
OUTCOMES = ["reached"] * 4 + ["interested"] * 2 + ["appointment", "not_reached", "not_reached"]
OUTCOMES += ["not_interested", "other"]
PLANS = ["确认报价", "回访使用情况", "约下周拜访", "发送产品资料", "催收尾款", "了解采购计划"]
PLANS += ["确认技术方案", "邀请参加展会", "跟进合同条款", "安排样机试用"]
SUMMARIES = [
    "客户对方案基本认可，需内部审批。",
    "采购经理出差，下周再联系。",
    "已发送报价单，客户要求再降 5%。",
    "技术部提出两个问题，已转给售前。",
    "客户预算下季度才批，先保持联系。",
    "电话无人接听，已发微信留言。",
    "现场拜访，见到了生产总监，需求明确。",
    "客户在比较两家供应商，价格是关键。",
]
WON_REASONS = ["price", "relationship", "product_fit", "service", "delivery", "other"]
LOST_REASONS = ["price", "competitor", "no_budget", "no_decision", "product_fit", "other"]
FORECAST = ["pipeline"] * 11 + ["best_case"] * 4 + ["commit"] * 3 + ["omitted"] * 2
TOPICS = ["方案讲解", "商务洽谈", "技术交流", "合同评审", "季度回顾", "现场演示", "需求调研"]
PLACES = ["客户会议室", "公司 3 楼会议室", "腾讯会议", "客户工厂", "展厅"]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", default="guanxi_bench_1m", help="PostgreSQL database on 127.0.0.1")
    ap.add_argument("--opportunities", type=int, default=2_000_000)
    ap.add_argument(
        "--activities",
        type=int,
        default=10_000_000,
        help="Follow-ups + audit entries to write (default 10,000,000)",
    )
    ap.add_argument("--extra-reps", type=int, default=100, help="Sales reps to add (rep21, …)")
    ap.add_argument("--batch", type=int, default=10_000, help="Opportunities per batch")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--now", default="", help="ISO time the data is relative to (default: now)")
    ap.add_argument(
        "--phases", default="opportunities,meetings", help="Comma-separated phases to run"
    )
    ap.add_argument("--force", action="store_true", help="Seed even if the tables hold data")
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    if not args.db.startswith("guanxi_bench"):
        sys.exit(f"refusing to seed {args.db}: use a database named guanxi_bench*")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("seed_sales.py writes with COPY: PostgreSQL only")
    now = (
        datetime.fromisoformat(args.now).astimezone(UTC)
        if args.now
        else datetime.now(UTC).replace(second=0, microsecond=0)
    )
    seeder = SalesSeeder(args, int(now.timestamp()))
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    seeder.ensure_reps()
    if "opportunities" in phases:
        seeder.seed_opportunities()
    if "meetings" in phases:
        seeder.seed_meetings()
    return 0


def ts_dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# COPY text for timestamps and dates, from tables: psycopg's datetime dumper costs ~10 µs a
# value, which made it the largest cost of the whole seed.
_TIME_OF_DAY = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
_DAYS: dict[int, str] = {}
_DATES: dict[int, str] = {}


def T(ts: int) -> str:
    """``ts`` (epoch seconds) as COPY text of a timestamptz."""
    day = ts // DAY
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = date.fromordinal(day + EPOCH_ORDINAL).isoformat() + " "
    return text + _TIME_OF_DAY[ts - day * DAY]


def D(ordinal: int) -> str:
    """A proleptic ordinal day as COPY text of a date."""
    text = _DATES.get(ordinal)
    if text is None:
        text = _DATES[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def local_day_start(day_ordinal: int) -> int:
    """Epoch seconds of 00:00 Asia/Shanghai on the given proleptic ordinal day."""
    return (day_ordinal - EPOCH_ORDINAL) * DAY - SHANGHAI


def local_ordinal(ts: int) -> int:
    return (ts + SHANGHAI) // DAY + EPOCH_ORDINAL


def office_time(rng: random.Random, day_ordinal: int) -> int:
    """A half-hour slot between 09:00 and 17:30 Shanghai time on that day."""
    return local_day_start(day_ordinal) + 9 * 3600 + rng.randrange(18) * 1800


class Columns:
    """The COPY column list of a model, checked against its concrete fields so that a
    column added later is an error here rather than a silent NULL."""

    def __init__(self, model, columns: list[str], *, with_id: bool) -> None:
        expected = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        missing = set(expected) - set(columns)
        unknown = set(columns) - set(expected) - {"id"}
        if missing or unknown:
            raise SystemExit(
                f"{model._meta.label}: seed_sales.py is out of date with the model "
                f"(missing columns {sorted(missing)}, unknown {sorted(unknown)})"
            )
        self.table = model._meta.db_table
        self.columns = (["id"] if with_id else []) + columns
        self.sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"


class SalesSeeder:
    def __init__(self, args: argparse.Namespace, now: int) -> None:
        from django.db import connection

        self.args = args
        self.now = now
        self.today = local_ordinal(now)
        self.rng = random.Random(args.seed)
        self.connection = connection
        self.rows: dict[str, int] = defaultdict(int)

    def log(self, text: str) -> None:
        print(text, flush=True)

    # --- users --------------------------------------------------------------------------

    def ensure_reps(self) -> None:
        """``--extra-reps`` more sales reps in the three bench teams (idempotent)."""
        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import Group

        from guanxi.users import roles
        from guanxi.users.models import Team, User

        group = Group.objects.get(name=roles.SALES_REP)
        names = ("上海组", "杭州组", "华北销售部")
        teams = list(Team.objects.filter(name__in=names).order_by("pk"))
        if not teams:
            sys.exit("no bench teams (上海组, 杭州组, 华北销售部): run bench/setup_db.sh first")
        password = make_password("guanxi-demo")
        added = 0
        for i in range(21, 21 + self.args.extra_reps):
            user, created = User.objects.get_or_create(
                username=f"rep{i}",
                defaults={
                    "display_name": f"销售{i}",
                    "password": password,
                    "team": teams[i % len(teams)],
                    "language": "zh-hans",
                    "time_zone": "Asia/Shanghai",
                },
            )
            if created:
                user.groups.add(group)
                added += 1
        if added:
            self.log(f"added {added} sales reps")

    def _sales_users(self) -> tuple[dict, list, list]:
        """(user id → (team id, label), every (user id, weight), [(team id, members)]):
        active sales users, reps weighing 4 and managers 1."""
        from guanxi.users import roles
        from guanxi.users.models import User

        users = list(
            User.objects.filter(
                is_active=True, groups__name__in=(roles.SALES_REP, roles.SALES_MANAGER)
            )
            .distinct()
            .order_by("pk")
        )
        reps = set(User.objects.filter(groups__name=roles.SALES_REP).values_list("pk", flat=True))
        info = {u.pk: (u.team_id, str(u)) for u in users}
        by_team: dict[int | None, list[tuple[int, int]]] = defaultdict(list)
        for u in users:
            by_team[u.team_id].append((u.pk, 4 if u.pk in reps else 1))
        every = [(u.pk, 4 if u.pk in reps else 1) for u in users]
        return info, every, list(by_team.items())

    # --- opportunities, stage changes, follow-ups, audit entries ---------------------------

    def seed_opportunities(self) -> None:
        from django.db import transaction
        from django.utils import translation

        from guanxi.activities.models import AuditEntry, FollowUp
        from guanxi.customers.models import Channel
        from guanxi.sales.demo import COMPETITORS, NEXT_STEPS, PRODUCTS
        from guanxi.sales.models import Opportunity, Pipeline, StageChange

        existing = Opportunity.objects.count()
        if existing >= ALREADY_SEEDED and not self.args.force:
            self.log(f"opportunities: {existing:,} already there — skipped (--force to add more)")
            return
        if FollowUp.objects.count() >= ALREADY_SEEDED and not self.args.force:
            self.log("follow-ups already seeded — skipped (--force to add more)")
            return
        pipeline = Pipeline.objects.filter(is_default=True).first()
        if pipeline is None:
            sys.exit("no default pipeline: migrate first")
        stages = list(pipeline.stages.order_by("order", "id"))
        open_stages = [s for s in stages if s.kind == "open"]
        won = next(s for s in stages if s.kind == "won")
        lost = next(s for s in stages if s.kind == "lost")
        channels = list(Channel.objects.filter(is_active=True).values_list("pk", flat=True))
        with translation.override("zh-hans"):
            method_label = {m.value: str(m.label) for m in FollowUp.Method}
        info, every, team_pools = self._sales_users()
        pools = {}
        for team_id, members in team_pools:
            ids = [m[0] for m in members]
            pools[team_id] = (ids, list(accumulate(m[1] for m in members)))
        every_pool = ([m[0] for m in every], list(accumulate(m[1] for m in every)))
        self.log(
            f"{len(info)} sales users in {len(pools)} teams; "
            f"now = {ts_dt(self.now):%Y-%m-%d %H:%M} UTC"
        )

        rng = self.rng
        started = time.perf_counter()
        customers = self._customers(info)
        self.log(f"loaded {len(customers[0]):,} customers in {time.perf_counter() - started:.1f}s")
        c_ids, c_names, c_teams = customers
        n_customers = len(c_ids)

        opp_cols = Columns(
            Opportunity,
            [
                "created_at", "updated_at", "name", "customer_id", "contact_id", "pipeline_id",
                "stage_id", "amount", "currency", "probability", "expected_close_date", "intent",
                "forecast_category", "products_of_interest", "competitors", "next_step",
                "next_step_date", "channel_id", "lead_id", "owner_id", "team_id", "status",
                "win_loss_reason", "win_loss_note", "closed_at", "stage_entered_at",
                "deleted_at",
            ],
            with_id=True,
        )  # fmt: skip
        change_cols = Columns(
            StageChange,
            ["opportunity_id", "from_stage_id", "to_stage_id", "actor_id", "changed_at",
             "seconds_in_previous_stage"],
            with_id=False,
        )  # fmt: skip
        audit_cols = Columns(
            AuditEntry,
            ["customer_id", "subject_type", "subject_id", "subject_label", "action", "actor_id",
             "changes", "message", "created_at"],
            with_id=False,
        )  # fmt: skip
        fu_cols = Columns(
            FollowUp,
            ["owner_id", "customer_id", "lead_id", "opportunity_id", "method", "due_at", "plan",
             "done_at", "outcome", "summary", "duration_minutes", "cancelled_at", "created_by_id",
             "created_at", "updated_at"],
            with_id=False,
        )  # fmt: skip
        tables = [opp_cols.table, change_cols.table, fu_cols.table, audit_cols.table]
        prob = {s.pk: s.probability for s in stages}
        stage_json = {s.pk: json.dumps(s.name, ensure_ascii=False) for s in stages}
        owner_json = {pk: json.dumps(label, ensure_ascii=False) for pk, (_t, label) in info.items()}

        total_n = self.args.opportunities
        budget = self.args.activities
        written = 0  # follow-ups + audit entries so far
        done_fu = 0  # done follow-ups so far (the adjustable part)
        per_batch_log = max(self.args.batch, total_n // 20)
        last_log = 0
        now = self.now
        today = self.today

        with transaction.atomic(), self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            notes: list[str] = []
            dropped = self._drop_indexes_and_keys(cursor, tables)
            copy_started = time.perf_counter()
            done_n = 0
            while done_n < total_n:
                n = min(self.args.batch, total_n - done_n)
                first_id = self._reserve(cursor, opp_cols.table, n)
                # Done follow-ups per opportunity so that the budget comes out right.
                remaining = budget - written
                base = (written - 2 * done_fu) / done_n if done_n else 4.0
                fu_mean = max(0.0, (remaining / (total_n - done_n) - base) / 2)
                opps, changes, audits, fus = [], [], [], []
                for k in range(n):
                    opp_id = first_id + k
                    ci = rng.randrange(n_customers)
                    customer_id, cname = c_ids[ci], c_names[ci]
                    ids, cum = pools.get(c_teams[ci], every_pool)
                    owner_id = ids[bisect(cum, rng.random() * cum[-1])]
                    team_id = info[owner_id][0]
                    # Expected close from 18 months ago to 6 months ahead; created before.
                    close_day = today + rng.randrange(-548, 183)
                    created = local_day_start(close_day - rng.randrange(20, 201)) + rng.randrange(
                        8 * 3600, 19 * 3600
                    )
                    if created > now - 3600:
                        created = now - 3600 - rng.randrange(30 * DAY)
                    # Past ones mostly closed, future ones mostly open.
                    closed = rng.random() < (0.9 if close_day < today else 0.04)
                    if closed:
                        is_won = rng.random() < 0.35
                        closed_at = local_day_start(close_day) + rng.randrange(9 * 3600, 19 * 3600)
                        closed_at = max(closed_at, created + 3 * DAY)
                        if closed_at > now - 60:  # closed early, before its expected date
                            closed_at = created + 60 + rng.randrange(max(1, now - 120 - created))
                        reached = 4 if is_won else 1 + int(rng.random() ** 2 * 4)
                        path = open_stages[:reached]
                        final = won if is_won else lost
                        status = "won" if is_won else "lost"
                        reason = rng.choice(WON_REASONS if is_won else LOST_REASONS)
                        end = closed_at
                    else:
                        path = open_stages[: 1 + min(3, int(rng.random() ** 1.6 * 4))]
                        final = None
                        status, reason, closed_at = "open", "", None
                        end = created + int((now - created) * (0.3 + 0.7 * rng.random()))
                    stops = [s.pk for s in path] + ([final.pk] if final else [])
                    moves = len(stops)
                    step = (end - created) // moves if moves > 1 else 0
                    jitter = max(1, step // 2)
                    times = [created] + [
                        created + step * j + rng.randrange(jitter) for j in range(1, moves)
                    ]
                    if final:
                        times[-1] = end
                    stage = final or path[-1]
                    amount = max(1000, int(round(math.exp(rng.gauss(12.0, 1.0)), -2)))
                    product = rng.choice(PRODUCTS)
                    name = f"{cname} · {product}"[:200]
                    name_json = json.dumps(name, ensure_ascii=False)
                    updated = times[-1]
                    if not closed:  # touched since: up to 10 days later, not after now
                        updated += rng.randrange(max(1, min(DAY * 10, now - 60 - updated)))
                    open_ = status == "open"
                    category = "commit" if status == "won" else "omitted"
                    opps.append(
                        (
                            opp_id, T(created), T(updated), name, customer_id, None,
                            pipeline.pk, stage.pk, amount, "CNY", stage.probability,
                            D(close_day), rng.choice("ABCD") if open_ or rng.random() < 0.5 else "",
                            rng.choice(FORECAST) if open_ else category,
                            product, rng.choice(COMPETITORS),
                            rng.choice(NEXT_STEPS) if open_ else "",
                            D(today + rng.randrange(1, 22)) if open_ else None,
                            rng.choice(channels) if channels and rng.random() < 0.4 else None,
                            None, owner_id, team_id, status, reason, "",
                            T(closed_at) if closed_at else None, T(times[-1]), None,
                        )
                    )  # fmt: skip
                    label_owner = owner_json[owner_id]
                    audits.append(
                        (
                            customer_id, "opportunity", opp_id, name, "create", owner_id,
                            f'{{"name": [null, {name_json}], '
                            f'"stage": [null, {stage_json[stops[0]]}], '
                            f'"amount": [null, "{amount}.00"], "owner": [null, {label_owner}]}}',
                            "", T(created),
                        )
                    )  # fmt: skip
                    previous = None
                    for j, (stop, at) in enumerate(zip(stops, times, strict=True)):
                        changes.append(
                            (
                                opp_id, previous, stop, owner_id, T(at),
                                at - times[j - 1] if j else None,
                            )
                        )  # fmt: skip
                        if j:
                            extra = ""
                            if final and stop == final.pk:
                                extra = (
                                    f', "status": ["open", "{status}"], '
                                    f'"win_loss_reason": [null, "{reason}"]'
                                )
                            audits.append(
                                (
                                    customer_id, "opportunity", opp_id, name, "update", owner_id,
                                    f'{{"stage": [{stage_json[previous]}, {stage_json[stop]}], '
                                    f'"probability": [{prob[previous]}, {prob[stop]}]{extra}}}',
                                    "", T(at),
                                )
                            )  # fmt: skip
                        previous = stop
                    # Follow-ups on the customer by the owner, during the opportunity's life.
                    k_done = int(fu_mean * 2 * rng.random() + rng.random())
                    span = max(1, end - created)
                    for _ in range(k_done):
                        done_at = created + rng.randrange(span)
                        method = rng.choice(METHODS)
                        planned = rng.random() < 0.7
                        due = done_at - rng.randrange(-3600, 2 * DAY) if planned else None
                        made = due - rng.randrange(3 * DAY) if due is not None else done_at
                        done_fu += 1
                        if rng.random() < 0.02:  # cancelled: a plan that never happened
                            fus.append(
                                (
                                    owner_id, customer_id, None, opp_id, method, T(done_at),
                                    rng.choice(PLANS), None, "", "", None, T(done_at),
                                    owner_id, T(made if planned else done_at - DAY), T(done_at),
                                )
                            )  # fmt: skip
                            audits.append(
                                (
                                    customer_id, "customer", customer_id, cname, "plan", owner_id,
                                    f'{{"follow_up": [null, "{method_label[method]}"]}}', "",
                                    T(made if planned else done_at - DAY),
                                )
                            )  # fmt: skip
                            continue
                        outcome = rng.choice(OUTCOMES)
                        summary = rng.choice(SUMMARIES)
                        fus.append(
                            (
                                owner_id, customer_id, None, opp_id, method,
                                T(due) if due else None, rng.choice(PLANS) if planned else "",
                                T(done_at), outcome,
                                summary, rng.randrange(2, 61), None, owner_id, T(made),
                                T(done_at),
                            )
                        )  # fmt: skip
                        audits.append(
                            (
                                customer_id, "customer", customer_id, cname, "follow_up", owner_id,
                                f'{{"follow_up": [null, "{method_label[method]}"], '
                                f'"outcome": [null, "{outcome}"]}}',
                                summary, T(done_at),
                            )
                        )  # fmt: skip
                    if open_ and rng.random() < 0.4:
                        # The next planned follow-up: overdue (a quarter) or in 60 days.
                        if rng.random() < 0.25:
                            due_day = today - 1 - rng.randrange(30)
                        else:
                            due_day = today + rng.randrange(60)
                        due = office_time(rng, due_day)
                        made = min(now - 60, max(created, due - rng.randrange(1, 15) * DAY))
                        method = rng.choice(METHODS)
                        plan = rng.choice(PLANS)
                        fus.append(
                            (
                                owner_id, customer_id, None, opp_id, method, T(due), plan, None, "",
                                "", None, None, owner_id, T(made), T(made),
                            )
                        )  # fmt: skip
                        audits.append(
                            (
                                customer_id, "customer", customer_id, cname, "plan", owner_id,
                                f'{{"follow_up": [null, "{method_label[method]}"], '
                                f'"owner": [null, {label_owner}]}}',
                                plan, T(made),
                            )
                        )  # fmt: skip
                self._copy(cursor, opp_cols, opps)
                self._copy(cursor, change_cols, changes)
                self._copy(cursor, fu_cols, fus)
                self._copy(cursor, audit_cols, audits)
                written += len(fus) + len(audits)
                done_n += n
                if done_n - last_log >= per_batch_log or done_n == total_n:
                    last_log = done_n
                    seconds = time.perf_counter() - copy_started
                    rows = sum(self.rows.values())
                    self.log(
                        f"  {done_n:>10,} opportunities {written:>12,} activities "
                        f"{seconds:7.1f}s  {rows / seconds:9,.0f} rows/s"
                    )
            load_seconds = time.perf_counter() - copy_started
            self.log(
                f"loaded {sum(self.rows.values()):,} rows in {load_seconds:.1f}s "
                f"({sum(self.rows.values()) / load_seconds:,.0f} rows/s): "
                + ", ".join(f"{t} {c:,}" for t, c in self.rows.items())
            )
            rebuild_started = time.perf_counter()
            self._restore_indexes_and_keys(cursor, dropped, notes)
            for note in notes:
                self.log("  " + note)
            cursor.execute(f"ANALYZE {', '.join(tables)}")
            rebuilt = time.perf_counter() - rebuild_started
            self.log(f"indexes, foreign keys and ANALYZE in {rebuilt:.1f}s")
        total = time.perf_counter() - started
        self.log(
            f"opportunities phase committed: {total:.1f}s in all, "
            f"{sum(self.rows.values()) / total:,.0f} rows/s"
        )
        # Set hint bits and the visibility map now (index-only scans, no write on first
        # read), as autovacuum would some time later.
        vacuum_started = time.perf_counter()
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        self.log(f"VACUUM (ANALYZE) in {time.perf_counter() - vacuum_started:.1f}s")

    def _customers(self, info: dict) -> tuple[list[int], list[str], list[int | None]]:
        """Ids, names and the owner's team of every live customer, in id order."""
        ids: list[int] = []
        names: list[str] = []
        teams: list[int | None] = []
        with self.connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor, for COPY TO
            with raw.copy(
                "COPY (SELECT id, name, owner_id FROM customers_customer "
                "WHERE deleted_at IS NULL AND merged_into_id IS NULL ORDER BY id) TO STDOUT"
            ) as copy:
                copy.set_types(["int8", "text", "int8"])
                for cid, name, owner_id in copy.rows():
                    ids.append(cid)
                    names.append(name)
                    teams.append(info[owner_id][0] if owner_id in info else None)
        if not ids:
            sys.exit("no customers: run bench/setup_db.sh first")
        return ids, names, teams

    def _reserve(self, cursor, table: str, count: int) -> int:
        """Reserve ``count`` consecutive ids of ``table`` (nothing else writes meanwhile)."""
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"nextval(pg_get_serial_sequence('{table}', 'id')) + %s - 1)",
            [count],
        )
        return cursor.fetchone()[0] - count + 1

    def _copy(self, cursor, cols: Columns, rows: list[tuple]) -> None:
        if not rows:
            return
        with cursor.cursor.copy(cols.sql) as copy:
            for row in rows:
                copy.write_row(row)
        self.rows[cols.table] += len(rows)

    def _drop_indexes_and_keys(self, cursor, tables: list[str]) -> list[tuple[str, str, str]]:
        """Drop the secondary indexes and foreign keys of ``tables``: (kind, table or name,
        SQL to recreate), restored in the same transaction."""
        dropped: list[tuple[str, str, str]] = []
        for table in tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                dropped.append(
                    ("fk", name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                )
            cursor.execute(
                """SELECT i.relname, pg_get_indexdef(i.oid)
                     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    WHERE x.indrelid = %s::regclass
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
                    ORDER BY i.relname""",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
                dropped.append(("index", name, definition))
        self.log(
            f"dropped {sum(d[0] == 'index' for d in dropped)} indexes and "
            f"{sum(d[0] == 'fk' for d in dropped)} foreign keys of {', '.join(tables)}"
        )
        return dropped

    def _restore_indexes_and_keys(self, cursor, dropped, notes: list[str]) -> None:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for kind, name, sql in sorted(dropped, key=lambda d: d[0] != "index"):
            one = time.perf_counter()
            cursor.execute(sql)
            notes.append(f"{kind} {name}: {time.perf_counter() - one:.1f}s")

    # --- meetings -----------------------------------------------------------------------

    def seed_meetings(self) -> None:
        from django.db import connection, transaction

        from guanxi.activities.models import Meeting

        if Meeting._meta.db_table not in connection.introspection.table_names():
            self.log("no meetings table: meetings skipped")
            return
        if Meeting.objects.count() >= 1000 and not self.args.force:
            self.log("meetings already seeded — skipped (--force to add more)")
            return
        rng = random.Random(self.args.seed + 1)
        info, _every, team_pools = self._sales_users()
        teammates = {team_id: [m[0] for m in members] for team_id, members in team_pools}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # A customer of each user's own opportunities to meet (one sample each).
            cursor.execute(
                """SELECT o.owner_id, array_agg(o.customer_id)
                     FROM (SELECT owner_id, customer_id,
                                  row_number() OVER (PARTITION BY owner_id ORDER BY id) AS n
                             FROM sales_opportunity WHERE status = 'open') o
                    WHERE o.n <= 200 GROUP BY o.owner_id"""
            )
            customers_of = dict(cursor.fetchall())
            cursor.execute(
                "SELECT id, name FROM customers_customer WHERE id = ANY(%s)",
                [sorted({c for cs in customers_of.values() for c in cs})],
            )
            cname = dict(cursor.fetchall())
        cols = Columns(
            Meeting,
            ["title", "organiser_id", "start_at", "end_at", "all_day", "location",
             "description", "customer_id", "lead_id", "opportunity_id", "no_double_booking",
             "uid", "sequence", "invited_sequence", "cancelled_at", "created_by_id",
             "created_at", "updated_at"],
            with_id=True,
        )  # fmt: skip
        rows, attendees = [], []
        for user_id in sorted(info):
            mine = customers_of.get(user_id) or []
            for offset in range(-60, 31):
                day = self.today + offset
                if date.fromordinal(day).weekday() >= 5:
                    continue
                count = rng.randint(2, 4) if offset == 0 else rng.choice([0, 1, 1, 2, 2, 3])
                slots = sorted(rng.sample(range(18), count))
                for slot in slots:
                    start = local_day_start(day) + 9 * 3600 + slot * 1800
                    end = start + rng.choice([30, 60, 60, 90]) * 60
                    customer_id = rng.choice(mine) if mine and rng.random() < 0.8 else None
                    title = rng.choice(TOPICS)
                    if customer_id:
                        title = f"{cname[customer_id]} · {title}"[:200]
                    made = min(self.now - 60, start - rng.randrange(1, 10) * DAY)
                    rows.append(
                        [
                            title, user_id, T(start), T(end), False, rng.choice(PLACES),
                            "", customer_id, None, None, False, "", 0, 0,
                            T(made) if rng.random() < 0.05 else None, user_id, T(made),
                            T(made),
                        ]
                    )  # fmt: skip
                    mates = [m for m in teammates.get(info[user_id][0], []) if m != user_id]
                    if mates and rng.random() < 0.3:
                        attendees.append((len(rows) - 1, rng.choice(mates)))
        with transaction.atomic(), connection.cursor() as cursor:
            first_id = self._reserve(cursor, cols.table, len(rows))
            final = []
            for i, row in enumerate(rows):
                row[11] = f"seed-{first_id + i}@guanxi"
                final.append((first_id + i, *row))
            self._copy(cursor, cols, final)
            through = Meeting.attendees.through
            with cursor.cursor.copy(
                f"COPY {through._meta.db_table} (meeting_id, user_id) FROM STDIN"
            ) as copy:
                for index, user_id in attendees:
                    copy.write_row((first_id + index, user_id))
            cursor.execute(f"ANALYZE {cols.table}, {through._meta.db_table}")
        seconds = time.perf_counter() - started
        self.log(
            f"meetings: {len(rows):,} (+{len(attendees):,} colleagues attending) in "
            f"{seconds:.1f}s, {len(rows) / seconds:,.0f} rows/s"
        )


if __name__ == "__main__":
    sys.exit(main())
