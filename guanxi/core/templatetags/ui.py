"""Small, fast template helpers for list pages."""

from django import template
from django.forms import BoundField
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.simple_tag
def select(field: BoundField, blank: str = "") -> str:
    """A ``<select>`` for a choice field, built in Python.

    Django's widget templates render every ``<option>`` through the template engine,
    which dominates the time of a list page with several filters; this renders the same
    markup (name, id, the selected value) an order of magnitude faster.
    """
    current = field.value()
    selected = (
        {str(v) for v in current}
        if isinstance(current, list | tuple)
        else {"" if current is None else str(current)}
    )
    choices = list(field.field.choices)  # type: ignore[attr-defined]
    if blank and (not choices or str(choices[0][0]) != ""):
        choices.insert(0, ("", blank))
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (str(value), " selected" if str(value) in selected else "", label)
            for value, label in choices
        ),
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>', field.html_name, field.auto_id or "", options
    )
