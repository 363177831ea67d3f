"""Writes for users, teams and API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone

from guanxi.users.models import ApiToken, Team, User

TOKEN_PREFIX = "gx_"


def team_save(*, team: Team) -> Team:
    """Save a team and keep ``path`` of it and every team below it consistent."""
    with transaction.atomic():
        if team.pk:
            # The stored path, not the one in memory: an ancestor may have moved since.
            team.path = (
                Team.objects.select_for_update()
                .filter(pk=team.pk)
                .values_list("path", flat=True)
                .first()
                or ""
            )
        if team.parent_id:
            parent = Team.objects.get(pk=team.parent_id)
            if team.pk and parent.path.startswith(team.path or "\0"):
                from django.core.exceptions import ValidationError
                from django.utils.translation import gettext as _

                raise ValidationError({"parent": _("A team cannot be placed under itself.")})
        old_path = team.path
        team.save()
        parent_path = Team.objects.get(pk=team.parent_id).path if team.parent_id else "/"
        new_path = f"{parent_path}{team.pk}/"
        if new_path != old_path:
            Team.objects.filter(pk=team.pk).update(path=new_path)
            if old_path:
                Team.objects.filter(path__startswith=old_path).exclude(pk=team.pk).update(
                    path=Concat(
                        Value(new_path), Substr(F("path"), len(old_path) + 1, Length(F("path")))
                    )
                )
            team.path = new_path
    return team


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain secret is returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip() or "API", prefix=secret[:10], key_hash=_hash(secret)
    )
    return token, secret


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when there is no such active token."""
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return updated == 1


def api_token_authenticate(secret: str) -> User | None:
    """The active user behind an active token, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_is_locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > timezone.now())


def login_failure_record(*, username: str) -> None:
    """Count a failed login; lock the account after ``LOGIN_LOCKOUT_ATTEMPTS`` failures in a
    row within ``LOGIN_LOCKOUT_MINUTES`` (an old failure no longer counts)."""
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        return
    now = timezone.now()
    window_start = now - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    with transaction.atomic():
        # A failure streak that went quiet for a whole window starts again from zero.
        User.objects.filter(pk=user.pk, last_failed_login_at__lt=window_start).update(
            failed_login_count=0
        )
        User.objects.filter(pk=user.pk).update(
            failed_login_count=F("failed_login_count") + 1, last_failed_login_at=now
        )
    user.refresh_from_db(fields=["failed_login_count"])
    if user.failed_login_count >= settings.LOGIN_LOCKOUT_ATTEMPTS:
        User.objects.filter(pk=user.pk).update(
            locked_until=timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES),
            failed_login_count=0,
        )


def login_success_record(*, user: User) -> None:
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
