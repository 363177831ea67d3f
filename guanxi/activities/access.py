"""Which follow-ups, meetings and call lists a user may see and work.

A follow-up is seen by whoever may see its customer or lead, and by the person who owns
it. Planning one needs the right to change the customer or lead; completing or cancelling
one is for its owner, or anyone who may change its customer or lead (a manager).

A meeting is seen by its organiser, its attendees, and whoever's calendar read scope
covers the organiser (own / team and sub-teams / all, like an owner). It is changed or
cancelled by its organiser, or by whoever's calendar write scope covers the organiser.

A call list is managed by the one who built it, or whoever's calendar scope covers that
person; a rep sees the lists with entries assigned to them, and only those entries.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from guanxi.activities.models import CallList, CallListEntry, FollowUp, Meeting
from guanxi.customers.access import customers_editable_by, customers_visible_to
from guanxi.sales.access import leads_actionable_by, leads_visible_to
from guanxi.users.access import AnyUser, ownership_filter, scope_for, team_ids_for
from guanxi.users.models import Module, Scope, User


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


# --- meetings ---------------------------------------------------------------------------------


def _either(first: Q, scoped: Q | None) -> Q:
    """``first`` or ``scoped``. (An empty Q means "every row", but ``Q(...) | Q()`` drops
    the empty side and would narrow it to ``first`` alone.)"""
    if scoped is None:
        return first
    if scoped == Q():
        return Q()
    return first | scoped


def _organiser_filter(user: AnyUser, kind: str) -> Q | None:
    """Meetings whose organiser lies within the user's calendar ``kind`` scope, or None."""
    scope = scope_for(user, Module.CALENDAR, kind)
    perm = "activities.view_meeting" if kind == "read" else "activities.change_meeting"
    if scope == Scope.NONE or not user.has_perm(perm):
        return None
    if scope == Scope.ALL:
        return Q()
    assert isinstance(user, User)
    if scope == Scope.TEAM:
        members = User.objects.filter(team_id__in=team_ids_for(user)).values("pk")
        return Q(organiser=user) | Q(organiser_id__in=members)
    return Q(organiser=user)


def _attending(user: AnyUser) -> Exists:
    through = Meeting.attendees.through
    return Exists(through.objects.filter(meeting_id=OuterRef("pk"), user_id=user.pk or 0))


def meetings_visible_to(user: AnyUser) -> QuerySet[Meeting]:
    """Meetings ``user`` organises, attends, or whose organiser their scope covers."""
    if not user.is_authenticated:
        return Meeting.objects.none()
    condition = _either(Q(organiser=user) | Q(_attending(user)), _organiser_filter(user, "read"))
    return Meeting.objects.filter(condition)


def meetings_editable_by(user: AnyUser) -> QuerySet[Meeting]:
    """Meetings ``user`` may change or cancel: their own, or within their write scope."""
    if not user.is_authenticated:
        return Meeting.objects.none()
    return Meeting.objects.filter(_either(Q(organiser=user), _organiser_filter(user, "write")))


def meeting_can_create(user: AnyUser) -> bool:
    """May ``user`` organise meetings at all?"""
    return user.is_authenticated and user.has_perm("activities.add_meeting")


def meeting_can_change(user: AnyUser, meeting: Meeting) -> bool:
    """May ``user`` change or cancel ``meeting``?"""
    if not user.is_authenticated:
        return False
    if meeting.organiser_id == user.pk:
        return True
    return meetings_editable_by(user).filter(pk=meeting.pk).exists()


