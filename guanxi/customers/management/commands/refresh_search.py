from django.core.management.base import BaseCommand

from guanxi.customers.tasks import customers_refresh_search


class Command(BaseCommand):
    help = "Recompute every customer's search columns (pinyin, phones, search text)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue it for the Celery worker instead of running it here.",
        )

    def handle(self, *args, background: bool, **options):
        if background:
            result = customers_refresh_search.delay()
            self.stdout.write(f"Queued task {result.id}.")
        else:
            self.stdout.write(f"Updated {customers_refresh_search()} customers.")
