"""Every write to customers and contacts. Each service runs in one transaction, takes the
acting user, and records what it changed in the audit trail (the customer's timeline)."""

import re
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.activities.models import AuditEntry, Notification
from guanxi.activities.services import audit_record, diff_fields, notification_send
from guanxi.core.validators import normalize_cn_mobile, normalize_phone, normalize_uscc
from guanxi.customers.access import customers_visible_to
from guanxi.customers.models import (
    Address,
    Attachment,
    Contact,
    ContactLink,
    Customer,
    Note,
    Tag,
)
from guanxi.customers.search import build_search_text
from guanxi.users.models import Team, User

CUSTOMER_FIELDS = [
    "kind",
    "name",
    "industry",
    "channel",
    "tier",
    "status",
    "owner",
    "team",
    "phone",
    "mobile",
    "email",
    "website",
    "uscc",
    "province",
    "city",
    "birthday",
    "lunar_birthday",
    "gender",
    "notes",
    "remarks",
]
CONTACT_FIELDS = ["name", "gender", "mobile", "phone", "email", "wechat", "birthday", "notes"]
_LUNAR_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|30)$")


def customer_prepare(customer: Customer) -> None:
    """Normalise user input and fill the derived search columns (no save)."""
    customer.name = " ".join(customer.name.split())
    errors: dict[str, list[str]] = {}
    if customer.mobile:
        try:
            customer.mobile = normalize_cn_mobile(customer.mobile)
        except ValidationError as exc:
            errors["mobile"] = exc.messages
    customer.mobile_normalized = customer.mobile if "mobile" not in errors else ""
    customer.phone_normalized = normalize_phone(customer.phone)
    if customer.uscc:
        if customer.kind != Customer.Kind.COMPANY:
            errors["uscc"] = [_("Only companies have a Unified Social Credit Code.")]
        else:
            try:
                customer.uscc = normalize_uscc(customer.uscc)
            except ValidationError as exc:
                errors["uscc"] = exc.messages
    if customer.lunar_birthday and not _LUNAR_RE.match(customer.lunar_birthday):
        errors["lunar_birthday"] = [_("Write the lunar birthday as MM-DD, e.g. 08-15.")]
    if customer.owner_id and not customer.team_id:
        customer.team_id = (
            User.objects.filter(pk=customer.owner_id).values_list("team_id", flat=True).first()
        )
    if errors:
        raise ValidationError(errors)
    customer.email = customer.email.strip().lower()
    full, initials, text = build_search_text(
        name=customer.name,
        values=[
            customer.mobile_normalized,
            customer.phone_normalized,
            customer.email,
            customer.uscc.lower(),
            customer.city,
            customer.province,
        ],
    )
    customer.name_pinyin, customer.name_initials, customer.search_text = full, initials, text


def _snapshot(customer: Customer) -> dict[str, Any]:
    data = {
        f: getattr(customer, f) for f in CUSTOMER_FIELDS if f not in {"channel", "owner", "team"}
    }
    data["channel"] = customer.channel_id and str(customer.channel)
    data["owner"] = customer.owner_id and str(customer.owner)
    data["team"] = customer.team_id and str(customer.team)
    return data


def _filled(snapshot: dict[str, Any]) -> dict[str, list[Any]]:
    """The creation entry lists only what was filled in: a blank field is not a change."""
    return diff_fields({}, {k: v for k, v in snapshot.items() if v not in (None, "", {}, [])})


def _set_tags(customer: Customer, tags: Iterable[Tag] | None) -> list[str] | None:
    if tags is None:
        return None
    before = sorted(customer.tags.values_list("name", flat=True))
    customer.tags.set(list(tags))
    after = sorted(customer.tags.values_list("name", flat=True))
    return None if before == after else after


