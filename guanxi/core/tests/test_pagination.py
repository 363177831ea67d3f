"""Keyset pagination: every row exactly once, in order, for every sort; bad cursors refused."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from guanxi.core.pagination import InvalidCursor, _encode, keyset_page
from guanxi.customers.models import Customer
from guanxi.customers.selectors import SORTS
from guanxi.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(users):
    """17 customers with many ties in name and in the timestamps."""
    base = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    made = []
    for i in range(17):
        c = CustomerFactory(owner=users["rep1"], name=["甲公司", "乙公司", "丙公司"][i % 3])
        Customer.objects.filter(pk=c.pk).update(
            updated_at=base + timedelta(minutes=i // 4), created_at=base - timedelta(hours=i // 5)
        )
        made.append(c.pk)
    return made


def _walk(qs, order, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = keyset_page(qs, order=order, cursor=cursor, limit=limit)
        seen.extend(c.pk for c in page.items)
        pages += 1
        assert pages < 50, "pagination does not terminate"
        if not page.has_more:
            assert page.next_cursor is None
            return seen
        assert page.next_cursor
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("limit", [1, 4, 5, 17, 50])
def test_keyset_page_walks_every_row_exactly_once_in_sort_order(rows, sort, limit):
    # given rows with ties on the sort column
    order = SORTS[sort]
    expected = list(Customer.objects.order_by(*order).values_list("pk", flat=True))
    # when all pages are read one after the other
    seen = _walk(Customer.objects.all(), order, limit)
    # then each row comes once, in the same order as one big query
    assert seen == expected
    assert sorted(seen) == sorted(rows)


def test_keyset_page_on_an_empty_queryset_has_no_next_page(db):
    page = keyset_page(Customer.objects.none(), order=["name", "id"], cursor=None, limit=10)
    assert page.items == []
    assert page.has_more is False
    assert page.next_cursor is None


def _raw_cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!!",
        "%%%",
        "AAAA",  # valid base64, not JSON
        base64.urlsafe_b64encode(b"\xff\xfe\xfa").decode(),  # not UTF-8
        _raw_cursor({"a": 1}),  # not a list
        _raw_cursor([1]),  # wrong length
        _raw_cursor(["2025-01-01T00:00:00+00:00", 1, 2]),  # wrong length
        _raw_cursor(["yesterday", 5]),  # not a datetime
        _raw_cursor(["2025-01-01T00:00:00+00:00", "5"]),  # id is not an int
        _raw_cursor(["2025-01-01T00:00:00+00:00", 5.5]),
    ],
)
def test_malformed_cursor_raises_invalid_cursor(rows, cursor):
    with pytest.raises(InvalidCursor):
        keyset_page(Customer.objects.all(), order=["-updated_at", "-id"], cursor=cursor, limit=5)


@pytest.mark.parametrize(
    "payload",
    [
        [12345, 5],  # timestamp is a number
        [None, 5],  # timestamp is null
        ["2025-13-45T00:00:00", 5],  # looks like a timestamp, is not a date
    ],
)
def test_well_formed_cursor_with_wrong_value_types_raises_invalid_cursor(rows, payload):
    with pytest.raises(InvalidCursor):
        list(
            keyset_page(
                Customer.objects.all(),
                order=["-updated_at", "-id"],
                cursor=_raw_cursor(payload),
                limit=5,
            ).items
        )


def test_a_cursor_round_trips_aware_datetimes(rows):
    # given the cursor of the first page
    first = keyset_page(Customer.objects.all(), order=["-updated_at", "-id"], cursor=None, limit=3)
    last = first.items[-1]
    # then it is exactly the encoded sort key of the last row
    assert first.next_cursor == _encode([last.updated_at, last.pk])
