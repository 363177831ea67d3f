#!/usr/bin/env python3
"""Customer import throughput: a CSV into a fresh database through the real job code.

    .venv/bin/python bench/import_bench.py --db sqlite              # 100,000 rows
    .venv/bin/python bench/import_bench.py --db postgres            # guanxi_importbench
    .venv/bin/python bench/import_bench.py --db sqlite --rows 5000 --profile /tmp/import.prof

1. generates bench/results/import-N.csv with bench/gen_import_csv.py if it is missing,
2. creates a fresh database (SQLite: a file under a temporary directory; PostgreSQL: drops
   and creates ``guanxi_importbench`` on 127.0.0.1), migrates it and runs ``demo_data``,
   then adds the sales reps rep3…rep20 the file names as owners (as bench/setup_db.sh),
3. in a fresh Python process: stores the file as an ImportJob of the demo admin
   (``import_job_create`` + ``import_job_configure``, duplicate mode ``skip``), marks it
   running and times ``import_job_run``, then prints rows/s and the process's peak RSS
   (before and after the import), optionally under cProfile.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PG_DB = "guanxi_importbench"
REPS = """
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from guanxi.users import roles
from guanxi.users.models import Team, User
password = make_password('guanxi-demo')
group = Group.objects.get(name=roles.SALES_REP)
teams = [Team.objects.get(name=n) for n in ('上海组', '杭州组', '华北销售部')]
for i in range(3, 21):
    user, _ = User.objects.get_or_create(username=f'rep{i}', defaults={
        'display_name': f'销售{i}', 'password': password, 'team': teams[(i - 3) // 6]})
    user.groups.add(group)
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_import(args: argparse.Namespace) -> None:
    """The measured part (runs in the child process, with Django set up)."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from guanxi.customers.models import Contact, Customer
    from guanxi.transfers import services
    from guanxi.transfers.models import Status
    from guanxi.users.models import User

    actor = User.objects.get(username=args.actor)
    data = Path(args.csv).read_bytes()
    job = services.import_job_create(
        actor=actor, kind="customers", upload=SimpleUploadedFile(Path(args.csv).name, data)
    )
    del data
    services.import_job_configure(
        actor=actor,
        job=job,
        mapping=job.mapping,
        duplicate_mode=args.mode,
        all_or_nothing=args.all_or_nothing,
    )
    job.status = Status.RUNNING
    job.save()
    customers_before = Customer.objects.count()
    rss_before = _rss_mb()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    job = services.import_job_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    result = {
        "db": connection.vendor,
        "rows": job.processed,
        "status": job.status,
        "message": job.message,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
        "customers_added": Customer.objects.count() - customers_before,
        "contacts": Contact.objects.count(),
        "seconds": round(seconds, 2),
        "rows_per_second": round(job.processed / seconds),
        "peak_rss_mb_before_import": round(rss_before, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
    }
    print(json.dumps(result, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--csv", default="", help="default: bench/results/import-ROWS.csv")
    ap.add_argument("--mode", default="skip", choices=["skip", "update", "create"])
    ap.add_argument("--all-or-nothing", action="store_true")
    ap.add_argument("--actor", default="admin")
    ap.add_argument("--profile", default="", help="write cProfile stats of the import here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.csv = args.csv or str(ROOT / "bench" / "results" / f"import-{args.rows}.csv")
    if args.child:
        run_import(args)
        return
    if not Path(args.csv).exists():
        subprocess.run(
            [PY, "bench/gen_import_csv.py", "--rows", str(args.rows), "--out", args.csv],
            cwd=ROOT,
            check=True,
        )
    tmp = Path(tempfile.mkdtemp(prefix="guanxi-importbench-"))
    env = {**os.environ, "GUANXI_VAR_DIR": str(tmp), "MEDIA_ROOT": str(tmp / "media")}
    if args.db == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'importbench.sqlite3'}"
    else:
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
        pg = ["-h", "127.0.0.1", "-U", "postgres"]
        subprocess.run(["dropdb", *pg, "--if-exists", PG_DB], check=True)
        subprocess.run(["createdb", *pg, PG_DB], check=True)
    try:
        manage = [PY, "manage.py"]
        subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [*manage, "demo_data"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        subprocess.run([*manage, "shell", "-v0", "-c", REPS], cwd=ROOT, env=env, check=True)
        child = [PY, __file__, "--child", "--csv", args.csv, "--mode", args.mode]
        child += ["--actor", args.actor, "--rows", str(args.rows)]
        if args.all_or_nothing:
            child.append("--all-or-nothing")
        if args.profile:
            child += ["--profile", args.profile]
        subprocess.run(child, cwd=ROOT, env=env, check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