def customer_create(
    *,
    actor: User,
    data: dict[str, Any],
    tags: Iterable[Tag] | None = None,
    source: str = "",
) -> Customer:
    """Create a customer owned by ``data['owner']`` (default: the actor) and log it."""
    fields = {k: v for k, v in data.items() if k in CUSTOMER_FIELDS}
    fields.setdefault("owner", actor)
    customer = Customer(**fields)
    customer_prepare(customer)
    customer.full_clean(exclude=["search_text", "name_pinyin", "name_initials"])
    with transaction.atomic():
        customer.save()
        _set_tags(customer, tags)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.IMPORT if source == "import" else AuditEntry.Action.CREATE,
            subject=customer,
            customer_id=customer.pk,
            changes=_filled(_snapshot(customer)),
        )
    return customer


def customer_update(
    *,
    actor: User,
    customer: Customer,
    data: dict[str, Any],
    tags: Iterable[Tag] | None = None,
) -> Customer:
    """Apply ``data`` to ``customer``; log changed fields (old → new). Owner changes go
    through here too and are logged as owner changes."""
    before = _snapshot(customer)
    old_owner_id = customer.owner_id
    for key, value in data.items():
        if key in CUSTOMER_FIELDS:
            setattr(customer, key, value)
    if customer.owner_id != old_owner_id and "team" not in data:
        customer.team_id = None
    customer_prepare(customer)
    customer.full_clean(exclude=["search_text", "name_pinyin", "name_initials"])
    with transaction.atomic():
        customer.save()
        changes = diff_fields(before, _snapshot(customer))
        new_tags = _set_tags(customer, tags)
        if new_tags is not None:
            changes["tags"] = [None, ", ".join(new_tags)]
        owner_change = changes.pop("owner", None)
        if changes:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                subject=customer,
                customer_id=customer.pk,
                changes=changes,
            )
        if owner_change:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.OWNER,
                subject=customer,
                customer_id=customer.pk,
                changes={"owner": owner_change},
            )
            _notify_new_owner(actor=actor, customers=[customer])
    return customer


def _notify_new_owner(*, actor: User, customers: Sequence[Customer]) -> None:
    by_owner: dict[int, list[Customer]] = {}
    for c in customers:
        if c.owner_id and c.owner_id != actor.pk:
            by_owner.setdefault(c.owner_id, []).append(c)
    for owner_id, owned in by_owner.items():
        owner = User.objects.get(pk=owner_id)
        if len(owned) == 1:
            message = _("%(actor)s assigned %(customer)s to you.") % {
                "actor": actor,
                "customer": owned[0].name,
            }
            url = reverse("customers:customer-detail", args=[owned[0].pk])
        else:
            message = _("%(actor)s assigned %(count)d customers to you.") % {
                "actor": actor,
                "count": len(owned),
            }
            url = reverse("customers:customer-index") + "?owner=me"
        transaction.on_commit(
            partial(
                notification_send,
                user=owner,
                kind=Notification.Kind.ASSIGNED,
                message=message,
                url=url,
                actor=actor,
            )
        )


def customers_reassign(
    *,
    actor: User,
    customers: QuerySet[Customer],
    new_owner: User,
    reason: str = "",
    action: str = AuditEntry.Action.OWNER,
) -> int:
    """Give every customer in ``customers`` to ``new_owner`` (and their team); log each one."""
    if not new_owner.is_active:
        raise ValidationError({"owner": _("This user is inactive.")})
    with transaction.atomic():
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the owner join.
        rows = list(customers.select_for_update(of=("self",)).select_related("owner"))
        moved = [c for c in rows if c.owner_id != new_owner.pk]
        entries = [
            AuditEntry(
                actor=actor,
                action=action,
                subject_type="customer",
                subject_id=c.pk,
                subject_label=c.name[:200],
                customer_id=c.pk,
                message=reason,
                changes={"owner": [str(c.owner) if c.owner else None, str(new_owner)]},
            )
            for c in moved
        ]
        ids = [c.pk for c in moved]
        for start in range(0, len(ids), 500):
            Customer.objects.filter(pk__in=ids[start : start + 500]).update(
                owner=new_owner, team=new_owner.team_id, updated_at=timezone.now()
            )
        AuditEntry.objects.bulk_create(entries, batch_size=500)
        for c in moved:
            c.owner = new_owner
        _notify_new_owner(actor=actor, customers=moved)
    return len(moved)


