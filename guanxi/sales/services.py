"""Writes on leads (capture, routing by assignment rules, assignment, qualification,
disqualification, conversion to a customer) and on opportunities (create, change, move
through the pipeline's stages, close as won or lost, assign, delete). Every change lands
in the audit trail."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.activities.models import AuditEntry, Notification
from guanxi.activities.services import audit_record, diff_fields, notification_send
from guanxi.core.events import event_record
from guanxi.core.pinyin import pinyin_keys
from guanxi.core.validators import normalize_cn_mobile
from guanxi.customers.models import Contact, Customer
from guanxi.customers.services import contact_create, contact_link, customer_create, duplicates_find
from guanxi.sales.models import AssignmentRule, Lead, Opportunity, Pipeline, Stage, StageChange
from guanxi.users.models import Team, User

LEAD_FIELDS = [
    "name",
    "company",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "channel",
    "campaign",
    "intent",
    "status",
    "notes",
    "owner",
    "team",
]
# Status changes that go through their own services, not a plain edit.
_CLOSED = {Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED}


class DuplicateCustomers(Exception):
    """Converting would create a customer that probably exists already."""

    def __init__(self, matches: list[tuple[Customer, list[str]]]) -> None:
        super().__init__("probable duplicates")
        self.matches = matches


def lead_prepare(lead: Lead) -> None:
    """Normalise user input and fill the derived columns (no save)."""
    lead.name = " ".join(lead.name.split())
    lead.company = " ".join(lead.company.split())
    if lead.mobile:
        try:
            lead.mobile = normalize_cn_mobile(lead.mobile)
        except ValidationError as exc:
            raise ValidationError({"mobile": exc.messages}) from exc
    lead.mobile_normalized = lead.mobile
    lead.email = lead.email.strip().lower()
    if not lead.name and not lead.company:
        raise ValidationError({"name": _("Give the person's name or the company.")})
    if not lead.name:
        lead.name = lead.company[: Lead._meta.get_field("name").max_length]
    if not (lead.mobile or lead.phone or lead.email or lead.wechat):
        raise ValidationError(
            {
                "mobile": _(
                    "Give at least one way to reach the lead: mobile, phone, e-mail or WeChat."
                )
            }
        )
    if lead.owner_id and not lead.team_id:
        lead.team_id = (
            User.objects.filter(pk=lead.owner_id).values_list("team_id", flat=True).first()
        )
    lead.name_pinyin, lead.name_initials = pinyin_keys(lead.name)


def _snapshot(lead: Lead) -> dict[str, Any]:
    data = {f: getattr(lead, f) for f in LEAD_FIELDS if f not in {"channel", "owner", "team"}}
    data["channel"] = lead.channel_id and str(lead.channel)
    data["owner"] = lead.owner_id and str(lead.owner)
    data["team"] = lead.team_id and str(lead.team)
    data["disqualify_reason"] = lead.disqualify_reason
    return data


def _log(actor: User | None, action: str, lead: Lead, **kwargs: Any) -> AuditEntry:
    return audit_record(
        actor=actor, action=action, subject=lead, customer_id=lead.customer_id, **kwargs
    )


def leads_notify_assigned(actor: User | None, leads: Sequence[Lead]) -> None:
    """One notification per owner for leads that were given to them in bulk."""
    by_owner: dict[int, list[Lead]] = {}
    for lead in leads:
        if lead.owner_id is not None:
            by_owner.setdefault(lead.owner_id, []).append(lead)
    for group in by_owner.values():
        owner = group[0].owner
        assert owner is not None
        _notify_assigned(actor, group, owner)


def _notify_assigned(actor: User | None, leads: Sequence[Lead], owner: User) -> None:
    if actor is not None and owner.pk == actor.pk:
        return
    if len(leads) == 1:
        message = _("New lead for you: %(lead)s") % {"lead": leads[0]}
        url = reverse("sales:lead-detail", args=[leads[0].pk])
    else:
        message = ngettext(
            "%(count)d new lead was assigned to you.",
            "%(count)d new leads were assigned to you.",
            len(leads),
        ) % {"count": len(leads)}
        url = reverse("sales:lead-index") + "?owner=me"
    notification_send(
        user=owner, kind=Notification.Kind.ASSIGNED, message=message, url=url, actor=actor
    )


def _event_payload(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "name": lead.name,
        "company": lead.company,
        "status": lead.status,
        "source": lead.source,
        "owner_id": lead.owner_id,
        "channel_id": lead.channel_id,
        "campaign": lead.campaign,
    }


# --- routing -----------------------------------------------------------------------------


def rule_for(*, province: str, city: str) -> AssignmentRule | None:
    """The active rule that applies to a lead from ``province``/``city``: a rule for the
    city first, then one for the province, then a catch-all; lowest priority number wins."""
    candidates = AssignmentRule.objects.filter(is_active=True).filter(
        Q(province="", city="")
        | Q(province=province, city="")
        | (Q(province=province, city=city) if city else Q(pk__in=[]))
    )
    best: AssignmentRule | None = None
    for rule in candidates.order_by("priority", "id"):
        rank = 2 if rule.city else 1 if rule.province else 0
        best_rank = -1 if best is None else 2 if best.city else 1 if best.province else 0
        if rank > best_rank:
            best = rule
    return best


def _next_in_turn(rule: AssignmentRule) -> User | None:
    """The next active member of the rule's team after the one who got the last lead.
    Locks the rule row so that two leads arriving together go to different people."""
    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    if locked.team_id is None:
        return None
    members = list(User.objects.filter(team_id=locked.team_id, is_active=True).order_by("id"))
    if not members:
        return None
    after = [m for m in members if locked.last_assigned_id and m.pk > locked.last_assigned_id]
    chosen = after[0] if after else members[0]
    AssignmentRule.objects.filter(pk=locked.pk).update(last_assigned=chosen)
    return chosen


def lead_route(lead: Lead) -> tuple[User | None, AssignmentRule | None]:
    """Who should own an unassigned lead, by the assignment rules (must run in a
    transaction). (None, None) when no rule applies: the lead stays unassigned."""
    rule = rule_for(province=lead.province, city=lead.city)
    if rule is None:
        return None, None
    if rule.method == AssignmentRule.Method.USER:
        owner = rule.user if rule.user is not None and rule.user.is_active else None
        return owner, rule
    return _next_in_turn(rule), rule


# --- create, change, assign ---------------------------------------------------------------


def lead_create(
    *,
    actor: User | None,
    data: dict[str, Any],
    source: str = Lead.Source.WEB,
    route: bool = True,
    notify: bool = True,
) -> Lead:
    """Capture a lead. Without an owner it is routed by the assignment rules (unless
    ``route`` is false) and stays unassigned, in the pool, when none applies; the new
    owner is notified (unless ``notify`` is false: bulk callers send one summary per owner
    with ``leads_notify_assigned``)."""
    fields = {k: v for k, v in data.items() if k in LEAD_FIELDS and k != "status"}
    lead = Lead(**fields, source=source)
    if data.get("consent"):
        lead.consent_at = timezone.now()
    lead_prepare(lead)
    lead.full_clean(exclude=["name_pinyin", "name_initials"])
    with transaction.atomic():
        rule = None
        if lead.owner_id is None and route:
            owner, rule = lead_route(lead)
            if owner is not None:
                lead.owner, lead.team_id = owner, owner.team_id
        lead.save()
        changes = diff_fields({}, {k: v for k, v in _snapshot(lead).items() if v not in (None, "")})
        message = _("Assigned by rule “%(rule)s”.") % {"rule": rule} if rule and lead.owner else ""
        _log(actor, AuditEntry.Action.CREATE, lead, changes=changes, message=message)
        event_record("lead.created", subject=lead, payload=_event_payload(lead), actor=actor)
        if lead.owner is not None and notify:
            _notify_assigned(actor, [lead], lead.owner)
    return lead


def lead_update(*, actor: User, lead: Lead, data: dict[str, Any]) -> Lead:
    """Change a lead; changed fields are logged (old → new), an owner change separately."""
    if not lead.is_open:
        raise ValidationError(_("A converted, disqualified or deleted lead cannot be edited."))
    if data.get("status") in _CLOSED:
        raise ValidationError({"status": _("Convert or disqualify the lead with its own action.")})
    before = _snapshot(lead)
    old_owner_id = lead.owner_id
    for key, value in data.items():
        if key in LEAD_FIELDS:
            setattr(lead, key, value)
    if lead.owner_id != old_owner_id and "team" not in data:
        lead.team_id = None
    lead_prepare(lead)
    lead.full_clean(exclude=["name_pinyin", "name_initials"])
    with transaction.atomic():
        lead.save()
        changes = diff_fields(before, _snapshot(lead))
        owner_change = changes.pop("owner", None)
        if owner_change:
            changes.pop("team", None)  # follows the owner
        if changes:
            _log(actor, AuditEntry.Action.UPDATE, lead, changes=changes)
        if owner_change:
            _log(actor, AuditEntry.Action.OWNER, lead, changes={"owner": owner_change})
            if lead.owner is not None:
                _notify_assigned(actor, [lead], lead.owner)
    return lead


def leads_assign(
    *, actor: User, leads: Sequence[Lead], owner: User | None, reason: str = ""
) -> int:
    """Give open leads to ``owner`` (None: back to the unassigned pool); returns how many
    changed hands. Each move is logged; the new owner gets one notification."""
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": _("Choose an active user.")})
    moved = [
        lead
        for lead in leads
        if lead.is_open and lead.owner_id != (owner.pk if owner is not None else None)
    ]
    with transaction.atomic():
        for lead in moved:
            old = lead.owner_id and str(lead.owner)
            lead.owner = owner
            lead.team_id = owner.team_id if owner is not None else None
            lead.save(update_fields=["owner", "team", "updated_at"])
            _log(
                actor,
                AuditEntry.Action.OWNER,
                lead,
                changes={"owner": [old, owner and str(owner)]},
                message=reason,
            )
        if moved and owner is not None:
            _notify_assigned(actor, moved, owner)
    return len(moved)


def lead_disqualify(*, actor: User, lead: Lead, reason: str, note: str = "") -> Lead:
    """Close an open lead as not worth pursuing, with a reason (required)."""
    if not lead.is_open:
        raise ValidationError(_("Only an open lead can be disqualified."))
    if reason not in Lead.Reason.values:
        raise ValidationError({"reason": _("Choose why the lead is disqualified.")})
    with transaction.atomic():
        old_status = lead.status
        lead.status = Lead.Status.DISQUALIFIED
        lead.disqualify_reason = reason
        lead.save(update_fields=["status", "disqualify_reason", "updated_at"])
        _log(
            actor,
            AuditEntry.Action.DISQUALIFY,
            lead,
            changes={
                "status": [old_status, lead.status],
                "disqualify_reason": [None, reason],
            },
            message=note.strip(),
        )
    return lead


def lead_reopen(*, actor: User, lead: Lead) -> Lead:
    """Bring a disqualified lead back to work."""
    if lead.status != Lead.Status.DISQUALIFIED or lead.deleted_at is not None:
        raise ValidationError(_("Only a disqualified lead can be reopened."))
    with transaction.atomic():
        old = [lead.status, lead.disqualify_reason]
        lead.status, lead.disqualify_reason = Lead.Status.WORKING, ""
        lead.save(update_fields=["status", "disqualify_reason", "updated_at"])
        _log(
            actor,
            AuditEntry.Action.UPDATE,
            lead,
            changes={"status": [old[0], lead.status], "disqualify_reason": [old[1], None]},
        )
    return lead


def lead_delete(*, actor: User, lead: Lead) -> None:
    """Soft-delete: hidden everywhere, restorable."""
    with transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(deleted_at=timezone.now())
        _log(actor, AuditEntry.Action.DELETE, lead)


def lead_restore(*, actor: User, lead: Lead) -> None:
    with transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(deleted_at=None)
        _log(actor, AuditEntry.Action.RESTORE, lead)


# --- conversion ---------------------------------------------------------------------------


def lead_convert(
    *,
    actor: User,
    lead: Lead,
    customer: Customer | None = None,
    allow_duplicates: bool = False,
) -> Customer:
    """Turn an open lead into a customer and contact in one step.

    With ``customer`` (one the actor may see) the lead's person becomes a contact of that
    customer. Otherwise a customer is created from the lead — a company when the lead
    names one, else an individual — after the duplicate check: probable duplicates raise
    ``DuplicateCustomers`` unless ``allow_duplicates``. The lead's history moves to the
    customer's timeline.
    """
    if not lead.is_open:
        raise ValidationError(_("Only an open lead can be converted."))
    with transaction.atomic():
        owner = lead.owner or actor
        if customer is None:
            is_company = bool(lead.company)
            values = {
                "name": lead.company or lead.name,
                "city": lead.city,
                "phone": lead.phone,
                "mobile": "" if is_company else lead.mobile,
                "email": "" if is_company else lead.email,
            }
            if not allow_duplicates:
                matches = duplicates_find(
                    name=values["name"],
                    city=lead.city,
                    phone=lead.phone,
                    mobile=lead.mobile,
                    email=lead.email,
                )
                if matches:
                    raise DuplicateCustomers(matches)
            customer = customer_create(
                actor=actor,
                data={
                    **values,
                    "kind": Customer.Kind.COMPANY if is_company else Customer.Kind.PERSON,
                    "province": lead.province,
                    "channel": lead.channel,
                    "owner": owner,
                    "status": Customer.Status.PROSPECT,
                    "notes": lead.notes,
                },
            )
        contact: Contact | None = None
        if customer.kind == Customer.Kind.COMPANY:
            existing = (
                Contact.objects.filter(deleted_at__isnull=True, links__customer=customer).filter(
                    Q(mobile_normalized=lead.mobile) if lead.mobile else Q(pk__in=[])
                )
            ).first()
            if existing is not None:
                contact = existing
                contact_link(actor=actor, contact=contact, customer=customer, title=lead.title)
            else:
                contact = contact_create(
                    actor=actor,
                    customer=customer,
                    data={
                        "name": lead.name,
                        "mobile": lead.mobile,
                        "phone": lead.phone,
                        "email": lead.email,
                        "wechat": lead.wechat,
                    },
                    title=lead.title,
                    is_primary=not customer.contact_links.exists(),
                )
        old_status = lead.status
        lead.status = Lead.Status.CONVERTED
        lead.customer, lead.contact = customer, contact
        lead.converted_at = timezone.now()
        lead.save(update_fields=["status", "customer", "contact", "converted_at", "updated_at"])
        # The lead's history follows it onto the customer's timeline.
        AuditEntry.objects.filter(subject_type="lead", subject_id=lead.pk).update(
            customer_id=customer.pk
        )
        _log(
            actor,
            AuditEntry.Action.CONVERT,
            lead,
            changes={"status": [old_status, lead.status], "customer": [None, str(customer)]},
        )
        event_record(
            "lead.converted",
            subject=lead,
            payload={
                **_event_payload(lead),
                "customer_id": customer.pk,
                "contact_id": contact.pk if contact is not None else None,
            },
            actor=actor,
        )
    return customer


def leads_handover(*, actor: User, from_user: User, to_users: Sequence[User]) -> dict[int, int]:
    """Share ``from_user``'s open leads among ``to_users`` in turn (part of the user
    handover). Returns {receiving user id: number of leads received}."""
    leads = list(
        Lead.objects.filter(owner=from_user, status__in=Lead.OPEN_STATUSES, deleted_at__isnull=True)
        .select_related("owner")
        .order_by("id")
    )
    message = _("Handover from %(user)s") % {"user": from_user}
    result: dict[int, int] = {}
    with transaction.atomic():
        for index, user in enumerate(to_users):
            share = leads[index :: len(to_users)]
            result[user.pk] = leads_assign(actor=actor, leads=share, owner=user, reason=message)
    return result


# --- opportunities ------------------------------------------------------------------------

OPPORTUNITY_FIELDS = [
    "name",
    "customer",
    "contact",
    "pipeline",
    "amount",
    "currency",
    "expected_close_date",
    "intent",
    "forecast_category",
    "products_of_interest",
    "competitors",
    "next_step",
    "next_step_date",
    "channel",
    "lead",
    "owner",
    "team",
]
_OPP_REFS = {"customer", "contact", "pipeline", "channel", "lead", "owner", "team"}


def pipeline_default() -> Pipeline | None:
    """The default active pipeline (else the first active one)."""
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "id").first()


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order", "id").first()
    if stage is None:
        raise ValidationError({"stage": _("The pipeline has no open stage.")})
    return stage


def _closing_stage(pipeline: Pipeline, kind: str) -> Stage:
    stage = pipeline.stages.filter(kind=kind).order_by("order", "id").first()
    if stage is None:
        raise ValidationError({"stage": _("The pipeline has no stage to close the opportunity.")})
    return stage


def _opp_snapshot(opp: Opportunity) -> dict[str, Any]:
    data: dict[str, Any] = {f: getattr(opp, f) for f in OPPORTUNITY_FIELDS if f not in _OPP_REFS}
    for ref in _OPP_REFS:
        data[ref] = getattr(opp, f"{ref}_id") and str(getattr(opp, ref))
    data["amount"] = str(opp.amount) if opp.amount is not None else None
    data["stage"] = opp.stage_id and str(opp.stage)
    return data


def _opp_log(actor: User | None, action: str, opp: Opportunity, **kwargs: Any) -> AuditEntry:
    return audit_record(
        actor=actor, action=action, subject=opp, customer_id=opp.customer_id, **kwargs
    )


def _opp_payload(opp: Opportunity) -> dict[str, Any]:
    return {
        "id": opp.pk,
        "name": opp.name,
        "customer_id": opp.customer_id,
        "pipeline_id": opp.pipeline_id,
        "stage_id": opp.stage_id,
        "status": opp.status,
        "amount": str(opp.amount),
        "currency": opp.currency,
        "owner_id": opp.owner_id,
    }


def opportunity_prepare(opp: Opportunity) -> None:
    """Normalise input and check what crosses rows (no save): the amount, the stage in the
    pipeline, the contact at the customer, the team from the owner."""
    opp.name = " ".join((opp.name or "").split())
    if not opp.name:
        raise ValidationError({"name": _("Give the opportunity a name.")})
    if opp.amount is None:
        opp.amount = Decimal("0")
    if not isinstance(opp.amount, Decimal):
        try:
            opp.amount = Decimal(str(opp.amount))
        except ArithmeticError as exc:
            raise ValidationError({"amount": _("Enter a number.")}) from exc
    if opp.amount < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    if not opp.amount.is_finite():
        raise ValidationError({"amount": _("Enter a number.")})
    if opp.amount < Decimal("1e12"):
        opp.amount = opp.amount.quantize(Decimal("0.01"))
    opp.currency = (opp.currency or "").strip().upper() or (
        opp.pipeline.currency if opp.pipeline_id else "CNY"
    )
    if opp.stage_id and opp.pipeline_id and opp.stage.pipeline_id != opp.pipeline_id:
        raise ValidationError({"stage": _("Choose a stage of the opportunity's pipeline.")})
    if (
        opp.contact is not None
        and opp.customer_id
        and not opp.contact.links.filter(customer_id=opp.customer_id).exists()
    ):
        raise ValidationError({"contact": _("Choose a contact of this customer.")})
    if opp.owner_id and not opp.team_id:
        opp.team_id = User.objects.filter(pk=opp.owner_id).values_list("team_id", flat=True).first()


def _full_clean(opp: Opportunity) -> None:
    """Model validation, with an unknown or badly formatted date reported on its field."""
    for field in ("expected_close_date", "next_step_date"):
        value = getattr(opp, field)
        if isinstance(value, str):
            try:
                setattr(opp, field, datetime.strptime(value.strip(), "%Y-%m-%d").date())
            except ValueError as exc:
                raise ValidationError(
                    {field: _("Enter a valid date in the form YYYY-MM-DD.")}
                ) from exc
    opp.full_clean(exclude=["stage_entered_at", "closed_at"])


def opportunity_create(*, actor: User, data: dict[str, Any]) -> Opportunity:
    """Open an opportunity: owner defaults to the actor, the team follows the owner, the
    pipeline defaults to the default one and the stage to its first open stage; the
    probability comes from the stage. The first stage is logged in the stage history."""
    fields = {k: v for k, v in data.items() if k in OPPORTUNITY_FIELDS}
    fields.setdefault("owner", actor)
    opp = Opportunity(**fields)
    if opp.pipeline_id is None:
        pipeline = pipeline_default()
        if pipeline is None:
            raise ValidationError({"pipeline": _("No active pipeline exists.")})
        opp.pipeline = pipeline
    stage = data.get("stage") or _first_open_stage(opp.pipeline)
    if stage.is_closed:
        raise ValidationError(
            {"stage": _("A new opportunity starts in an open stage; close it afterwards.")}
        )
    opp.stage = stage
    opp.probability = stage.probability
    if not data.get("currency"):
        opp.currency = opp.pipeline.currency
    opportunity_prepare(opp)
    _full_clean(opp)
    with transaction.atomic():
        opp.stage_entered_at = timezone.now()
        opp.save()
        StageChange.objects.create(
            opportunity=opp,
            from_stage=None,
            to_stage=stage,
            actor=actor,
            changed_at=opp.stage_entered_at,
        )
        changes = diff_fields(
            {}, {k: v for k, v in _opp_snapshot(opp).items() if v not in (None, "")}
        )
        _opp_log(actor, AuditEntry.Action.CREATE, opp, changes=changes)
        event_record("opportunity.created", subject=opp, payload=_opp_payload(opp), actor=actor)
        if opp.owner is not None and opp.owner.pk != actor.pk:
            _notify_opportunity_assigned(actor, [opp], opp.owner)
    return opp


def opportunity_update(
    *, actor: User, opportunity: Opportunity, data: dict[str, Any]
) -> Opportunity:
    """Change an opportunity's fields; changed ones are logged (old → new), an owner
    change separately. The stage changes only through ``opportunity_move``."""
    opp = opportunity
    if opp.deleted_at is not None:
        raise ValidationError(_("A deleted opportunity cannot be edited."))
    if "stage" in data or "status" in data:
        raise ValidationError({"stage": _("Move the opportunity to another stage instead.")})
    if (
        "pipeline" in data
        and data["pipeline"] is not None
        and data["pipeline"].pk != opp.pipeline_id
    ):
        raise ValidationError(
            {"pipeline": _("An opportunity cannot change pipeline; create a new one.")}
        )
    before = _opp_snapshot(opp)
    old_owner_id = opp.owner_id
    for key, value in data.items():
        if key in OPPORTUNITY_FIELDS and key != "pipeline":
            setattr(opp, key, value)
    if opp.owner_id != old_owner_id and "team" not in data:
        opp.team_id = None
    opportunity_prepare(opp)
    _full_clean(opp)
    with transaction.atomic():
        opp.save()
        changes = diff_fields(before, _opp_snapshot(opp))
        owner_change = changes.pop("owner", None)
        if owner_change:
            changes.pop("team", None)
        if changes:
            _opp_log(actor, AuditEntry.Action.UPDATE, opp, changes=changes)
        if owner_change:
            _opp_log(actor, AuditEntry.Action.OWNER, opp, changes={"owner": owner_change})
            if opp.owner is not None:
                _notify_opportunity_assigned(actor, [opp], opp.owner)
    return opp


def opportunity_move(
    *,
    actor: User,
    opportunity: Opportunity,
    stage: Stage,
    win_loss_reason: str = "",
    note: str = "",
) -> Opportunity:
    """Move an opportunity to ``stage`` of its pipeline. The time spent in the stage it
    leaves is logged in the stage history; a won or lost stage closes it and needs a
    ``win_loss_reason``; an open stage reopens a closed one. Records
    ``opportunity.stage_changed``."""
    if opportunity.deleted_at is not None:
        raise ValidationError(_("A deleted opportunity cannot be moved."))
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError({"stage": _("Choose a stage of the opportunity's pipeline.")})
    closing = stage.kind != Stage.Kind.OPEN
    if closing and win_loss_reason not in Opportunity.WinLossReason.values:
        raise ValidationError(
            {"win_loss_reason": _("Say why the opportunity was won or lost before closing it.")}
        )
    if stage.pk == opportunity.stage_id:
        return opportunity
    with transaction.atomic():
        opp = (
            Opportunity.objects.select_for_update(of=("self",))
            .select_related("stage", "customer", "owner")
            .get(pk=opportunity.pk)
        )
        now = timezone.now()
        seconds = (
            max(0, int((now - opp.stage_entered_at).total_seconds()))
            if opp.stage_entered_at
            else None
        )
        old_stage, old_status, old_probability = opp.stage, opp.status, opp.probability
        opp.stage, opp.probability, opp.stage_entered_at = stage, stage.probability, now
        if closing:
            opp.status = (
                Opportunity.Status.WON
                if stage.kind == Stage.Kind.WON
                else (Opportunity.Status.LOST)
            )
            opp.closed_at = now
            opp.win_loss_reason = win_loss_reason
            opp.win_loss_note = note.strip()
        else:
            opp.status = Opportunity.Status.OPEN
            opp.closed_at = None
            opp.win_loss_reason = ""
            opp.win_loss_note = ""
        opp.save(
            update_fields=[
                "stage",
                "probability",
                "stage_entered_at",
                "status",
                "closed_at",
                "win_loss_reason",
                "win_loss_note",
                "updated_at",
            ]
        )
        StageChange.objects.create(
            opportunity=opp,
            from_stage=old_stage,
            to_stage=stage,
            actor=actor,
            changed_at=now,
            seconds_in_previous_stage=seconds,
        )
        changes: dict[str, Any] = {
            "stage": [str(old_stage), str(stage)],
            "probability": [old_probability, stage.probability],
        }
        if old_status != opp.status:
            changes["status"] = [old_status, opp.status]
        if closing:
            changes["win_loss_reason"] = [None, win_loss_reason]
        _opp_log(actor, AuditEntry.Action.UPDATE, opp, changes=changes, message=note.strip())
        event_record(
            "opportunity.stage_changed",
            subject=opp,
            payload={
                **_opp_payload(opp),
                "from_stage_id": old_stage.pk,
                "to_stage_id": stage.pk,
                "seconds_in_previous_stage": seconds,
            },
            actor=actor,
        )
    for attr in (
        "stage",
        "probability",
        "stage_entered_at",
        "status",
        "closed_at",
        "win_loss_reason",
        "win_loss_note",
        "updated_at",
    ):
        setattr(opportunity, attr, getattr(opp, attr))
    return opportunity


def opportunity_close(
    *, actor: User, opportunity: Opportunity, won: bool, win_loss_reason: str, note: str = ""
) -> Opportunity:
    """Close as won or lost: a move to the pipeline's first won (or lost) stage."""
    stage = _closing_stage(opportunity.pipeline, Stage.Kind.WON if won else Stage.Kind.LOST)
    return opportunity_move(
        actor=actor,
        opportunity=opportunity,
        stage=stage,
        win_loss_reason=win_loss_reason,
        note=note,
    )


