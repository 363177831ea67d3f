"""Role scopes: how far each user reaches in each module (own / team / all).

A user's scopes, team subtree and permissions are read once and kept in the cache (shared
by all web processes when Redis is configured) under a version number that any change to
roles, scopes, teams or group membership bumps, so a change applies on the next request.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Q

from guanxi.users.models import SCOPE_ORDER, Module, RoleScope, Scope, Team, User

AnyUser = User | AnonymousUser
VERSION_KEY = "guanxi:access-version"
CACHE_SECONDS = 600


def access_version() -> int:
    """The current version of everything access depends on."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return int(version)


def access_changed() -> None:
    """Invalidate every cached scope, team list and permission set."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)


def _cached(user: User, name: str, compute: Any) -> Any:
    attr = f"_guanxi_{name}"
    if hasattr(user, attr):
        return getattr(user, attr)
    key = f"guanxi:{name}:{user.pk}:{access_version()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    setattr(user, attr, value)
    return value


def _scopes(user: User) -> dict[tuple[str, str], str]:
    def compute() -> dict[tuple[str, str], str]:
        result: dict[tuple[str, str], str] = {}
        for rs in RoleScope.objects.filter(role__user=user):
            for kind, value in (("read", rs.read_scope), ("write", rs.write_scope)):
                key = (rs.module, kind)
                if SCOPE_ORDER[Scope(value)] > SCOPE_ORDER[Scope(result.get(key, Scope.NONE))]:
                    result[key] = value
        return result

    scopes: dict[tuple[str, str], str] = _cached(user, "scopes", compute)
    return scopes


def scope_for(user: AnyUser, module: Module, kind: str) -> Scope:
    """The widest scope any of the user's roles grants for ``kind`` ("read"/"write")."""
    if not user.is_authenticated or not user.is_active:
        return Scope.NONE
    assert isinstance(user, User)
    if user.is_superuser:
        return Scope.ALL
    return Scope(_scopes(user).get((module, kind), Scope.NONE))


def team_ids_for(user: User) -> list[int]:
    """The user's own team and every team below it."""

    team_id = user.team_id
    if not team_id:
        return []

    def compute() -> list[int]:
        team = Team.objects.filter(pk=team_id).only("path").first()
        return team.subtree_ids() if team is not None else []

    ids: list[int] = _cached(user, f"teams{team_id}", compute)
    return ids


class CachedModelBackend(ModelBackend):
    """Django's model backend, with each user's permission sets kept in the cache."""

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        perms: set[str] = _cached(
            user_obj,
            "user_perms",
            lambda: super(CachedModelBackend, self).get_user_permissions(user_obj),
        )
        return perms

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        perms: set[str] = _cached(
            user_obj,
            "group_perms",
            lambda: super(CachedModelBackend, self).get_group_permissions(user_obj),
        )
        return perms


def ownership_filter(user: AnyUser, module: Module, kind: str) -> Q | None:
    """For records with an ``owner`` and a ``team``: a Q for the rows within the user's
    ``kind`` ("read"/"write") scope in ``module``, or None for "no rows at all"."""
    scope = scope_for(user, module, kind)
    if scope == Scope.NONE:
        return None
    if scope == Scope.ALL:
        return Q()
    assert isinstance(user, User)
    if scope == Scope.TEAM:
        team_ids = team_ids_for(user)
        # Members by their current team (a subquery, not a join, so the planner can use
        # the owner index), plus records assigned to those teams.
        members = User.objects.filter(team_id__in=team_ids).values("pk")
        return Q(owner=user) | Q(owner_id__in=members) | Q(team_id__in=team_ids)
    return Q(owner=user)
