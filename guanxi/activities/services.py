"""Writes to the audit trail and notifications. Called by other apps' services inside
their transactions, so the audit row commits or rolls back with the change itself."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from smtplib import SMTPException
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import (
    AuditEntry,
    CalendarFeed,
    CallList,
    CallListEntry,
    FollowUp,
    Meeting,
    Notification,
)
from guanxi.core.events import event_record
from guanxi.users.models import User


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field whose value changed."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in after
        if _plain(before.get(key)) != _plain(after.get(key))
    }


def audit_record(
    *,
    actor: User | None,
    action: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: int | None = None,
    subject_label: str = "",
    customer_id: int | None = None,
    changes: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEntry:
    """Append one entry to the audit trail (and so to the customer's timeline)."""
    if subject is not None:
        subject_type = subject_type or subject._meta.model_name or ""
        subject_id = subject_id if subject_id is not None else subject.pk
        subject_label = subject_label or str(subject)[:200]
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=subject_label[:200],
        customer_id=customer_id,
        changes=changes or {},
        message=message,
    )


def notification_send(
    *, user: User, kind: str, message: str, url: str = "", actor: User | None = None
) -> Notification:
    """Create an in-app notification for ``user``."""
    return Notification.objects.create(
        user=user, kind=kind, message=message[:500], url=url, actor=actor
    )


# --- follow-ups ------------------------------------------------------------------------------


def _follow_up_subject(follow_up: FollowUp) -> tuple[str, int | None]:
    """(label, customer id) for the audit entry: a customer's timeline, or the lead's."""
    if follow_up.customer_id is not None:
        return str(follow_up.customer), follow_up.customer_id
    lead = follow_up.lead
    return str(lead), lead.customer_id if lead is not None else None


def _follow_up_log(
    actor: User,
    follow_up: FollowUp,
    message: str,
    changes: dict[str, Any],
    action: str = AuditEntry.Action.FOLLOW_UP,
) -> None:
    label, customer_id = _follow_up_subject(follow_up)
    audit_record(
        actor=actor,
        action=action,
        subject_type="lead" if follow_up.customer_id is None else "customer",
        subject_id=follow_up.lead_id if follow_up.customer_id is None else follow_up.customer_id,
        subject_label=label,
        customer_id=customer_id,
        changes=changes,
        message=message,
    )


def follow_up_plan(
    *,
    actor: User,
    owner: User | None = None,
    customer: Any = None,
    lead: Any = None,
    opportunity: Any = None,
    method: str,
    due_at: datetime,
    plan: str = "",
) -> FollowUp:
    """Plan the next follow-up of a customer, a lead or an opportunity (which stands for
    its customer too); owner: the actor by default."""
    follow_up = FollowUp(
        owner=owner or actor,
        customer=opportunity.customer if opportunity is not None else customer,
        lead=lead,
        opportunity=opportunity,
        method=method,
        due_at=due_at,
        plan=plan.strip(),
        created_by=actor,
    )
    _check_subject(follow_up)
    follow_up.full_clean(exclude=["owner", "customer", "lead", "opportunity", "created_by"])
    with transaction.atomic():
        follow_up.save()
        _follow_up_log(
            actor,
            follow_up,
            follow_up.plan,
            {
                "follow_up": [None, f"{follow_up.get_method_display()} {_local(due_at)}"],
                "owner": [None, str(follow_up.owner)],
            },
            action=AuditEntry.Action.PLAN,
        )
    return follow_up


def follow_up_complete(
    *,
    actor: User,
    follow_up: FollowUp,
    outcome: str,
    summary: str = "",
    duration_minutes: int | None = None,
    done_at: datetime | None = None,
    next_due_at: datetime | None = None,
    next_method: str = "",
    next_plan: str = "",
) -> FollowUp | None:
    """Record a planned follow-up as done; with ``next_due_at`` plan the next one (the
    page prompts for it). Returns the next follow-up, if any."""
    if not follow_up.is_open:
        raise ValidationError(_("This follow-up is already done or cancelled."))
    follow_up.done_at = done_at or timezone.now()
    if follow_up.done_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"done_at": _("A follow-up cannot be done in the future.")})
    follow_up.outcome = outcome
    follow_up.summary = summary.strip()
    follow_up.duration_minutes = duration_minutes
    follow_up.full_clean(exclude=["owner", "customer", "lead", "opportunity", "created_by"])
    if outcome not in FollowUp.Outcome.values:
        raise ValidationError({"outcome": _("Choose how it went.")})
    with transaction.atomic():
        follow_up.save()
        _touch_subject(follow_up, actor)
        _follow_up_log(
            actor,
            follow_up,
            follow_up.summary,
            {"follow_up": [None, follow_up.get_method_display()], "outcome": [None, outcome]},
        )
        if next_due_at is not None:
            return follow_up_plan(
                actor=actor,
                owner=follow_up.owner,
                customer=follow_up.customer,
                lead=follow_up.lead,
                opportunity=follow_up.opportunity,
                method=next_method or follow_up.method,
                due_at=next_due_at,
                plan=next_plan,
            )
    return None


