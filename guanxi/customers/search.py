"""Customer and contact search: Chinese substrings, pinyin (full and initials), phone
numbers in any format, e-mail, USCC and city.

Every customer carries ``search_text``: its searchable values in lower case, followed by
the two-character windows of its name and pinyin initials, each padded with spaces. Any
query of three or more characters is a substring of ``search_text``; a two-character query
``q`` is matched as the padded token `` q `` (four characters). Both therefore use a
trigram index: ``pg_trgm`` GIN on PostgreSQL, an FTS5 ``trigram`` table on SQLite.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from guanxi.core.pinyin import pinyin_keys
from guanxi.core.validators import digits_only, normalize_phone

MIN_QUERY_LENGTH = 2
FTS_TABLE = "customers_customer_fts"


def _windows(text: str) -> list[str]:
    return [text[i : i + 2] for i in range(len(text) - 1)]


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def compose_search_text(*, name: str, full: str, initials: str, values: Sequence[str]) -> str:
    """The ``search_text`` of a record whose name has pinyin ``full`` / ``initials``.

    Two-character tokens come from the name, its initials and any Chinese value (city,
    province), so that ``万华``, ``zs`` and ``上海`` are found too.
    """
    compact_name = "".join(name.lower().split())
    parts = [compact_name, full, initials, *[v.lower() for v in values if v]]
    windows = _windows(compact_name) + _windows(initials)
    for value in values:
        if value and _has_cjk(value):
            windows += _windows("".join(value.split()))
    tokens = dict.fromkeys(windows)
    return " " + " ".join(parts) + " | " + " ".join(f" {t} " for t in tokens) + " "


def build_search_text(*, name: str, values: list[str]) -> tuple[str, str, str]:
    """Return (pinyin, initials, search_text) for a record with ``name`` and other ``values``."""
    full, initials = pinyin_keys(name)
    return (
        full,
        initials,
        compose_search_text(name=name, full=full, initials=initials, values=values),
    )


def normalize_query(q: str) -> str:
    """The query as it is matched: trimmed, lower case, inner spaces removed for CJK/pinyin."""
    q = (q or "").strip().lower()
    if digits_only(q) and len(digits_only(q)) >= 7 and not any(c.isalpha() for c in q):
        return normalize_phone(q)
    return "".join(q.split())


def _needle(q: str) -> str:
    return f" {q} " if len(q) == 2 else q


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search_filter(qs: QuerySet, q: str) -> QuerySet:
    """Filter ``qs`` (customers) to those matching ``q``; unchanged if ``q`` is too short."""
    q = normalize_query(q)
    if len(q) < MIN_QUERY_LENGTH:
        return qs
    needle = _needle(q)
    if connection.vendor == "sqlite":
        return qs.extra(
            where=[
                f"customers_customer.id IN (SELECT rowid FROM {FTS_TABLE} "
                f"WHERE {FTS_TABLE} MATCH %s)"
            ],
            params=[_fts_phrase(needle)],
        )
    return qs.filter(search_text__contains=needle)


def search_ranked(qs: QuerySet, q: str) -> QuerySet:
    """Matches ordered by relevance: exact name, then name prefix, pinyin, then substring."""
    term = normalize_query(q)
    qs = search_filter(qs, q)
    return qs.annotate(
        rank=Case(
            When(name__iexact=term, then=Value(0)),
            When(Q(name_initials=term) | Q(name_pinyin=term), then=Value(1)),
            When(
                Q(phone_normalized=term)
                | Q(mobile_normalized=term)
                | Q(uscc__iexact=term)
                | Q(email__iexact=term),
                then=Value(1),
            ),
            When(name__istartswith=term, then=Value(2)),
            When(
                Q(name_initials__startswith=term) | Q(name_pinyin__startswith=term), then=Value(3)
            ),
            When(name__icontains=term, then=Value(4)),
            default=Value(5),
            output_field=IntegerField(),
        )
    ).order_by("rank", "-updated_at", "-id")


def contact_search_filter(qs: QuerySet, q: str) -> QuerySet:
    """Contacts by name, pinyin, initials, mobile, e-mail or WeChat ID."""
    term = normalize_query(q)
    if len(term) < MIN_QUERY_LENGTH:
        return qs
    condition = (
        Q(name__icontains=term)
        | Q(name_pinyin__startswith=term)
        | Q(name_initials__startswith=term)
        | Q(email__istartswith=term)
        | Q(wechat__iexact=term)
    )
    if digits_only(term) == term:
        condition |= Q(mobile_normalized__startswith=term)
    return qs.filter(condition)
