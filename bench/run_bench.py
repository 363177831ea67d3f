#!/usr/bin/env python3
"""HTTP benchmark of the customer (default) or sales pages and API against a seeded
PostgreSQL database.

    .venv/bin/python bench/run_bench.py --db guanxi_bench --label 100k
    .venv/bin/python bench/run_bench.py --suite sales --db guanxi_bench_1m --label sales-1m

The sales suite needs ``bench/seed_sales.py`` data: kanban board (as the manager and as a
rep), opportunity list (web and API, first and a deep page), "my day" (a rep; the manager
as an extra), the forecast of the manager's team over the current year and the sales
statistics dashboard over the current month. Every scenario of the suite is also timed
alone (``--single`` sequential requests on the otherwise idle server, median reported).

1. starts gunicorn (2 sync workers, DEBUG off) on a free port of 127.0.0.1,
2. logs in as the demo sales manager (``manager``): a browser session for the web pages
   (POST /login/ with the CSRF token) and a personal API token for /api/v1/ (the sales
   suite also logs in as ``--rep``, rep1 by default),
3. checks every scenario's URL once and fails loudly when an endpoint is missing or errs,
4. drives each scenario with ``wrk`` (8 connections, 2 threads) for ``--duration`` seconds,
   round-robin over the scenarios, ``--runs`` times; the baseline (GET /healthz, one
   ``SELECT 1``) runs in every round so that ratios stay meaningful on a noisy machine,
5. prints medians (requests/s, p50, p99, ratio to the baseline) and writes
   bench/results/<label>.json and .md.

Only 127.0.0.1 is ever targeted. Needs ``wrk`` (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import atexit
import html
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
HOST = "127.0.0.1"
USERNAME = "manager"
PASSWORD = "guanxi-demo"


@dataclass
class Scenario:
    name: str
    path: str  # first request (and the probe)
    auth: str  # "none" | "session" | "token"
    method: str = "GET"
    expect: int = 200
    description: str = ""
    lua_request: str = ""  # optional Lua `request` function body (random ids, POST bodies)
    target_p99_ms: float | None = None
    target_single_ms: float | None = None  # a target for one request alone, not under load
    results: list[dict] = field(default_factory=list)
    singles: list[float] = field(default_factory=list)  # ms, sequential requests
    error: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DEBUG="false",
        SECRET_KEY="bench-" + "k" * 50,
        ALLOWED_HOSTS=HOST,
        GUANXI_MANIFEST_STATIC="false",
        API_RATE_LIMIT_PER_MINUTE="100000000",  # the limiter would otherwise answer 429
        DB_CONN_MAX_AGE="600",
        UV_PYTHON_DOWNLOADS="never",
    )
    env.pop("REDIS_URL", None)  # sessions in the database, cache in process memory
    return env


def start_gunicorn(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "guanxi.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        "--timeout",
        "120",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group only
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    atexit.register(stop)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    sys.exit("gunicorn did not answer /healthz within 90 s")


def api_token(env: dict[str, str], username: str = USERNAME) -> str:
    out = subprocess.run(
        [PY, "manage.py", "api_token", username, "--name", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode == 0 and out.stdout.strip().startswith("gx_"):
        return out.stdout.strip().splitlines()[-1]
    snippet = (
        "from guanxi.users.models import User\n"
        "from guanxi.users.services import api_token_create\n"
        f"print(api_token_create(user=User.objects.get(username={username!r}), name='bench')[1])"
    )
    out = subprocess.run(
        [PY, "manage.py", "shell", "-v0", "-c", snippet],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def login_session(base: str, username: str = USERNAME) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login/", timeout=30) as r:
        html = r.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        sys.exit("ERROR: no CSRF token on GET /login/ — is the login page there?")
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "username": username, "password": PASSWORD}
    ).encode()
    req = urllib.request.Request(base + "/login/", data=data, headers={"Referer": base + "/login/"})
    opener.open(req, timeout=30).read()
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    if not session:
        sys.exit(
            f"ERROR: logging in as {username} gave no session cookie (wrong password, "
            "locked account, or demo_data not loaded?)"
        )
    return session


def request(
    base: str, path: str, headers: dict[str, str], method: str = "GET", body: bytes | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(base + path, data=body, headers=headers, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def lua_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def build_lua(s: Scenario, headers: dict[str, str]) -> str:
    lines = [f"wrk.method = {lua_quote(s.method)}"]
    for key, value in headers.items():
        lines.append(f"wrk.headers[{lua_quote(key)}] = {lua_quote(value)}")
    if s.lua_request:
        lines.append(s.lua_request)
    return "\n".join(lines) + "\n"


WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    base: str, s: Scenario, headers: dict[str, str], duration: int, connections: int, threads: int
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(build_lua(s, headers))
        script = f.name
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                script,
                base + s.path,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    percentiles = {
        m.group(1): float(m.group(2)) * UNIT[m.group(3)] for m in WRK_LATENCY.finditer(out)
    }
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": percentiles.get("50"),
        "p90": percentiles.get("90"),
        "p99": percentiles.get("99"),
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def customer_scenarios(base: str, tok: dict[str, str], args: argparse.Namespace) -> list[Scenario]:
    """The customer suite: list, search, deep page, detail and create, web and API."""
    # Ids the manager may see, for the detail scenarios; the deep cursor.
    status, body = request(base, "/api/v1/customers?limit=200", tok)
    ids: list[int] = []
    deep_path = ""
    deep_note = ""
    if status == 200:
        first = json.loads(body)
        ids = [item["id"] for item in first.get("items", [])][:100]
        cursor, pages = None, 0
        started = time.perf_counter()
        while pages < args.deep_pages:
            path = "/api/v1/customers?limit=50" + (
                f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""
            )
            status, body = request(base, path, tok)
            if status != 200:
                deep_note = f"page {pages + 1} answered {status}: {body[:200]!r}"
                break
            page = json.loads(body)
            cursor = page.get("next_cursor")
            pages += 1
            if not cursor:
                deep_note = f"the list ended after {pages} pages"
                break
            deep_path = "/api/v1/customers?limit=50&cursor=" + urllib.parse.quote(cursor)
        print(
            f"followed next_cursor {pages} times in {time.perf_counter() - started:.1f}s "
            f"(page {pages + 1} is the deep page) {deep_note}",
            flush=True,
        )
    else:
        print(f"ERROR: GET /api/v1/customers answered {status}: {body[:300]!r}", flush=True)
    ids_lua = "{" + ",".join(str(i) for i in ids or [0]) + "}"

    def random_id(prefix: str, suffix: str = "") -> str:
        return (
            f"local ids = {ids_lua}\n"
            "request = function()\n"
            f"  return wrk.format(nil, {lua_quote(prefix)} .. ids[math.random(#ids)]"
            f" .. {lua_quote(suffix)})\nend"
        )

    create_lua = (
        "local n = 0\n"
        "local tag = tostring(math.random(100000, 999999))\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local body = '{\"name\": \"压测客户' .. tag .. '-' .. n .. '有限公司\", '\n"
        '    .. \'"kind": "company", "city": "杭州市", "province": "浙江省", \'\n'
        "    .. '\"phone\": \"0571-8' .. string.format('%07d', (tonumber(tag) * 7 + n) % 10000000)"
        ' .. \'", "allow_duplicates": true}\'\n'
        "  return wrk.format('POST', '/api/v1/customers', nil, body)\nend"
    )
    q = urllib.parse.quote
    scenarios = [
        Scenario(
            "baseline", "/healthz", "none", description="GET /healthz (SELECT 1): the yardstick"
        ),
        Scenario(
            "web_list",
            "/customers/",
            "session",
            target_p99_ms=50,
            description="web customer list, first page",
        ),
        Scenario(
            "web_search",
            "/customers/?q=hzwh",
            "session",
            target_p99_ms=100,
            description="web customer list searching pinyin initials hzwh",
        ),
        Scenario(
            "api_list",
            "/api/v1/customers?limit=50",
            "token",
            target_p99_ms=50,
            description="API list, first page of 50",
        ),
        Scenario(
            "api_deep_page",
            deep_path or "/api/v1/customers?limit=50&cursor=MISSING",
            "token",
            target_p99_ms=50,
            description=f"API list, page {args.deep_pages + 1} via next_cursor",
        ),
        Scenario(
            "api_search_initials",
            "/api/v1/customers?q=hzwh",
            "token",
            target_p99_ms=100,
            description="API search, pinyin initials hzwh",
        ),
        Scenario(
            "api_search_cjk",
            "/api/v1/customers?q=" + q("万华"),
            "token",
            target_p99_ms=100,
            description="API search, Chinese substring 万华",
        ),
        Scenario(
            "web_detail",
            f"/customers/{ids[0] if ids else 0}/",
            "session",
            lua_request=random_id("/customers/", "/"),
            target_p99_ms=50,
            description="web customer 360 page (random of 100 visible ids)",
        ),
        Scenario(
            "api_detail",
            f"/api/v1/customers/{ids[0] if ids else 0}",
            "token",
            lua_request=random_id("/api/v1/customers/"),
            target_p99_ms=50,
            description="API customer detail (random of 100 visible ids)",
        ),
        Scenario(
            "api_create",
            "/api/v1/customers",
            "token",
            method="POST",
            expect=201,
            lua_request=create_lua,
            description="API create customer (+ audit entry)",
        ),
    ]
    if not deep_path:
        for s in scenarios:
            if s.name == "api_deep_page":
                s.error = f"no deep cursor ({deep_note or 'list failed'})"
    return scenarios


def follow_cursor(
    base: str, headers: dict[str, str], first: str, pages: int, *, web: bool
) -> tuple[str, str]:
    """Follow "next" ``pages`` times from ``first`` (an API page's ``next_cursor``, or a web
    page's "Load more" link): (path of the last page reached, a note when it fell short)."""
    path, reached = first, 0
    started = time.perf_counter()
    while reached < pages:
        status, body = request(base, path, headers)
        if status != 200:
            return "", f"page {reached + 1} answered {status}: {body[:200]!r}"
        if web:
            match = re.search(r'href="(\?[^"]*cursor=[^"]*)"', body.decode())
            following = html.unescape(match.group(1)) if match else ""
            following = first.split("?")[0] + following if following else ""
        else:
            cursor = json.loads(body).get("next_cursor")
            joiner = "&" if "?" in first else "?"
            following = f"{first}{joiner}cursor={urllib.parse.quote(cursor)}" if cursor else ""
        if not following:
            return "", f"the list ended after {reached + 1} pages"
        path, reached = following, reached + 1
    print(
        f"followed {reached} next links from {first} in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return path, ""


def sales_scenarios(
    base: str, headers_by_auth: dict[str, dict[str, str]], args: argparse.Namespace
) -> list[Scenario]:
    """The sales suite (targets from the sales issue: p99 < 100 ms for the board, the list
    and my day; the forecast of a team over a year < 1 s)."""
    today = date.today()
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    web_deep, web_note = follow_cursor(
        base, headers_by_auth["session"], "/sales/opportunities/", args.deep_pages, web=True
    )
    api_deep, api_note = follow_cursor(
        base, headers_by_auth["token"], "/api/v1/opportunities?limit=50", args.deep_pages, web=False
    )
    pages = args.deep_pages + 1
    scenarios = [
        Scenario(
            "baseline", "/healthz", "none", description="GET /healthz (SELECT 1): the yardstick"
        ),
        Scenario(
            "kanban_manager",
            "/sales/opportunities/board/",
            "session",
            target_p99_ms=100,
            description="kanban board, default pipeline, as the manager (team scope)",
        ),
        Scenario(
            "kanban_rep",
            "/sales/opportunities/board/",
            "rep_session",
            target_p99_ms=100,
            description=f"kanban board, default pipeline, as {args.rep} (own scope)",
        ),
        Scenario(
            "opp_web_list",
            "/sales/opportunities/",
            "session",
            target_p99_ms=100,
            description="web opportunity list, first page, as the manager",
        ),
        Scenario(
            "opp_web_deep",
            web_deep or "/sales/opportunities/?cursor=MISSING",
            "session",
            target_p99_ms=100,
            description=f"web opportunity list, page {pages} via Load more",
            error=f"no deep cursor ({web_note})" if not web_deep else "",
        ),
        Scenario(
            "opp_api_list",
            "/api/v1/opportunities?limit=50",
            "token",
            target_p99_ms=100,
            description="API opportunity list, first page of 50, as the manager",
        ),
        Scenario(
            "opp_api_deep",
            api_deep or "/api/v1/opportunities?limit=50&cursor=MISSING",
            "token",
            target_p99_ms=100,
            description=f"API opportunity list, page {pages} via next_cursor",
            error=f"no deep cursor ({api_note})" if not api_deep else "",
        ),
        Scenario(
            "my_day_rep",
            "/activities/my-day/",
            "rep_session",
            target_p99_ms=100,
            description=f"my day as {args.rep}",
        ),
        Scenario(
            "my_day_manager",
            "/activities/my-day/",
            "session",
            description="my day as the manager (with the team's progress)",
        ),
        Scenario(
            "forecast_manager",
            f"/sales/opportunities/forecast/?year={today.year}",
            "session",
            target_single_ms=1000,
            description=f"forecast of the manager's team, default pipeline, {today.year}",
        ),
        Scenario(
            "sales_dashboard",
            f"/performance/sales/?start={today.replace(day=1)}&end={month_end}",
            "session",
            description="sales statistics dashboard, this month, as the manager",
        ),
    ]
    return scenarios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", default="guanxi_bench", help="PostgreSQL database (127.0.0.1)")
    ap.add_argument("--label", default="", help="Results file name (default: the db name)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="Seconds per wrk run")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument(
        "--deep-pages",
        type=int,
        default=100,
        help="Follow next_cursor this many times for the deep-page scenario",
    )
    ap.add_argument("--only", default="", help="Comma-separated scenario names")
    ap.add_argument("--suite", choices=["customers", "sales"], default="customers")
    ap.add_argument("--rep", default="rep1", help="The sales rep of the sales suite")
    ap.add_argument(
        "--single",
        type=int,
        default=5,
        help="Sales suite: time each scenario alone this many times per round (0: never)",
    )
    args = ap.parse_args()
    # Stop gunicorn on SIGTERM too (atexit handlers run on sys.exit, not on a signal).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk"):
        sys.exit("ERROR: wrk not found: apt-get install -y wrk")
    db_url = f"postgres://postgres@{HOST}:5432/{args.db}"
    env = server_env(db_url)
    port = free_port()
    base = f"http://{HOST}:{port}"
    print(f"gunicorn ({args.workers} workers) on {base}, database {args.db}", flush=True)
    start_gunicorn(env, port, args.workers)
    token = api_token(env)
    session = login_session(base)
    headers_by_auth = {
        "none": {},
        "session": {"Cookie": f"sessionid={session}"},
        "token": {"Authorization": f"Bearer {token}"},
    }
    tok = headers_by_auth["token"]

    if args.suite == "sales":
        rep_session = login_session(base, args.rep)
        headers_by_auth["rep_session"] = {"Cookie": f"sessionid={rep_session}"}
        scenarios = sales_scenarios(base, headers_by_auth, args)
    else:
        scenarios = customer_scenarios(base, tok, args)
    if args.only:
        wanted = set(args.only.split(",")) | {"baseline"}
        scenarios = [s for s in scenarios if s.name in wanted]

    # Probe each scenario once: fail loudly, run the rest.
    for s in scenarios:
        headers = dict(headers_by_auth[s.auth])
        if s.method == "POST":
            headers["Content-Type"] = "application/json"
            headers_by_auth.setdefault("token+json", headers)
            payload = json.dumps(
                {"name": "压测探针客户有限公司", "kind": "company", "allow_duplicates": True}
            ).encode()
            status, body = request(base, s.path, headers, "POST", payload)
        else:
            status, body = request(base, s.path, headers)
        if s.error:
            pass  # set while building the scenario (no deep cursor)
        elif status == 404:
            s.error = f"MISSING ENDPOINT: {s.method} {s.path} answered 404"
        elif status != s.expect:
            s.error = f"{s.method} {s.path} answered {status} (expected {s.expect}): {body[:300]!r}"
        if s.error:
            print(f"\n*** ERROR in scenario {s.name}: {s.error}\n", flush=True)

    runnable = [s for s in scenarios if not s.error]
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    singles = args.single if args.suite == "sales" else 0
    for run in range(1, args.runs + 1):
        for s in runnable:
            headers = dict(headers_by_auth[s.auth])
            if s.method == "POST":
                headers["Content-Type"] = "application/json"
            if singles and s.method == "GET":
                # Alone on the idle server: what one user waits, without queueing.
                times = []
                for _ in range(singles):
                    started = time.perf_counter()
                    request(base, s.path, headers)
                    times.append((time.perf_counter() - started) * 1000)
                s.singles += times
                print(
                    f"run {run} {s.name:<20} alone: median {statistics.median(times):8.1f} ms "
                    f"of {singles}",
                    flush=True,
                )
            r = run_wrk(base, s, headers, args.duration, args.connections, args.threads)
            s.results.append(r)
            flag = "  <-- non-2xx responses!" if r["non_2xx"] else ""
            print(
                f"run {run} {s.name:<20} {r['rps']:8.1f} req/s  p50 {r['p50']:8.2f} ms  "
                f"p99 {r['p99']:8.2f} ms{flag}",
                flush=True,
            )

    base_s = next((s for s in scenarios if s.name == "baseline" and s.results), None)
    base_rps = statistics.median(r["rps"] for r in base_s.results) if base_s else None
    base_p50 = statistics.median(r["p50"] for r in base_s.results) if base_s else None
    rows = []
    for s in scenarios:
        if s.results:
            rps = statistics.median(r["rps"] for r in s.results)
            p50 = statistics.median(r["p50"] for r in s.results)
            p99 = statistics.median(r["p99"] for r in s.results)
            rows.append(
                {
                    "scenario": s.name,
                    "description": s.description,
                    "rps": rps,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "rps_vs_baseline": rps / base_rps if base_rps else None,
                    "p50_vs_baseline": p50 / base_p50 if base_p50 else None,
                    "target_p99_ms": s.target_p99_ms,
                    "alone_ms": statistics.median(s.singles) if s.singles else None,
                    "alone_max_ms": max(s.singles) if s.singles else None,
                    "target_alone_ms": s.target_single_ms,
                    "non_2xx": sum(r["non_2xx"] for r in s.results),
                    "runs": s.results,
                    "alone_runs_ms": s.singles,
                }
            )
        else:
            rows.append({"scenario": s.name, "description": s.description, "error": s.error})
    label = args.label or args.db
    meta = {
        "label": label,
        "db": args.db,
        "runs": args.runs,
        "duration_s": args.duration,
        "connections": args.connections,
        "wrk_threads": args.threads,
        "gunicorn_workers": args.workers,
        "suite": args.suite,
        "user": USERNAME + (f" and {args.rep}" if args.suite == "sales" else ""),
        "loadavg_before": load_before,
        "cores": os.cpu_count(),
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{label}.json").write_text(
        json.dumps({"meta": meta, "results": rows}, indent=2, ensure_ascii=False)
    )
    alone = any(r.get("alone_ms") for r in rows)
    users = f"`{USERNAME}`" + (f" and `{args.rep}`" if args.suite == "sales" else "")
    md = [
        f"Medians of {args.runs} runs × {args.duration}s, {args.connections} connections, "
        f"gunicorn {args.workers} sync workers, users {users}, database `{args.db}`; load "
        f"average {' '.join(load_before)} before, {' '.join(meta['loadavg_after'])} after.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | p99 target | req/s ÷ baseline | p50 ÷ baseline |"
        + (" alone ms (median) | alone target |" if alone else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if alone else ""),
    ]
    for r in rows:
        if "error" in r:
            md.append(f"| {r['scenario']} | — | — | — | — | — | not run: {r['error'][:80]} |")
            continue
        target = f"< {r['target_p99_ms']:.0f}" if r["target_p99_ms"] else ""
        line = (
            f"| {r['scenario']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {target} | {r['rps_vs_baseline'] or 0:.2f} | "
            f"{r['p50_vs_baseline'] or 0:.1f} |"
        )
        if alone:
            single = f"{r['alone_ms']:.1f}" if r.get("alone_ms") else ""
            goal = f"< {r['target_alone_ms']:.0f}" if r.get("target_alone_ms") else ""
            line += f" {single} | {goal} |"
        md.append(line)
    (out_dir / f"{label}.md").write_text("\n".join(md) + "\n")
    print("\n" + "\n".join(md))
    failed = [s.name for s in scenarios if s.error] + [
        r["scenario"] for r in rows if r.get("non_2xx")
    ]
    if failed:
        print(f"\nFAILED scenarios: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
