"""Writes to the audit trail and notifications. Called by other apps' services inside
their transactions, so the audit row commits or rolls back with the change itself."""

import logging
from datetime import datetime, timedelta
from smtplib import SMTPException
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import AuditEntry, FollowUp, Notification
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
    method: str,
    due_at: datetime,
    plan: str = "",
) -> FollowUp:
    """Plan the next follow-up of a customer or a lead (owner: the actor by default)."""
    follow_up = FollowUp(
        owner=owner or actor,
        customer=customer,
        lead=lead,
        method=method,
        due_at=due_at,
        plan=plan.strip(),
        created_by=actor,
    )
    _check_subject(follow_up)
    follow_up.full_clean(exclude=["owner", "customer", "lead", "created_by"])
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
    follow_up.full_clean(exclude=["owner", "customer", "lead", "created_by"])
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
        customer=customer,
        lead=lead,
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
    follow_up.full_clean(exclude=["owner", "customer", "lead", "created_by"])
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
