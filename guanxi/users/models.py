"""Users, teams (a department tree), role scopes and personal API tokens."""

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import TimeStampedModel

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz]


class Team(TimeStampedModel):
    """A department or sub-team. ``path`` ("/1/4/9/") makes "this team and below" one query."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    lead_claim_limit = models.PositiveSmallIntegerField(
        _("open leads a member may hold"),
        null=True,
        blank=True,
        help_text=_("Claiming from the pool stops at this many open leads; empty: no limit."),
    )
    lead_return_days = models.PositiveSmallIntegerField(
        _("days without follow-up before a lead returns to the pool"),
        null=True,
        blank=True,
        help_text=_("Empty: leads of this team never return on their own."),
    )
    customer_claim_limit = models.PositiveIntegerField(
        _("customers a member may own"),
        null=True,
        blank=True,
        help_text=_("Claiming from the customer pool stops at this many; empty: no limit."),
    )
    customer_return_days = models.PositiveSmallIntegerField(
        _("days without follow-up before a customer returns to the pool"),
        null=True,
        blank=True,
        help_text=_("Empty: customers of this team never return on their own."),
    )
    return_warning_days = models.PositiveSmallIntegerField(
        _("days of notice before the return"), default=2
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="users_team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def subtree_ids(self) -> list[int]:
        return list(Team.objects.filter(path__startswith=self.path).values_list("id", flat=True))


class User(AbstractUser):
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", choices=TIMEZONE_CHOICES
    )
    failed_login_count = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_failed_login_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")  # type: ignore[assignment]
        verbose_name_plural = _("users")  # type: ignore[assignment]
        permissions = [("manage_users", _("Can manage users, teams and roles"))]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def label(self) -> str:
        return str(self)


class Module(models.TextChoices):
    CUSTOMERS = "customers", _("Customers and contacts")
    LEADS = "leads", _("Leads")
    OPPORTUNITIES = "opportunities", _("Opportunities")
    ORDERS = "orders", _("Quotes, orders and payments")
    CALENDAR = "calendar", _("Calendar and call lists")


class Scope(models.TextChoices):
    NONE = "none", _("None")
    OWN = "own", _("Own records")
    TEAM = "team", _("Team and sub-teams")
    ALL = "all", _("All records")


SCOPE_ORDER = {Scope.NONE: 0, Scope.OWN: 1, Scope.TEAM: 2, Scope.ALL: 3}


class RoleScope(models.Model):
    """How far a role reaches in one module: which rows it may read and which it may change."""

    role = models.ForeignKey(
        Group, verbose_name=_("role"), on_delete=models.CASCADE, related_name="scopes"
    )
    module = models.CharField(_("module"), max_length=32, choices=Module.choices)
    read_scope = models.CharField(
        _("may see"), max_length=8, choices=Scope.choices, default=Scope.OWN
    )
    write_scope = models.CharField(
        _("may change"), max_length=8, choices=Scope.choices, default=Scope.OWN
    )

    class Meta:
        verbose_name = _("role scope")
        verbose_name_plural = _("role scopes")
        constraints = [
            models.UniqueConstraint(fields=["role", "module"], name="users_rolescope_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.role} · {self.get_module_display()}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