def user_handover(
    *, actor: User, from_user: User, to_users: Sequence[User], deactivate: bool = False
) -> dict[int, int]:
    """Move everything ``from_user`` owns to ``to_users`` in turn (round-robin), in one
    step, and log it. Returns {receiving user id: number of customers received}."""
    if not to_users:
        raise ValidationError({"to_users": _("Choose at least one colleague.")})
    if any(u.pk == from_user.pk for u in to_users):
        raise ValidationError({"to_users": _("A user cannot hand over to themselves.")})
    result: dict[int, int] = {u.pk: 0 for u in to_users}
    with transaction.atomic():
        ids = list(
            Customer.objects.filter(owner=from_user).order_by("id").values_list("pk", flat=True)
        )
        buckets: dict[int, list[int]] = {u.pk: [] for u in to_users}
        for index, cid in enumerate(ids):
            buckets[to_users[index % len(to_users)].pk].append(cid)
        message = _("Handover from %(user)s") % {"user": from_user}
        for user in to_users:
            result[user.pk] = customers_reassign(
                actor=actor,
                customers=Customer.objects.filter(pk__in=buckets[user.pk]),
                new_owner=user,
                reason=message,
                action=AuditEntry.Action.HANDOVER,
            )
        if deactivate:
            User.objects.filter(pk=from_user.pk).update(is_active=False)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.HANDOVER,
            subject=from_user,
            subject_type="user",
            message=message,
            changes={"customers": [len(ids), {str(u): result[u.pk] for u in to_users}]},
        )
    return result


