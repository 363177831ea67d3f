"""Request and response shapes of the leads REST API.

Built on the customers API's conventions (``guanxi.customers.schemas``): responses are
plain pydantic models built field by field, inputs are ninja schemas that refuse unknown
fields and text the databases cannot store, so bad input gets a 422, never a 500.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from ninja import Field, Schema
from pydantic import ConfigDict, StrictBool, StringConstraints, field_validator

from guanxi.customers.schemas import (
    CursorPage,
    Id,
    Out,
    Ref,
    Str30,
    Str32,
    Str100,
    Str200,
    Str254,
    Str500,
    Str1000,
    Str10000,
    UserRef,
    _Ok,
)
from guanxi.sales.models import Lead

Str50 = Annotated[str, StringConstraints(max_length=50), _Ok]

# Literal types rather than the models' TextChoices: they give clean enums in the OpenAPI
# document. tests/test_api.py checks that they match the model choices.
LeadStatus = Literal["new", "working", "qualified", "disqualified", "converted"]
OpenStatus = Literal["new", "working", "qualified"]
StatusFilter = Literal["open", "new", "working", "qualified", "disqualified", "converted"]
Source = Literal["web", "api", "import", "form"]
Intent = Literal["", "A", "B", "C", "D"]
Reason = Literal["no_need", "no_budget", "competitor", "unreachable", "duplicate", "spam", "other"]
Sort = Literal["-updated_at", "updated_at", "-created_at", "created_at", "name"]


# --- responses ----------------------------------------------------------------------------


class LeadListItem(Out):
    id: int
    name: str
    company: str
    title: str
    mobile: str
    phone: str
    email: str
    wechat: str
    province: str
    city: str
    channel: Ref | None
    campaign: str
    source: Source = Field(description="How the lead was captured.")
    intent: Intent = Field(description="Intent level (意向等级) A–D, or empty.")
    status: LeadStatus = Field(description="working means contacted.")
    disqualify_reason: Reason | Literal[""] = Field(description="Set when disqualified.")
    owner: UserRef | None = Field(description="Null: unassigned, in the pool.")
    team_id: int | None
    customer_id: int | None = Field(description="The customer it was converted to.")
    contact_id: int | None = Field(description="The contact it was converted to.")
    consent_at: datetime | None = Field(description="When the person consented to contact.")
    converted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_of(lead: Lead) -> dict[str, Any]:
        return {
            "id": lead.pk,
            "name": lead.name,
            "company": lead.company,
            "title": lead.title,
            "mobile": lead.mobile,
            "phone": lead.phone,
            "email": lead.email,
            "wechat": lead.wechat,
            "province": lead.province,
            "city": lead.city,
            "channel": Ref(id=lead.channel.pk, name=lead.channel.name) if lead.channel else None,
            "campaign": lead.campaign,
            "source": cast(Source, lead.source),
            "intent": cast(Intent, lead.intent),
            "status": cast(LeadStatus, lead.status),
            "disqualify_reason": cast(Reason, lead.disqualify_reason),
            "owner": UserRef.of(lead.owner),
            "team_id": lead.team_id,
            "customer_id": lead.customer_id,
            "contact_id": lead.contact_id,
            "consent_at": lead.consent_at,
            "converted_at": lead.converted_at,
            "created_at": lead.created_at,
            "updated_at": lead.updated_at,
        }

    @staticmethod
    def from_lead(lead: Lead) -> "LeadListItem":
        return LeadListItem(**LeadListItem.fields_of(lead))


class LeadPage(CursorPage):
    items: list[LeadListItem]


class LeadOut(LeadListItem):
    team: Ref | None
    notes: str

    @staticmethod
    def from_lead(lead: Lead) -> "LeadOut":
        return LeadOut(
            **LeadListItem.fields_of(lead),
            team=Ref(id=lead.team.pk, name=lead.team.name) if lead.team else None,
            notes=lead.notes,
        )


class ConvertedOut(Out):
    lead: LeadOut
    customer_id: int = Field(description="The customer the lead became (or joined).")
    contact_id: int | None = Field(
        description="The lead's person as a contact of the customer; null for an individual."
    )


# --- inputs -------------------------------------------------------------------------------


class LeadListQuery(Schema):
    q: Str200 = Field(
        "", description="Search: name, company, pinyin, initials, mobile, e-mail, WeChat."
    )
    status: StatusFilter | None = Field(
        None, description='A status, or "open" for new, contacted and qualified leads.'
    )
    intent: Intent | None = None
    owner: (
        Annotated[
            str,
            Field(
                pattern=r"^(me|none|[1-9][0-9]{0,17})$",
                description='An owner id, "me", or "none" for unassigned leads.',
            ),
        ]
        | None
    ) = None
    channel: Id | None = Field(None, description="Source channel id.")
    source: Source | None = None
    province: Str32 = ""
    city: Str32 = ""
    sort: Sort = "-updated_at"
    cursor: Str1000 | None = Field(None, description="From ``next_cursor`` of the previous page.")
    limit: int = Field(50, ge=1, le=200, description="Page size.")


_LEAD_NOT_NULL = (
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
    "intent",
    "notes",
    "status",
)


class _LeadFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Str100 | None = Field(None, description="The person; the company if left empty.")
    company: Str200 | None = None
    title: Str100 | None = Field(None, description="Job title.")
    mobile: Str30 | None = Field(None, description="Mainland China mobile number.")
    phone: Str30 | None = None
    email: Str254 | None = None
    wechat: Str50 | None = Field(None, description="WeChat ID.")
    province: Str32 | None = None
    city: Str32 | None = None
    channel_id: Id | None = Field(None, description="Source channel id, or null.")
    campaign: Str100 | None = None
    intent: Intent | None = None
    notes: Str10000 | None = None
    owner_id: Id | None = Field(
        None,
        description=(
            "The owner; null for the unassigned pool. Anyone but yourself needs the "
            "assign permission."
        ),
    )

    @field_validator(*[f for f in _LEAD_NOT_NULL if f != "status"], mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value


class LeadPatch(_LeadFields):
    """Fields to change; leave out what stays as it is."""

    status: OpenStatus | None = Field(
        None, description="Disqualify or convert the lead with their own operations."
    )

    @field_validator("status", mode="before")
    @classmethod
    def _status_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value


class LeadIn(_LeadFields):
    """A new lead (source ``api``). Give a name or a company, and a way to reach them.
    Without ``owner_id`` the assignment rules route it; with none applying it stays
    unassigned."""

    consent: StrictBool = Field(False, description="The person agreed to be contacted.")


class AssignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    owner_id: Id | None = Field(description="The new owner (an active user), or null: the pool.")
    reason: Str500 = Field("", description="Why; shown on the lead's timeline.")


class DisqualifyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the lead is not worth pursuing.")
    note: Str1000 = Field("", description="Shown on the lead's timeline.")


class ConvertIn(Schema):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id | None = Field(
        None,
        description=(
            "Add the person as a contact of this existing customer instead of creating one."
        ),
    )
    allow_duplicates: StrictBool = Field(
        False, description="Create the customer even if probable duplicates exist (else 409)."
    )
