"""The audit trail (which is also every customer's timeline) and in-app notifications."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AuditEntry(models.Model):
    """One recorded change. ``customer_id`` is a plain column, not a foreign key, so the
    history of a customer survives its purge and its merge."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        OWNER = "owner", _("changed owner")
        MERGE = "merge", _("merged")
        DELETE = "delete", _("deleted")
        RESTORE = "restore", _("restored")
        PURGE = "purge", _("purged")
        NOTE = "note", _("added a note")
        ATTACH = "attach", _("attached a file")
        LINK = "link", _("linked a contact")
        UNLINK = "unlink", _("unlinked a contact")
        IMPORT = "import", _("imported")
        EXPORT = "export", _("exported")
        HANDOVER = "handover", _("handed over")
        CONVERT = "convert", _("converted")
        DISQUALIFY = "disqualify", _("disqualified")
        FOLLOW_UP = "follow_up", _("followed up")
        PLAN = "plan", _("planned a follow-up")
        SUBMIT = "submit", _("submitted for approval")
        APPROVE = "approve", _("approved")
        REJECT = "reject", _("rejected")
        SEND = "send", _("sent")
        ACCEPT = "accept", _("accepted")
        DECLINE = "decline", _("declined")
        STATUS = "status", _("changed status")
        PAYMENT = "payment", _("recorded a payment")
        REMIND = "remind", _("sent a reminder")
        MEETING = "meeting", _("scheduled a meeting")

    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [
            models.Index(fields=["customer_id", "-created_at", "-id"], name="audit_customer_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()} {self.subject_label}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", _("Mention")
        ASSIGNED = "assigned", _("Assigned to you")
        JOB = "job", _("Background job finished")
        REMINDER = "reminder", _("Follow-up reminder")
        POOL = "pool", _("Back to the pool")
        APPROVAL = "approval", _("Approval")
        COLLECTION = "collection", _("Payment collection")
        MEETING = "meeting", _("Meeting")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_idx")
        ]

    def __str__(self) -> str:
        return self.message


class FollowUp(models.Model):
    """A follow-up with a customer or a lead: planned (``due_at``, not done) or recorded
    (``done_at`` with an outcome). Completing a planned one records it; the next one is a
    new plan."""

    class Method(models.TextChoices):
        CALL = "call", _("Phone call")
        VISIT = "visit", _("Visit")
        WECHAT = "wechat", _("WeChat")
        EMAIL = "email", pgettext_lazy("follow-up method", "E-mail")
        MEETING = "meeting", _("Meeting")
        TASK = "task", _("To-do")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached, talked")
        INTERESTED = "interested", _("Interested, moving on")
        APPOINTMENT = "appointment", _("Appointment made")
        NOT_REACHED = "not_reached", _("Could not reach")
        NOT_INTERESTED = "not_interested", _("Not interested")
        OTHER = "other", _("Other")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who follows up"),
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="follow_ups",
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="follow_ups",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        help_text=_("The opportunity it is about, when there is one (its customer is set too)."),
    )
    method = models.CharField(
        pgettext_lazy("follow-up", "method"), max_length=10, choices=Method.choices
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    plan = models.CharField(_("purpose"), max_length=300, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    summary = models.TextField(_("what happened"), blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            # "My day": open plans of a person by due time.
            models.Index(
                fields=["owner", "due_at"],
                name="followup_open_idx",
                condition=models.Q(done_at__isnull=True, cancelled_at__isnull=True),
            ),
            models.Index(fields=["owner", "-done_at"], name="followup_done_idx"),
            models.Index(fields=["customer", "-created_at"], name="followup_customer_idx"),
            models.Index(fields=["lead", "-created_at"], name="followup_lead_idx"),
            models.Index(fields=["opportunity", "-created_at"], name="followup_opportunity_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(lead__isnull=False),
                name="followup_has_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(due_at__isnull=False) | models.Q(done_at__isnull=False),
                name="followup_planned_or_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} · {self.customer or self.lead}"

    @property
    def is_open(self) -> bool:
        return self.done_at is None and self.cancelled_at is None


def _meeting_uid() -> str:
    import uuid

    return f"{uuid.uuid4()}@guanxi"


class Meeting(models.Model):
    """A meeting in the calendar: organised by one user, with colleagues and customer
    contacts attending, optionally about a customer, lead or opportunity. Times are UTC;
    an all-day meeting runs from midnight to midnight in the organiser's time zone.
    ``uid`` and ``sequence`` identify it and its versions in iCalendar invitations."""

    title = models.CharField(_("title"), max_length=200)
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="meetings_organised",
    )
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    all_day = models.BooleanField(_("all day"), default=False)
    location = models.CharField(_("location"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings",
    )
    lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings",
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meetings",
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("colleagues attending"),
        blank=True,
        related_name="meetings_attending",
    )
    contacts = models.ManyToManyField(
        "customers.Contact",
        verbose_name=_("contacts attending"),
        blank=True,
        related_name="meetings",
    )
    no_double_booking = models.BooleanField(
        _("do not allow double booking"),
        default=False,
        help_text=_("Refuse this meeting, and later ones, when someone is already booked."),
    )
    uid = models.CharField(max_length=100, unique=True, editable=False, default=_meeting_uid)
    sequence = models.PositiveIntegerField(default=0, editable=False)
    invited_sequence = models.IntegerField(default=-1, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at", "id"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        indexes = [
            models.Index(fields=["organiser", "start_at"], name="meeting_organiser_idx"),
            models.Index(fields=["start_at", "end_at"], name="meeting_time_idx"),
            models.Index(fields=["customer", "-start_at"], name="meeting_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_at__gt=models.F("start_at")), name="meeting_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class CalendarFeed(models.Model):
    """A user's secret iCalendar subscription address. Only a SHA-256 hash of the token is
    kept: the address is shown once, when it is made (or reset)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d}"


class CallList(models.Model):
    """Contacts to call, picked by a customer filter and shared among reps."""

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("built by"),
        on_delete=models.PROTECT,
        related_name="call_lists_built",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    filters = models.JSONField(_("filter"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("call list")
        verbose_name_plural = _("call lists")

    def __str__(self) -> str:
        return self.name


class CallListEntry(models.Model):
    """One contact of a customer to call, assigned to one rep; done once the call is logged
    (as a follow-up on the customer)."""

    call_list = models.ForeignKey(CallList, on_delete=models.CASCADE, related_name="entries")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who calls"),
        on_delete=models.PROTECT,
        related_name="call_list_entries",
    )
    position = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(_("called at"), null=True, blank=True)
    follow_up = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("call list entry")
        verbose_name_plural = _("call list entries")
        indexes = [
            models.Index(
                fields=["assignee", "call_list", "position"], name="calllist_assignee_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["call_list", "contact"], name="calllist_entry_unique_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} · {self.customer}"

    @property
    def phone(self) -> str:
        return self.contact.mobile or self.contact.phone