def opportunity_reopen(
    *, actor: User, opportunity: Opportunity, stage: Stage | None = None
) -> Opportunity:
    """Reopen a won or lost opportunity, into ``stage`` or else the open stage it left."""
    if opportunity.status == Opportunity.Status.OPEN:
        raise ValidationError(_("Only a won or lost opportunity can be reopened."))
    if stage is None:
        last = (
            StageChange.objects.filter(opportunity=opportunity, from_stage__kind=Stage.Kind.OPEN)
            .select_related("from_stage")
            .order_by("-changed_at", "-id")
            .first()
        )
        stage = last.from_stage if last is not None and last.from_stage else None
        stage = stage or _first_open_stage(opportunity.pipeline)
    if stage.is_closed:
        raise ValidationError({"stage": _("Choose an open stage.")})
    return opportunity_move(actor=actor, opportunity=opportunity, stage=stage)


def opportunity_delete(*, actor: User, opportunity: Opportunity) -> None:
    """Soft-delete: hidden everywhere, restorable."""
    with transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(deleted_at=timezone.now())
        _opp_log(actor, AuditEntry.Action.DELETE, opportunity)
        event_record(
            "opportunity.deleted", subject=opportunity, payload={"id": opportunity.pk}, actor=actor
        )


def opportunity_restore(*, actor: User, opportunity: Opportunity) -> None:
    """Bring a soft-deleted opportunity back."""
    with transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(deleted_at=None)
        _opp_log(actor, AuditEntry.Action.RESTORE, opportunity)


