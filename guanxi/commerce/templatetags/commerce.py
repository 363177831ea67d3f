"""The quotes, orders and receivables boxes of the customer and opportunity pages."""

from typing import Any

from django import template
from django.utils import timezone

from guanxi.commerce.access import quotes_visible_to
from guanxi.commerce.models import Quote
from guanxi.commerce.selectors import customer_commerce

register = template.Library()


@register.inclusion_tag("commerce/partials/customer_commerce.html", takes_context=True)
def customer_commerce_box(context: dict[str, Any], customer: Any) -> dict[str, Any]:
    """The customer's quotes, orders, open receivables and warranties the user may see."""
    user = context["request"].user
    shows = any(user.has_perm(f"commerce.view_{kind}") for kind in ("quote", "order", "invoice"))
    return {
        "customer": customer,
        "shows": shows,
        "data": customer_commerce(user=user, customer_id=customer.pk) if shows else None,
        "can_quote": user.has_perm("commerce.add_quote") and customer.deleted_at is None,
        "can_order": user.has_perm("commerce.add_order") and customer.deleted_at is None,
        "today": timezone.localdate(),
    }


@register.inclusion_tag("commerce/partials/opportunity_quotes.html", takes_context=True)
def opportunity_quotes(context: dict[str, Any], opportunity: Any, can_edit: bool) -> dict[str, Any]:
    """The opportunity's quotes (latest versions) and the button for a new one."""
    user = context["request"].user
    quotes = (
        quotes_visible_to(user)
        .filter(opportunity_id=opportunity.pk)
        .exclude(status=Quote.Status.SUPERSEDED)
        .order_by("-created_at")[:20]
        if user.has_perm("commerce.view_quote")
        else []
    )
    return {
        "opportunity": opportunity,
        "quotes": quotes,
        "can_quote": can_edit and user.has_perm("commerce.add_quote"),
    }