def customer_delete(*, actor: User, customer: Customer) -> None:
    """Soft-delete: hidden everywhere, restorable from the trash."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(deleted_at=timezone.now(), deleted_by=actor)
        audit_record(
            actor=actor, action=AuditEntry.Action.DELETE, subject=customer, customer_id=customer.pk
        )


def customer_restore(*, actor: User, customer: Customer) -> None:
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(deleted_at=None, deleted_by=None)
        customer.deleted_at = None
        audit_record(
            actor=actor, action=AuditEntry.Action.RESTORE, subject=customer, customer_id=customer.pk
        )


def customer_purge(*, actor: User, customer: Customer) -> None:
    """Delete a soft-deleted customer for good. The audit trail keeps its history."""
    if customer.deleted_at is None:
        raise ValidationError(_("Only customers in the trash can be purged."))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditEntry.Action.PURGE,
            subject=customer,
            customer_id=customer.pk,
            changes={"snapshot": [None, _snapshot(customer)]},
        )
        files = [attachment.file for attachment in customer.attachments.all()]
        try:
            with transaction.atomic():
                customer.delete()
        except ProtectedError as exc:
            kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            raise ValidationError(
                _("This customer still has %(records)s; move or delete them first.")
                % {"records": ", ".join(kinds)}
            ) from exc

        # The files go only once the purge has committed.
        def delete_files() -> None:
            for file in files:
                file.delete(save=False)

        transaction.on_commit(delete_files)


# Relations the merge moves itself (with their own rules) or that stay with the source.
_MERGE_HANDLED = {"contact_links", "addresses", "notes", "attachments", "merged_from", "tags"}


def _move_other_records(source: Customer, target: Customer) -> None:
    """Every other record that points at ``source`` (opportunities, leads, follow-ups, and
    what later modules add) moves to ``target``, so a merge loses nothing."""
    for relation in Customer._meta.related_objects:
        if relation.many_to_many or relation.one_to_one:
            continue
        if relation.get_accessor_name() in _MERGE_HANDLED:
            continue
        model = relation.related_model
        assert isinstance(model, type)
        model._default_manager.filter(**{relation.field.name: source}).update(
            **{relation.field.name: target}
        )


def customer_merge(*, actor: User, target: Customer, source: Customer) -> Customer:
    """Merge ``source`` into ``target``: contacts, addresses, notes, files, tags and the
    timeline move over; ``source`` is soft-deleted and points at ``target``."""
    if target.pk == source.pk:
        raise ValidationError(_("A customer cannot be merged into itself."))
    with transaction.atomic():
        before = _snapshot(target)
        for field in (
            "phone",
            "mobile",
            "email",
            "website",
            "uscc",
            "province",
            "city",
            "industry",
            "birthday",
            "lunar_birthday",
        ):
            if field == "uscc" and target.kind != Customer.Kind.COMPANY:
                continue  # only companies carry a USCC; the source's stays in its snapshot
            if not getattr(target, field) and getattr(source, field):
                setattr(target, field, getattr(source, field))
        if source.notes:
            target.notes = "\n\n".join(filter(None, [target.notes, source.notes]))
        target.remarks = {**source.remarks, **target.remarks}
        customer_prepare(target)
        target.save()
        existing = set(target.contact_links.values_list("contact_id", flat=True))
        if target.contact_links.filter(is_primary=True).exists():
            ContactLink.objects.filter(customer=source).update(is_primary=False)
        ContactLink.objects.filter(customer=source).exclude(contact_id__in=existing).update(
            customer=target
        )
        ContactLink.objects.filter(customer=source).delete()
        Address.objects.filter(customer=source).update(customer=target, is_primary=False)
        Note.objects.filter(customer=source).update(customer=target)
        Attachment.objects.filter(customer=source).update(customer=target)
        target.tags.add(*source.tags.all())
        _move_other_records(source, target)
        AuditEntry.objects.filter(customer_id=source.pk).update(customer_id=target.pk)
        Customer.objects.filter(pk=source.pk).update(
            deleted_at=timezone.now(), deleted_by=actor, merged_into=target
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.MERGE,
            subject=target,
            customer_id=target.pk,
            message=_("Merged %(source)s (#%(id)s) into this customer.")
            % {"source": source.name, "id": source.pk},
            changes={**diff_fields(before, _snapshot(target)), "merged": [_snapshot(source), None]},
        )
    return target


# --- duplicates -----------------------------------------------------------------------


def duplicates_find(
    *,
    name: str = "",
    city: str = "",
    phone: str = "",
    mobile: str = "",
    email: str = "",
    uscc: str = "",
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[tuple[Customer, list[str]]]:
    """Live customers that are probably the same as the given values, with the reasons.

    Looks across all customers (not just the caller's) so that two reps do not work the
    same company unknowingly; callers decide how much of an invisible match to show.
    One query, on indexed columns.
    """
    phones = {p for p in (normalize_phone(phone), normalize_phone(mobile)) if len(p) >= 7}
    email = email.strip().lower()
    uscc = uscc.strip().upper()
    name = " ".join(name.split())
    condition = Q()
    if phones:
        condition |= Q(phone_normalized__in=phones) | Q(mobile_normalized__in=phones)
    if email:
        condition |= Q(email=email)
    if uscc:
        condition |= Q(uscc=uscc)
    if name:
        condition |= Q(name=name, city=city) if city else Q(name=name)
    if not condition:
        return []
    qs = Customer.objects.alive().filter(condition).select_related("owner")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    results: list[tuple[Customer, list[str]]] = []
    for customer in qs[:limit]:
        reasons = []
        if phones & {customer.phone_normalized, customer.mobile_normalized}:
            reasons.append(_("same phone number"))
        if email and customer.email == email:
            reasons.append(_("same e-mail"))
        if uscc and customer.uscc == uscc:
            reasons.append(_("same Unified Social Credit Code"))
        if name and customer.name == name and (not city or customer.city == city):
            reasons.append(_("same name in the same city") if city else _("same name"))
        results.append((customer, reasons))
    return results


# --- notes and attachments ------------------------------------------------------------

MENTION_RE = re.compile(r"@([\w.@+-]*[\w@+-])")  # a trailing full stop ends the sentence


def note_create(*, actor: User, customer: Customer, body: str) -> Note:
    """Add a note; every active @username mentioned is notified in-app."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write something first.")})
    usernames = set(MENTION_RE.findall(body))
    # Only colleagues who may see the customer are notified: the notification names it.
    mentioned = [
        user
        for user in User.objects.filter(username__in=usernames, is_active=True)
        if customers_visible_to(user).filter(pk=customer.pk).exists()
    ]
    with transaction.atomic():
        note = Note.objects.create(customer=customer, author=actor, body=body)
        note.mentions.set(mentioned)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.NOTE,
            subject=note,
            subject_label=customer.name,
            customer_id=customer.pk,
            message=body[:1000],
        )
        url = reverse("customers:customer-detail", args=[customer.pk]) + f"#note-{note.pk}"
        for user in mentioned:
            if user.pk != actor.pk:
                message = _("%(actor)s mentioned you on %(customer)s") % {
                    "actor": actor,
                    "customer": customer.name,
                }
                transaction.on_commit(
                    partial(
                        notification_send,
                        user=user,
                        kind=Notification.Kind.MENTION,
                        message=message,
                        url=url,
                        actor=actor,
                    )
                )
    return note