def _notify_opportunity_assigned(
    actor: User | None, opportunities: Sequence[Opportunity], owner: User
) -> None:
    if actor is not None and owner.pk == actor.pk:
        return
    if len(opportunities) == 1:
        message = _("New opportunity for you: %(name)s") % {"name": opportunities[0]}
        url = reverse("sales:opportunity-detail", args=[opportunities[0].pk])
    else:
        message = ngettext(
            "%(count)d opportunity was assigned to you.",
            "%(count)d opportunities were assigned to you.",
            len(opportunities),
        ) % {"count": len(opportunities)}
        url = reverse("sales:opportunity-index") + "?owner=me"
    notification_send(
        user=owner, kind=Notification.Kind.ASSIGNED, message=message, url=url, actor=actor
    )


def opportunities_assign(
    *, actor: User, opportunities: Sequence[Opportunity], owner: User, reason: str = ""
) -> int:
    """Give live opportunities to ``owner`` (an active user); returns how many changed
    hands. Each move is logged; the new owner gets one notification."""
    if not owner.is_active:
        raise ValidationError({"owner": _("Choose an active user.")})
    moved = [o for o in opportunities if o.deleted_at is None and o.owner_id != owner.pk]
    with transaction.atomic():
        for opp in moved:
            old = opp.owner_id and str(opp.owner)
            opp.owner = owner
            opp.team_id = owner.team_id
            opp.save(update_fields=["owner", "team", "updated_at"])
            _opp_log(
                actor,
                AuditEntry.Action.OWNER,
                opp,
                changes={"owner": [old, str(owner)]},
                message=reason,
            )
        if moved:
            _notify_opportunity_assigned(actor, moved, owner)
    return len(moved)


