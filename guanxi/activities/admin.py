from django.contrib import admin

from guanxi.activities.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail is append-only: visible to administrators, never edited."""

    list_display = ["created_at", "actor", "action", "subject_type", "subject_label"]
    list_filter = ["action", "subject_type"]
    search_fields = ["subject_label", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
