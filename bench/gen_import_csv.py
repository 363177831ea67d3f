#!/usr/bin/env python3
"""Write a realistic customer import file (default 100,000 rows) for the import feature.

    .venv/bin/python bench/gen_import_csv.py                       # bench/results/import-100000.csv
    .venv/bin/python bench/gen_import_csv.py --rows 5000 --out /tmp/customers.csv

UTF-8 with a BOM (what Excel writes and expects), the Chinese column headers the import
recognises (客户名称, 客户类型, 行业, 来源渠道, 客户等级, 客户状态, 负责人, 标签, 电话, 手机,
邮箱, 网站, 统一社会信用代码, 省份, 城市, 生日, 性别, 备注, 联系人, 联系人手机, 联系人职务).
Values come from the generator ``manage.py seed`` uses (guanxi/customers/seeding.py) with
another random seed; names and e-mail addresses are unique within the file, so almost
every row is a new customer (a few phone numbers may repeat, as in real files); owners
are the demo users (rep1, rep2, manager, rep3…rep20 from bench/setup_db.sh) or empty.
Needs Django settings only to import the generator (no database access).
"""

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")

import django  # noqa: E402

django.setup()

from guanxi.customers.seeding import (  # noqa: E402
    CHANNEL_NAMES,
    TAG_NAMES,
    Generator,
    Owner,
)

HEADERS = [
    "客户名称",
    "客户类型",
    "行业",
    "来源渠道",
    "客户等级",
    "客户状态",
    "负责人",
    "标签",
    "电话",
    "手机",
    "邮箱",
    "网站",
    "统一社会信用代码",
    "省份",
    "城市",
    "生日",
    "性别",
    "备注",
    "联系人",
    "联系人手机",
    "联系人职务",
]
KIND = {"company": "公司", "person": "个人"}
TIER = {"key": "重点客户", "suitable": "合适客户", "ordinary": "普通客户"}
STATUS = {"prospect": "潜在客户", "active": "活跃", "dormant": "沉睡", "lost": "流失"}
GENDER = {"male": "男", "female": "女", "": ""}
OWNERS = ["rep1", "rep2", "manager", *[f"rep{i}" for i in range(3, 21)], ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--out", default="")
    ap.add_argument("--seed", type=int, default=424242)
    args = ap.parse_args()
    out = Path(args.out or ROOT / "bench" / "results" / f"import-{args.rows}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    gen = Generator(args.seed)
    nobody = Owner(None, None)
    seen: set[str] = set()
    emails: dict[str, int] = {}
    started = time.perf_counter()
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        written = 0
        while written < args.rows:
            c = gen.customer(owner=nobody)
            if c["name"] in seen:  # unique names: the file itself has no duplicates
                continue
            seen.add(c["name"])
            # The generator draws e-mail domains from a small word list; a real file has
            # few repeated addresses, so a repeat gets a numbered mailbox (otherwise the
            # duplicate check would rightly skip most of the file).
            email = c["email"]
            if email:
                local, _, domain = email.partition("@")
                n = emails.get(email, 0)
                emails[email] = n + 1
                if n:
                    email = f"{local}{n + 1}@{domain}"
            contact = ("", "", "")
            if c["kind"] == "company":
                person, link = gen.contact(c, primary=True)
                contact = (person["name"], person["mobile"], link["title"])
            rng = gen.rng
            tags = ",".join(t for t, _c in rng.sample(TAG_NAMES, rng.randint(0, 2)))
            writer.writerow(
                [
                    c["name"],
                    KIND[c["kind"]],
                    c["industry"],
                    rng.choice(CHANNEL_NAMES) if rng.random() < 0.8 else "",
                    TIER[c["tier"]],
                    STATUS[c["status"]],
                    rng.choice(OWNERS),
                    tags,
                    c["phone"],
                    c["mobile"],
                    email,
                    c["website"],
                    c["uscc"],
                    c["province"],
                    c["city"],
                    c["birthday"].isoformat() if c["birthday"] else "",
                    GENDER[c["gender"]],
                    c["notes"],
                    *contact,
                ]
            )
            written += 1
    size = out.stat().st_size / 1e6
    print(
        f"wrote {written:,} rows ({size:.1f} MB) to {out} in {time.perf_counter() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
