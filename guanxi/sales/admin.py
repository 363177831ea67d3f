from django.contrib import admin
from django.http import HttpRequest

from guanxi.sales.models import AssignmentRule, Lead, WebForm


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "province", "city", "method", "user", "team", "priority", "is_active"]
    list_filter = ["method", "is_active", "province"]
    list_editable = ["priority", "is_active"]
    search_fields = ["name", "province", "city"]
    autocomplete_fields = ["user", "team"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Read-mostly: leads are worked on their own pages, where every change is logged."""

    list_display = [
        "name",
        "company",
        "mobile",
        "status",
        "intent",
        "owner",
        "source",
        "created_at",
    ]
    list_filter = ["status", "intent", "source"]
    search_fields = ["name", "company", "mobile"]
    list_select_related = ["owner"]
    readonly_fields = [f.name for f in Lead._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        return False


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "channel", "campaign", "owner", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "campaign"]
    readonly_fields = ["key"]
    autocomplete_fields = ["owner"]