def attachment_add(*, actor: User, customer: Customer, upload: UploadedFile) -> Attachment:
    """Store an uploaded file on the customer, within the size and type limits."""
    name = Path(upload.name or "file").name
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        raise ValidationError(
            {"file": _("Files of type “%(ext)s” are not allowed.") % {"ext": extension or "?"}}
        )
    if upload.size is not None and upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {
                "file": _("The file is larger than %(mb)d MB.")
                % {"mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}
            }
        )
    with transaction.atomic():
        attachment = Attachment(
            customer=customer,
            name=name[:200],
            size=upload.size or 0,
            content_type=(upload.content_type or "")[:100],
            uploaded_by=actor,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ATTACH,
            subject=attachment,
            subject_label=name,
            customer_id=customer.pk,
        )
    return attachment


# --- addresses ------------------------------------------------------------------------


def address_save(*, actor: User, customer: Customer, address: Address) -> Address:
    """Create or change an address of ``customer``; the first one is primary."""
    address.customer = customer
    address.full_clean(exclude=["customer"])
    with transaction.atomic():
        is_new = address.pk is None
        if not customer.addresses.exclude(pk=address.pk).exists():
            address.is_primary = True
        if address.is_primary:
            customer.addresses.exclude(pk=address.pk).update(is_primary=False)
        address.save()
        if address.is_primary and (customer.province, customer.city) != (
            address.province,
            address.city,
        ):
            customer_update(
                actor=actor,
                customer=customer,
                data={"province": address.province, "city": address.city},
            )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=address,
            customer_id=customer.pk,
            changes={"address": [None if is_new else "", str(address)]},
        )
    return address


def address_delete(*, actor: User, address: Address) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=address,
            customer_id=address.customer_id,
            changes={"address": [str(address), None]},
        )
        address.delete()


# --- contacts -------------------------------------------------------------------------


def contact_prepare(contact: Contact) -> None:
    from guanxi.core.pinyin import pinyin_keys

    contact.name = " ".join(contact.name.split())
    if contact.mobile:
        try:
            contact.mobile = normalize_cn_mobile(contact.mobile)
        except ValidationError as exc:
            raise ValidationError({"mobile": exc.messages}) from exc
    contact.mobile_normalized = contact.mobile
    contact.email = contact.email.strip().lower()
    contact.name_pinyin, contact.name_initials = pinyin_keys(contact.name)


def _contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {f: getattr(contact, f) for f in CONTACT_FIELDS}


