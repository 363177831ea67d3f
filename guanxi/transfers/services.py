"""Every write of the import/export feature.

Imports stream the uploaded file in batches of ``BATCH_SIZE`` rows. Each batch commits in
one transaction together with the job's counters and the batch's reported issues, so a
job that stops half-way resumes after the last committed batch, and re-running a finished
job does nothing. New customers are written with bulk inserts (plus their audit entries);
updates and contacts go through the customers app's services one row at a time, and leads
through the sales app's services (validation, routing and audit trail as everywhere else).
"""

import csv
import io
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import AuditEntry, Notification
from guanxi.activities.services import audit_record, diff_fields, notification_send
from guanxi.core.validators import normalize_cn_mobile, normalize_phone, normalize_uscc
from guanxi.customers.access import (
    contacts_editable_by,
    customers_actionable_by,
    customers_visible_to,
)
from guanxi.customers.models import Channel, Contact, ContactLink, Customer, Tag
from guanxi.customers.search import FTS_TABLE
from guanxi.customers.seeding import (
    SQLITE_FTS_INSERT_TRIGGER,
    RawWriter,
    fast_pinyin_keys,
    search_columns,
)
from guanxi.customers.seeding import Writer as _OrmWriter
from guanxi.customers.services import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    contact_create,
    contact_link,
    contact_prepare,
    contact_update,
    customer_prepare,
    customer_update,
)
from guanxi.sales.access import leads_actionable_by
from guanxi.sales.models import Lead
from guanxi.sales.services import (
    LEAD_FIELDS,
    lead_create,
    lead_prepare,
    lead_update,
    leads_notify_assigned,
)
from guanxi.transfers import readers
from guanxi.transfers.fields import (
    choice_aliases,
    fields_for,
    guess_mapping,
    parse_date,
    split_tags,
)
from guanxi.transfers.models import ExportJob, Format, ImportIssue, ImportJob, Kind, Status
from guanxi.transfers.selectors import (
    export_contact_links,
    export_customers,
    export_leads,
    import_last_mapping,
)
from guanxi.users.models import User

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
EXPORT_INLINE_MAX = 2000
IMPORT_PERM = "customers.import_customer"
EXPORT_PERM = "customers.export_customer"
# The permission each kind of import and export needs (leads: whoever may capture leads
# may import them; exporting needs the leads' own export permission).
IMPORT_PERMS: dict[str, str] = {
    Kind.CUSTOMERS: IMPORT_PERM,
    Kind.CONTACTS: IMPORT_PERM,
    Kind.LEADS: "sales.add_lead",
}
EXPORT_PERMS: dict[str, str] = {
    Kind.CUSTOMERS: EXPORT_PERM,
    Kind.CONTACTS: EXPORT_PERM,
    Kind.LEADS: "sales.export_lead",
}
ASSIGN_LEAD_PERM = "sales.assign_lead"
_CUSTOMER_EXCLUDE = [
    "search_text",
    "name_pinyin",
    "name_initials",
    "owner",
    "team",
    "channel",
    "merged_into",
    "deleted_by",
]


def import_perm(kind: str) -> str:
    """The permission an import of ``kind`` needs (an unknown kind: the customers' one)."""
    return IMPORT_PERMS.get(kind, IMPORT_PERM)


def export_perm(kind: str) -> str:
    """The permission an export of ``kind`` needs (an unknown kind: the customers' one)."""
    return EXPORT_PERMS.get(kind, EXPORT_PERM)


def importable_kinds(user: User) -> list[str]:
    """The kinds of record ``user`` may import, in menu order."""
    return [kind for kind in Kind.values if user.has_perm(import_perm(kind))]


def _raw(stream: Any) -> IO[bytes]:
    """The file object under Django's File wrappers (TextIOWrapper and openpyxl want it)."""
    while hasattr(stream, "file") and stream.file is not None and stream.file is not stream:
        stream = stream.file
    return cast(IO[bytes], stream)


# --- creating and configuring an import -------------------------------------------------


def import_job_create(*, actor: User, kind: str, upload: UploadedFile) -> ImportJob:
    """Store an uploaded file as a new import of ``kind`` after checking that it can be
    read: type, size, text encoding, a header row. The column mapping is pre-filled."""
    if not actor.has_perm(import_perm(kind)):
        raise PermissionDenied
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose customers or contacts.")})
    name = Path(upload.name or "import").name[:255]
    size = upload.size or 0
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if size > settings.IMPORT_MAX_BYTES:
        raise ValidationError(
            {
                "file": _("The file is larger than %(mb)d MB.")
                % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
            }
        )
    stream = _raw(upload)
    stream.seek(0)
    head = stream.read(4096)
    try:
        fmt = readers.format_from_name(name, head)
        if fmt == Format.VCF and kind != Kind.CONTACTS:
            raise ValidationError(_("vCard files hold contacts: choose “Contacts”."))
        encoding = readers.detect_encoding(stream) if fmt != Format.XLSX else ""
        delimiter = ","
        if fmt == Format.CSV:
            first = io.TextIOWrapper(stream, encoding=encoding, newline="")
            delimiter = readers.sniff_delimiter(first.readline())
            first.detach()
        headers = readers.read_header(stream, format=fmt, encoding=encoding, delimiter=delimiter)
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from exc
    headers = [h or _("Column %(n)d") % {"n": i + 1} for i, h in enumerate(headers)]
    if fmt == Format.VCF:
        mapping = list(readers.VCARD_MAPPING)
    else:
        mapping = guess_mapping(kind, headers, import_last_mapping(user=actor, kind=kind))
    job = ImportJob(
        user=actor,
        kind=kind,
        original_name=name,
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        mapping=mapping,
    )
    stream.seek(0)
    job.file.save(name, File(stream, name=name), save=False)
    job.save()
    return job


def import_job_configure(
    *,
    actor: User,
    job: ImportJob,
    mapping: list[str],
    duplicate_mode: str,
    all_or_nothing: bool,
) -> ImportJob:
    """Save the column mapping and options of a job that has not started yet."""
    if job.user_id != actor.pk or not actor.has_perm(import_perm(job.kind)):
        raise PermissionDenied
    if job.status != Status.PENDING:
        raise ValidationError(_("This import has already started."))
    keys = {f.key for f in fields_for(job.kind)}
    mapping = [m if m in keys else "" for m in mapping][: len(job.headers)]
    mapping += [""] * (len(job.headers) - len(mapping))
    errors: list[str] = []
    chosen = [m for m in mapping if m]
    doubled = sorted({m for m in chosen if chosen.count(m) > 1})
    labels = {f.key: str(f.label) for f in fields_for(job.kind)}
    if doubled:
        errors.append(
            _("Each field can be chosen for one column only: %(fields)s.")
            % {"fields": ", ".join(labels[d] for d in doubled)}
        )
    if job.kind == Kind.LEADS:
        if not {"name", "company"} & set(chosen):
            errors.append(_("Choose the column that holds the name or the company."))
    elif "name" not in chosen:
        errors.append(_("Choose the column that holds the name."))
    if job.kind == Kind.CONTACTS and not {"customer_name", "customer_uscc"} & set(chosen):
        errors.append(
            _(
                "Choose the column with the customer name or USCC: every contact "
                "belongs to a customer."
            )
        )
    if duplicate_mode not in ImportJob.DuplicateMode.values:
        errors.append(_("Choose what to do with existing records."))
    if errors:
        raise ValidationError({"mapping": errors})
    job.mapping = mapping
    job.duplicate_mode = duplicate_mode
    job.all_or_nothing = all_or_nothing
    job.save(update_fields=["mapping", "duplicate_mode", "all_or_nothing", "updated_at"])
    return job