def opportunities_handover(
    *, actor: User, from_user: User, to_users: Sequence[User]
) -> dict[int, int]:
    """Share ``from_user``'s open opportunities among ``to_users`` in turn (part of the
    user handover). Returns {receiving user id: number of opportunities received}."""
    opportunities = list(
        Opportunity.objects.filter(
            owner=from_user, status=Opportunity.Status.OPEN, deleted_at__isnull=True
        )
        .select_related("owner", "customer")
        .order_by("id")
    )
    message = _("Handover from %(user)s") % {"user": from_user}
    result: dict[int, int] = {}
    with transaction.atomic():
        for index, user in enumerate(to_users):
            share = opportunities[index :: len(to_users)]
            result[user.pk] = opportunities_assign(
                actor=actor, opportunities=share, owner=user, reason=message
            )
    return result


def lead_convert_with_opportunity(
    *,
    actor: User,
    lead: Lead,
    customer: Customer | None = None,
    allow_duplicates: bool = False,
    opportunity: dict[str, Any] | None = None,
) -> tuple[Customer, Opportunity]:
    """Convert a lead (``lead_convert``) and open an opportunity for the customer, in one
    transaction: if the opportunity is refused nothing is converted. ``opportunity`` holds
    its fields (name and amount at least; the rest default from the lead)."""
    values = dict(opportunity or {})
    with transaction.atomic():
        converted = lead_convert(
            actor=actor, lead=lead, customer=customer, allow_duplicates=allow_duplicates
        )
        data: dict[str, Any] = {
            "name": lead.company or lead.name,
            "channel": lead.channel,
            "intent": lead.intent,
            "owner": lead.owner or actor,
            "contact": lead.contact,
            **values,
            "customer": converted,
            "lead": lead,
        }
        opp = opportunity_create(actor=actor, data=data)
    return converted, opp


