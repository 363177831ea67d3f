"""Render audit entries for people: field labels and choice labels in the reader's language."""

from typing import Any

from django import template
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

register = template.Library()

EXTRA_LABELS = {
    "tags": _("tags"),
    "address": _("address"),
    "customers": _("customers"),
}
HIDDEN = {"merged", "snapshot"}


def _model_for(subject_type: str) -> type[models.Model] | None:
    for app_label in ("customers", "users", "activities", "sales"):
        try:
            return apps.get_model(app_label, subject_type)
        except LookupError:
            continue
    return None


def _display(field: models.Field | None, value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@register.simple_tag
def audit_changes(entry: Any) -> list[tuple[str, str, str]]:
    """(label, old, new) for each recorded field change of ``entry``."""
    model = _model_for(entry.subject_type)
    rows: list[tuple[str, str, str]] = []
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    for name, values in changes.items():
        if name in HIDDEN or not isinstance(values, list | tuple) or len(values) != 2:
            continue
        field = None
        if model is not None:
            try:
                found = model._meta.get_field(name)
                field = found if isinstance(found, models.Field) else None
            except FieldDoesNotExist:
                field = None
        label = str(field.verbose_name) if field is not None else str(EXTRA_LABELS.get(name, name))
        rows.append((label, _display(field, values[0]), _display(field, values[1])))
    return rows