def contact_create(
    *,
    actor: User,
    customer: Customer,
    data: dict[str, Any],
    title: str = "",
    department: str = "",
    is_primary: bool = False,
) -> Contact:
    """Create a contact of ``customer`` and log it on the customer's timeline."""
    contact = Contact(**{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    contact_prepare(contact)
    contact.full_clean(exclude=["name_pinyin", "name_initials"])
    with transaction.atomic():
        contact.save()
        contact_link(
            actor=actor,
            contact=contact,
            customer=customer,
            title=title,
            department=department,
            is_primary=is_primary,
            log=False,
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=contact,
            customer_id=customer.pk,
            changes=_filled(_contact_snapshot(contact)),
        )
    return contact


def contact_update(*, actor: User, contact: Contact, data: dict[str, Any]) -> Contact:
    """Change a contact; the change shows on the timeline of each customer it belongs to."""
    before = _contact_snapshot(contact)
    for key, value in data.items():
        if key in CONTACT_FIELDS:
            setattr(contact, key, value)
    contact_prepare(contact)
    contact.full_clean(exclude=["name_pinyin", "name_initials"])
    with transaction.atomic():
        contact.save()
        changes = diff_fields(before, _contact_snapshot(contact))
        if changes:
            for customer_id in contact.links.values_list("customer_id", flat=True):
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.UPDATE,
                    subject=contact,
                    customer_id=customer_id,
                    changes=changes,
                )
    return contact


def contact_link(
    *,
    actor: User,
    contact: Contact,
    customer: Customer,
    title: str = "",
    department: str = "",
    is_primary: bool = False,
    log: bool = True,
) -> ContactLink:
    """Make ``contact`` a contact of ``customer`` (or update its title and department)."""
    with transaction.atomic():
        if is_primary:
            ContactLink.objects.filter(customer=customer, is_primary=True).exclude(
                contact=contact
            ).update(is_primary=False)
        link, _created = ContactLink.objects.update_or_create(
            customer=customer,
            contact=contact,
            defaults={"title": title, "department": department, "is_primary": is_primary},
        )
        if log:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.LINK,
                subject=contact,
                customer_id=customer.pk,
                changes={"title": [None, title], "department": [None, department]},
            )
    return link


def contact_unlink(*, actor: User, contact: Contact, customer: Customer) -> None:
    with transaction.atomic():
        ContactLink.objects.filter(contact=contact, customer=customer).delete()
        audit_record(
            actor=actor, action=AuditEntry.Action.UNLINK, subject=contact, customer_id=customer.pk
        )


def contact_delete(*, actor: User, contact: Contact) -> None:
    """Soft-delete a contact; logged on each of its customers' timelines."""
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(deleted_at=timezone.now())
        for customer_id in contact.links.values_list("customer_id", flat=True):
            audit_record(
                actor=actor,
                action=AuditEntry.Action.DELETE,
                subject=contact,
                customer_id=customer_id,
            )


# --- the customer pool (公海) ------------------------------------------------------------


def customer_claim(*, actor: User, customer: Customer) -> Customer:
    """Take an unowned customer from the pool, within the team's limit of owned customers.
    The row is locked, so two people claiming at once cannot both get it."""
    with transaction.atomic():
        locked = (
            Customer.objects.select_for_update(of=("self",))
            .filter(pk=customer.pk, deleted_at__isnull=True)
            .first()
        )
        if locked is None or locked.owner_id is not None:
            raise ValidationError(_("Someone else has claimed this customer, or it was deleted."))
        limit = (
            Team.objects.filter(pk=actor.team_id)
            .values_list("customer_claim_limit", flat=True)
            .first()
            if actor.team_id
            else None
        )
        if limit is not None:
            owned = Customer.objects.filter(owner=actor, deleted_at__isnull=True).count()
            if owned >= limit:
                raise ValidationError(
                    _(
                        "You already own %(owned)d customers, your team's limit; "
                        "hand some over first."
                    )
                    % {"owned": owned}
                )
        customers_reassign(
            actor=actor,
            customers=Customer.objects.filter(pk=locked.pk),
            new_owner=actor,
            reason=_("Claimed from the pool."),
        )
        locked.refresh_from_db()
    return locked


