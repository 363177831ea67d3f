from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_migrate
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
