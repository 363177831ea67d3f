from django.contrib import admin
from django.http import HttpRequest

from guanxi.commerce.models import Order, Policy, PriceList, PriceListItem, Product, Quote


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "approval_threshold_percent", "max_discount_percent"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not Policy.objects.exists()


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "price", "currency", "tax_rate", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["sku", "name", "name_initials"]


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    autocomplete_fields = ["product"]
    extra = 1


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "customer_tier", "valid_from", "valid_until", "is_active"]
    list_filter = ["currency", "customer_tier", "is_active"]
    inlines = [PriceListItemInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Quotes and orders are worked on their own pages, where every change is logged."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin):
    list_display = ["number", "version", "customer", "status", "total", "currency", "owner"]
    list_filter = ["status"]
    search_fields = ["number", "customer__name"]
    list_select_related = ["customer", "owner"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "status", "total", "currency", "ordered_on", "owner"]
    list_filter = ["status"]
    search_fields = ["number", "customer__name"]
    list_select_related = ["customer", "owner"]