# --- the pool (公海) ----------------------------------------------------------------------


def lead_claim_limit(user: User) -> int | None:
    """How many open leads ``user`` may hold when claiming (their team's setting)."""
    if user.team_id is None:
        return None
    return Team.objects.filter(pk=user.team_id).values_list("lead_claim_limit", flat=True).first()


def lead_claim(*, actor: User, lead: Lead) -> Lead:
    """Take an unassigned open lead from the pool, within the team's limit. The row is
    locked, so two people claiming the same lead cannot both get it."""
    with transaction.atomic():
        locked = (
            Lead.objects.select_for_update(of=("self",))
            .filter(pk=lead.pk, deleted_at__isnull=True)
            .first()
        )
        if locked is None or locked.owner_id is not None or not locked.is_open:
            raise ValidationError(_("Someone else has claimed this lead, or it was closed."))
        limit = lead_claim_limit(actor)
        if limit is not None:
            held = Lead.objects.filter(
                owner=actor, status__in=Lead.OPEN_STATUSES, deleted_at__isnull=True
            ).count()
            if held >= limit:
                raise ValidationError(
                    _(
                        "You already hold %(held)d open leads, your team's limit; "
                        "close or hand some over first."
                    )
                    % {"held": held}
                )
        locked.owner, locked.team_id = actor, actor.team_id
        locked.save(update_fields=["owner", "team", "updated_at"])
        _log(
            actor,
            AuditEntry.Action.OWNER,
            locked,
            changes={"owner": [None, str(actor)]},
            message=_("Claimed from the pool."),
        )
    return locked


