"""Writes to the audit trail and notifications. Called by other apps' services inside
their transactions, so the audit row commits or rolls back with the change itself."""

from typing import Any

from django.db import models

from guanxi.activities.models import AuditEntry, Notification
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
