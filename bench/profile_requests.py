#!/usr/bin/env python3
"""Where does a request's time go? Single requests through Django's test client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench_1m \
        .venv/bin/python bench/profile_requests.py [--repeat 30] [--profile web_list]

For each URL (as the demo sales manager): median wall time, queries, time in SQL, and with
``--profile NAME`` the top functions of a cProfile run of that scenario. No server, no
network: this isolates the Python request path from gunicorn and the load generator.
``--suite sales`` profiles the sales pages instead (as the manager and as ``--rep``), on a
database seeded by ``bench/seed_sales.py``; ``--sql NAME`` prints that scenario's queries
with their times, slowest first.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("GUANXI_MANIFEST_STATIC", "false")
os.environ.setdefault("API_RATE_LIMIT_PER_MINUTE", "100000000")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from guanxi.customers.models import Customer  # noqa: E402
from guanxi.users.models import User  # noqa: E402
from guanxi.users.services import api_token_create  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", default="manager")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--profile", default="", help="scenario name to run under cProfile")
    ap.add_argument("--top", type=int, default=35)
    ap.add_argument("--suite", choices=["customers", "sales"], default="customers")
    ap.add_argument("--rep", default="rep1", help="sales suite: the rep")
    ap.add_argument("--sql", default="", help="print this scenario's queries, slowest first")
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    args = ap.parse_args()

    user = User.objects.get(username=args.user)
    web = Client()
    web.force_login(user)
    token = api_token_create(user=user, name="profile")[1]
    api = Client(headers={"Authorization": f"Bearer {token}"})
    visible = web.get("/api/v1/customers?limit=1").json()["items"]
    detail_id = visible[0]["id"] if visible else Customer.objects.values_list("pk").first()
    create_n = iter(range(10**9))

    def create():
        n = next(create_n)
        return api.post(
            "/api/v1/customers",
            {
                "name": f"剖析客户{os.getpid()}-{n}有限公司",
                "kind": "company",
                "city": "杭州市",
                "province": "浙江省",
                "allow_duplicates": True,
            },
            content_type="application/json",
        )

    if args.suite == "sales":
        scenarios = sales_scenarios(web, api, args.rep)
    else:
        scenarios = customer_scenarios(web, api, detail_id, create)
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if k in args.only.split(",")}
    print(f"{'scenario':<22}{'median ms':>10}{'queries':>9}{'SQL ms':>9}")
    for name, call in scenarios.items():
        response = call()  # warm caches
        if response.status_code not in (200, 201):
            print(f"{name}: HTTP {response.status_code}")
            continue
        times, sql = [], []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                call()
                times.append((time.perf_counter() - start) * 1000)
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        print(
            f"{name:<22}{statistics.median(times):>10.1f}{len(ctx.captured_queries):>9}"
            f"{statistics.median(sql):>9.1f}",
            flush=True,
        )
        if name == args.sql:
            for q in sorted(ctx.captured_queries, key=lambda q: -float(q["time"])):
                print(f"  {float(q['time']) * 1000:8.1f} ms  {q['sql'][:600]}")
    if args.profile:
        call = scenarios[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            call()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


def customer_scenarios(web: Client, api: Client, detail_id, create) -> dict:
    return {
        "healthz": lambda: web.get("/healthz"),
        "web_list": lambda: web.get("/customers/"),
        "web_search": lambda: web.get("/customers/?q=hzwh"),
        "web_detail": lambda: web.get(f"/customers/{detail_id}/"),
        "api_list": lambda: api.get("/api/v1/customers?limit=50"),
        "api_search_initials": lambda: api.get("/api/v1/customers?q=hzwh"),
        "api_search_cjk": lambda: api.get("/api/v1/customers?q=万华"),
        "api_detail": lambda: api.get(f"/api/v1/customers/{detail_id}"),
        "api_create": create,
    }


def sales_scenarios(web: Client, api: Client, rep_name: str) -> dict:
    """The pages of the sales benchmark suite (bench/run_bench.py --suite sales)."""
    from datetime import timedelta

    from django.utils import timezone

    rep = Client()
    rep.force_login(User.objects.get(username=rep_name))
    today = timezone.localdate()
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return {
        "healthz": lambda: web.get("/healthz"),
        "kanban_manager": lambda: web.get("/sales/opportunities/board/"),
        "kanban_rep": lambda: rep.get("/sales/opportunities/board/"),
        "opp_web_list": lambda: web.get("/sales/opportunities/"),
        "opp_api_list": lambda: api.get("/api/v1/opportunities?limit=50"),
        "my_day_rep": lambda: rep.get("/activities/my-day/"),
        "my_day_manager": lambda: web.get("/activities/my-day/"),
        "forecast_manager": lambda: web.get(f"/sales/opportunities/forecast/?year={today.year}"),
        "sales_dashboard": lambda: web.get(
            f"/performance/sales/?start={today.replace(day=1)}&end={month_end}"
        ),
    }


if __name__ == "__main__":
    main()
