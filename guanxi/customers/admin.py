from django.contrib import admin

from guanxi.customers.models import Channel, Tag


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]
