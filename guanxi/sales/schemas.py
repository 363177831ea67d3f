"""Request and response shapes of the leads REST API.

Built on the customers API's conventions (``guanxi.customers.schemas``): responses are
plain pydantic models built field by field, inputs are ninja schemas that refuse unknown
fields and text the databases cannot store, so bad input gets a 422, never a 500.
"""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, cast

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, StrictBool, StringConstraints, field_validator

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
from guanxi.sales.models import Lead, Opportunity, Stage

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


# --- opportunities and pipelines ----------------------------------------------------------

StageKind = Literal["open", "won", "lost"]
OpportunityStatus = Literal["open", "won", "lost"]
WinLossReason = Literal[
    "price",
    "product_fit",
    "relationship",
    "service",
    "delivery",
    "competitor",
    "no_budget",
    "no_decision",
    "other",
]
ForecastCategory = Literal["pipeline", "best_case", "commit", "omitted"]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Money = Annotated[str, Field(description='A decimal amount as a string, e.g. "12500.00".')]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200), _Ok]


def _iso_date_only(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (pydantic would also take numbers as Unix times)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("Enter a date as YYYY-MM-DD.")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def _money(value: Decimal | None) -> str:
    return f"{Decimal(value or 0):.2f}"


class StageOut(Out):
    id: int
    name: str
    order: int
    probability: int = Field(description="Default win probability of the stage, 0–100.")
    kind: StageKind = Field(description="won and lost stages close the opportunity.")

    @staticmethod
    def of(stage: Stage) -> "StageOut":
        return StageOut(
            id=stage.pk,
            name=stage.name,
            order=stage.order,
            probability=stage.probability,
            kind=cast(StageKind, stage.kind),
        )


class PipelineOut(Out):
    id: int
    name: str
    is_default: bool
    currency: str
    team_id: int | None = Field(description="Null: company-wide.")
    stages: list[StageOut]


class OpportunityListItem(Out):
    id: int
    name: str
    customer: Ref
    contact_id: int | None
    pipeline_id: int
    stage: StageOut
    status: OpportunityStatus
    amount: Money
    currency: str
    probability: int
    expected_close_date: date | None
    intent: Intent
    forecast_category: ForecastCategory
    next_step: str
    next_step_date: date | None
    owner: UserRef | None
    team_id: int | None
    win_loss_reason: WinLossReason | Literal[""]
    closed_at: datetime | None
    stage_entered_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_of(opp: Opportunity) -> dict[str, Any]:
        return {
            "id": opp.pk,
            "name": opp.name,
            "customer": Ref(id=opp.customer.pk, name=opp.customer.name),
            "contact_id": opp.contact_id,
            "pipeline_id": opp.pipeline_id,
            "stage": StageOut.of(opp.stage),
            "status": cast(OpportunityStatus, opp.status),
            "amount": _money(opp.amount),
            "currency": opp.currency,
            "probability": opp.probability,
            "expected_close_date": opp.expected_close_date,
            "intent": cast(Intent, opp.intent),
            "forecast_category": cast(ForecastCategory, opp.forecast_category),
            "next_step": opp.next_step,
            "next_step_date": opp.next_step_date,
            "owner": UserRef.of(opp.owner),
            "team_id": opp.team_id,
            "win_loss_reason": cast(WinLossReason, opp.win_loss_reason),
            "closed_at": opp.closed_at,
            "stage_entered_at": opp.stage_entered_at,
            "created_at": opp.created_at,
            "updated_at": opp.updated_at,
        }

    @staticmethod
    def from_opportunity(opp: Opportunity) -> "OpportunityListItem":
        return OpportunityListItem(**OpportunityListItem.fields_of(opp))


class OpportunityPage(CursorPage):
    items: list[OpportunityListItem]


class OpportunityOut(OpportunityListItem):
    products_of_interest: str
    competitors: str
    channel: Ref | None
    lead_id: int | None
    win_loss_note: str

    @staticmethod
    def from_opportunity(opp: Opportunity) -> "OpportunityOut":
        return OpportunityOut(
            **OpportunityListItem.fields_of(opp),
            products_of_interest=opp.products_of_interest,
            competitors=opp.competitors,
            channel=Ref(id=opp.channel.pk, name=opp.channel.name) if opp.channel else None,
            lead_id=opp.lead_id,
            win_loss_note=opp.win_loss_note,
        )


class StageChangeOut(Out):
    id: int
    from_stage: StageOut | None
    to_stage: StageOut
    actor: UserRef | None
    changed_at: datetime
    seconds_in_previous_stage: int | None = Field(
        description="How long the opportunity stayed in the stage it left."
    )


class ForecastRowOut(Out):
    key: int = Field(description="The month (1–12), or the owner's user id (0: no owner).")
    label: str
    count: int
    won: Money
    unweighted: Money = Field(description="Open deals, sum of amounts.")
    weighted: Money = Field(description="Open deals, amount × stage probability.")
    commit: Money = Field(description="Won deals plus open deals in the commit category.")
    best_case: Money = Field(description="commit plus open deals in the best-case category.")

    @staticmethod
    def of(row: Any) -> "ForecastRowOut":
        return ForecastRowOut(
            key=row.key,
            label=row.label,
            count=row.count,
            won=_money(row.won),
            unweighted=_money(row.unweighted),
            weighted=_money(row.weighted),
            commit=_money(row.commit),
            best_case=_money(row.best_case),
        )


class ForecastOut(Out):
    pipeline: Ref
    year: int
    currency: str
    months: list[ForecastRowOut]
    owners: list[ForecastRowOut]
    total: ForecastRowOut


class OpportunityListQuery(Schema):
    q: Str200 = Field("", description="Search the opportunity's or the customer's name.")
    pipeline: Id | None = None
    stage: Id | None = None
    status: OpportunityStatus | None = None
    intent: Intent | None = None
    customer: Id | None = None
    owner: (
        Annotated[
            str,
            Field(pattern=r"^(me|[1-9][0-9]{0,17})$", description='An owner id, or "me".'),
        ]
        | None
    ) = None
    close_from: IsoDate | None = Field(None, description="Expected close date on or after.")
    close_to: IsoDate | None = Field(None, description="Expected close date on or before.")
    sort: Sort = "-updated_at"
    cursor: Str1000 | None = Field(None, description="From ``next_cursor`` of the previous page.")
    limit: int = Field(50, ge=1, le=200, description="Page size.")


_OPP_NOT_NULL = (
    "name",
    "amount",
    "currency",
    "intent",
    "forecast_category",
    "products_of_interest",
    "competitors",
    "next_step",
)


class _OpportunityFields(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: Id | None = Field(None, description="A contact of the customer, or null.")
    amount: Amount | None = Field(None, description="Expected deal value, ≥ 0.")
    currency: Currency | None = Field(None, description="ISO 4217 code; default the pipeline's.")
    expected_close_date: IsoDate | None = None
    intent: Intent | None = Field(None, description="Intent level (意向等级) A–D, or empty.")
    forecast_category: ForecastCategory | None = None
    products_of_interest: Str10000 | None = None
    competitors: Str10000 | None = None
    next_step: Str200 | None = None
    next_step_date: IsoDate | None = None
    channel_id: Id | None = Field(None, description="Source channel id, or null.")
    owner_id: Id | None = Field(
        None, description="The owner; anyone but yourself needs the assign permission."
    )

    @field_validator(*[f for f in _OPP_NOT_NULL if f != "name"], mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value


class OpportunityIn(_OpportunityFields):
    """A new opportunity. Pipeline: the default one if left out; stage: its first open
    stage; owner: you."""

    name: Name200
    customer_id: Id = Field(description="A customer you may see.")
    pipeline_id: Id | None = None
    stage_id: Id | None = Field(None, description="An open stage of the pipeline.")


class OpportunityPatch(_OpportunityFields):
    """Fields to change; leave out what stays. Stages change with ``…/move``."""

    name: Name200 | None = None
    customer_id: Id | None = None

    @field_validator("name", "customer_id", mode="before")
    @classmethod
    def _required_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("This field may not be null.")
        return value


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    stage_id: Id = Field(description="A stage of the opportunity's pipeline.")
    win_loss_reason: WinLossReason | None = Field(
        None, description="Required when the stage is a won or lost stage."
    )
    note: Str1000 = Field("", description="Shown on the opportunity's timeline.")


class ForecastQuery(Schema):
    pipeline: Id | None = Field(None, description="Default: the default pipeline.")
    year: int | None = Field(None, ge=2000, le=2100, description="Default: this year.")
