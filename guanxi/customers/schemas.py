"""Request and response shapes of the customers and contacts REST API.

Times are ISO 8601 in UTC. Every input string is checked for what the databases refuse
(NUL characters, lone surrogates) so that bad input gets a 422, never a 500.
"""

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal, cast

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainValidator,
    StringConstraints,
    field_validator,
)

from guanxi.customers.models import Contact, ContactLink, Customer
from guanxi.users.models import User

MAX_ID = 2**63 - 1


def _storable(value: str) -> str:
    """Refuse text PostgreSQL and SQLite cannot store."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("The text is not valid Unicode.") from exc
    return value


_Ok = AfterValidator(_storable)
Str5 = Annotated[str, StringConstraints(max_length=5), _Ok]
Str18 = Annotated[str, StringConstraints(max_length=18), _Ok]
Str30 = Annotated[str, StringConstraints(max_length=30), _Ok]
Str32 = Annotated[str, StringConstraints(max_length=32), _Ok]
Str64 = Annotated[str, StringConstraints(max_length=64), _Ok]
Str100 = Annotated[str, StringConstraints(max_length=100), _Ok]
Str200 = Annotated[str, StringConstraints(max_length=200), _Ok]
Str254 = Annotated[str, StringConstraints(max_length=254), _Ok]
Str500 = Annotated[str, StringConstraints(max_length=500), _Ok]
Str1000 = Annotated[str, StringConstraints(max_length=1000), _Ok]
Str10000 = Annotated[str, StringConstraints(max_length=10000), _Ok]
Name100 = Annotated[str, StringConstraints(min_length=1, max_length=100), _Ok]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200), _Ok]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# Literal types rather than the models' TextChoices: they give clean enums in the OpenAPI
# document. tests/test_api.py checks that they match the model choices.
Kind = Literal["company", "person"]
Tier = Literal["key", "suitable", "ordinary"]
Status = Literal["prospect", "active", "dormant", "lost"]
Gender = Literal["", "female", "male"]
Industry = Literal[
    "",
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "I",
    "J",
    "K",
    "L",
    "M",
    "N",
    "O",
    "P",
    "Q",
    "R",
    "S",
    "T",
]
Sort = Literal["-updated_at", "updated_at", "-created_at", "created_at", "name", "-name"]


def _remark_value(value: Any) -> Any:
    """A flat JSON value every database stores: text, a finite number, true/false or null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > 1000:
            raise ValueError("At most 1000 characters.")
        return _storable(value)
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise ValueError("The number is too large.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("The number must be finite.")
        return value
    raise ValueError("Use text, a number, true/false or null.")


# One validator rather than a union, so that an error names the remark, not a union member.
RemarkValue = Annotated[
    Any,
    PlainValidator(
        _remark_value,
        json_schema_input_type=Annotated[str, Field(max_length=1000)] | bool | int | float | None,
    ),
]
RemarkKey = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_storable)]
Remarks = Annotated[
    dict[RemarkKey, RemarkValue],
    Field(max_length=50, description="Custom key/value remarks (at most 50)."),
]


class Out(BaseModel):
    """Base of response bodies: plain pydantic models, built explicitly by the views.

    Ninja's ``Schema`` wraps every input in a Django attribute getter so that it can read
    ORM objects; responses here are always constructed field by field, so they skip that
    per-object cost (it dominated the time of serialising a page of 200 customers).
    """

    model_config = ConfigDict(from_attributes=True)


# --- errors -------------------------------------------------------------------------------


class FieldError(Out):
    field: str | None = Field(description="The offending field (dotted path), if any.")
    location: str = Field(description="Where the field is: body, query, path or header.")
    message: str = Field(description="Why the value was refused, in the user's language.")
    code: str = Field("invalid", description="A machine-readable reason.")


class ValidationErrorOut(Out):
    detail: list[FieldError]


class ErrorOut(Out):
    detail: str = Field(description="What went wrong.")


# --- shared -------------------------------------------------------------------------------


class Ref(Out):
    id: int
    name: str


class UserRef(Out):
    id: int
    name: str = Field(description="Display name.")

    @staticmethod
    def of(user: User | None) -> "UserRef | None":
        return None if user is None else UserRef(id=user.pk, name=str(user))


class TagOut(Out):
    id: int
    name: str
    color: str = Field(description="CSS colour, e.g. #2563eb.")


class ChannelOut(Out):
    id: int
    name: str
    is_active: bool


class CursorPage(Out):
    """One page of a list: pass ``next_cursor`` as ``cursor`` to get the next one."""

    next_cursor: str | None = Field(
        description="Pass as ``cursor`` to get the next page; null on the last page."
    )
    has_more: bool = Field(description="Whether another page follows.")


# --- customers ----------------------------------------------------------------------------