def meeting_access_by_id(user: AnyUser, meeting_id: int, action: str = "view") -> Meeting:
    """Fetch a meeting and authorise ``action`` ("view" or "edit"): Http404 when the user
    may not see it (no existence leak), PermissionDenied when they may see but not change."""
    meeting = (
        meetings_visible_to(user)
        .select_related("organiser", "customer", "lead", "opportunity")
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None:
        raise Http404("No such meeting")
    if action != "view" and not meeting_can_change(user, meeting):
        raise PermissionDenied
    return meeting


def calendar_people(user: AnyUser) -> QuerySet[User]:
    """Colleagues whose calendar ``user`` may open: everyone (all), the team subtree
    (team), or only themselves."""
    if not user.is_authenticated:
        return User.objects.none()
    assert isinstance(user, User)
    scope = scope_for(user, Module.CALENDAR, "read")
    if not user.has_perm("activities.view_meeting") or scope in (Scope.NONE, Scope.OWN):
        return User.objects.filter(pk=user.pk)
    active = User.objects.filter(is_active=True)
    if scope == Scope.ALL:
        return active
    return active.filter(Q(pk=user.pk) | Q(team_id__in=team_ids_for(user)))


# --- call lists -------------------------------------------------------------------------------


def call_lists_managed_by(user: AnyUser) -> QuerySet[CallList]:
    """Call lists ``user`` built, or built by someone within their calendar scope (a
    manager for their team)."""
    if not user.is_authenticated or not user.has_perm("activities.add_calllist"):
        return CallList.objects.none()
    condition = _either(Q(owner=user), ownership_filter(user, Module.CALENDAR, "read"))
    return CallList.objects.filter(condition)


def call_lists_visible_to(user: AnyUser) -> QuerySet[CallList]:
    """Call lists ``user`` manages, may read within scope, or has entries assigned in."""
    if not user.is_authenticated or not user.has_perm("activities.view_calllist"):
        return CallList.objects.none()
    assigned = CallListEntry.objects.filter(call_list=OuterRef("pk"), assignee=user)
    condition = Q(owner=user) | Q(Exists(assigned))
    if user.has_perm("activities.add_calllist"):
        condition = _either(condition, ownership_filter(user, Module.CALENDAR, "read"))
    return CallList.objects.filter(condition)


def call_list_can_manage(user: AnyUser, call_list: CallList) -> bool:
    """May ``user`` see every entry and the progress of every rep of ``call_list``?"""
    if not user.is_authenticated or not user.has_perm("activities.add_calllist"):
        return False
    if call_list.owner_id == user.pk:
        return True
    scoped = ownership_filter(user, Module.CALENDAR, "read")
    return scoped is not None and CallList.objects.filter(scoped, pk=call_list.pk).exists()


def call_list_entries_visible_to(user: AnyUser, call_list: CallList) -> QuerySet[CallListEntry]:
    """The entries of ``call_list`` ``user`` may see: all for its managers, else their own."""
    entries = CallListEntry.objects.filter(call_list=call_list)
    if call_list_can_manage(user, call_list):
        return entries
    return entries.filter(assignee_id=user.pk)


def call_list_access_by_id(user: AnyUser, call_list_id: int) -> CallList:
    """Fetch a call list the user may see, or Http404."""
    call_list = call_lists_visible_to(user).select_related("owner").filter(pk=call_list_id).first()
    if call_list is None:
        raise Http404("No such call list")
    return call_list


def call_list_entry_access_by_id(user: AnyUser, entry_id: int) -> CallListEntry:
    """Fetch an entry the user may log a call on: theirs, or one of a list they manage.
    Http404 otherwise (a rep never learns of another rep's entries)."""
    if not user.is_authenticated or not user.has_perm("activities.view_calllist"):
        raise Http404("No such entry")
    entry = (
        CallListEntry.objects.select_related("call_list", "customer", "contact", "assignee")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        raise Http404("No such entry")
    if entry.assignee_id != user.pk and not call_list_can_manage(user, entry.call_list):
        raise Http404("No such entry")
    return entry


def call_list_assignable(user: AnyUser) -> QuerySet[User]:
    """Colleagues ``user`` may give call list entries to: within their calendar write
    scope (the team and sub-teams for a manager, everyone for an administrator)."""
    if not user.is_authenticated or not user.has_perm("activities.add_calllist"):
        return User.objects.none()
    assert isinstance(user, User)
    scope = scope_for(user, Module.CALENDAR, "write")
    active = User.objects.filter(is_active=True)
    if scope == Scope.ALL:
        return active
    if scope == Scope.TEAM:
        return active.filter(Q(pk=user.pk) | Q(team_id__in=team_ids_for(user)))
    return active.filter(pk=user.pk)
