"""Sales: leads and how they are assigned (opportunities, quotes and orders follow)."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import TimeStampedModel


class Intent(models.TextChoices):
    """How likely the prospect is to buy (意向等级), used on leads and opportunities."""

    A = "A", _("A – ready to buy")
    B = "B", _("B – clear interest")
    C = "C", _("C – some interest")
    D = "D", _("D – little interest")


class Lead(TimeStampedModel):
    """A prospective customer not yet qualified: a person, usually at a company."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        WORKING = "working", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    class Source(models.TextChoices):
        WEB = "web", _("Entered in Guanxi")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        FORM = "form", _("Web form")

    class Reason(models.TextChoices):
        NO_NEED = "no_need", _("No need")
        NO_BUDGET = "no_budget", _("No budget")
        COMPETITOR = "competitor", _("Chose a competitor")
        UNREACHABLE = "unreachable", _("Cannot be reached")
        DUPLICATE = "duplicate", _("Duplicate")
        SPAM = "spam", _("Spam or fake")
        OTHER = "other", _("Other")

    OPEN_STATUSES = (Status.NEW, Status.WORKING, Status.QUALIFIED)

    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(max_length=600, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    mobile_normalized = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=50, blank=True)
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    channel = models.ForeignKey(
        "customers.Channel",
        verbose_name=_("source channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
    )
    campaign = models.CharField(
        _("campaign"), max_length=100, blank=True, help_text=_("The campaign it came from.")
    )
    source = models.CharField(
        _("captured through"), max_length=10, choices=Source.choices, default=Source.WEB
    )
    intent = models.CharField(_("intent level"), max_length=1, choices=Intent.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW
    )
    disqualify_reason = models.CharField(
        _("disqualification reason"), max_length=12, choices=Reason.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        editable=False,
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        editable=False,
    )
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True, editable=False)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        permissions = [
            ("assign_lead", _("Can assign leads to others")),
            ("convert_lead", _("Can convert leads to customers")),
            ("export_lead", _("Can export leads")),
        ]
        indexes = [
            models.Index(
                fields=["-updated_at", "-id"],
                name="lead_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["owner", "-updated_at", "-id"],
                name="lead_owner_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["team", "-updated_at", "-id"],
                name="lead_team_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["status", "-updated_at"], name="lead_status_idx"),
            models.Index(fields=["name_initials"], name="lead_initials_idx"),
            models.Index(fields=["email"], name="lead_email_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="disqualified") | ~Q(disqualify_reason=""),
                name="lead_disqualified_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES and self.deleted_at is None


class AssignmentRule(models.Model):
    """Where new unassigned leads go: by region to a person, or round-robin in a team.

    The most specific active rule wins (a city rule before a province rule before a
    catch-all), then the lowest ``priority`` number.
    """

    class Method(models.TextChoices):
        USER = "user", _("To one person")
        ROUND_ROBIN = "round_robin", _("Round-robin within the team")

    name = models.CharField(_("name"), max_length=100)
    province = models.CharField(
        _("province"), max_length=32, blank=True, help_text=_("Empty: any province.")
    )
    city = models.CharField(_("city"), max_length=32, blank=True, help_text=_("Empty: any city."))
    method = models.CharField(_("method"), max_length=12, choices=Method.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        constraints = [
            models.CheckConstraint(
                condition=(Q(method="user") & Q(user__isnull=False))
                | (Q(method="round_robin") & Q(team__isnull=False)),
                name="sales_rule_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.city and not self.province:
            errors["province"] = _("Choose the province of the city.")
        if self.method == self.Method.USER and not self.user_id:
            errors["user"] = _("Choose the person who receives the leads.")
        if self.method == self.Method.ROUND_ROBIN and not self.team_id:
            errors["team"] = _("Choose the team whose members take turns.")
        if errors:
            raise ValidationError(errors)


def _form_key() -> str:
    return secrets.token_urlsafe(12)


class WebForm(TimeStampedModel):
    """A public web-to-lead form: its page (``/f/<key>/``) can be linked to or embedded in
    the company's website; each submission becomes a lead, routed like any other."""

    name = models.CharField(_("name"), max_length=100)
    key = models.CharField(
        _("public key"), max_length=32, unique=True, default=_form_key, editable=False
    )
    title = models.CharField(_("title shown on the form"), max_length=200)
    intro = models.TextField(_("introduction"), blank=True)
    ask_company = models.BooleanField(_("ask for the company"), default=True)
    ask_email = models.BooleanField(_("ask for the e-mail"), default=True)
    ask_region = models.BooleanField(_("ask for province and city"), default=True)
    ask_message = models.BooleanField(_("ask for a message"), default=True)
    consent_text = models.TextField(
        _("consent text"),
        help_text=_("What the visitor agrees to by ticking the box (required to submit)."),
    )
    thanks = models.CharField(_("thank-you message"), max_length=300)
    channel = models.ForeignKey(
        "customers.Channel",
        verbose_name=_("source channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner of its leads"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the assignment rules decide."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("web-to-lead form")
        verbose_name_plural = _("web-to-lead forms")

    def __str__(self) -> str:
        return self.name


# --- opportunities and pipelines (商机与销售漏斗) ----------------------------------------------

DEFAULT_CURRENCY = "CNY"


class Pipeline(TimeStampedModel):
    """A sales process: an ordered list of stages an opportunity moves through."""

    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default"), default=False)
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: used by the whole company. Else only by this team and its sub-teams."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="sales_pipeline_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """A step of a pipeline; won and lost stages close the opportunity."""

    class Kind(models.TextChoices):
        OPEN = "open", pgettext_lazy("deal", "Open")
        WON = "won", pgettext_lazy("deal", "Won")
        LOST = "lost", pgettext_lazy("deal", "Lost")

    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("How likely an opportunity in this stage is to be won, 0–100."),
    )
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices, default=Kind.OPEN)

    class Meta:
        ordering = ["pipeline", "order", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=100),
                name="sales_stage_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN


class Opportunity(TimeStampedModel):
    """A chance to sell to a customer (商机), moving through the stages of a pipeline."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("deal", "Open")
        WON = "won", pgettext_lazy("deal", "Won")
        LOST = "lost", pgettext_lazy("deal", "Lost")

    class WinLossReason(models.TextChoices):
        PRICE = "price", _("Price")
        PRODUCT_FIT = "product_fit", _("Product fit")
        RELATIONSHIP = "relationship", _("Relationship")
        SERVICE = "service", _("Service and support")
        DELIVERY = "delivery", _("Delivery time")
        COMPETITOR = "competitor", _("Chose a competitor")
        NO_BUDGET = "no_budget", _("No budget")
        NO_DECISION = "no_decision", _("No decision / project stopped")
        OTHER = "other", _("Other")

    class ForecastCategory(models.TextChoices):
        PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
        BEST_CASE = "best_case", _("Best case")
        COMMIT = "commit", _("Commit")
        OMITTED = "omitted", _("Omitted")

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("Taken from the stage when it changes."),
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    intent = models.CharField(_("intent level"), max_length=1, choices=Intent.choices, blank=True)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    products_of_interest = models.TextField(_("products of interest"), blank=True)
    competitors = models.TextField(_("competitors"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    channel = models.ForeignKey(
        "customers.Channel",
        verbose_name=_("source channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    lead = models.ForeignKey(
        Lead,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_opportunities",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    status = models.CharField(
        _("status"), max_length=4, choices=Status.choices, default=Status.OPEN
    )
    win_loss_reason = models.CharField(
        _("win/loss reason"), max_length=12, choices=WinLossReason.choices, blank=True
    )
    win_loss_note = models.TextField(_("win/loss note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    stage_entered_at = models.DateTimeField(
        _("in this stage since"), null=True, blank=True, editable=False
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        permissions = [("assign_opportunity", _("Can assign opportunities to others"))]
        indexes = [
            models.Index(
                fields=["-updated_at", "-id"],
                name="opp_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["pipeline", "stage", "-updated_at"],
                name="opp_pipeline_stage_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["owner", "-updated_at", "-id"],
                name="opp_owner_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["team", "-updated_at", "-id"],
                name="opp_team_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["customer", "-updated_at"], name="opp_customer_idx"),
            models.Index(fields=["expected_close_date"], name="opp_close_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opp_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(status="open") | ~Q(win_loss_reason=""),
                name="opp_closed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN and self.deleted_at is None


class StageChange(models.Model):
    """One move of an opportunity between stages, with the time spent in the stage left."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    seconds_in_previous_stage = models.PositiveBigIntegerField(
        _("seconds in the previous stage"), null=True, blank=True
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [
            models.Index(fields=["opportunity", "-changed_at"], name="opp_stagechange_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"
