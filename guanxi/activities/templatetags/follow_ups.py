"""The follow-up panel shown on customer, lead and opportunity pages."""

from typing import Any

from django import template

from guanxi.activities.forms import PlanForm, RecordForm
from guanxi.activities.selectors import follow_ups_of

register = template.Library()


@register.inclusion_tag("activities/_follow_ups.html", takes_context=True)
def follow_ups_panel(
    context: dict[str, Any],
    *,
    customer: Any = None,
    lead: Any = None,
    opportunity: Any = None,
    can_plan: bool = False,
) -> dict[str, Any]:
    """Open plans and recent follow-ups of ``customer``, ``lead`` or ``opportunity`` (a
    page the user may see), with the forms to plan and record one when ``can_plan``."""
    items = follow_ups_of(
        customer_id=customer.pk if customer is not None else None,
        lead_id=lead.pk if lead is not None else None,
        opportunity_id=opportunity.pk if opportunity is not None else None,
    )
    return {
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "items": items,
        "customer": customer,
        "lead": lead,
        "opportunity": opportunity,
        "can_plan": can_plan,
        "plan_form": PlanForm(),
        "record_form": RecordForm(),
        "user": context.get("user"),
    }