def customers_return_to_pool(*, now: Any = None) -> tuple[int, int]:
    """Return to the pool the customers nobody has followed up for their team's
    ``customer_return_days``: idle since the last done follow-up, the last change of owner
    or the creation, whichever is latest. Owners are told ``return_warning_days`` before
    and when it happens, once a day. Idempotent (hourly). Returns (returned, warned)."""
    from datetime import timedelta

    from django.db.models import OuterRef, Subquery

    from guanxi.activities.models import FollowUp

    now = now or timezone.now()
    last_follow_up = (
        FollowUp.objects.filter(customer=OuterRef("pk"), done_at__isnull=False)
        .order_by("-done_at")
        .values("done_at")[:1]
    )
    last_assigned = (
        AuditEntry.objects.filter(
            customer_id=OuterRef("pk"),
            subject_type="customer",
            action__in=[AuditEntry.Action.OWNER, AuditEntry.Action.HANDOVER],
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    returned: dict[int, list[tuple[Any, int]]] = {}
    warned: dict[int, list[tuple[Any, Any]]] = {}
    for team in Team.objects.filter(customer_return_days__isnull=False):
        assert team.customer_return_days is not None
        limit = timedelta(days=team.customer_return_days)
        notice = timedelta(days=min(team.return_warning_days, team.customer_return_days))
        rows = (
            Customer.objects.filter(team=team, owner__isnull=False, deleted_at__isnull=True)
            .select_related("owner")
            .only("pk", "name", "owner", "team", "created_at")
            .annotate(
                last_follow_up=Subquery(last_follow_up), last_assigned=Subquery(last_assigned)
            )
        )
        for customer in rows:
            moments = (customer.last_follow_up, customer.last_assigned, customer.created_at)
            due = max(t for t in moments if t is not None) + limit
            owner_id = customer.owner_id or 0
            if due <= now:
                returned.setdefault(owner_id, []).append((customer, team.customer_return_days))
            elif due - notice <= now:
                warned.setdefault(owner_id, []).append((customer, due))
    warning_url = reverse("customers:customer-index") + "?owner=me"
    sent = 0
    with transaction.atomic():
        for items in returned.values():
            owner = items[0][0].owner
            for customer, days in items:
                Customer.objects.filter(pk=customer.pk).update(
                    owner=None, team=None, updated_at=now
                )
                audit_record(
                    actor=None,
                    action=AuditEntry.Action.OWNER,
                    subject=customer,
                    customer_id=customer.pk,
                    changes={"owner": [str(owner), None]},
                    message=_("Returned to the pool: no follow-up for %(days)d days.")
                    % {"days": days},
                )
            notification_send(
                user=owner,
                kind=Notification.Kind.POOL,
                message=ngettext(
                    "%(count)d customer went back to the pool: no follow-up in time.",
                    "%(count)d customers went back to the pool: no follow-up in time.",
                    len(items),
                )
                % {"count": len(items)},
                url=reverse("customers:customer-pool"),
            )
        for owner_id, warn_items in warned.items():
            if Notification.objects.filter(
                user_id=owner_id,
                kind=Notification.Kind.POOL,
                url=warning_url,
                created_at__gte=now - timedelta(hours=24),
            ).exists():
                continue
            first_due = min(due for _customer, due in warn_items)
            notification_send(
                user=warn_items[0][0].owner,
                kind=Notification.Kind.POOL,
                message=ngettext(
                    "%(count)d customer returns to the pool from %(date)s unless you follow it up.",
                    "%(count)d customers return to the pool from %(date)s unless you follow "
                    "them up.",
                    len(warn_items),
                )
                % {"count": len(warn_items), "date": f"{timezone.localtime(first_due):%Y-%m-%d}"},
                url=warning_url,
            )
            sent += 1
    return sum(len(v) for v in returned.values()), sent
