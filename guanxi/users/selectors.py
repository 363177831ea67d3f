"""Reads of users and teams. Users and teams are not row-scoped: anyone may pick them."""

from django.db.models import QuerySet

from guanxi.users.models import Team, User


def user_get_active(*, user_id: int) -> User | None:
    """The active user with this id, or None."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def users_active() -> QuerySet[User]:
    """Active users, by username (for owner pickers)."""
    return User.objects.filter(is_active=True).order_by("username")


def team_get(*, team_id: int) -> Team | None:
    """The team with this id, or None."""
    return Team.objects.filter(pk=team_id).first()
