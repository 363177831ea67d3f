from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver

from guanxi.users import services


@receiver(post_migrate)
def ensure_default_roles(sender, **kwargs):
    # Permissions are created per app in post_migrate, so wait for the last Guanxi app:
    # by then every permission a default role names exists.
    from django.apps import apps

    ours = [
        c.label
        for c in apps.get_app_configs()
        if c.name.startswith("guanxi.") and c.models_module is not None
    ]
    if getattr(sender, "label", "") == ours[-1]:
        from guanxi.users.roles import roles_ensure_defaults

        roles_ensure_defaults()


@receiver(user_login_failed)
def count_failed_login(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if username:
        services.login_failure_record(username=username)


@receiver(user_logged_in)
def reset_failed_logins(sender, request, user, **kwargs):
    services.login_success_record(user=user)


def _access_changed(sender, **kwargs):
    from guanxi.users.access import access_changed

    access_changed()


# Anything that changes what a user may reach invalidates the cached scopes and perms.
for _model in ("users.RoleScope", "users.Team", Group):
    post_save.connect(_access_changed, sender=_model, dispatch_uid=f"access-save-{_model}")
    post_delete.connect(_access_changed, sender=_model, dispatch_uid=f"access-del-{_model}")
for _through in (Group.permissions.through,):
    m2m_changed.connect(_access_changed, sender=_through, dispatch_uid="access-group-perms")


@receiver(post_save, sender="users.User")
def _user_saved(sender, instance, update_fields=None, **kwargs):
    # Logins only touch last_login; team, status and superuser changes matter.
    if update_fields is None or {"team", "is_active", "is_superuser"} & set(update_fields):
        _access_changed(sender)


@receiver(m2m_changed)
def _user_roles_changed(sender, **kwargs):
    from guanxi.users.models import User

    if sender in (User.groups.through, User.user_permissions.through):
        _access_changed(sender)
