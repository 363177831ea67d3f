"""``manage.py seed --customers N``: many realistic customers, fast (for benchmarks)."""

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from guanxi.customers.models import Channel, Customer, Tag
from guanxi.customers.seeding import (
    CHANNEL_NAMES,
    TAG_NAMES,
    Generator,
    Owner,
    seed_customers,
)
from guanxi.users import roles
from guanxi.users.models import User

SALES_ROLES = (roles.SALES_REP, roles.SALES_MANAGER)


def sales_owners(usernames: list[str] | None = None) -> list[Owner]:
    """The given users, or every active user with a sales role (reps weigh 4x managers)."""
    if usernames:
        users = list(User.objects.filter(username__in=usernames, is_active=True))
        missing = set(usernames) - {u.username for u in users}
        if missing:
            raise CommandError(f"No active user named {', '.join(sorted(missing))}.")
        return [Owner(u.pk, u.team_id, 1, u.username) for u in users]
    rep_ids = set(Group.objects.filter(name=roles.SALES_REP).values_list("user", flat=True))
    sales_users = User.objects.filter(is_active=True, groups__name__in=SALES_ROLES).distinct()
    return [
        Owner(u.pk, u.team_id, 4 if u.pk in rep_ids else 1, u.username)
        for u in sales_users.order_by("pk")
    ]


class Command(BaseCommand):
    help = (
        "Generate N realistic customers (with contacts, a primary address, tags and a "
        "'create' audit entry each) in bulk. For benchmarks and load tests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, required=True, help="How many.")
        parser.add_argument(
            "--contacts-per-customer",
            type=int,
            default=1,
            help="Contacts of each company (default 1; 0 for none).",
        )
        parser.add_argument(
            "--no-addresses",
            action="store_true",
            help="Do not give each customer a primary address.",
        )
        parser.add_argument("--batch", type=int, default=5000, help="Rows per batch.")
        parser.add_argument(
            "--owners",
            default="",
            help="Comma-separated usernames (default: all active sales users).",
        )
        parser.add_argument(
            "--unowned",
            type=float,
            default=0.03,
            help="Share of customers without an owner (default 0.03).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Random seed (default: derived from the current row count).",
        )
        parser.add_argument(
            "--defer-indexes",
            choices=["auto", "yes", "no"],
            default="auto",
            help="Rebuild search/secondary indexes once at the end (auto: from 50,000 customers).",
        )
        parser.add_argument(
            "--orm",
            action="store_true",
            help="Write with bulk_create instead of executemany / COPY (slower).",
        )

    def handle(self, *args, **o):
        count = o["customers"]
        if count < 1:
            raise CommandError("--customers must be at least 1.")
        owners = sales_owners([u.strip() for u in o["owners"].split(",") if u.strip()])
        if not owners and o["unowned"] < 1:
            raise CommandError(
                "No active sales users: run `manage.py demo_data` first, or "
                "pass --owners or --unowned 1."
            )
        share = min(max(o["unowned"], 0.0), 1.0)
        total_weight = sum(x.weight for x in owners)
        unowned_weight = round(total_weight * share / (1 - share)) if share < 1 else 1
        if share >= 1:
            owners = []
        for name in CHANNEL_NAMES:
            Channel.objects.get_or_create(name=name)
        for name, color in TAG_NAMES:
            Tag.objects.get_or_create(name=name, defaults={"color": color})
        channel_ids = list(Channel.objects.filter(is_active=True).values_list("pk", flat=True))
        tag_ids = list(Tag.objects.values_list("pk", flat=True))
        seed = o["seed"] if o["seed"] is not None else Customer.objects.count() + 1
        defer = {"auto": None, "yes": True, "no": False}[o["defer_indexes"]]
        verbosity = o["verbosity"]
        step = max(o["batch"], count // 20)
        shown = [0]

        def progress(done: int, seconds: float) -> None:
            if verbosity >= 1 and (done - shown[0] >= step or done == count):
                shown[0] = done
                self.stdout.write(
                    f"  {done:>10,} customers  {seconds:7.1f}s  "
                    f"{done / seconds if seconds else 0:8,.0f}/s"
                )

        self.stdout.write(
            f"Seeding {count:,} customers on {connection.vendor} "
            f"(owners: {', '.join(x.label for x in owners) or '-'}; unowned {share:.0%})…"
        )
        result = seed_customers(
            count=count,
            owners=owners,
            unowned_weight=unowned_weight,
            channel_ids=channel_ids,
            tag_ids=tag_ids,
            contacts_per_customer=o["contacts_per_customer"],
            addresses=not o["no_addresses"],
            batch_size=o["batch"],
            generator=Generator(seed),
            defer_indexes=defer,
            use_raw=False if o["orm"] else None,
            audit_message="seed",
            progress=progress,
        )
        for note in result.notes:
            self.stdout.write(f"  {note}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.customers:,} customers, {result.contacts:,} contacts, "
                f"{result.addresses:,} addresses, {result.audit_entries:,} audit entries in "
                f"{result.seconds:.1f}s ({result.rate:,.0f} customers/s)."
            )
        )
