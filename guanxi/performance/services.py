"""Writes of the performance app: sales targets."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.activities.models import AuditEntry
from guanxi.activities.services import audit_record
from guanxi.performance.models import SalesTarget
from guanxi.performance.selectors import people_in_reach
from guanxi.users.models import User


def targets_set(*, actor: User, year: int, values: dict[tuple[int, int], Any]) -> int:
    """Set the monthly targets of reps for a year: {(user id, month): amount, or None/""
    to clear}. Only for people within the actor's write scope on opportunities, with the
    permission to change targets. All or nothing; returns how many changed."""
    if not actor.has_perm("performance.change_salestarget"):
        raise PermissionDenied
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": _("Choose a year between 2000 and 2100.")})
    allowed = set(people_in_reach(actor, "write").values_list("pk", flat=True))
    errors: dict[str, str] = {}
    parsed: dict[tuple[int, int], Decimal | None] = {}
    for (user_id, month), raw in values.items():
        key = f"target.{user_id}.{month}"
        if user_id not in allowed:
            errors[key] = _("You may not set targets for this person.")
            continue
        if not 1 <= month <= 12:
            errors[key] = _("Month must be 1 to 12.")
            continue
        if raw is None or str(raw).strip() == "":
            parsed[(user_id, month)] = None
            continue
        try:
            amount = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            errors[key] = _("Enter a number.")
            continue
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
            errors[key] = _("Enter an amount of zero or more.")
            continue
        parsed[(user_id, month)] = amount.quantize(Decimal("0.01"))
    if errors:
        raise ValidationError(errors)
    current = {
        (t.user_id, t.month): t
        for t in SalesTarget.objects.filter(year=year, user_id__in={u for u, _m in parsed})
    }
    changed = 0
    with transaction.atomic():
        for (user_id, month), value in parsed.items():
            existing = current.get((user_id, month))
            if value is None:
                if existing is not None:
                    existing.delete()
                    changed += 1
                continue
            if existing is not None and existing.amount == value:
                continue
            SalesTarget.objects.update_or_create(
                user_id=user_id,
                year=year,
                month=month,
                defaults={"amount": value, "updated_by": actor},
            )
            changed += 1
        if changed:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                subject_type="salestarget",
                subject_label=_("Sales targets %(year)d") % {"year": year},
                changes={"targets": [None, changed]},
            )
    return changed
