"""Keyset (cursor) pagination: constant cost for any page depth."""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime


class InvalidCursor(ValueError):
    pass


@dataclass
class Page[T]:
    items: list[T]
    next_cursor: str | None
    has_more: bool


def _encode(values: list[Any]) -> str:
    payload = [v.isoformat() if isinstance(v, datetime | date) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode(cursor: str, sort_fields: list[str]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if not isinstance(values, list) or len(values) != len(sort_fields):
        raise InvalidCursor("cursor does not match the sort order")
    decoded: list[Any] = []
    for field, value in zip(sort_fields, values, strict=True):
        name = field.lstrip("-")
        if name.endswith("_at"):
            try:
                parsed = parse_datetime(value) if isinstance(value, str) else None
                if parsed is not None:
                    if parsed.tzinfo is None:
                        raise ValueError("naive time")
                    parsed = parsed.astimezone(UTC)
            except (ValueError, OverflowError):
                parsed = None
            if parsed is None:
                raise InvalidCursor("malformed cursor")
            value = parsed
        elif name.endswith("_on"):
            try:
                day = parse_date(value) if isinstance(value, str) else None
            except ValueError:
                day = None
            if day is None:
                raise InvalidCursor("malformed cursor")
            value = day
        elif name in {"id", "rank"}:
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidCursor("malformed cursor")
        elif not isinstance(value, str):
            raise InvalidCursor("malformed cursor")
        decoded.append(value)
    return decoded


def keyset_page[T](
    queryset: QuerySet[Any], *, order: list[str], cursor: str | None, limit: int
) -> Page[Any]:
    """Return ``limit`` rows after ``cursor``; ``order`` must end with a unique key (``id``)."""
    qs = queryset.order_by(*order)
    if cursor:
        values = _decode(cursor, order)
        condition = Q()
        equal = Q()
        for field, value in zip(order, values, strict=True):
            name = field.lstrip("-")
            lookup = "lt" if field.startswith("-") else "gt"
            condition |= equal & Q(**{f"{name}__{lookup}": value})
            equal &= Q(**{name: value})
        qs = qs.filter(condition)
        # The same bound on the leading column alone lets the database start an index
        # scan at the cursor instead of filtering every row before it.
        first = order[0]
        if first.lstrip("-") != "rank":
            bound = "lte" if first.startswith("-") else "gte"
            qs = qs.filter(**{f"{first.lstrip('-')}__{bound}": values[0]})
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = _encode([getattr(last, f.lstrip("-")) for f in order])
    return Page(items=rows, next_cursor=next_cursor, has_more=has_more)