def follow_up_record(
    *,
    actor: User,
    customer: Any = None,
    lead: Any = None,
    opportunity: Any = None,
    method: str,
    outcome: str,
    summary: str = "",
    duration_minutes: int | None = None,
    done_at: datetime | None = None,
) -> FollowUp:
    """Record a follow-up that was not planned (a call that just happened)."""
    now = timezone.now()
    follow_up = FollowUp(
        owner=actor,
        customer=opportunity.customer if opportunity is not None else customer,
        lead=lead,
        opportunity=opportunity,
        method=method,
        due_at=None,
        created_by=actor,
    )
    _check_subject(follow_up)
    follow_up.done_at = done_at or now
    if follow_up.done_at > now + timedelta(minutes=5):
        raise ValidationError({"done_at": _("A follow-up cannot be done in the future.")})
    follow_up.outcome, follow_up.summary = outcome, summary.strip()
    follow_up.duration_minutes = duration_minutes
    follow_up.full_clean(exclude=["owner", "customer", "lead", "opportunity", "created_by"])
    if outcome not in FollowUp.Outcome.values:
        raise ValidationError({"outcome": _("Choose how it went.")})
    with transaction.atomic():
        follow_up.save()
        _touch_subject(follow_up, actor)
        _follow_up_log(
            actor,
            follow_up,
            follow_up.summary,
            {"follow_up": [None, follow_up.get_method_display()], "outcome": [None, outcome]},
        )
    return follow_up


def follow_up_cancel(*, actor: User, follow_up: FollowUp, reason: str = "") -> None:
    if not follow_up.is_open:
        raise ValidationError(_("This follow-up is already done or cancelled."))
    with transaction.atomic():
        FollowUp.objects.filter(pk=follow_up.pk).update(cancelled_at=timezone.now())
        _follow_up_log(
            actor,
            follow_up,
            reason.strip(),
            {"follow_up": [follow_up.get_method_display(), None]},
            action=AuditEntry.Action.PLAN,
        )


def _check_subject(follow_up: FollowUp) -> None:
    if (follow_up.customer is None) == (follow_up.lead is None):
        raise ValidationError(_("A follow-up is about one customer or one lead."))
    if follow_up.method not in FollowUp.Method.values:
        raise ValidationError({"method": _("Choose how you will follow up.")})


def _touch_subject(follow_up: FollowUp, actor: User) -> None:
    """A new lead that has been followed up is being worked (logged like any change)."""
    from guanxi.sales.models import Lead

    if follow_up.lead_id is None:
        return
    changed = Lead.objects.filter(pk=follow_up.lead_id, status=Lead.Status.NEW).update(
        status=Lead.Status.WORKING, updated_at=timezone.now()
    )
    if changed:
        lead = follow_up.lead
        assert lead is not None
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=lead,
            customer_id=lead.customer_id,
            changes={"status": [Lead.Status.NEW, Lead.Status.WORKING]},
        )


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


logger = logging.getLogger(__name__)
DIGEST_HOUR = 8  # local time from which the day's digest goes out


def follow_up_digest_send(*, now: datetime | None = None) -> int:
    """Tell each person, once a day after 08:00 their time, how many follow-ups are due
    today and overdue: in the app and, when they have an address, by e-mail. Idempotent
    (run it hourly): a person who got today's digest is skipped. Returns how many were sent.
    """
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse
    from django.utils import translation

    now = now or timezone.now()
    owners = (
        FollowUp.objects.filter(
            done_at__isnull=True,
            cancelled_at__isnull=True,
            due_at__lt=now + timedelta(days=1),
            owner__is_active=True,
        )
        .values_list("owner_id", flat=True)
        .distinct()
    )
    sent = 0
    for user in User.objects.filter(pk__in=list(owners)):
        zone = ZoneInfo(user.time_zone or settings.TIME_ZONE)
        local = now.astimezone(zone)
        if local.hour < DIGEST_HOUR:
            continue
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
        if Notification.objects.filter(
            user=user, kind=Notification.Kind.REMINDER, created_at__gte=start
        ).exists():
            continue
        open_ = FollowUp.objects.filter(owner=user, done_at__isnull=True, cancelled_at__isnull=True)
        today = list(
            open_.filter(due_at__gte=start, due_at__lt=end)
            .select_related("customer", "lead")
            .order_by("due_at")[:20]
        )
        overdue = open_.filter(due_at__lt=start).count()
        if not today and not overdue:
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            message = _("Follow-ups: %(today)d due today, %(overdue)d overdue.") % {
                "today": len(today),
                "overdue": overdue,
            }
            lines = [
                f"{timezone.localtime(f.due_at, zone):%H:%M} {f.get_method_display()} "
                f"{f.customer or f.lead}"
                for f in today
                if f.due_at is not None
            ]
            subject = _("Your follow-ups for %(date)s") % {"date": f"{local:%Y-%m-%d}"}
        with transaction.atomic():
            notification_send(
                user=user,
                kind=Notification.Kind.REMINDER,
                message=message,
                url=reverse("activities:my-day"),
            )
        if user.email:
            try:
                send_mail(
                    subject,
                    "\n".join([message, "", *lines]),
                    settings.DEFAULT_FROM_EMAIL,
                    [user.email],
                )
            except (OSError, SMTPException):
                # The in-app reminder stands; the mail server's trouble is logged.
                logger.exception("follow-up digest e-mail to user %s failed", user.pk)
        sent += 1
    return sent


