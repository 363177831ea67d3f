from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from guanxi.core.models import Webhook, WebhookDelivery


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event", "status", "attempts", "response_status", "error", "delivered_at")
    readonly_fields = ("event", "status", "attempts", "response_status", "error", "delivered_at")
    extra = 0
    max_num = 0
    ordering = ["-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("event")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "last_event_id"]
    list_filter = ["is_active"]
    readonly_fields = ["last_event_id", "created_by", "created_at"]
    inlines = [DeliveryInline]
