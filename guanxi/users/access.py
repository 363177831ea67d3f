"""Role scopes: how far each user reaches in each module (own / team / all)."""

from django.contrib.auth.models import AnonymousUser

from guanxi.users.models import SCOPE_ORDER, Module, RoleScope, Scope, Team, User

AnyUser = User | AnonymousUser


def _scopes(user: User) -> dict[tuple[str, str], str]:
    cached: dict[tuple[str, str], str] | None = getattr(user, "_guanxi_scopes", None)
    if cached is not None:
        return cached
    result: dict[tuple[str, str], str] = {}
    for rs in RoleScope.objects.filter(role__user=user):
        for kind, value in (("read", rs.read_scope), ("write", rs.write_scope)):
            key = (rs.module, kind)
            if SCOPE_ORDER[Scope(value)] > SCOPE_ORDER[Scope(result.get(key, Scope.NONE))]:
                result[key] = value
    user._guanxi_scopes = result  # type: ignore[attr-defined]
    return result


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
    cached: list[int] | None = getattr(user, "_guanxi_team_ids", None)
    if cached is not None:
        return cached
    ids: list[int] = []
    if user.team_id:
        team = Team.objects.filter(pk=user.team_id).only("path").first()
        if team is not None:
            ids = team.subtree_ids()
    user._guanxi_team_ids = ids  # type: ignore[attr-defined]
    return ids