def import_job_start(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the import (after commit). Starting a started job changes nothing."""
    if job.user_id != actor.pk or not actor.has_perm(import_perm(job.kind)):
        raise PermissionDenied
    if job.status != Status.PENDING:
        return job
    if job.kind == Kind.LEADS:
        if not {"name", "company"} & set(job.mapping):
            raise ValidationError(
                {"mapping": _("Choose the column that holds the name or the company.")}
            )
    elif "name" not in job.mapping:
        raise ValidationError({"mapping": _("Choose the column that holds the name.")})
    job.status = Status.RUNNING
    job.message = ""
    job.save(update_fields=["status", "message", "updated_at"])
    from guanxi.transfers.tasks import import_job_run_task

    transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


# --- rows -------------------------------------------------------------------------------


@dataclass
class RowResult:
    row: int
    values: list[str]
    issues: list[tuple[str, str]] = field(default_factory=list)
    action: str = ""  # create / update / skip / error
    note: str = ""
    customer: Customer | None = None
    tags: list[Tag] | None = None
    contact: dict[str, Any] | None = None
    contact_meta: dict[str, str] = field(default_factory=dict)
    target_id: int | None = None
    given: list[str] = field(default_factory=list)
    match_keys: list[tuple[str, ...]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] | None = None  # column → value of a customer to be created

    @property
    def ok(self) -> bool:
        return not self.issues


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"": [str(m) for m in exc.messages]}


# --- the fast path for new customers ----------------------------------------------------
#
# A row is checked with exactly what ``customer_create`` checks (customer_prepare's
# normalisation, then every field's own ``clean`` as ``full_clean`` runs it) but on a
# plain dict; a row that fails, or carries something rare (a lunar birthday), goes
# through the service's code itself so that its messages stay the same. New customers,
# their tags, contacts and audit entries are then written with one multi-row statement
# per table (``COPY`` on PostgreSQL, ``executemany`` on SQLite).

_CUSTOMER_TEXT = (
    "name",
    "phone",
    "mobile",
    "email",
    "website",
    "uscc",
    "province",
    "city",
    "lunar_birthday",
    "notes",
)
_CUSTOMER_DEFAULTS = {
    f.attname: f.get_default() for f in Customer._meta.concrete_fields if not f.primary_key
}


def _text_check(f: models.Field) -> Callable[[Any], bool] | None:
    """For a text field whose only validators are the maximum length and no NUL
    characters: a check that passes exactly when ``f.clean`` would (for a str)."""
    if not isinstance(f, models.CharField | models.TextField) or not all(
        isinstance(v, MaxLengthValidator | ProhibitNullCharactersValidator) for v in f.validators
    ):
        return None
    limit = f.max_length
    choices = (
        {str(k) for k, _label in f.flatchoices} if f.choices is not None and f.editable else None
    )

    def check(value: Any) -> bool:
        if not isinstance(value, str) or "\x00" in value:
            return False
        if limit is not None and len(value) > limit:
            return False
        return choices is None or value in choices

    return check


_CUSTOMER_FIELD = {f.attname: f for f in Customer._meta.concrete_fields}


def _contact_check(name: str) -> Callable[[Any], bool]:
    check = _text_check(cast(models.Field, Contact._meta.get_field(name)))
    assert check is not None
    return check


_CONTACT_NAME_CHECK = _contact_check("name")
_CONTACT_MOBILE_CHECK = _contact_check("mobile")
_CONTACT_MOBILE_NORMALIZED_CHECK = _contact_check("mobile_normalized")
# The fields full_clean(exclude=_CUSTOMER_EXCLUDE) cleans, in its order.
_CUSTOMER_CHECKED = [
    (f.attname, f, _text_check(f))
    for f in Customer._meta.concrete_fields
    if f.name not in _CUSTOMER_EXCLUDE and not f.primary_key
]
_CONTACT_DEFAULTS = {
    f.attname: f.get_default() for f in Contact._meta.concrete_fields if not f.primary_key
}
_CONTACT_EMAIL = cast(models.Field, Contact._meta.get_field("email"))
_TAGS_THROUGH = Customer.tags.through
_SNAPSHOT_FIELDS = [f for f in CUSTOMER_FIELDS if f not in {"channel", "owner", "team"}]


@lru_cache(maxsize=8192)
def _clean_ok(attname: str, value: Any) -> bool:
    """Whether the customer field ``attname`` accepts ``value`` (e-mail, website, date:
    pure functions of the value, and files repeat them a lot)."""
    try:
        _CUSTOMER_FIELD[attname].clean(value, None)
    except ValidationError:
        return False
    return True


def _customer_record(
    fields: dict[str, Any], owner: User, channel: Channel | None
) -> dict[str, Any] | None:
    """The columns of a new customer, prepared as ``customer_prepare`` does; None when
    ``customer_prepare`` or ``full_clean`` would object (or for a lunar birthday)."""
    rec = dict(_CUSTOMER_DEFAULTS)
    for key, value in fields.items():
        if key not in ("owner", "channel"):
            rec[key] = value
    if rec["lunar_birthday"]:
        return None
    name = " ".join(rec["name"].split())
    rec["name"] = name
    mobile = rec["mobile"]
    if mobile:
        try:
            mobile = rec["mobile"] = normalize_cn_mobile(mobile)
        except ValidationError:
            return None
    rec["mobile_normalized"] = mobile
    rec["phone_normalized"] = normalize_phone(rec["phone"])
    uscc = rec["uscc"]
    if uscc:
        if rec["kind"] != Customer.Kind.COMPANY:
            return None
        try:
            uscc = rec["uscc"] = normalize_uscc(uscc)
        except ValidationError:
            return None
    rec["email"] = rec["email"].strip().lower()
    for attname, f, check in _CUSTOMER_CHECKED:
        value = rec[attname]
        if f.blank and value in f.empty_values:
            continue
        if check is not None:
            if not check(value):
                return None
            continue
        if not _clean_ok(attname, value):
            return None
    rec["owner_id"] = owner.pk
    rec["team_id"] = owner.team_id
    rec["channel_id"] = channel.pk if channel is not None else None
    return rec


def _with_search_columns(rec: dict[str, Any]) -> None:
    """Fill name_pinyin, name_initials and search_text as ``customer_prepare`` does (only
    for the rows that are written: most work of a skipped row is never needed)."""
    rec["name_pinyin"], rec["name_initials"], rec["search_text"] = search_columns(
        rec["name"],
        [
            rec["mobile_normalized"],
            rec["phone_normalized"],
            rec["email"],
            rec["uscc"].lower(),
            rec["city"],
            rec["province"],
        ],
    )


def _contact_fast(contact: dict[str, Any]) -> bool:
    """True when ``contact_prepare`` + ``full_clean`` accept the contact of a row."""
    name, mobile, email = contact["name"], contact["mobile"], contact["email"]
    if mobile:
        try:
            mobile = normalize_cn_mobile(mobile)
        except ValidationError:
            return False
    name = " ".join(name.split())
    if not name or not _CONTACT_NAME_CHECK(name):
        return False
    if mobile and not (_CONTACT_MOBILE_CHECK(mobile) and _CONTACT_MOBILE_NORMALIZED_CHECK(mobile)):
        return False
    email = email.strip().lower()
    return not email or _contact_email_ok(email)


@lru_cache(maxsize=8192)
def _contact_email_ok(email: str) -> bool:
    try:
        _CONTACT_EMAIL.clean(email, None)
    except ValidationError:
        return False
    return True


def _contact_record(contact: dict[str, Any], now: Any) -> dict[str, Any]:
    """The columns of a new contact, prepared as ``contact_prepare`` does."""
    rec = dict(_CONTACT_DEFAULTS)
    name = " ".join(contact["name"].split())
    mobile = normalize_cn_mobile(contact["mobile"]) if contact["mobile"] else ""
    rec.update(
        name=name,
        mobile=mobile,
        mobile_normalized=mobile,
        email=contact["email"].strip().lower(),
        created_at=now,
        updated_at=now,
    )
    rec["name_pinyin"], rec["name_initials"] = fast_pinyin_keys(name)
    return rec


def _audit_row(
    *,
    customer_id: int,
    subject_type: str,
    subject_id: int,
    label: str,
    action: str,
    actor_id: int | None,
    changes: dict[str, Any],
    message: str,
    at: Any,
) -> dict[str, Any]:
    """An AuditEntry row as ``audit_record`` writes it."""
    return {
        "customer_id": customer_id,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "subject_label": label[:200],
        "action": str(action),
        "actor_id": actor_id,
        "changes": changes,
        "message": message,
        "created_at": at,
    }


def _writer(cursor: Any) -> _OrmWriter:
    if connection.vendor in ("sqlite", "postgresql"):
        return RawWriter(cursor)
    return _OrmWriter(cursor)


class _Importer:
    """Turns rows into records for one job. Holds small caches (owners, channels, tags)
    that stay bounded by the number of distinct values, not by the number of rows."""

    def __init__(self, job: ImportJob, *, dry_run: bool) -> None:
        self.job = job
        self.actor: User = job.user
        self.dry_run = dry_run
        self.columns = [(i, key) for i, key in enumerate(job.mapping) if key]
        self.aliases = choice_aliases()
        self.owners: dict[str, User | None] = {}
        self.channels: dict[str, Channel | None] = {}
        self.tags: dict[str, Tag] = {}
        self.source = _("Imported from %(file)s") % {"file": job.original_name}
        self.may_assign = job.kind == Kind.LEADS and self.actor.has_perm(ASSIGN_LEAD_PERM)

    # values ---------------------------------------------------------------------
    def _fields(self, values: list[str]) -> dict[str, str]:
        data: dict[str, str] = {}
        for index, key in self.columns:
            value = values[index].strip() if index < len(values) else ""
            if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
                value = value[1:]  # undo our own export's formula escaping
            data[key] = value
        return data

    def _choice(self, result: RowResult, key: str, value: str) -> str | None:
        found = self.aliases[key].get(value.strip().lower())
        if found is None:
            result.issues.append((key, _("“%(value)s” is not a valid choice.") % {"value": value}))
        return found

    def _date(self, result: RowResult, key: str, value: str) -> date | None:
        try:
            return parse_date(value)
        except ValueError:
            result.issues.append(
                (key, _("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": value})
            )
            return None

    # look-ups: one query per batch for the names not seen before ---------------
    def prefetch(self, rows: list[dict[str, str]]) -> None:
        """Load the owners, channels and tags a batch names that are not cached yet."""
        usernames = {d["owner"] for d in rows if d.get("owner")} - self.owners.keys()
        if usernames:
            found: dict[str, User] = {}
            for user in (
                User.objects.filter(
                    Q(username__in=usernames) | Q(display_name__in=usernames), is_active=True
                )
                .select_related("team")
                .order_by("-username")
            ):
                # The first match in this order wins, as .first() on a per-name query.
                for key in (user.username, user.display_name):
                    if key in usernames:
                        found.setdefault(key, user)
            for name in usernames:
                self.owners[name] = found.get(name)
        channels = {d["channel"] for d in rows if d.get("channel")} - self.channels.keys()
        if channels:
            by_name = {c.name: c for c in Channel.objects.filter(name__in=channels)}
            for name in channels:
                self.channels[name] = by_name.get(name)
        tags = {t for d in rows if d.get("tags") for t in split_tags(d["tags"])}
        tags -= self.tags.keys()
        if tags:
            self.tags.update((t.name, t) for t in Tag.objects.filter(name__in=tags))

    def _owner(self, result: RowResult, username: str) -> User | None:
        if username not in self.owners:
            self.prefetch([{"owner": username}])
        owner = self.owners[username]
        if owner is None:
            result.issues.append(("owner", _("No active user “%(name)s”.") % {"name": username}))
        return owner

    def _channel(self, result: RowResult, name: str) -> Channel | None:
        if name not in self.channels:
            self.prefetch([{"channel": name}])
        channel = self.channels[name]
        if channel is None:
            result.issues.append(
                ("channel", _("No source channel named “%(name)s”.") % {"name": name})
            )
        return channel

    def _tags(self, names: list[str]) -> list[Tag]:
        tags = []
        for name in names:
            if name not in self.tags:
                tag = Tag.objects.filter(name=name).first()
                if tag is None:
                    tag = (
                        Tag(name=name) if self.dry_run else Tag.objects.get_or_create(name=name)[0]
                    )
                self.tags[name] = tag
            tags.append(self.tags[name])
        return tags

    # customers ------------------------------------------------------------------
    def customer_row(
        self, row: int, values: list[str], data: dict[str, str] | None = None
    ) -> RowResult:
        result = RowResult(row=row, values=values)
        if data is None:
            data = self._fields(values)
        fields: dict[str, Any] = {}
        for key in _CUSTOMER_TEXT:
            if data.get(key):
                fields[key] = data[key]
        if not data.get("name"):
            result.issues.append(("name", _("The name is empty.")))
        for key in ("kind", "tier", "status", "industry", "gender"):
            if data.get(key):
                choice = self._choice(result, key, data[key])
                if choice is not None:
                    fields[key] = choice
        if "kind" not in fields and "uscc" not in fields and data.get("gender"):
            fields["kind"] = Customer.Kind.PERSON
        if data.get("birthday"):
            fields["birthday"] = self._date(result, "birthday", data["birthday"])
        if data.get("owner"):
            fields["owner"] = self._owner(result, data["owner"])
        if data.get("channel"):
            fields["channel"] = self._channel(result, data["channel"])
        if data.get("tags"):
            result.tags = self._tags(split_tags(data["tags"]))
        if data.get("contact_name"):
            result.contact = {
                "name": data["contact_name"],
                "mobile": data.get("contact_mobile", ""),
                "email": data.get("contact_email", ""),
            }
            result.contact_meta = {"title": data.get("contact_title", "")[:100]}
            if not _contact_fast(result.contact):
                self._check_contact(result, result.contact, prefix="contact_")
        elif data.get("contact_mobile") or data.get("contact_email"):
            result.issues.append(("contact_name", _("The contact's name is empty.")))
        result.given = sorted(fields)
        owner = fields.get("owner") or self.actor
        channel = fields.get("channel")
        record = None if result.issues else _customer_record(fields, owner, channel)
        if record is None:
            # A row with a problem: the service's own checks, for the exact messages.
            record = self._customer_checked(result, fields, owner)
        result.fields = fields
        result.record = record
        result.match_keys = _record_keys(record)
        return result

    def _customer_checked(
        self, result: RowResult, fields: dict[str, Any], owner: User
    ) -> dict[str, Any]:
        """Validate like ``customer_create`` (normalise, then full_clean) and report."""
        customer = Customer(**{k: v for k, v in fields.items() if k in CUSTOMER_FIELDS})
        customer.owner = owner
        if owner.team_id:
            customer.team_id = owner.team_id
        try:
            customer_prepare(customer)
            # The one check constraint (USCC for companies only) is enforced by
            # customer_prepare; validating it here would cost a query per row.
            customer.full_clean(exclude=_CUSTOMER_EXCLUDE, validate_constraints=False)
        except ValidationError as exc:
            reported = {f for f, _m in result.issues}
            for key, messages in _messages(exc).items():
                if key not in reported:
                    result.issues.extend((key if key != "__all__" else "", m) for m in messages)
        return {f.attname: getattr(customer, f.attname) for f in Customer._meta.concrete_fields}

    def _check_contact(self, result: RowResult, data: dict[str, Any], prefix: str) -> None:
        contact = Contact(**{k: v for k, v in data.items() if k in CONTACT_FIELDS})
        try:
            contact_prepare(contact)
            contact.full_clean(exclude=["name_pinyin", "name_initials"])
        except ValidationError as exc:
            reported = {f for f, _m in result.issues}
            for key, messages in _messages(exc).items():
                name = f"{prefix}{key}" if key != "__all__" else ""
                if name not in reported:
                    result.issues.extend((name, m) for m in messages)

    def customer_batch(self, results: list[RowResult]) -> None:
        """Decide create / update / skip for each valid row, then write (unless dry run)."""
        mode = self.job.duplicate_mode
        valid = [r for r in results if r.ok]
        index = _customer_index(valid) if mode != ImportJob.DuplicateMode.CREATE else {}
        pending: dict[tuple[str, ...], int] = {}
        for r in results:
            if not r.ok:
                r.action = "error"
                continue
            r.action = "create"
            if mode == ImportJob.DuplicateMode.CREATE:
                continue
            earlier = next((pending[k] for k in r.match_keys if k in pending), None)
            match = next((index[k] for k in r.match_keys if k in index), None)
            if earlier is not None:
                r.action = "skip"
                r.note = _("Same customer as row %(row)d of this file.") % {"row": earlier}
            elif match is not None:
                r.target_id = match
                r.action = "skip" if mode == ImportJob.DuplicateMode.SKIP else "update"
                r.note = _("A customer with the same %(what)s already exists.") % {
                    "what": _key_labels()[_match_kind(r.match_keys, index)]
                }
            if r.action == "create":
                for key in r.match_keys:
                    pending.setdefault(key, r.row)
        updates = [r for r in results if r.action == "update"]
        if updates:
            editable = set(
                customers_actionable_by(self.actor, "edit")
                .filter(pk__in=[cast(int, r.target_id) for r in updates])
                .values_list("pk", flat=True)
            )
            for r in updates:
                if r.target_id not in editable:
                    r.action = "error"
                    r.issues.append(
                        ("", _("This row matches an existing customer you may not change."))
                    )
        if self.dry_run:
            return
        self._customers_create([r for r in results if r.action == "create"])
        for r in results:
            if r.action == "update":
                self._customer_update(r)

    def _customers_create(self, rows: list[RowResult]) -> None:
        if not rows:
            return
        try:
            with transaction.atomic():
                self._write_created(rows)
        except DatabaseError:
            # One bad row spoils a bulk insert: fall back to one savepoint per row so the
            # good rows still go in and the bad one is reported.
            for r in rows:
                try:
                    with transaction.atomic():
                        self._write_created([r])
                except DatabaseError as exc:
                    r.action = "error"
                    r.issues.append(("", _("Could not be saved: %(error)s") % {"error": exc}))

    def _write_created(self, rows: list[RowResult]) -> None:
        """Insert the customers of ``rows`` with their tags, contacts and audit entries:
        one multi-row statement per table, no model instances."""
        now = timezone.now()
        actor_id = self.actor.pk
        customers = []
        for r in rows:
            assert r.record is not None
            record = {**r.record, "created_at": now, "updated_at": now}
            record.pop("id", None)
            _with_search_columns(record)
            customers.append(record)
        with connection.cursor() as cursor:
            writer = _writer(cursor)
            if connection.vendor == "sqlite":
                # The FTS index of the new rows in one statement, not one trigger run per
                # row (several times faster); the write lock is held, so no other insert
                # can miss the trigger, and a rollback restores it.
                cursor.execute("DROP TRIGGER IF EXISTS customers_customer_fts_ai")
                writer.insert(Customer, customers, ids=True)
                cursor.execute(
                    f"INSERT INTO {FTS_TABLE}(rowid, search_text) SELECT id, search_text "
                    "FROM customers_customer WHERE id BETWEEN %s AND %s",
                    [customers[0]["id"], customers[-1]["id"]],
                )
                cursor.execute(SQLITE_FTS_INSERT_TRIGGER)
            else:
                writer.insert(Customer, customers, ids=True)
            links: list[dict[str, Any]] = []
            entries: list[dict[str, Any]] = []
            contacts: list[dict[str, Any]] = []
            contact_of: list[tuple[int, str]] = []
            for r, c in zip(rows, customers, strict=True):
                r.record = c
                if r.tags:
                    links.extend(
                        {"customer_id": c["id"], "tag_id": pk}
                        for pk in dict.fromkeys(t.pk for t in r.tags)
                    )
                entries.append(
                    _audit_row(
                        customer_id=c["id"],
                        subject_type="customer",
                        subject_id=c["id"],
                        label=c["name"],
                        action=AuditEntry.Action.IMPORT.value,
                        actor_id=actor_id,
                        changes=self._created_changes(c, r),
                        message=self.source,
                        at=now,
                    )
                )
                if r.contact:
                    contacts.append(_contact_record(r.contact, now))
                    contact_of.append((c["id"], r.contact_meta.get("title", "")))
            if links:
                writer.insert(_TAGS_THROUGH, links)
            writer.insert(AuditEntry, entries)
            if contacts:
                writer.insert(Contact, contacts, ids=True)
                writer.insert(
                    ContactLink,
                    [
                        {
                            "customer_id": customer_id,
                            "contact_id": contact["id"],
                            "title": title,
                            "department": "",
                            "is_primary": False,
                        }
                        for contact, (customer_id, title) in zip(contacts, contact_of, strict=True)
                    ],
                )
                writer.insert(
                    AuditEntry,
                    [
                        _audit_row(
                            customer_id=customer_id,
                            subject_type="contact",
                            subject_id=contact["id"],
                            label=contact["name"],
                            action=AuditEntry.Action.CREATE.value,
                            actor_id=actor_id,
                            changes=diff_fields(
                                {},
                                {
                                    f: contact[f]
                                    for f in CONTACT_FIELDS
                                    if contact[f] not in (None, "", {}, [])
                                },
                            ),
                            message="",
                            at=now,
                        )
                        for contact, (customer_id, _title) in zip(contacts, contact_of, strict=True)
                    ],
                )

    def _created_changes(self, c: dict[str, Any], r: RowResult) -> dict[str, Any]:
        """What the import entry of a new customer lists (as before: every field)."""
        snapshot: dict[str, Any] = {f: c[f] for f in _SNAPSHOT_FIELDS}
        channel = r.fields.get("channel")
        snapshot["channel"] = str(channel) if c["channel_id"] and channel else None
        snapshot["owner"] = str(r.fields.get("owner") or self.actor)
        # diff_fields({}, snapshot), without its work for the plain strings.
        changes: dict[str, Any] = {}
        for key, value in snapshot.items():
            if type(value) is str:
                changes[key] = [None, value]
            elif value is not None:
                changes.update(diff_fields({}, {key: value}))
        if r.tags:
            changes["tags"] = [None, ", ".join(t.name for t in r.tags)]
        return changes

    def _customer_update(self, r: RowResult) -> None:
        assert r.record is not None
        target = Customer.objects.select_related("owner", "team", "channel").get(
            pk=cast(int, r.target_id)
        )
        data = {
            f: (r.fields[f] if f in ("owner", "channel") else r.record[f])
            for f in r.given
            if f in CUSTOMER_FIELDS
        }
        tags = None
        if r.tags:
            tags = list({*target.tags.all(), *r.tags})
        try:
            with transaction.atomic():
                customer_update(actor=self.actor, customer=target, data=data, tags=tags)
                if (
                    r.contact
                    and not target.contact_links.filter(contact__name=r.contact["name"]).exists()
                ):
                    contact_create(
                        actor=self.actor,
                        customer=target,
                        data=r.contact,
                        title=r.contact_meta.get("title", ""),
                    )
        except ValidationError as exc:
            r.action = "error"
            for key, messages in _messages(exc).items():
                for message in messages:
                    r.issues.append((key if key != "__all__" else "", message))

    # contacts -------------------------------------------------------------------
    def contact_row(self, row: int, values: list[str]) -> RowResult:
        result = RowResult(row=row, values=values)
        data = self._fields(values)
        contact: dict[str, Any] = {}
        for key in ("name", "mobile", "phone", "email", "wechat", "notes"):
            if data.get(key):
                contact[key] = data[key]
        if not data.get("name"):
            result.issues.append(("name", _("The name is empty.")))
        if data.get("gender"):
            gender = self._choice(result, "gender", data["gender"])
            if gender is not None:
                contact["gender"] = gender
        if data.get("birthday"):
            contact["birthday"] = self._date(result, "birthday", data["birthday"])
        if not data.get("customer_name") and not data.get("customer_uscc"):
            result.issues.append(("customer_name", _("The customer is empty.")))
        self._check_contact(result, contact, prefix="")
        result.contact = contact
        result.contact_meta = {
            "title": data.get("title", "")[:100],
            "department": data.get("department", "")[:100],
            "customer_name": " ".join(data.get("customer_name", "").split()),
            "customer_uscc": data.get("customer_uscc", "").strip().upper().replace(" ", ""),
        }
        return result

    def contact_batch(self, results: list[RowResult]) -> None:
        valid = [r for r in results if r.ok]
        names = {r.contact_meta["customer_name"] for r in valid} - {""}
        usccs = {r.contact_meta["customer_uscc"] for r in valid} - {""}
        by_name: dict[str, list[int]] = {}
        by_uscc: dict[str, int] = {}
        if names or usccs:
            for pk, name, uscc in (
                customers_visible_to(self.actor)
                .filter(Q(name__in=names) | Q(uscc__in=usccs))
                .values_list("pk", "name", "uscc")
            ):
                by_name.setdefault(name, []).append(pk)
                if uscc:
                    by_uscc.setdefault(uscc, pk)
        for r in valid:
            uscc, name = r.contact_meta["customer_uscc"], r.contact_meta["customer_name"]
            if uscc and uscc in by_uscc:
                r.contact_meta["customer_id"] = str(by_uscc[uscc])
            elif name and len(by_name.get(name, [])) == 1:
                r.contact_meta["customer_id"] = str(by_name[name][0])
            elif name and len(by_name.get(name, [])) > 1:
                r.issues.append(
                    (
                        "customer_name",
                        _("Several customers are called “%(name)s”; add a USCC column.")
                        % {"name": name},
                    )
                )
            else:
                r.issues.append(
                    (
                        "customer_name" if name else "customer_uscc",
                        _("No customer “%(name)s” that you can see.") % {"name": name or uscc},
                    )
                )
        valid = [r for r in results if r.ok]
        customer_ids = {int(r.contact_meta["customer_id"]) for r in valid}
        editable = set(
            customers_actionable_by(self.actor, "edit")
            .filter(pk__in=customer_ids)
            .values_list("pk", flat=True)
        )
        existing: dict[tuple[Any, ...], int] = {}
        mode = self.job.duplicate_mode
        if mode != ImportJob.DuplicateMode.CREATE and customer_ids:
            for link in (
                ContactLink.objects.filter(
                    customer_id__in=customer_ids, contact__deleted_at__isnull=True
                )
                .select_related("contact")
                .order_by("id")
            ):
                c = link.contact
                for key in _contact_keys(c.name, c.mobile_normalized, c.email):
                    existing.setdefault((link.customer_id, *key), c.pk)
        contact_editable: set[int] = set()
        pending: dict[tuple[Any, ...], int] = {}
        for r in results:
            if not r.ok:
                r.action = "error"
                continue
            assert r.contact is not None
            customer_id = int(r.contact_meta["customer_id"])
            if customer_id not in editable:
                r.action = "error"
                r.issues.append(("customer_name", _("You may not add contacts to this customer.")))
                continue
            prepared = Contact(**r.contact)
            contact_prepare(prepared)
            keys = [
                (customer_id, *k)
                for k in _contact_keys(prepared.name, prepared.mobile_normalized, prepared.email)
            ]
            r.action = "create"
            if mode != ImportJob.DuplicateMode.CREATE:
                earlier = next((pending[k] for k in keys if k in pending), None)
                match = next((existing[k] for k in keys if k in existing), None)
                if earlier is not None:
                    r.action, r.note = (
                        "skip",
                        _("Same contact as row %(row)d of this file.") % {"row": earlier},
                    )
                elif match is not None:
                    r.target_id = match
                    r.action = "skip" if mode == ImportJob.DuplicateMode.SKIP else "update"
                    r.note = _("This customer already has this contact.")
            if r.action == "create":
                for k in keys:
                    pending.setdefault(k, r.row)
        updates = [cast(int, r.target_id) for r in results if r.action == "update"]
        if updates:
            contact_editable = set(
                contacts_editable_by(self.actor).filter(pk__in=updates).values_list("pk", flat=True)
            )
        for r in results:
            if r.action == "update" and r.target_id not in contact_editable:
                r.action = "error"
                r.issues.append(("", _("This row matches an existing contact you may not change.")))
        if self.dry_run:
            return
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)}
        for r in results:
            if r.action not in {"create", "update"}:
                continue
            assert r.contact is not None
            customer = customers[int(r.contact_meta["customer_id"])]
            try:
                with transaction.atomic():
                    if r.action == "create":
                        contact_create(
                            actor=self.actor,
                            customer=customer,
                            data=r.contact,
                            title=r.contact_meta["title"],
                            department=r.contact_meta["department"],
                        )
                    else:
                        target = Contact.objects.get(pk=cast(int, r.target_id))
                        contact_update(actor=self.actor, contact=target, data=r.contact)
                        if r.contact_meta["title"] or r.contact_meta["department"]:
                            contact_link(
                                actor=self.actor,
                                contact=target,
                                customer=customer,
                                title=r.contact_meta["title"],
                                department=r.contact_meta["department"],
                            )
            except (ValidationError, DatabaseError) as exc:
                r.action = "error"
                messages = _messages(exc) if isinstance(exc, ValidationError) else {"": [str(exc)]}
                for fname, items in messages.items():
                    r.issues.extend((fname if fname != "__all__" else "", m) for m in items)

    # leads ----------------------------------------------------------------------
    def lead_row(self, row: int, values: list[str], data: dict[str, str]) -> RowResult:
        result = RowResult(row=row, values=values)
        fields: dict[str, Any] = {}
        for key in _LEAD_TEXT:
            if data.get(key):
                fields[key] = data[key]
        if data.get("intent"):
            intent = self._choice(result, "intent", data["intent"])
            if intent is not None:
                fields["intent"] = intent
        if data.get("owner"):
            owner = self._owner(result, data["owner"])
            if owner is not None:
                # Naming someone else as owner is an assignment: the same right as on the
                # lead list. Without it, leave the column empty and the rules route.
                if owner.pk != self.actor.pk and not self.may_assign:
                    result.issues.append(
                        (
                            "owner",
                            _(
                                "You may not give leads to someone else: leave the owner "
                                "empty or put your own username."
                            ),
                        )
                    )
                fields["owner"] = owner
        if data.get("channel"):
            channel = self._channel(result, data["channel"])
            if channel is not None:
                fields["channel"] = channel
        result.given = sorted(fields)
        result.fields = fields
        result.match_keys = _lead_keys(self._lead_checked(result, fields))
        return result

    def _lead_checked(self, result: RowResult, fields: dict[str, Any]) -> Lead:
        """Validate like ``lead_create`` (normalise, then full_clean) and report every
        problem of the row, not only the first."""
        lead = Lead(**fields)
        if lead.owner is not None:
            lead.team_id = lead.owner.team_id  # what lead_prepare would look up
        reported = {f for f, _m in result.issues}
        found: dict[str, list[str]] = {}
        try:
            lead_prepare(lead)
        except ValidationError as exc:
            found.update(_messages(exc))
        try:
            # Owner and channel were looked up above; the service checks them again.
            lead.full_clean(
                exclude=["name_pinyin", "name_initials", "owner", "team", "channel"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            for key, messages in _messages(exc).items():
                found.setdefault(key, messages)
        for key, messages in found.items():
            if key not in reported:
                result.issues.extend((key if key != "__all__" else "", m) for m in messages)
        return lead

    def lead_batch(self, results: list[RowResult]) -> None:
        """Decide create / update / skip for each valid row, then write (unless dry run)."""
        mode = self.job.duplicate_mode
        valid = [r for r in results if r.ok]
        index = _lead_index(valid) if mode != ImportJob.DuplicateMode.CREATE else {}
        pending: dict[tuple[str, ...], int] = {}
        labels = {"mobile": _("mobile"), "email": _("e-mail")}
        for r in results:
            if not r.ok:
                r.action = "error"
                continue
            r.action = "create"
            if mode == ImportJob.DuplicateMode.CREATE:
                continue
            earlier = next((pending[k] for k in r.match_keys if k in pending), None)
            matched = next((k for k in r.match_keys if k in index), None)
            if earlier is not None:
                r.action = "skip"
                r.note = _("Same lead as row %(row)d of this file.") % {"row": earlier}
            elif matched is not None:
                r.target_id = index[matched]
                r.action = "skip" if mode == ImportJob.DuplicateMode.SKIP else "update"
                r.note = _("An open lead with the same %(what)s already exists.") % {
                    "what": labels[matched[0]]
                }
            if r.action == "create":
                for key in r.match_keys:
                    pending.setdefault(key, r.row)
        updates = [cast(int, r.target_id) for r in results if r.action == "update"]
        if updates:
            editable = set(
                leads_actionable_by(self.actor, "edit")
                .filter(pk__in=updates)
                .values_list("pk", flat=True)
            )
            for r in results:
                if r.action == "update" and r.target_id not in editable:
                    r.action = "error"
                    r.issues.append(
                        ("", _("This row matches an existing lead you may not change."))
                    )
        if self.dry_run:
            return
        created: list[Lead] = []
        for r in results:
            if r.action in {"create", "update"}:
                self._lead_write(r, created)
        leads_notify_assigned(self.actor, created)  # one notice per owner, not per row

    def _lead_write(self, r: RowResult, created: list[Lead]) -> None:
        """Create or update one lead through the sales services; a refusal becomes the
        row's error and the rest of the batch goes on."""
        try:
            with transaction.atomic():
                if r.action == "create":
                    created.append(
                        lead_create(
                            actor=self.actor,
                            data=r.fields,
                            source=Lead.Source.IMPORT,
                            route=True,
                            notify=False,
                        )
                    )
                else:
                    target = Lead.objects.select_related("owner", "team", "channel").get(
                        pk=cast(int, r.target_id)
                    )
                    data = {k: v for k, v in r.fields.items() if k in LEAD_FIELDS}
                    lead_update(actor=self.actor, lead=target, data=data)
        except (ValidationError, DatabaseError) as exc:
            r.action = "error"
            messages = _messages(exc) if isinstance(exc, ValidationError) else {"": [str(exc)]}
            for key, items in messages.items():
                r.issues.extend((key if key != "__all__" else "", m) for m in items)

    # all kinds ------------------------------------------------------------------
    def process(self, batch: list[tuple[int, list[str]]]) -> list[RowResult]:
        if self.job.kind == Kind.LEADS:
            datas = [self._fields(values) for _row, values in batch]
            self.prefetch(datas)
            results = [
                self.lead_row(row, values, data)
                for (row, values), data in zip(batch, datas, strict=True)
            ]
            self.lead_batch(results)
        elif self.job.kind == Kind.CUSTOMERS:
            datas = [self._fields(values) for _row, values in batch]
            self.prefetch(datas)
            results = [
                self.customer_row(row, values, data)
                for (row, values), data in zip(batch, datas, strict=True)
            ]
            self.customer_batch(results)
        else:
            results = [self.contact_row(row, values) for row, values in batch]
            self.contact_batch(results)
        return results


def _key_labels() -> dict[str, str]:
    return {
        "uscc": _("Unified Social Credit Code"),
        "phone": _("phone number"),
        "email": _("e-mail"),
        "namecity": _("name in the same city"),
        "name": _("name"),
    }


def _record_keys(c: dict[str, Any]) -> list[tuple[str, ...]]:
    """Duplicate keys, strongest first; the same rules as ``duplicates_find``."""
    keys: list[tuple[str, ...]] = []
    if c["uscc"]:
        keys.append(("uscc", c["uscc"].upper()))
    for norm in (c["mobile_normalized"], c["phone_normalized"]):
        if len(norm) >= 7:
            keys.append(("phone", norm))
    if c["email"]:
        keys.append(("email", c["email"].lower()))
    if c["name"]:
        keys.append(("namecity", c["name"], c["city"]) if c["city"] else ("name", c["name"]))
    return keys


def _match_kind(keys: list[tuple[str, ...]], index: dict[tuple[str, ...], int]) -> str:
    return next(k[0] for k in keys if k in index)


def _customer_index(rows: list[RowResult]) -> dict[tuple[str, ...], int]:
    """Existing live customers sharing a duplicate key with any row: key → customer id."""
    phones: set[str] = set()
    emails: set[str] = set()
    usccs: set[str] = set()
    names: set[str] = set()
    for r in rows:
        for key in r.match_keys:
            {"phone": phones, "email": emails, "uscc": usccs}.get(key[0], names).add(key[1])
    if not (phones or emails or usccs or names):
        return {}
    condition = (
        Q(phone_normalized__in=phones)
        | Q(mobile_normalized__in=phones)
        | Q(email__in=emails)
        | Q(uscc__in=usccs)
        | Q(name__in=names)
    )
    index: dict[tuple[str, ...], int] = {}
    for pk, name, city, phone, mobile, email, uscc in (
        Customer.objects.alive()
        .filter(condition)
        .order_by("id")
        .values_list("pk", "name", "city", "phone_normalized", "mobile_normalized", "email", "uscc")
    ):
        candidates: list[tuple[str, ...]] = [("name", name), ("namecity", name, city)]
        if uscc:
            candidates.append(("uscc", uscc))
        if email:
            candidates.append(("email", email))
        candidates.extend(("phone", p) for p in (phone, mobile) if p and len(p) >= 7)
        for key in candidates:
            index.setdefault(key, pk)
    return index


_LEAD_TEXT = (
    "name",
    "company",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "campaign",
    "notes",
)


def _lead_keys(lead: Lead) -> list[tuple[str, ...]]:
    """Duplicate keys of a prepared lead: its normalised mobile, then its e-mail."""
    keys: list[tuple[str, ...]] = []
    if lead.mobile_normalized:
        keys.append(("mobile", lead.mobile_normalized))
    if lead.email:
        keys.append(("email", lead.email.lower()))
    return keys


def _lead_index(rows: list[RowResult]) -> dict[tuple[str, ...], int]:
    """Existing open leads sharing a mobile or e-mail with any row: key → lead id (the
    oldest first). All open leads, not only visible ones, as for customers: a lead that
    someone else works is still a duplicate."""
    mobiles = {k[1] for r in rows for k in r.match_keys if k[0] == "mobile"}
    emails = {k[1] for r in rows for k in r.match_keys if k[0] == "email"}
    if not (mobiles or emails):
        return {}
    index: dict[tuple[str, ...], int] = {}
    for pk, mobile, email in (
        Lead.objects.filter(deleted_at__isnull=True, status__in=Lead.OPEN_STATUSES)
        .filter(Q(mobile_normalized__in=mobiles) | Q(email__in=emails))
        .order_by("id")
        .values_list("pk", "mobile_normalized", "email")
    ):
        if mobile:
            index.setdefault(("mobile", mobile), pk)
        if email:
            index.setdefault(("email", email.lower()), pk)
    return index


def _contact_keys(name: str, mobile: str, email: str) -> list[tuple[str, str]]:
    keys = []
    if mobile:
        keys.append(("mobile", mobile))
    if email:
        keys.append(("email", email.lower()))
    keys.append(("name", name))
    return keys


# --- running an import -------------------------------------------------------------------


def _data_rows(job: ImportJob, stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(row number, values) for every non-empty row after the header row."""
    with readers.open_rows(
        stream, format=job.format, encoding=job.encoding, delimiter=job.delimiter
    ) as rows:
        header_seen = False
        for number, values in enumerate(rows, start=1):
            if not any(v.strip() for v in values):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield number, values


def _batches(
    rows: Iterable[tuple[int, list[str]]],
    size: int,
) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _issue_rows(job: ImportJob, results: Iterable[RowResult]) -> Iterator[dict[str, Any]]:
    """The ImportIssue columns of each error (one per reason) and each skipped row."""
    error, skipped = ImportIssue.Level.ERROR.value, ImportIssue.Level.SKIPPED.value
    for r in results:
        if r.action == "error":
            for f, m in r.issues or [("", _("Unknown error"))]:
                yield {
                    "job_id": job.pk,
                    "row": r.row,
                    "field": f,
                    "level": error,
                    "message": str(m),
                    "values": r.values,
                }
        elif r.action == "skip":
            yield {
                "job_id": job.pk,
                "row": r.row,
                "field": "",
                "level": skipped,
                "message": str(r.note),
                "values": r.values,
            }


def _issues(job: ImportJob, results: Iterable[RowResult]) -> list[ImportIssue]:
    return [ImportIssue(**row) for row in _issue_rows(job, results)]


_ISSUE_COLUMNS = ("job_id", "row", "field", "level", "message", "values")


def _issues_write(job: ImportJob, results: Iterable[RowResult]) -> None:
    """Insert the batch's issues with one statement (no model instances)."""
    params = [
        [*(r[c] for c in _ISSUE_COLUMNS[:-1]), json.dumps(r["values"], ensure_ascii=False)]
        for r in _issue_rows(job, results)
    ]
    if not params:
        return
    qn = connection.ops.quote_name
    json_value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = (
        f"INSERT INTO {qn(ImportIssue._meta.db_table)} "
        f"({', '.join(qn(c) for c in _ISSUE_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * (len(_ISSUE_COLUMNS) - 1))}, {json_value})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _count(results: list[RowResult], action: str) -> int:
    return sum(1 for r in results if r.action == action)


def import_preview(*, job: ImportJob, limit: int = 10) -> list[RowResult]:
    """The first ``limit`` data rows, validated and classified, with nothing written."""
    importer = _Importer(job, dry_run=True)
    with job.file.open("rb") as f:
        rows = _data_rows(job, _raw(f))
        batch = [item for _i, item in zip(range(limit), rows, strict=False)]
    return importer.process(batch) if batch else []


def import_job_run(*, job_id: int, batch_size: int = BATCH_SIZE) -> ImportJob:
    """Run (or resume) an import. Does nothing for a finished or not yet started job."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    if job.status != Status.RUNNING:
        return job
    try:
        if job.started_at is None or job.all_or_nothing:
            ImportIssue.objects.filter(job=job).delete()
            ImportJob.objects.filter(pk=job.pk).update(
                processed=0, created=0, updated=0, skipped=0, failed=0, started_at=timezone.now()
            )
            job.refresh_from_db()
        if job.total is None:
            with job.file.open("rb") as f:
                job.total = sum(1 for _row in _data_rows(job, _raw(f)))
            job.save(update_fields=["total", "updated_at"])
        if job.all_or_nothing:
            _run_all_or_nothing(job, batch_size)
            complete = True
        else:
            complete = _run_batches(job, batch_size)
        job.refresh_from_db()
        if complete and job.status == Status.RUNNING:
            _finish(job)
    except ValidationError as exc:
        _fail(job, " ".join(exc.messages))
    except Exception as exc:
        logger.exception("Import %s stopped", job_id)
        _fail(job, _("The import stopped: %(error)s") % {"error": exc})
    job.refresh_from_db()
    return job


def _commit_batch(job: ImportJob, results: list[RowResult], offset: int) -> bool:
    """Save a batch's issues and counters with its rows; False if another worker is ahead."""
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.processed != offset or locked.status != Status.RUNNING:
        return False
    _issues_write(job, results)
    locked.processed += len(results)
    locked.created += _count(results, "create")
    locked.updated += _count(results, "update")
    locked.skipped += _count(results, "skip")
    locked.failed += _count(results, "error")
    locked.save(
        update_fields=["processed", "created", "updated", "skipped", "failed", "updated_at"]
    )
    return True


def _run_batches(job: ImportJob, batch_size: int) -> bool:
    importer = _Importer(job, dry_run=False)
    offset = job.processed
    with job.file.open("rb") as f:
        rows = _data_rows(job, _raw(f))
        for _skip in zip(range(offset), rows, strict=False):
            pass
        for batch in _batches(rows, batch_size):
            with transaction.atomic():
                results = importer.process(batch)
                if not _commit_batch(job, results, offset):
                    transaction.set_rollback(True)
                    return False
            offset += len(batch)
    return True


class _RollbackError(Exception):
    pass


def _run_all_or_nothing(job: ImportJob, batch_size: int) -> None:
    # First pass: check every row without writing. Second pass, only if all rows passed:
    # write them all in one transaction, so a late failure rolls everything back.
    checker = _Importer(job, dry_run=True)
    offset = 0
    with job.file.open("rb") as f:
        for batch in _batches(_data_rows(job, _raw(f)), batch_size):
            results = checker.process(batch)
            with transaction.atomic():
                _commit_batch(job, [_as_check(r) for r in results], offset)
            offset += len(batch)
    job.refresh_from_db()
    if job.failed:
        ImportJob.objects.filter(pk=job.pk).update(
            created=0,
            updated=0,
            skipped=0,
            message=_(
                "Nothing was imported: %(n)d rows have errors. Correct them and import "
                "the file again."
            )
            % {"n": job.failed},
        )
        return
    ImportIssue.objects.filter(job=job).delete()
    ImportJob.objects.filter(pk=job.pk).update(processed=0, created=0, updated=0, skipped=0)
    writer = _Importer(job, dry_run=False)
    totals = {"create": 0, "update": 0, "skip": 0}
    late: list[RowResult] = []
    skipped: list[RowResult] = []
    try:
        with transaction.atomic(), job.file.open("rb") as f:
            for batch in _batches(_data_rows(job, _raw(f)), batch_size):
                results = writer.process(batch)
                late.extend(r for r in results if r.action == "error")
                if late:
                    raise _RollbackError
                skipped.extend(r for r in results if r.action == "skip")
                for action in totals:
                    totals[action] += _count(results, action)
            ImportIssue.objects.bulk_create(_issues(job, skipped), batch_size=1000)
            ImportJob.objects.filter(pk=job.pk).update(
                processed=sum(totals.values()),
                created=totals["create"],
                updated=totals["update"],
                skipped=totals["skip"],
            )
    except _RollbackError:
        ImportIssue.objects.bulk_create(_issues(job, late))
        ImportJob.objects.filter(pk=job.pk).update(
            processed=job.total or 0,
            created=0,
            updated=0,
            skipped=0,
            failed=len(late),
            message=_("Nothing was imported: %(n)d rows could not be saved.") % {"n": len(late)},
        )


def _as_check(r: RowResult) -> RowResult:
    # In the checking pass, nothing is created or updated yet.
    return r if r.action in {"error", "skip"} else RowResult(row=r.row, values=[], action="")


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=Status.FAILED, message=message[:2000], finished_at=timezone.now()
    )


def _finish(job: ImportJob) -> None:
    if job.issues.exists():
        _write_error_report(job)
    job.status = Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at", "error_file", "updated_at"])
    summary = _(
        "%(created)d created, %(updated)d updated, %(skipped)d skipped, %(failed)d with errors"
    ) % {
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
    }
    audit_record(
        actor=job.user,
        action=AuditEntry.Action.IMPORT,
        subject=job,
        subject_type="import",
        message=f"{job.original_name}: {summary}",
        changes={
            "rows": [None, job.processed],
            "created": [None, job.created],
            "updated": [None, job.updated],
        },
    )
    notification_send(
        user=job.user,
        kind=Notification.Kind.JOB,
        message=_("Import of %(file)s finished: %(summary)s")
        % {"file": job.original_name, "summary": summary},
        url=reverse("transfers:import-detail", args=[job.pk]),
    )


def _write_error_report(job: ImportJob) -> None:
    labels = {f.key: str(f.label) for f in fields_for(job.kind)}
    levels = dict(ImportIssue.Level.choices)
    with tempfile.TemporaryFile() as tmp:
        text = io.TextIOWrapper(tmp, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow([_("Row"), _("Result"), _("Field"), _("Reason"), *job.headers])
        for issue in job.issues.order_by("row", "id").iterator(chunk_size=2000):
            writer.writerow(
                [
                    issue.row,
                    str(levels.get(issue.level, issue.level)),
                    labels.get(issue.field, issue.field),
                    issue.message,
                    *[_safe_cell(v) for v in issue.values],
                ]
            )
        text.flush()
        text.detach()
        tmp.seek(0)
        job.error_file.save(f"errors-{job.pk}.csv", File(tmp), save=False)


# --- exports ------------------------------------------------------------------------------


def _safe_cell(value: Any) -> Any:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value and value[0] in "=@+-\t\r":
        stripped = value.replace(" ", "").replace("-", "")
        if value[0] in "+-" and stripped[1:].isdigit():
            return value  # a phone number such as +86 138 0000 0000
        return "'" + value
    return value


def _customer_columns() -> list[tuple[str, str]]:
    labels = {f.key: str(f.label) for f in fields_for(Kind.CUSTOMERS)}
    keys = [
        "name",
        "kind",
        "industry",
        "channel",
        "tier",
        "status",
        "owner",
        "tags",
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
    ]
    return [(k, labels[k]) for k in keys]


def _customer_values(c: Customer) -> list[Any]:
    return [
        c.name,
        c.get_kind_display(),
        c.get_industry_display() if c.industry else "",
        c.channel.name if c.channel else "",
        c.get_tier_display(),
        c.get_status_display(),
        c.owner.username if c.owner else "",
        ", ".join(t.name for t in c.tags.all()),
        c.phone,
        c.mobile,
        c.email,
        c.website,
        c.uscc,
        c.province,
        c.city,
        c.birthday.isoformat() if c.birthday else "",
        c.lunar_birthday,
        c.get_gender_display() if c.gender else "",
        c.notes,
    ]


def _contact_columns() -> list[str]:
    labels = {f.key: str(f.label) for f in fields_for(Kind.CONTACTS)}
    return [
        labels[k]
        for k in (
            "name",
            "mobile",
            "phone",
            "email",
            "wechat",
            "gender",
            "birthday",
            "title",
            "department",
            "customer_name",
            "customer_uscc",
            "notes",
        )
    ]


def _contact_values(link: ContactLink) -> list[Any]:
    c = link.contact
    return [
        c.name,
        c.mobile,
        c.phone,
        c.email,
        c.wechat,
        c.get_gender_display() if c.gender else "",
        c.birthday.isoformat() if c.birthday else "",
        link.title,
        link.department,
        link.customer.name,
        link.customer.uscc,
        c.notes,
    ]


def _lead_columns() -> list[str]:
    labels = {f.key: str(f.label) for f in fields_for(Kind.LEADS)}
    keys = [
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
        "owner",
        "notes",
    ]
    return [
        *(labels[k] for k in keys),
        _("Status"),
        _("Captured through"),
        _("Team"),
        _("Created"),
    ]


def _lead_values(lead: Lead) -> list[Any]:
    return [
        lead.name,
        lead.company,
        lead.title,
        lead.mobile,
        lead.phone,
        lead.email,
        lead.wechat,
        lead.province,
        lead.city,
        lead.channel.name if lead.channel else "",
        lead.campaign,
        lead.intent,
        lead.owner.username if lead.owner else "",
        lead.notes,
        lead.get_status_display(),
        lead.get_source_display(),
        lead.team.name if lead.team else "",
        timezone.localtime(lead.created_at).strftime("%Y-%m-%d %H:%M"),
    ]


class _Writer:
    """CSV (UTF-8 with BOM, for Excel), XLSX (write-only) or vCard 3.0, into ``tmp``."""

    def __init__(self, fmt: str, tmp: IO[bytes]) -> None:
        self.fmt, self.tmp = fmt, tmp
        if fmt == Format.CSV:
            self.text = io.TextIOWrapper(tmp, encoding="utf-8-sig", newline="")
            self.csv = csv.writer(self.text)
        elif fmt == Format.XLSX:
            from openpyxl import Workbook

            self.book = Workbook(write_only=True)
            self.sheet = self.book.create_sheet()
        else:
            self.text = io.TextIOWrapper(tmp, encoding="utf-8", newline="")

    def row(self, values: list[Any]) -> None:
        values = [_safe_cell(v) for v in values]
        if self.fmt == Format.CSV:
            self.csv.writerow(values)
        else:
            self.sheet.append(values)

    def card(self, link: ContactLink) -> None:
        import vobject

        c = link.contact
        card = vobject.vCard()
        card.add("fn").value = c.name
        card.add("n").value = vobject.vcard.Name(family=c.name)
        if c.mobile:
            tel = card.add("tel")
            tel.value, tel.type_param = c.mobile, "CELL"
        if c.phone:
            tel = card.add("tel")
            tel.value, tel.type_param = c.phone, "WORK"
        if c.email:
            email = card.add("email")
            email.value, email.type_param = c.email, "INTERNET"
        card.add("org").value = [link.customer.name]
        if link.title:
            card.add("title").value = link.title
        if c.notes:
            card.add("note").value = c.notes
        self.text.write(card.serialize())

    def close(self) -> None:
        if self.fmt == Format.XLSX:
            self.book.save(self.tmp)
        else:
            self.text.flush()
            self.text.detach()


def export_job_create(*, actor: User, kind: str, fmt: str, filters: dict[str, str]) -> ExportJob:
    """Record an export of the user's current filtered list (rows counted now)."""
    if not actor.has_perm(export_perm(kind)):
        raise PermissionDenied
    if kind not in Kind.values or fmt not in Format.values:
        raise ValidationError(_("Unknown export type."))
    if fmt == Format.VCF and kind != Kind.CONTACTS:
        raise ValidationError(_("Only contacts can be exported as vCard."))
    if kind == Kind.CUSTOMERS:
        total = export_customers(user=actor, filters=filters).count()
    elif kind == Kind.LEADS:
        total = export_leads(user=actor, filters=filters).count()
    else:
        total = export_contact_links(user=actor, filters=filters).count()
    return ExportJob.objects.create(user=actor, kind=kind, format=fmt, filters=filters, total=total)


def export_job_start(*, job: ExportJob) -> ExportJob:
    """Run a small export now; queue a large one (after commit)."""
    if (job.total or 0) <= EXPORT_INLINE_MAX:
        return export_job_run(job_id=job.pk)
    from guanxi.transfers.tasks import export_job_run_task

    transaction.on_commit(lambda: export_job_run_task.delay(job.pk))
    return job


def export_job_run(*, job_id: int) -> ExportJob:
    """Write the export file (again, from the start, if a previous run died). Does
    nothing for a finished job. Logs the export with its row count."""
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    if job.is_finished:
        return job
    ExportJob.objects.filter(pk=job.pk).update(status=Status.RUNNING, row_count=0)
    count = 0
    try:
        with tempfile.TemporaryFile() as tmp:
            writer = _Writer(job.format, tmp)
            if job.kind == Kind.CUSTOMERS:
                writer.row([label for _k, label in _customer_columns()])
                qs = export_customers(user=job.user, filters=job.filters)
                for customer in qs.iterator(chunk_size=1000):
                    writer.row(_customer_values(customer))
                    count += 1
                    if count % 5000 == 0:
                        ExportJob.objects.filter(pk=job.pk).update(row_count=count)
            elif job.kind == Kind.LEADS:
                writer.row(_lead_columns())
                leads = export_leads(user=job.user, filters=job.filters)
                for lead in leads.iterator(chunk_size=1000):
                    writer.row(_lead_values(lead))
                    count += 1
                    if count % 5000 == 0:
                        ExportJob.objects.filter(pk=job.pk).update(row_count=count)
            else:
                links = export_contact_links(user=job.user, filters=job.filters)
                if job.format != Format.VCF:
                    writer.row(_contact_columns())
                last_contact = None
                for link in links.iterator(chunk_size=1000):
                    if job.format == Format.VCF:
                        if link.contact_id == last_contact:
                            continue
                        last_contact = link.contact_id
                        writer.card(link)
                    else:
                        writer.row(_contact_values(link))
                    count += 1
            writer.close()
            tmp.seek(0)
            job.file.save(job.filename, File(tmp), save=False)
        job.row_count = count
        job.status = Status.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["file", "row_count", "status", "finished_at"])
        audit_record(
            actor=job.user,
            action=AuditEntry.Action.EXPORT,
            subject=job,
            subject_type="export",
            message=_("Exported %(count)d %(kind)s as %(format)s")
            % {"count": count, "kind": job.get_kind_display(), "format": job.get_format_display()},
            changes={"rows": [None, count], "filters": [None, job.filters]},
        )
        if (job.total or 0) > EXPORT_INLINE_MAX:
            notification_send(
                user=job.user,
                kind=Notification.Kind.JOB,
                message=_("Your export is ready (%(count)d rows).") % {"count": count},
                url=reverse("transfers:export-detail", args=[job.pk]),
            )
    except Exception as exc:
        logger.exception("Export %s failed", job_id)
        ExportJob.objects.filter(pk=job.pk).update(
            status=Status.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def transfer_files_expire(*, older_than_days: int) -> int:
    """Delete the stored files of finished import and export jobs older than the limit.

    The jobs themselves (counts, reported rows, who and when) are kept; their pages then
    say the file has expired. Returns how many files were deleted.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted = 0
    for model, fields in ((ImportJob, ("file", "error_file")), (ExportJob, ("file",))):
        for job in (
            model.objects.filter(finished_at__lt=cutoff).exclude(**{f"{fields[0]}": ""}).iterator()
        ):
            for name in fields:
                stored = getattr(job, name)
                if stored:
                    stored.delete(save=False)
                    deleted += 1
            model.objects.filter(pk=job.pk).update(**dict.fromkeys(fields, ""))
    return deleted
