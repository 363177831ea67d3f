"""Settings for administrators: users, teams, roles (groups with scopes)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from guanxi.users.models import ApiToken, RoleScope, Team, User
from guanxi.users.services import team_save

admin.site.site_header = _("Guanxi settings")
admin.site.site_title = _("Guanxi settings")
admin.site.index_title = _("Users, teams, roles, tags and channels")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "team", "is_active", "last_login"]
    list_filter = ["is_active", "groups", "team"]
    search_fields = ["username", "display_name", "email", "mobile"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Guanxi"), {"fields": ["display_name", "mobile", "team", "language", "time_zone"]}),
    )
    readonly_fields = ["last_login", "date_joined"]
    actions = ["unlock"]

    @admin.action(description=_("Unlock the selected accounts"))
    def unlock(self, request, queryset):
        queryset.update(locked_until=None, failed_login_count=0)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "parent",
        "manager",
        "lead_claim_limit",
        "lead_return_days",
        "customer_claim_limit",
        "customer_return_days",
    ]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        team_save(team=obj)


class RoleScopeInline(admin.TabularInline):
    model = RoleScope
    extra = 0


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(BaseGroupAdmin):
    inlines = [RoleScopeInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at"]
    search_fields = ["user__username", "name"]

    def has_add_permission(self, request):
        return False
