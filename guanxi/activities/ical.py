"""iCalendar (RFC 5545) documents: meeting invitations (iTIP REQUEST / CANCEL, RFC 5546)
and the per-user subscription feed. Built with vobject; every time is written in UTC, so
Outlook, Apple Calendar and Thunderbird need no time zone definitions."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import Any

import vobject
from django.conf import settings
from django.utils import timezone
from vobject.icalendar import utc

from guanxi.activities.models import FollowUp, Meeting

PRODID = "-//Guanxi//Guanxi CRM//EN"
FOLLOW_UP_MINUTES = 30


def _clean(text: str) -> str:
    """Text vobject escapes safely: no control characters (a stray CR would end a line)."""
    return "".join(ch if ch >= " " or ch in "\n\t" else " " for ch in text)


def _param(text: str) -> str:
    """A parameter value (CN): no quotes, no line breaks, whatever the display name holds."""
    return _clean(text).replace('"', "'").replace("\n", " ").replace("\t", " ")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(utc)


def _calendar(method: str = "") -> Any:
    cal = vobject.iCalendar()
    cal.add("prodid").value = PRODID
    cal.add("calscale").value = "GREGORIAN"
    if method:
        cal.add("method").value = method
    return cal


def _organiser_address(meeting: Meeting) -> str:
    return (
        meeting.organiser.email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "noreply@localhost"
    )


def _all_day_dates(meeting: Meeting) -> tuple[date, date]:
    """The first day and the day after the last, in the organiser's time zone."""
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(meeting.organiser.time_zone or settings.TIME_ZONE)
    except (KeyError, ValueError):
        zone = ZoneInfo(settings.TIME_ZONE)
    first = timezone.localtime(meeting.start_at, zone).date()
    end = timezone.localtime(meeting.end_at, zone)
    after = end.date() if end.time() == end.time().min else end.date() + timedelta(days=1)
    return first, max(after, first + timedelta(days=1))


def _add_meeting(
    cal: Any,
    meeting: Meeting,
    *,
    attendees: Iterable[tuple[str, str]] = (),
    cancelled: bool = False,
    now: datetime,
) -> None:
    event = cal.add("vevent")
    event.add("uid").value = meeting.uid
    event.add("dtstamp").value = _utc(now)
    if meeting.all_day:
        first, after = _all_day_dates(meeting)
        event.add("dtstart").value = first
        event.add("dtend").value = after
    else:
        event.add("dtstart").value = _utc(meeting.start_at)
        event.add("dtend").value = _utc(meeting.end_at)
    event.add("sequence").value = str(meeting.sequence)
    event.add("summary").value = _clean(meeting.title)
    if meeting.location:
        event.add("location").value = _clean(meeting.location)
    if meeting.description:
        event.add("description").value = _clean(meeting.description)
    event.add("status").value = "CANCELLED" if cancelled else "CONFIRMED"
    event.add("transp").value = "OPAQUE"
    organizer = event.add("organizer")
    organizer.value = f"mailto:{_organiser_address(meeting)}"
    organizer.params["CN"] = [_param(str(meeting.organiser))]
    for name, address in attendees:
        line = event.add("attendee")
        line.value = f"mailto:{address}"
        line.params["CN"] = [_param(name)]
        line.params["ROLE"] = ["REQ-PARTICIPANT"]
        line.params["PARTSTAT"] = ["NEEDS-ACTION"]
        if not cancelled:
            line.params["RSVP"] = ["TRUE"]


def invitation_ics(
    meeting: Meeting,
    *,
    attendees: Iterable[tuple[str, str]],
    cancel: bool = False,
    now: datetime | None = None,
) -> str:
    """The iTIP message for ``meeting``: METHOD:REQUEST (new or changed) or METHOD:CANCEL,
    listing ``attendees`` as (name, e-mail address)."""
    cal = _calendar("CANCEL" if cancel else "REQUEST")
    _add_meeting(cal, meeting, attendees=attendees, cancelled=cancel, now=now or timezone.now())
    return str(cal.serialize())


def feed_ics(
    *,
    name: str,
    meetings: Iterable[Meeting],
    follow_ups: Iterable[FollowUp],
    now: datetime | None = None,
) -> str:
    """A subscription calendar: meetings as they are, planned follow-ups as half-hour
    events at their due time."""
    now = now or timezone.now()
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname").value = _clean(name)
    cal.add("x-published-ttl").value = "PT1H"
    for meeting in meetings:
        _add_meeting(cal, meeting, now=now)
    for follow_up in follow_ups:
        if follow_up.due_at is None:
            continue
        event = cal.add("vevent")
        event.add("uid").value = f"follow-up-{follow_up.pk}@guanxi"
        event.add("dtstamp").value = _utc(now)
        event.add("dtstart").value = _utc(follow_up.due_at)
        event.add("dtend").value = _utc(follow_up.due_at + timedelta(minutes=FOLLOW_UP_MINUTES))
        subject = follow_up.customer or follow_up.lead
        event.add("summary").value = _clean(f"{follow_up.get_method_display()} · {subject}")
        if follow_up.plan:
            event.add("description").value = _clean(follow_up.plan)
        event.add("transp").value = "TRANSPARENT"
    return str(cal.serialize())
