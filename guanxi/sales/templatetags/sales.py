"""Template helpers of the sales pages, and the opportunities box of the customer page."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

from guanxi.sales.selectors import opportunities_of_customer

register = template.Library()


@register.filter
def stage_duration(seconds: int | None) -> str:
    """Seconds spent in a stage, in the largest sensible units ("3 d 4 h", "25 min")."""
    if seconds is None:
        return "—"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


@register.simple_tag
def percent_of(value: Decimal, whole: Decimal, minus: Decimal = Decimal("0")) -> str:
    """(value − minus) as a percentage of ``whole``, for CSS bar widths."""
    if not whole:
        return "0"
    share = max(Decimal("0"), (Decimal(value) - Decimal(minus)) * 100 / Decimal(whole))
    return f"{min(share, Decimal('100')):.1f}"


@register.inclusion_tag("sales/partials/customer_opportunities.html", takes_context=True)
def customer_opportunities(context: dict[str, Any], customer: Any) -> dict[str, Any]:
    """The customer's opportunities the current user may see (for the customer page)."""
    user = context["request"].user
    can_view = user.has_perm("sales.view_opportunity")
    return {
        "customer": customer,
        "can_view": can_view,
        "can_add": user.has_perm("sales.add_opportunity"),
        "opportunities": opportunities_of_customer(user=user, customer_id=customer.pk)
        if can_view
        else [],
    }