def leads_return_to_pool(*, now: datetime | None = None) -> tuple[int, int]:
    """Return to the pool the open leads nobody has followed up for their team's
    ``lead_return_days``, telling each owner first (``return_warning_days`` before) and
    after, once a day, in the app. Idle since: the last done follow-up, the last change of
    owner, or the capture, whichever is latest. Idempotent (run it hourly). Returns
    (leads returned, owners warned)."""
    from guanxi.activities.models import FollowUp

    now = now or timezone.now()
    last_follow_up = (
        FollowUp.objects.filter(lead=OuterRef("pk"), done_at__isnull=False)
        .order_by("-done_at")
        .values("done_at")[:1]
    )
    last_assigned = (
        AuditEntry.objects.filter(
            subject_type="lead", subject_id=OuterRef("pk"), action=AuditEntry.Action.OWNER
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    returned: dict[int, list[tuple[Any, int]]] = {}  # owner id → (lead, the team's days)
    warned: dict[int, list[tuple[Any, datetime]]] = {}  # owner id → (lead, when it is due)
    for team in Team.objects.filter(lead_return_days__isnull=False):
        assert team.lead_return_days is not None
        limit = timedelta(days=team.lead_return_days)
        notice = timedelta(days=min(team.return_warning_days, team.lead_return_days))
        leads = (
            Lead.objects.filter(
                team=team,
                owner__isnull=False,
                status__in=Lead.OPEN_STATUSES,
                deleted_at__isnull=True,
            )
            .select_related("owner")
            .annotate(
                last_follow_up=Subquery(last_follow_up), last_assigned=Subquery(last_assigned)
            )
        )
        for lead in leads:
            moments = (lead.last_follow_up, lead.last_assigned, lead.created_at)
            due = max(t for t in moments if t is not None) + limit
            owner_id = lead.owner_id or 0
            if due <= now:
                returned.setdefault(owner_id, []).append((lead, team.lead_return_days))
            elif due - notice <= now:
                warned.setdefault(owner_id, []).append((lead, due))
    with transaction.atomic():
        for leads_back in returned.values():
            owner = leads_back[0][0].owner
            for lead, days in leads_back:
                Lead.objects.filter(pk=lead.pk).update(owner=None, team=None, updated_at=now)
                _log(
                    None,
                    AuditEntry.Action.OWNER,
                    lead,
                    changes={"owner": [str(owner), None]},
                    message=_("Returned to the pool: no follow-up for %(days)d days.")
                    % {"days": days},
                )
            assert owner is not None
            notification_send(
                user=owner,
                kind=Notification.Kind.POOL,
                message=ngettext(
                    "%(count)d lead went back to the pool: it had no follow-up in time.",
                    "%(count)d leads went back to the pool: they had no follow-up in time.",
                    len(leads_back),
                )
                % {"count": len(leads_back)},
                url=reverse("sales:lead-pool"),
            )
        sent = 0
        start_of_day = now - timedelta(hours=24)
        warning_url = reverse("sales:lead-index") + "?owner=me&status=open"
        for owner_id, items in warned.items():
            if Notification.objects.filter(
                user_id=owner_id,
                kind=Notification.Kind.POOL,
                url=warning_url,
                created_at__gte=start_of_day,
            ).exists():
                continue
            owner = items[0][0].owner
            assert owner is not None
            first_due = min(due for _lead, due in items)
            notification_send(
                user=owner,
                kind=Notification.Kind.POOL,
                message=ngettext(
                    "%(count)d lead returns to the pool from %(date)s unless you follow it up.",
                    "%(count)d leads return to the pool from %(date)s unless you follow them up.",
                    len(items),
                )
                % {"count": len(items), "date": f"{timezone.localtime(first_due):%Y-%m-%d}"},
                url=warning_url,
            )
            sent += 1
    return sum(len(v) for v in returned.values()), sent
