"""Reads of the timeline and notifications."""

from django.db.models import QuerySet

from guanxi.activities.models import AuditEntry, Notification
from guanxi.users.models import User


def timeline_for_customer(*, customer_id: int) -> QuerySet[AuditEntry]:
    """Every audit entry about a customer, newest first. Callers check the customer's access."""
    return AuditEntry.objects.filter(customer_id=customer_id).select_related("actor")


def notifications_for(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).select_related("actor")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs
