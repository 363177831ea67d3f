"""Import and export jobs for customers, contacts and leads.

A job row is the whole state of a transfer: the uploaded or produced file, the options the
user chose, and counters that a background task advances batch by batch. The counters and
the rows they count commit in the same transaction, so a task that dies half-way resumes
exactly where the last batch ended.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    LEADS = "leads", _("Leads")


class Format(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")
    VCF = "vcf", _("vCard (VCF)")


class Status(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    class DuplicateMode(models.TextChoices):
        SKIP = "skip", _("Skip the row")
        UPDATE = "update", _("Update the existing record")
        CREATE = "create", _("Create a new record anyway")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="import_jobs",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("records"), max_length=10, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="transfers/imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True, default=",")
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(
        _("column mapping"),
        default=list,
        blank=True,
        help_text=_("One field name per column, in column order; empty: ignore the column."),
    )
    duplicate_mode = models.CharField(
        _("when a record already exists"),
        max_length=6,
        choices=DuplicateMode.choices,
        default=DuplicateMode.SKIP,
    )
    all_or_nothing = models.BooleanField(_("import nothing if any row has an error"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    message = models.TextField(_("message"), blank=True)
    total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("with errors"), default=0)
    error_file = models.FileField(
        _("error report"), upload_to="transfers/errors/%Y/%m/", max_length=300, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [
            models.Index(fields=["user", "kind", "-created_at"], name="importjob_user_kind_idx")
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status in {Status.DONE, Status.FAILED}

    @property
    def percent(self) -> int:
        if self.status == Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))

    @property
    def rows_per_second(self) -> float | None:
        if not self.started_at or not self.processed:
            return None
        seconds = ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
        return round(self.processed / seconds, 1) if seconds > 0 else None


class ImportIssue(models.Model):
    """One reported row of an import: an error, or a row skipped as a duplicate."""

    class Level(models.TextChoices):
        ERROR = "error", _("Error")
        SKIPPED = "skipped", _("Skipped")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(_("row"))
    field = models.CharField(_("field"), max_length=40, blank=True)
    level = models.CharField(max_length=7, choices=Level.choices, default=Level.ERROR)
    message = models.TextField(_("reason"))
    values = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="importissue_job_row_idx")]

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"


class ExportJob(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="export_jobs",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("records"), max_length=10, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    message = models.TextField(_("message"), blank=True)
    total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(
        _("file"), upload_to="transfers/exports/%Y/%m/", max_length=300, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["user", "-created_at"], name="exportjob_user_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.status in {Status.DONE, Status.FAILED}

    @property
    def percent(self) -> int:
        if self.status == Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.row_count * 100 / self.total))

    @property
    def filename(self) -> str:
        stamp = timezone.localtime(self.created_at).strftime("%Y%m%d-%H%M")
        return f"{self.kind}-{stamp}.{self.format}"