# --- meetings --------------------------------------------------------------------------------

MEETING_FIELDS = (
    "title",
    "start",
    "end",
    "all_day",
    "location",
    "description",
    "customer",
    "lead",
    "opportunity",
    "attendees",
    "contacts",
    "no_double_booking",
)
# A meeting's times must lie in this window: it keeps date arithmetic (all-day rounding,
# time zones) clear of the year 1 and 9999 limits, and catches mistyped years.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
LONGEST = timedelta(days=31)


@dataclass
class Conflict:
    """``user`` is already booked in ``meeting`` at an overlapping time. ``blocking``: the
    new meeting or the existing one refuses double booking. ``title`` is the existing
    meeting's title when the viewer may see it, else empty (shown as "busy")."""

    user: User
    meeting: Meeting
    blocking: bool
    title: str


class MeetingConflict(ValidationError):
    """Someone is already booked. ``blocking``: refused whatever the user says; otherwise
    the meeting is saved when the user confirms (``allow_conflicts``)."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        self.blocking = any(c.blocking for c in conflicts)
        names = ", ".join(sorted({str(c.user) for c in conflicts}))
        if self.blocking:
            message = _("Double booking is not allowed: %(names)s already booked.") % {
                "names": names
            }
        else:
            message = _("%(names)s already booked at that time; save anyway?") % {"names": names}
        super().__init__({"attendees": [ValidationError(message, code="conflict")]})


def meeting_conflicts(
    *,
    start: datetime,
    end: datetime,
    people: Sequence[User],
    exclude_id: int | None = None,
    refuse_double_booking: bool = False,
    viewer: User | None = None,
    limit: int = 50,
) -> list[Conflict]:
    """Non-cancelled meetings of ``people`` (organising or attending) that overlap
    [start, end), one row per person and meeting. Three queries whatever the calendar."""
    from guanxi.activities.access import meetings_visible_to

    by_id = {u.pk: u for u in people}
    if not by_id or end <= start:
        return []
    through = Meeting.attendees.through
    attending = through.objects.filter(user_id__in=by_id).values("meeting_id")
    qs = Meeting.objects.filter(
        models.Q(organiser_id__in=by_id) | models.Q(pk__in=attending),
        cancelled_at__isnull=True,
        start_at__lt=end,
        end_at__gt=start,
    ).order_by("start_at", "id")
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    meetings = list(qs[:limit])
    if not meetings:
        return []
    who: dict[int, set[int]] = {m.pk: {m.organiser_id} & set(by_id) for m in meetings}
    for row in through.objects.filter(meeting_id__in=who, user_id__in=by_id).values_list(
        "meeting_id", "user_id"
    ):
        who[row[0]].add(row[1])
    seen: set[int] = set()
    if viewer is not None:
        seen = set(meetings_visible_to(viewer).filter(pk__in=who).values_list("pk", flat=True))
    return [
        Conflict(
            user=by_id[user_id],
            meeting=m,
            blocking=refuse_double_booking or m.no_double_booking,
            title=m.title if m.pk in seen else "",
        )
        for m in meetings
        for user_id in sorted(who[m.pk])
    ]


def _meeting_customer_id(meeting: Meeting) -> int | None:
    """The customer whose timeline shows the meeting: its own, or its opportunity's or
    lead's customer."""
    if meeting.customer_id is not None:
        return meeting.customer_id
    if meeting.opportunity is not None:
        return meeting.opportunity.customer_id
    if meeting.lead is not None:
        return meeting.lead.customer_id
    return None


