"""Which follow-ups a user may see and work.

A follow-up is seen by whoever may see its customer or lead, and by the person who owns
it. Planning one needs the right to change the customer or lead; completing or cancelling
one is for its owner, or anyone who may change its customer or lead (a manager).
"""

from django.db.models import Q, QuerySet

from guanxi.activities.models import FollowUp
from guanxi.customers.access import customers_editable_by, customers_visible_to
from guanxi.sales.access import leads_actionable_by, leads_visible_to
from guanxi.users.access import AnyUser


def follow_ups_visible_to(user: AnyUser) -> QuerySet[FollowUp]:
    if not user.is_authenticated:
        return FollowUp.objects.none()
    return FollowUp.objects.filter(
        Q(owner=user)
        | Q(customer__in=customers_visible_to(user))
        | Q(lead__in=leads_visible_to(user))
    )


def follow_up_can_work(user: AnyUser, follow_up: FollowUp) -> bool:
    """May ``user`` complete, cancel or reschedule ``follow_up``?"""
    if not user.is_authenticated:
        return False
    if follow_up.owner_id == user.pk:
        return True
    if follow_up.customer_id is not None:
        return customers_editable_by(user).filter(pk=follow_up.customer_id).exists()
    lead_id = follow_up.lead_id or 0
    return leads_actionable_by(user, "edit").filter(pk=lead_id).exists()
