from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.validators import normalize_cn_mobile, validate_phone
from guanxi.customers.forms import RegionFieldsMixin
from guanxi.customers.models import Channel, Contact, Customer
from guanxi.sales.models import Intent, Lead, Opportunity, Pipeline, Stage
from guanxi.sales.selectors import (
    DEFAULT_SORT,
    OPEN,
    OPPORTUNITY_SORTS,
    SORTS,
    UNASSIGNED,
    LeadFilters,
    OpportunityFilters,
)
from guanxi.users.models import User

UNASSIGNED_LABEL = _("Unassigned (route by rules)")


def _active_users():
    return User.objects.filter(is_active=True).order_by("username")


class LeadForm(RegionFieldsMixin, forms.ModelForm):
    """Create and edit a lead. Who may be chosen as owner depends on the actor: anyone for
    those who may assign leads, else only themselves; empty lets the assignment rules
    decide (on create) or puts the lead back in the pool (on edit)."""

    class Meta:
        model = Lead
        fields = [
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
            "owner",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, user: User, can_assign: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Name or company is enough; the service says which is missing.
        self.fields["name"].required = False
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ModelChoiceField)
        channel.queryset = Channel.objects.filter(is_active=True)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.required = False
        if self.instance.pk:
            owner.empty_label = str(_("Nobody (in the pool)"))
            # An inactive owner stays choosable, so that saving other changes keeps them.
            owner.queryset = User.objects.filter(
                Q(is_active=True) | Q(pk=self.instance.owner_id)
            ).order_by("username")
            if not can_assign:
                del self.fields["owner"]  # a change of owner is an assignment
        else:
            owner.empty_label = str(UNASSIGNED_LABEL)
            owner.queryset = _active_users() if can_assign else User.objects.filter(pk=user.pk)
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        if self.instance.pk:
            status.choices = [(s.value, s.label) for s in Lead.OPEN_STATUSES]
        else:
            del self.fields["status"]
        self.setup_regions()

    def clean_mobile(self) -> str:
        value = self.cleaned_data.get("mobile", "")
        return normalize_cn_mobile(value) if value else ""

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "")
        validate_phone(value)
        return value

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class LeadFilterForm(forms.Form):
    """The list filters, read from the query string. Bad values are errors, not 500s."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), (OPEN, _("Open")), *Lead.Status.choices],
    )
    intent = forms.ChoiceField(
        label=_("Intent level"), required=False, choices=[("", _("All")), *Intent.choices]
    )
    owner = forms.CharField(label=_("Owner"), required=False)
    channel = forms.ModelChoiceField(
        label=_("Source channel"),
        queryset=Channel.objects.all(),
        required=False,
        empty_label=_("All"),
    )
    source = forms.ChoiceField(
        label=_("Captured through"),
        required=False,
        choices=[("", _("All")), *Lead.Source.choices],
    )
    province = forms.CharField(label=_("Province"), required=False, max_length=32)
    city = forms.CharField(label=_("City"), required=False, max_length=32)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-updated_at", _("Recently updated")),
            ("updated_at", _("Least recently updated")),
            ("-created_at", _("Newest")),
            ("created_at", _("Oldest")),
            ("name", _("Name A→Z")),
        ],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_owner(self) -> int | str | None:
        value = self.cleaned_data.get("owner") or ""
        if not value:
            return None
        if value == "me":
            return self.user.pk
        if value == UNASSIGNED:
            return UNASSIGNED
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise ValidationError(_("Choose an owner from the list."))
        return int(value)

    def to_filters(self) -> LeadFilters:
        d = self.cleaned_data
        owner = d.get("owner")
        sort = d.get("sort") or DEFAULT_SORT
        return LeadFilters(
            q=d.get("q", ""),
            status=d.get("status", ""),
            intent=d.get("intent", ""),
            owner_id=owner if isinstance(owner, int) else None,
            unassigned=owner == UNASSIGNED,
            channel_id=d["channel"].pk if d.get("channel") else None,
            source=d.get("source", ""),
            province=d.get("province", ""),
            city=d.get("city", ""),
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("New owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody (back to the pool)"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = _active_users()


class DisqualifyForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *Lead.Reason.choices], required=True
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConvertForm(forms.Form):
    NEW, EXISTING = "new", "existing"
    mode = forms.ChoiceField(
        label=_("Convert to"),
        choices=[(NEW, _("A new customer")), (EXISTING, _("An existing customer"))],
        initial=NEW,
        widget=forms.RadioSelect,
    )
    customer = forms.IntegerField(
        label=_("Customer number"), required=False, min_value=1, max_value=2**53
    )
    allow_duplicates = forms.BooleanField(
        label=_("Create anyway: this is not a duplicate"), required=False
    )
    # Optionally open an opportunity in the same step.
    opportunity_name = forms.CharField(
        label=_("Also open an opportunity named"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to convert without an opportunity."),
    )
    opportunity_amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    opportunity_close = forms.DateField(
        label=_("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    OPPORTUNITY_FIELDS = ("opportunity_name", "opportunity_amount", "opportunity_close")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == self.EXISTING and not data.get("customer"):
            self.add_error("customer", _("Choose the customer to link the lead to."))
        if not data.get("opportunity_name") and (
            data.get("opportunity_amount") is not None or data.get("opportunity_close")
        ):
            self.add_error("opportunity_name", _("Name the opportunity, or leave it all empty."))
        return data

    def opportunity(self) -> dict[str, Any] | None:
        """The opportunity's fields, or None when none is to be opened."""
        data = self.cleaned_data
        if not data.get("opportunity_name"):
            return None
        values: dict[str, Any] = {
            "name": data["opportunity_name"],
            "amount": data.get("opportunity_amount") or 0,
        }
        if data.get("opportunity_close"):
            values["expected_close_date"] = data["opportunity_close"]
        return values