def _zone(user: User) -> Any:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(user.time_zone or settings.TIME_ZONE)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _all_day_bounds(start: datetime, end: datetime, zone: Any) -> tuple[datetime, datetime]:
    """Midnight of the first day to midnight after the last, in ``zone``. An end already
    at midnight is kept, so saving an all-day meeting again does not lengthen it."""
    first = timezone.localtime(start, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    last = timezone.localtime(end, zone)
    midnight = last.replace(hour=0, minute=0, second=0, microsecond=0)
    after = midnight if last == midnight and midnight > first else midnight + timedelta(days=1)
    return first, after


def _in_window(moment: datetime) -> bool:
    """Is ``moment`` (aware) between 2000 and 2099? Times near year 1 or 9999 whose offset
    cannot be taken off are not."""
    try:
        return EARLIEST <= moment.astimezone(UTC) < LATEST
    except (OverflowError, ValueError, TypeError):
        return False


def _meeting_clean(
    meeting: Meeting, attendees: Sequence[User], contacts: Sequence[Any]
) -> tuple[list[User], list[Any]]:
    """Check a meeting before it is saved; errors name the fields of the form and API."""
    errors: dict[str, list[str]] = {}
    meeting.title = (meeting.title or "").strip()
    meeting.location = (meeting.location or "").strip()
    meeting.description = (meeting.description or "").strip()
    if not meeting.title:
        errors.setdefault("title", []).append(_("Give the meeting a title."))
    start, end = meeting.start_at, meeting.end_at
    if start is None:
        errors.setdefault("start", []).append(_("When does the meeting start?"))
    if end is None:
        errors.setdefault("end", []).append(_("When does the meeting end?"))
    if start is not None and end is not None:
        if not _in_window(start):
            errors.setdefault("start", []).append(_("Choose a date between 2000 and 2099."))
        elif not _in_window(end):
            errors.setdefault("end", []).append(_("Choose a date between 2000 and 2099."))
        else:
            if meeting.all_day:
                if (
                    timezone.localtime(end, _zone(meeting.organiser)).date()
                    < timezone.localtime(start, _zone(meeting.organiser)).date()
                ):
                    errors.setdefault("end", []).append(_("The meeting ends before it starts."))
                else:
                    meeting.start_at, meeting.end_at = _all_day_bounds(
                        start, end, _zone(meeting.organiser)
                    )
            elif end <= start:
                errors.setdefault("end", []).append(_("The meeting must end after it starts."))
            if not errors.get("end") and meeting.end_at - meeting.start_at > LONGEST:
                errors.setdefault("end", []).append(_("A meeting lasts at most 31 days."))
    if meeting.opportunity is not None:
        if meeting.customer is None:
            meeting.customer = meeting.opportunity.customer
        elif meeting.opportunity.customer_id != meeting.customer.pk:
            errors.setdefault("opportunity", []).append(
                _("The opportunity belongs to another customer.")
            )
    people = [u for u in dict.fromkeys(attendees) if u.pk != meeting.organiser_id]
    if any(not u.is_active for u in people):
        errors.setdefault("attendees", []).append(_("Invite only active colleagues."))
    guests = list(dict.fromkeys(contacts))
    if guests:
        from guanxi.customers.models import ContactLink

        linked = set()
        if meeting.customer is not None:
            linked = set(
                ContactLink.objects.filter(
                    customer_id=meeting.customer.pk, contact__in=guests
                ).values_list("contact_id", flat=True)
            )
        if any(c.pk not in linked for c in guests):
            errors.setdefault("contacts", []).append(
                _("Invite contacts of the meeting's customer only.")
            )
    try:
        meeting.full_clean(
            exclude=["organiser", "customer", "lead", "opportunity", "created_by", "start_at"]
            + (["end_at"] if errors.get("end") or errors.get("start") else [])
        )
    except ValidationError as exc:
        renamed = {"start_at": "start", "end_at": "end"}
        for field, messages in exc.message_dict.items():
            if field == "__all__" and ("end" in errors or "start" in errors):
                continue
            errors.setdefault(renamed.get(field, field), []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return people, guests


def _meeting_snapshot(meeting: Meeting, attendees: Sequence[User], contacts: Sequence[Any]) -> dict:
    zone = _zone(meeting.organiser)
    return {
        "title": meeting.title,
        "start_at": timezone.localtime(meeting.start_at, zone).strftime("%Y-%m-%d %H:%M"),
        "end_at": timezone.localtime(meeting.end_at, zone).strftime("%Y-%m-%d %H:%M"),
        "all_day": meeting.all_day,
        "location": meeting.location,
        "description": meeting.description,
        "customer": str(meeting.customer) if meeting.customer is not None else None,
        "opportunity": str(meeting.opportunity) if meeting.opportunity is not None else None,
        "lead": str(meeting.lead) if meeting.lead is not None else None,
        "attendees": sorted(str(u) for u in attendees),
        "contacts": sorted(str(c) for c in contacts),
        "no_double_booking": meeting.no_double_booking,
        "organiser": str(meeting.organiser),
    }


def _meeting_payload(meeting: Meeting, attendees: Sequence[User], contacts: Sequence[Any]) -> dict:
    return {
        "id": meeting.pk,
        "uid": meeting.uid,
        "title": meeting.title,
        "organiser_id": meeting.organiser_id,
        "start_at": meeting.start_at.isoformat(),
        "end_at": meeting.end_at.isoformat(),
        "all_day": meeting.all_day,
        "customer_id": meeting.customer_id,
        "lead_id": meeting.lead_id,
        "opportunity_id": meeting.opportunity_id,
        "attendee_ids": sorted(u.pk for u in attendees),
        "contact_ids": sorted(c.pk for c in contacts),
        "sequence": meeting.sequence,
        "cancelled_at": meeting.cancelled_at.isoformat() if meeting.cancelled_at else None,
    }


def _meeting_log(
    actor: User, meeting: Meeting, action: str, changes: dict[str, Any], message: str = ""
) -> None:
    audit_record(
        actor=actor,
        action=action,
        subject=meeting,
        customer_id=_meeting_customer_id(meeting),
        changes=changes,
        message=message,
    )


def _invite_on_commit(
    meeting: Meeting,
    *,
    actor: User,
    removed_user_ids: Sequence[int] = (),
    removed_contact_ids: Sequence[int] = (),
) -> None:
    from guanxi.activities.tasks import meeting_invitations_task

    args = (
        meeting.pk,
        meeting.sequence,
        actor.pk,
        list(removed_user_ids),
        list(removed_contact_ids),
    )
    transaction.on_commit(partial(meeting_invitations_task.delay, *args))


def _check_conflicts(
    meeting: Meeting, people: Sequence[User], *, actor: User, allow_conflicts: bool
) -> None:
    """Raise ``MeetingConflict`` when any of ``people`` is already booked, unless the user
    confirmed and nobody refuses double booking."""
    conflicts = meeting_conflicts(
        start=meeting.start_at,
        end=meeting.end_at,
        people=list(dict.fromkeys(people)),
        exclude_id=meeting.pk,
        refuse_double_booking=meeting.no_double_booking,
        viewer=actor,
    )
    if conflicts and (allow_conflicts is False or any(c.blocking for c in conflicts)):
        raise MeetingConflict(conflicts)


def meeting_create(
    *,
    actor: User,
    data: dict[str, Any],
    organiser: User | None = None,
    allow_conflicts: bool = False,
) -> Meeting:
    """Put a meeting in the calendar (organised by the actor by default): checked, logged
    on the customer's timeline, invitations queued on commit. Someone already booked
    raises ``MeetingConflict`` unless ``allow_conflicts`` (and nobody refuses it)."""
    unknown = set(data) - set(MEETING_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    meeting = Meeting(
        title=data.get("title", ""),
        organiser=organiser or actor,
        start_at=data.get("start"),  # type: ignore[misc]
        end_at=data.get("end"),
        all_day=bool(data.get("all_day", False)),
        location=data.get("location", ""),
        description=data.get("description", ""),
        customer=data.get("customer"),
        lead=data.get("lead"),
        opportunity=data.get("opportunity"),
        no_double_booking=bool(data.get("no_double_booking", False)),
        created_by=actor,
    )
    people, guests = _meeting_clean(
        meeting, data.get("attendees") or [], data.get("contacts") or []
    )
    with transaction.atomic():
        _check_conflicts(
            meeting, [meeting.organiser, *people], actor=actor, allow_conflicts=allow_conflicts
        )
        meeting.save()
        meeting.attendees.set(people)
        meeting.contacts.set(guests)
        changes = diff_fields({}, _meeting_snapshot(meeting, people, guests))
        _meeting_log(actor, meeting, AuditEntry.Action.MEETING, changes)
        event_record(
            "meeting.created",
            subject=meeting,
            payload=_meeting_payload(meeting, people, guests),
            actor=actor,
        )
        _invite_on_commit(meeting, actor=actor)
    return meeting


def meeting_update(
    *, actor: User, meeting: Meeting, data: dict[str, Any], allow_conflicts: bool = False
) -> Meeting:
    """Change a meeting (only the fields in ``data``): the change is logged old → new, the
    invitation goes out again with a higher SEQUENCE, and whoever was taken off the
    meeting is sent a cancellation."""
    unknown = set(data) - set(MEETING_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    if meeting.cancelled_at is not None:
        raise ValidationError({"title": [_("A cancelled meeting cannot be changed.")]})
    with transaction.atomic():
        locked = (
            Meeting.objects.select_for_update(of=("self",))
            .select_related("organiser", "customer", "lead", "opportunity")
            .get(pk=meeting.pk)
        )
        if locked.cancelled_at is not None:
            raise ValidationError({"title": [_("A cancelled meeting cannot be changed.")]})
        old_people = list(locked.attendees.all())
        old_guests = list(locked.contacts.all())
        before = _meeting_snapshot(locked, old_people, old_guests)
        times = (locked.start_at, locked.end_at)
        for name, attr in (
            ("title", "title"),
            ("start", "start_at"),
            ("end", "end_at"),
            ("all_day", "all_day"),
            ("location", "location"),
            ("description", "description"),
            ("customer", "customer"),
            ("lead", "lead"),
            ("opportunity", "opportunity"),
            ("no_double_booking", "no_double_booking"),
        ):
            if name in data:
                setattr(locked, attr, data[name])
        people, guests = _meeting_clean(
            locked,
            data.get("attendees", old_people),
            data.get("contacts", old_guests),
        )
        after = _meeting_snapshot(locked, people, guests)
        changes = diff_fields(before, after)
        if not changes:
            return locked
        moved = (locked.start_at, locked.end_at) != times
        new_people = [u for u in people if u not in old_people]
        # Conflicts already accepted are not raised again: only for everyone when the time
        # moved (or double booking is now refused), else only for the newly invited.
        if moved or "no_double_booking" in changes:
            to_check = [locked.organiser, *people]
        else:
            to_check = new_people
        if to_check:
            _check_conflicts(locked, to_check, actor=actor, allow_conflicts=allow_conflicts)
        locked.sequence += 1
        locked.save()
        if "attendees" in changes:
            locked.attendees.set(people)
        if "contacts" in changes:
            locked.contacts.set(guests)
        _meeting_log(actor, locked, AuditEntry.Action.UPDATE, changes)
        event_record(
            "meeting.updated",
            subject=locked,
            payload={**_meeting_payload(locked, people, guests), "changes": changes},
            actor=actor,
        )
        _invite_on_commit(
            locked,
            actor=actor,
            removed_user_ids=[u.pk for u in old_people if u not in people],
            removed_contact_ids=[c.pk for c in old_guests if c not in guests],
        )
    meeting.refresh_from_db()
    return locked


def meeting_cancel(*, actor: User, meeting: Meeting, reason: str = "") -> Meeting:
    """Cancel a meeting: kept (and shown struck through), logged, and everyone invited is
    sent a METHOD:CANCEL."""
    with transaction.atomic():
        locked = (
            Meeting.objects.select_for_update(of=("self",))
            .select_related("organiser")
            .get(pk=meeting.pk)
        )
        if locked.cancelled_at is not None:
            raise ValidationError({"reason": [_("This meeting is already cancelled.")]})
        locked.cancelled_at = timezone.now()
        locked.sequence += 1
        locked.save(update_fields=["cancelled_at", "sequence", "updated_at"])
        _meeting_log(
            actor,
            locked,
            AuditEntry.Action.UPDATE,
            {"cancelled_at": [None, _local(locked.cancelled_at)]},
            message=reason.strip(),
        )
        event_record(
            "meeting.cancelled",
            subject=locked,
            payload={"id": locked.pk, "uid": locked.uid, "reason": reason.strip()},
            actor=actor,
        )
        _invite_on_commit(locked, actor=actor)
    meeting.cancelled_at, meeting.sequence = locked.cancelled_at, locked.sequence
    return locked


def meetings_handover(
    *,
    actor: User,
    from_user: User,
    to_users: Sequence[User],
    now: datetime | None = None,
) -> dict[int, int]:
    """Give ``from_user``'s future meetings to ``to_users`` (part of the user handover): a
    meeting with a customer goes to whoever now owns that customer, if among them; the
    rest are shared in turn. Past meetings keep their organiser. Returns {user id: count}."""
    now = now or timezone.now()
    result: dict[int, int] = {u.pk: 0 for u in to_users}
    if not to_users:
        return result
    receivers = {u.pk: u for u in to_users}
    with transaction.atomic():
        meetings = list(
            Meeting.objects.select_for_update(of=("self",))
            .filter(organiser=from_user, cancelled_at__isnull=True, start_at__gte=now)
            .select_related("customer", "opportunity", "lead")
            .order_by("start_at", "id")
        )
        turn = 0
        for meeting in meetings:
            owner_id = meeting.customer.owner_id if meeting.customer is not None else None
            if owner_id in receivers:
                receiver = receivers[owner_id]
            else:
                receiver = to_users[turn % len(to_users)]
                turn += 1
            meeting.organiser = receiver
            meeting.sequence += 1
            meeting.save(update_fields=["organiser", "sequence", "updated_at"])
            # The new organiser does not also attend.
            meeting.attendees.remove(receiver)
            _meeting_log(
                actor,
                meeting,
                AuditEntry.Action.HANDOVER,
                {"organiser": [str(from_user), str(receiver)]},
                message=_("Handover from %(user)s") % {"user": from_user},
            )
            event_record(
                "meeting.updated",
                subject=meeting,
                payload={"id": meeting.pk, "organiser_id": receiver.pk, "handover": True},
                actor=actor,
            )
            _invite_on_commit(meeting, actor=actor)
            result[receiver.pk] += 1
    return result


def meeting_invitations_send(
    *,
    meeting_id: int,
    sequence: int,
    actor_id: int | None = None,
    removed_user_ids: Sequence[int] = (),
    removed_contact_ids: Sequence[int] = (),
) -> int:
    """E-mail version ``sequence`` of a meeting (an .ics REQUEST, or CANCEL when cancelled)
    to the colleagues and contacts invited, a CANCEL to those taken off it, and notify the
    colleagues in the app (and the organiser, when someone else changed their meeting).
    Idempotent: each version goes out once, and a newer version saved since supersedes it.
    Returns how many e-mails were sent."""
    from django.core.mail import EmailMessage
    from django.urls import reverse
    from django.utils import translation

    from guanxi.activities.ical import invitation_ics
    from guanxi.customers.models import Contact

    meeting = (
        Meeting.objects.select_related("organiser").filter(pk=meeting_id, sequence=sequence).first()
    )
    if meeting is None:
        return 0
    claimed = Meeting.objects.filter(
        pk=meeting_id, sequence=sequence, invited_sequence__lt=sequence
    ).update(invited_sequence=sequence)
    if not claimed:
        return 0
    attendees = list(meeting.attendees.filter(is_active=True))
    guests = list(meeting.contacts.filter(deleted_at__isnull=True))
    listed = [(str(u), u.email) for u in attendees if u.email] + [
        (str(c), c.email) for c in guests if c.email
    ]
    cancelled = meeting.cancelled_at is not None
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    # (user or None, e-mail address or "", cancellation?, e-mail them?)
    recipients: list[tuple[User | None, str, bool, bool]] = [
        *((u, u.email, cancelled, True) for u in attendees if u.pk != actor_id),
        *((None, c.email, cancelled, True) for c in guests),
        *(
            (u, u.email, True, True)
            for u in User.objects.filter(pk__in=removed_user_ids, is_active=True)
        ),
        *((None, c.email, True, True) for c in Contact.objects.filter(pk__in=removed_contact_ids)),
    ]
    if actor_id != meeting.organiser_id and meeting.organiser.is_active:
        recipients.append((meeting.organiser, "", cancelled, False))
    url = reverse("calendar:meeting-detail", args=[meeting.pk])
    messages: list[EmailMessage] = []
    for user, address, cancel, by_mail in recipients:
        language = (user.language if user is not None else "") or settings.LANGUAGE_CODE
        zone = _zone(user if user is not None else meeting.organiser)
        with translation.override(language):
            values = {
                "title": meeting.title,
                "when": _meeting_when(meeting, zone),
                "organiser": meeting.organiser,
            }
            if cancel:
                subject = _("Cancelled: %(title)s (%(when)s)") % values
                line = _("The meeting %(title)s (%(when)s) is cancelled.") % values
            elif meeting.sequence == 0:
                subject = _("Invitation: %(title)s (%(when)s)") % values
                line = _("%(organiser)s invites you to %(title)s (%(when)s).") % values
            else:
                subject = _("Changed: %(title)s (%(when)s)") % values
                line = _("The meeting %(title)s is now %(when)s.") % values
            body = [line]
            if meeting.location and not cancel:
                body.append(_("Where: %(location)s") % {"location": meeting.location})
        if user is not None:
            notification_send(
                user=user, kind=Notification.Kind.MEETING, message=line, url=url, actor=actor
            )
        if not by_mail or not address:
            continue
        if meeting.description and not cancel:
            body += ["", meeting.description]
        message = EmailMessage(subject, "\n".join(body), settings.DEFAULT_FROM_EMAIL, [address])
        method = "CANCEL" if cancel else "REQUEST"
        message.attach(
            "invite.ics",
            invitation_ics(meeting, attendees=listed, cancel=cancel),
            f"text/calendar; method={method}; charset=utf-8",
        )
        messages.append(message)
    sent = 0
    for message in messages:
        try:
            message.send()
        except (OSError, SMTPException):
            # The in-app notice stands; the mail server's trouble is logged.
            logger.exception("meeting %s invitation to %s failed", meeting.pk, message.to)
        else:
            sent += 1
    return sent


def _meeting_when(meeting: Meeting, zone: Any) -> str:
    start = timezone.localtime(meeting.start_at, zone)
    if meeting.all_day:
        last = timezone.localtime(meeting.end_at - timedelta(seconds=1), zone)
        if last.date() == start.date():
            return f"{start:%Y-%m-%d}"
        return f"{start:%Y-%m-%d} – {last:%Y-%m-%d}"
    end = timezone.localtime(meeting.end_at, zone)
    if end.date() == start.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def calendar_feed_reset(*, user: User) -> str:
    """Give ``user`` a new secret feed address (the old one stops working); returns the
    token, which is not stored (only its hash)."""
    import hashlib
    import secrets

    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    with transaction.atomic():
        CalendarFeed.objects.update_or_create(
            user=user, defaults={"token_hash": digest, "last_used_at": None}
        )
    return token


def calendar_feed_user(*, token: str) -> User | None:
    """The active user whose feed ``token`` is, or None."""
    import hashlib

    if not token or len(token) > 100:
        return None
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=digest).first()
    if feed is None or not feed.user.is_active:
        return None
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(hours=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed.user


# --- call lists --------------------------------------------------------------------------------

CALL_LIST_MAX_ENTRIES = 5000


def call_list_create(
    *, actor: User, name: str, filters: Any, assignees: Sequence[User]
) -> CallList:
    """Build a call list from the contacts (with a mobile or phone) of the customers that
    match ``filters`` and that ``actor`` may see, shared among ``assignees`` in turn."""
    from django.urls import reverse

    from guanxi.activities.access import call_list_assignable
    from guanxi.activities.selectors import call_list_candidates

    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the call list a name.")]
    elif len(name) > 200:
        errors["name"] = [_("At most 200 characters.")]
    reps = list(dict.fromkeys(assignees))
    if not reps:
        errors["assignees"] = [_("Choose who makes the calls.")]
    else:
        allowed = set(
            call_list_assignable(actor)
            .filter(pk__in=[u.pk for u in reps])
            .values_list("pk", flat=True)
        )
        if any(u.pk not in allowed or not u.has_perm("activities.view_calllist") for u in reps):
            errors["assignees"] = [_("Choose colleagues of your team who work call lists.")]
    if errors:
        raise ValidationError(errors)
    links = list(call_list_candidates(user=actor, filters=filters, limit=CALL_LIST_MAX_ENTRIES + 1))
    # A contact of two matching customers is called once, for the first of them.
    first: dict[int, Any] = {}
    for link in links:
        first.setdefault(link.contact_id, link)
    unique = list(first.values())
    if not unique:
        raise ValidationError(
            {"filters": [_("No contact with a phone number matches this filter.")]}
        )
    if len(links) > CALL_LIST_MAX_ENTRIES:
        raise ValidationError(
            {
                "filters": [
                    _("More than %(max)d contacts match: narrow the filter.")
                    % {"max": CALL_LIST_MAX_ENTRIES}
                ]
            }
        )
    recorded = {k: v for k, v in vars(filters).items() if v not in (None, "", {}, [])}
    with transaction.atomic():
        call_list = CallList.objects.create(
            name=name, owner=actor, team_id=actor.team_id, filters=_plain(recorded)
        )
        CallListEntry.objects.bulk_create(
            [
                CallListEntry(
                    call_list=call_list,
                    customer_id=link.customer_id,
                    contact_id=link.contact_id,
                    assignee=reps[index % len(reps)],
                    position=index,
                )
                for index, link in enumerate(unique)
            ],
            batch_size=500,
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=call_list,
            changes={
                "name": [None, name],
                "entries": [None, len(unique)],
                "assignees": [None, [str(u) for u in reps]],
            },
        )
        event_record(
            "call_list.created",
            subject=call_list,
            payload={
                "id": call_list.pk,
                "name": name,
                "entries": len(unique),
                "assignee_ids": [u.pk for u in reps],
            },
            actor=actor,
        )
        for rep in reps:
            if rep.pk != actor.pk:
                transaction.on_commit(
                    partial(
                        notification_send,
                        user=rep,
                        kind=Notification.Kind.ASSIGNED,
                        message=_("%(actor)s gave you calls to make: %(name)s.")
                        % {"actor": actor, "name": name},
                        url=reverse("activities:call-list-detail", args=[call_list.pk]),
                        actor=actor,
                    )
                )
    return call_list


def call_list_entry_log(
    *,
    actor: User,
    entry: CallListEntry,
    outcome: str,
    duration_minutes: int | None = None,
    notes: str = "",
    next_due_at: datetime | None = None,
    next_method: str = "",
    next_plan: str = "",
) -> FollowUp:
    """Log the call of a call list entry: a done follow-up (a phone call) on the customer's
    timeline, the entry marked done, and optionally the next follow-up planned."""
    if next_due_at is not None and next_due_at < timezone.now() - timedelta(minutes=5):
        raise ValidationError({"next_due_at": [_("The next follow-up must be in the future.")]})
    if next_method and next_method not in FollowUp.Method.values:
        raise ValidationError({"next_method": [_("Choose how you will follow up.")]})
    with transaction.atomic():
        locked = CallListEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.done_at is not None:
            raise ValidationError({"outcome": [_("This call is already logged.")]})
        contact = entry.contact
        summary = notes.strip()
        follow_up = follow_up_record(
            actor=actor,
            customer=entry.customer,
            method=FollowUp.Method.CALL,
            outcome=outcome,
            summary=f"{contact.name}: {summary}" if summary else contact.name,
            duration_minutes=duration_minutes,
        )
        CallListEntry.objects.filter(pk=entry.pk).update(
            done_at=follow_up.done_at, follow_up=follow_up
        )
        entry.done_at, entry.follow_up = follow_up.done_at, follow_up
        if next_due_at is not None:
            follow_up_plan(
                actor=actor,
                customer=entry.customer,
                method=next_method or FollowUp.Method.CALL,
                due_at=next_due_at,
                plan=next_plan,
            )
    return follow_up


def follow_ups_handover(
    *, actor: User, from_user: User, to_users: Sequence[User]
) -> dict[int, int]:
    """Give a leaver's open follow-ups and to-dos to colleagues (part of the user
    handover, after customers and leads moved): each goes to the new owner of its customer
    or lead when that is one of ``to_users``, else to ``to_users`` in turn. Returns
    {receiving user id: number received}."""
    result: dict[int, int] = {user.pk: 0 for user in to_users}
    if not to_users:
        return result
    by_id = {user.pk: user for user in to_users}
    open_ = (
        FollowUp.objects.filter(owner=from_user, done_at__isnull=True, cancelled_at__isnull=True)
        .select_related("customer", "lead")
        .order_by("id")
    )
    with transaction.atomic():
        for index, follow_up in enumerate(open_):
            subject = follow_up.customer or follow_up.lead
            subject_owner = getattr(subject, "owner_id", None)
            new_owner = by_id.get(subject_owner or 0) or to_users[index % len(to_users)]
            FollowUp.objects.filter(pk=follow_up.pk).update(
                owner=new_owner, updated_at=timezone.now()
            )
            _follow_up_log(
                actor,
                follow_up,
                _("Handover from %(user)s") % {"user": from_user},
                {"owner": [str(from_user), str(new_owner)]},
                action=AuditEntry.Action.HANDOVER,
            )
            result[new_owner.pk] += 1
    return result
