"""Helpers shared by the REST routers of every app (``guanxi.<app>.api``)."""

import base64
import json
from collections.abc import Callable
from datetime import UTC, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from guanxi.core.pagination import InvalidCursor, Page
from guanxi.users.models import User


def api_user(request: HttpRequest) -> User:
    """The user the request authenticated as (token or session)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def check_cursor_times(cursor: str | None) -> None:
    """Refuse cursor timestamps the databases cannot compare with.

    ``keyset_page`` passes a cursor's times on with their offset; PostgreSQL refuses
    offsets beyond ±15:59 and both databases overflow past year 9999 in UTC.
    """
    if not cursor:
        return
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        return  # keyset_page reports a malformed cursor itself
    for value in values if isinstance(values, list) else []:
        if not isinstance(value, str):
            continue
        try:
            moment = parse_datetime(value)
            offset = moment.utcoffset() if moment else None
            if offset is not None and abs(offset) >= timedelta(hours=16):
                raise ValueError("offset out of range")
            if moment is not None and moment.tzinfo is not None:
                moment.astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise InvalidCursor("cursor time out of range") from exc


def paged[T](cursor: str | None, read: Callable[[], Page[T]]) -> Page[T]:
    """Run a paginated read; a cursor that decodes but does not fit the query is a 400."""
    check_cursor_times(cursor)
    try:
        return read()
    except InvalidCursor:
        raise
    except (TypeError, ValueError, OverflowError, DjangoValidationError) as exc:
        if cursor:
            raise InvalidCursor(str(exc)) from exc
        raise


def field_error(field: str, message: str, code: str = "invalid") -> DjangoValidationError:
    """A validation error on one field, answered as 422 naming it."""
    return DjangoValidationError({field: [DjangoValidationError(message, code=code)]})