class CustomerListItem(Out):
    id: int
    kind: Kind
    name: str
    industry: Industry = Field(description="GB/T 4754 section letter, or empty.")
    tier: Tier
    status: Status
    owner: UserRef | None
    team_id: int | None
    channel: Ref | None
    tags: list[TagOut]
    phone: str
    mobile: str
    email: str
    province: str
    city: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def from_customer(c: Customer) -> "CustomerListItem":
        tags = getattr(c, "tag_list", None)  # set on list pages by selectors.attach_tags
        return CustomerListItem(
            id=c.pk,
            kind=cast(Kind, c.kind),
            name=c.name,
            industry=cast(Industry, c.industry),
            tier=cast(Tier, c.tier),
            status=cast(Status, c.status),
            owner=UserRef.of(c.owner),
            team_id=c.team_id,
            channel=Ref(id=c.channel.pk, name=c.channel.name) if c.channel else None,
            tags=[
                TagOut(id=t.pk, name=t.name, color=t.color)
                for t in (c.tags.all() if tags is None else tags)
            ],
            phone=c.phone,
            mobile=c.mobile,
            email=c.email,
            province=c.province,
            city=c.city,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class CustomerPage(CursorPage):
    items: list[CustomerListItem]


class CustomerContactOut(Out):
    contact_id: int
    name: str
    title: str
    department: str
    is_primary: bool
    mobile: str
    email: str


class AddressOut(Out):
    id: int
    kind: str
    province: str
    city: str
    district: str
    street: str
    postcode: str
    is_primary: bool


class CustomerOut(CustomerListItem):
    team: Ref | None
    website: str
    uscc: str = Field(description="Unified Social Credit Code (统一社会信用代码).")
    birthday: date | None
    lunar_birthday: str = Field(description="MM-DD in the Chinese calendar, or empty.")
    gender: Gender
    notes: str
    remarks: dict[str, Any]
    contacts: list[CustomerContactOut]
    addresses: list[AddressOut]

    @staticmethod
    def from_customer(c: Customer) -> "CustomerOut":
        base = CustomerListItem.from_customer(c).model_dump()
        links = getattr(c, "_prefetched_objects_cache", {}).get("contact_links")
        if links is None:
            links = (
                c.contact_links.filter(contact__deleted_at__isnull=True)
                .select_related("contact")
                .order_by("-is_primary", "contact__name")
            )
        return CustomerOut(
            **base,
            team=Ref(id=c.team.pk, name=c.team.name) if c.team else None,
            website=c.website,
            uscc=c.uscc,
            birthday=c.birthday,
            lunar_birthday=c.lunar_birthday,
            gender=cast(Gender, c.gender),
            notes=c.notes,
            remarks=c.remarks or {},
            contacts=[
                CustomerContactOut(
                    contact_id=link.contact.pk,
                    name=link.contact.name,
                    title=link.title,
                    department=link.department,
                    is_primary=link.is_primary,
                    mobile=link.contact.mobile,
                    email=link.contact.email,
                )
                for link in links
            ],
            addresses=[
                AddressOut(
                    id=a.pk,
                    kind=a.kind,
                    province=a.province,
                    city=a.city,
                    district=a.district,
                    street=a.street,
                    postcode=a.postcode,
                    is_primary=a.is_primary,
                )
                for a in c.addresses.all()
            ],
        )


class CustomerListQuery(Schema):
    q: Str200 = Field("", description="Search: name, pinyin, initials, phone, e-mail, USCC, city.")
    owner: (
        Annotated[
            str, Field(pattern=r"^(me|[1-9][0-9]{0,17})$", description='An owner id, or "me".')
        ]
        | None
    ) = None
    team: Id | None = Field(None, description="Team id.")
    kind: Kind | None = None
    tier: Tier | None = None
    status: Status | None = None
    industry: Industry | None = None
    channel: Id | None = Field(None, description="Source channel id.")
    tag: Id | None = Field(None, description="Tag id.")
    province: Str32 = ""
    city: Str32 = ""
    sort: Sort = "-updated_at"
    cursor: Str1000 | None = Field(None, description="From ``next_cursor`` of the previous page.")
    limit: int = Field(50, ge=1, le=200, description="Page size.")


class CursorQuery(Schema):
    cursor: Str1000 | None = Field(None, description="From ``next_cursor`` of the previous page.")
    limit: int = Field(50, ge=1, le=200, description="Page size.")


_CUSTOMER_NOT_NULL = (
    "kind",
    "name",
    "industry",
    "tier",
    "status",
    "phone",
    "mobile",
    "email",
    "website",
    "uscc",
    "province",
    "city",
    "lunar_birthday",
    "gender",
    "notes",
    "remarks",
    "tag_ids",
)


class CustomerPatch(Schema):
    """Fields to change; leave out what stays as it is."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    name: Name200 | None = None
    industry: Industry | None = None
    channel_id: Id | None = Field(None, description="Source channel id, or null.")
    tier: Tier | None = None
    status: Status | None = None
    owner_id: Id | None = Field(
        None, description="New owner (needs the reassign permission unless it is you)."
    )
    team_id: Id | None = None
    tag_ids: list[Id] | None = Field(None, max_length=100, description="Replaces the tags.")
    phone: Str30 | None = None
    mobile: Str30 | None = Field(None, description="Mainland China mobile number.")
    email: Str254 | None = None
    website: Str200 | None = None
    uscc: Str18 | None = None
    province: Str32 | None = None
    city: Str32 | None = None
    birthday: date | None = None
    lunar_birthday: Str5 | None = Field(None, description="MM-DD, e.g. 08-15.")
    gender: Gender | None = None
    notes: Str10000 | None = None
    remarks: Remarks | None = None

    @field_validator(*_CUSTOMER_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value


class CustomerIn(CustomerPatch):
    """A new customer. ``owner_id`` defaults to you."""

    kind: Kind = "company"
    name: Name200
    industry: Industry = ""
    tier: Tier = "ordinary"
    status: Status = "prospect"
    allow_duplicates: bool = Field(
        False, description="Create even if probable duplicates exist (otherwise 409)."
    )


class DuplicateOut(Out):
    id: int | None = Field(description="Null when you may not see the customer.")
    name: str | None = Field(description="Null when you may not see the customer.")
    owner: UserRef | None
    visible: bool = Field(description="Whether you may open the customer.")
    reasons: list[str]


class DuplicateConflictOut(Out):
    detail: str
    duplicates: list[DuplicateOut]


class DuplicateQuery(Schema):
    name: Str200 = ""
    city: Str32 = ""
    phone: Str30 = ""
    mobile: Str30 = ""
    email: Str254 = ""
    uscc: Str18 = ""
    exclude_id: Id | None = Field(None, description="Leave out this customer (when editing).")


class ReassignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    owner_id: Id = Field(description="The new owner; must be an active user.")
    reason: Str500 = Field("", description="Why; shown on the customer's timeline.")


class TimelineEntryOut(Out):
    id: int
    action: str = Field(description="create, update, owner, delete, restore, note, …")
    subject_type: str
    subject_id: int | None
    subject_label: str
    actor: UserRef | None
    changes: dict[str, Any] = Field(description="Field → [old, new].")
    message: str
    created_at: datetime


class TimelinePage(CursorPage):
    items: list[TimelineEntryOut]


# --- contacts -----------------------------------------------------------------------------


class ContactRoleOut(Out):
    customer_id: int
    customer_name: str
    title: str
    department: str
    is_primary: bool

    @staticmethod
    def of(link: ContactLink) -> "ContactRoleOut":
        return ContactRoleOut(
            customer_id=link.customer.pk,
            customer_name=link.customer.name,
            title=link.title,
            department=link.department,
            is_primary=link.is_primary,
        )


class ContactOut(Out):
    id: int
    name: str
    gender: Gender
    mobile: str
    phone: str
    email: str
    wechat: str
    birthday: date | None
    notes: str
    customers: list[ContactRoleOut] = Field(description="Its roles at customers you may see.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(contact: Contact, links: list[ContactLink]) -> "ContactOut":
        return ContactOut(
            id=contact.pk,
            name=contact.name,
            gender=cast(Gender, contact.gender),
            mobile=contact.mobile,
            phone=contact.phone,
            email=contact.email,
            wechat=contact.wechat,
            birthday=contact.birthday,
            notes=contact.notes,
            customers=[ContactRoleOut.of(link) for link in links],
            created_at=contact.created_at,
            updated_at=contact.updated_at,
        )


class ContactPage(CursorPage):
    items: list[ContactOut]


class ContactListQuery(CursorQuery):
    q: Str100 = Field("", description="Search: name, pinyin, mobile, e-mail.")
    customer: Id | None = Field(None, description="Only contacts of this customer.")


_CONTACT_NOT_NULL = ("name", "gender", "mobile", "phone", "email", "wechat", "notes")


class ContactPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Name100 | None = None
    gender: Gender | None = None
    mobile: Str30 | None = None
    phone: Str30 | None = None
    email: Str254 | None = None
    wechat: Str64 | None = None
    birthday: date | None = None
    notes: Str10000 | None = None

    @field_validator(*_CONTACT_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value


class ContactIn(ContactPatch):
    customer_id: Id = Field(description="The customer this person works for.")
    name: Name100
    title: Str100 = Field("", description="Job title at the customer.")
    department: Str100 = ""
    is_primary: bool = Field(False, description="The customer's primary contact.")