class BulkActionForm(forms.Form):
    ACTIONS = [("assign", _("Assign owner")), ("delete", _("Delete"))]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    ids = forms.CharField(widget=forms.MultipleHiddenInput, required=False)
    owner = forms.ModelChoiceField(
        label=_("New owner"), required=False, queryset=User.objects.none(), empty_label="—"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = _active_users()
        self.selected_ids: list[int] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        try:
            self.selected_ids = [int(v) for v in raw][:5000]
        except ValueError:
            self.selected_ids = [-1]
        if any(not 0 < pk < 2**63 for pk in self.selected_ids):
            self.selected_ids = []
            raise ValidationError(_("The selection is invalid; reload the page."))
        if not self.selected_ids:
            raise ValidationError(_("Select at least one lead."))
        if data.get("action") == "assign" and not data.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        return data


# --- opportunities ------------------------------------------------------------------------


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OpportunityForm(forms.ModelForm):
    """Create and edit an opportunity. The customer is one the user may see (the select is
    filled by a search, or preset); the pipeline and first stage are chosen on create only;
    the owner can be someone else only for those who may assign opportunities."""

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), required=False)

    class Meta:
        model = Opportunity
        fields = [
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
            "owner",
        ]
        widgets = {
            "expected_close_date": _date_widget(),
            "next_step_date": _date_widget(),
            "products_of_interest": forms.Textarea(attrs={"rows": 2}),
            "competitors": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(
        self,
        *args: Any,
        user: User,
        can_assign: bool,
        customers: QuerySet[Customer],
        pipelines: QuerySet[Pipeline],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        customer = self.fields["customer"]
        assert isinstance(customer, forms.ModelChoiceField)
        customer.queryset = customers
        customer_id = self.data.get("customer") or self.initial.get("customer")
        if self.instance.pk and not customer_id:
            customer_id = self.instance.customer_id
        contact = self.fields["contact"]
        assert isinstance(contact, forms.ModelChoiceField)
        contact.queryset = Contact.objects.none()
        if customer_id and str(customer_id).isdigit() and len(str(customer_id)) <= 18:
            contact.queryset = Contact.objects.filter(
                deleted_at__isnull=True, links__customer_id=int(customer_id)
            ).order_by("name")
            self.selected_customer = customers.filter(pk=int(customer_id)).first()
        else:
            self.selected_customer = None
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ModelChoiceField)
        channel.queryset = Channel.objects.filter(is_active=True)
        amount = self.fields["amount"]
        assert isinstance(amount, forms.DecimalField)
        amount.validators.append(MinValueValidator(Decimal("0")))
        amount.widget.attrs["min"] = "0"
        self.fields["currency"].required = False
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.required = False
        pipeline = self.fields["pipeline"]
        assert isinstance(pipeline, forms.ModelChoiceField)
        stage = self.fields["stage"]
        assert isinstance(stage, forms.ModelChoiceField)
        if self.instance.pk:
            del self.fields["pipeline"]
            del self.fields["stage"]
            owner.queryset = User.objects.filter(
                Q(is_active=True) | Q(pk=self.instance.owner_id)
            ).order_by("username")
            if not can_assign:
                del self.fields["owner"]
        else:
            pipeline.queryset = pipelines
            pipeline.required = False
            pipeline.empty_label = None
            stage.queryset = Stage.objects.filter(
                pipeline__in=pipelines, kind=Stage.Kind.OPEN
            ).select_related("pipeline")
            stage.empty_label = str(_("First stage"))
            owner.queryset = _active_users() if can_assign else User.objects.filter(pk=user.pk)
            owner.empty_label = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stage, pipeline = data.get("stage"), data.get("pipeline")
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", _("Choose a stage of the chosen pipeline."))
        return data

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("stage") is None:
            data.pop("stage", None)
        if not data.get("currency"):
            data.pop("currency", None)
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        return data


class OpportunityFilterForm(forms.Form):
    """The opportunity list filters, read from the query string. Bad values are errors."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, empty_label=_("All")
    )
    stage = forms.ModelChoiceField(
        label=_("Stage"), queryset=Stage.objects.none(), required=False, empty_label=_("All")
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Opportunity.Status.choices]
    )
    intent = forms.ChoiceField(
        label=_("Intent level"), required=False, choices=[("", _("All")), *Intent.choices]
    )
    owner = forms.CharField(label=_("Owner"), required=False)
    close_from = forms.DateField(
        label=_("Expected close from"), required=False, widget=_date_widget()
    )
    close_to = forms.DateField(label=_("to"), required=False, widget=_date_widget())
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("-updated_at", _("Recently updated")),
            ("updated_at", _("Least recently updated")),
            ("-created_at", _("Newest")),
            ("created_at", _("Oldest")),
            ("name", _("Name A→Z")),
        ],
    )

    def __init__(self, *args: Any, user: User, pipelines: QuerySet[Pipeline], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.user = user
        pipeline = self.fields["pipeline"]
        assert isinstance(pipeline, forms.ModelChoiceField)
        pipeline.queryset = pipelines
        stage = self.fields["stage"]
        assert isinstance(stage, forms.ModelChoiceField)
        stage.queryset = Stage.objects.filter(pipeline__in=pipelines).select_related("pipeline")

    def clean_owner(self) -> int | None:
        value = self.cleaned_data.get("owner") or ""
        if not value:
            return None
        if value == "me":
            return self.user.pk
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise ValidationError(_("Choose an owner from the list."))
        return int(value)

    def to_filters(self) -> OpportunityFilters:
        d = self.cleaned_data
        sort = d.get("sort") or DEFAULT_SORT
        return OpportunityFilters(
            q=d.get("q", ""),
            pipeline_id=d["pipeline"].pk if d.get("pipeline") else None,
            stage_id=d["stage"].pk if d.get("stage") else None,
            status=d.get("status", ""),
            owner_id=d.get("owner"),
            intent=d.get("intent", ""),
            close_from=d.get("close_from"),
            close_to=d.get("close_to"),
            sort=sort if sort in OPPORTUNITY_SORTS else DEFAULT_SORT,
        )


class MoveForm(forms.Form):
    """Move to a stage of the opportunity's pipeline; closing stages need a reason."""

    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none())
    win_loss_reason = forms.ChoiceField(
        label=_("Win/loss reason"),
        required=False,
        choices=[("", "—"), *Opportunity.WinLossReason.choices],
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, pipeline: Pipeline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stage = self.fields["stage"]
        assert isinstance(stage, forms.ModelChoiceField)
        stage.queryset = pipeline.stages.order_by("order", "id")


class CloseForm(forms.Form):
    WON, LOST = "won", "lost"
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(WON, pgettext_lazy("deal", "Won")), (LOST, pgettext_lazy("deal", "Lost"))],
        widget=forms.RadioSelect,
    )
    win_loss_reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *Opportunity.WinLossReason.choices]
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OpportunityAssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = _active_users()
