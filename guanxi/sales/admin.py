from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from guanxi.sales.models import AssignmentRule, Lead, Pipeline, Stage, WebForm


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
    list_display = ["name", "public_page", "channel", "campaign", "owner", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "campaign"]
    readonly_fields = ["key", "public_page", "embed_code"]
    autocomplete_fields = ["owner"]

    @admin.display(description=_("public page"))
    def public_page(self, obj: WebForm) -> str:
        if not obj.pk:
            return "—"
        url = reverse("public:web-form", args=[obj.key])
        return format_html('<a href="{}" target="_blank">{}</a>', url, url)

    @admin.display(description=_("code to embed in a website"))
    def embed_code(self, obj: WebForm) -> str:
        if not obj.pk:
            return "—"
        url = reverse("public:web-form", args=[obj.key])
        return format_html(
            "<code>&lt;iframe src=&quot;https://YOUR-GUANXI-HOST{}&quot; "
            "style=&quot;width:100%;height:720px;border:0&quot;&gt;&lt;/iframe&gt;</code>",
            url,
        )


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["order", "name", "kind", "probability"]
    ordering = ["order", "id"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    """Pipelines and their stages (the probability is each stage's default)."""

    list_display = ["name", "team", "currency", "is_default", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    inlines = [StageInline]
