"""Meetings and call lists for tests, made through the services (so they are logged and
checked as in real use)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from guanxi.activities import services
from guanxi.activities.models import Meeting

# Monday 23 November 2026, 10:00 in Shanghai
MONDAY_TEN = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def in_future(days: int = 7, hour_utc: int = 2) -> datetime:
    """A whole hour ``days`` from now (UTC)."""
    now = datetime.now(UTC)
    return (now + timedelta(days=days)).replace(hour=hour_utc, minute=0, second=0, microsecond=0)


def make_meeting(
    *,
    organiser: Any,
    start: datetime,
    minutes: int = 60,
    title: str = "方案讨论",
    attendees: list[Any] | None = None,
    allow_conflicts: bool = True,
    **data: Any,
) -> Meeting:
    return services.meeting_create(
        actor=organiser,
        data={
            "title": title,
            "start": start,
            "end": start + timedelta(minutes=minutes),
            "attendees": attendees or [],
            **data,
        },
        allow_conflicts=allow_conflicts,
    )
