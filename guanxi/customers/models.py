"""Customers (companies and individuals), their contacts, addresses, notes and files."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.core.models import TimeStampedModel


class Industry(models.TextChoices):
    """Sections of GB/T 4754 (国民经济行业分类), the industry codes used in China."""

    AGRICULTURE = "A", _("Agriculture, forestry, animal husbandry and fishery")
    MINING = "B", _("Mining")
    MANUFACTURING = "C", _("Manufacturing")
    UTILITIES = "D", _("Electricity, heat, gas and water")
    CONSTRUCTION = "E", _("Construction")
    TRADE = "F", _("Wholesale and retail trade")
    LOGISTICS = "G", _("Transport, storage and postal services")
    HOSPITALITY = "H", _("Accommodation and catering")
    IT = "I", _("Information transmission, software and IT services")
    FINANCE = "J", _("Finance")
    REAL_ESTATE = "K", _("Real estate")
    BUSINESS_SERVICES = "L", _("Leasing and business services")
    RESEARCH = "M", _("Scientific research and technical services")
    ENVIRONMENT = "N", _("Water conservancy, environment and public facilities")
    RESIDENT_SERVICES = "O", _("Resident services, repair and other services")
    EDUCATION = "P", _("Education")
    HEALTH = "Q", _("Health and social work")
    CULTURE = "R", _("Culture, sports and entertainment")
    PUBLIC = "S", _("Public administration and social organisations")
    OTHER = "T", _("Other")


class Channel(TimeStampedModel):
    """A source channel: where customers come from (exhibition, website, referral…)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source channel")
        verbose_name_plural = _("source channels")

    def __str__(self) -> str:
        return self.name


class Tag(TimeStampedModel):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#2563eb")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class Customer(TimeStampedModel):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Individual")

    class Tier(models.TextChoices):
        KEY = "key", _("Key customer")
        SUITABLE = "suitable", _("Suitable customer")
        ORDINARY = "ordinary", _("Ordinary customer")

    class Status(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        ACTIVE = "active", _("Active")
        DORMANT = "dormant", _("Dormant")
        LOST = "lost", _("Lost")

    class Gender(models.TextChoices):
        UNKNOWN = "", _("Not given")
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    name_pinyin = models.CharField(max_length=600, blank=True, editable=False)
    name_initials = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    industry = models.CharField(_("industry"), max_length=2, choices=Industry.choices, blank=True)
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("source channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    tier = models.CharField(
        _("value tier"), max_length=10, choices=Tier.choices, default=Tier.ORDINARY
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROSPECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
    )
    team = models.ForeignKey(
        "users.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    mobile_normalized = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    uscc = models.CharField(
        _("Unified Social Credit Code"),
        max_length=18,
        blank=True,
        db_index=True,
        help_text=_("18 characters (digits and capital letters); companies only."),
    )
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    lunar_birthday = models.CharField(
        _("lunar birthday"),
        max_length=5,
        blank=True,
        help_text=_("Month and day in the Chinese calendar, e.g. 08-15."),
    )
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    notes = models.TextField(_("description"), blank=True)
    remarks = models.JSONField(_("custom remarks"), default=dict, blank=True)
    search_text = models.TextField(blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        editable=False,
    )

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("reassign_customer", _("Can change the owner of customers")),
            ("export_customer", _("Can export customers")),
            ("import_customer", _("Can import customers")),
            ("merge_customer", _("Can merge duplicate customers")),
            ("purge_customer", _("Can purge deleted customers for good")),
        ]
        indexes = [
            models.Index(
                fields=["-updated_at", "-id"],
                name="cust_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["owner", "-updated_at", "-id"],
                name="cust_owner_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["team", "-updated_at", "-id"],
                name="cust_team_updated_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["name", "id"], name="cust_name_idx"),
            models.Index(fields=["city", "name"], name="cust_city_name_idx"),
            models.Index(
                fields=["deleted_at"],
                name="cust_deleted_idx",
                condition=Q(deleted_at__isnull=False),
            ),
            models.Index(fields=["email"], name="cust_email_idx"),
            models.Index(fields=["tier", "-updated_at"], name="cust_tier_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="company") | Q(uscc=""), name="cust_uscc_company_only"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Address(TimeStampedModel):
    class Kind(models.TextChoices):
        OFFICE = "office", _("Office")
        BILLING = "billing", _("Billing")
        SHIPPING = "shipping", _("Shipping")
        HOME = "home", pgettext_lazy("address type", "Home")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.OFFICE)
    province = models.CharField(_("province"), max_length=32)
    city = models.CharField(_("city"), max_length=32, blank=True)
    district = models.CharField(_("district"), max_length=32, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return "".join(p for p in (self.province, self.city, self.district, self.street) if p)


class Contact(TimeStampedModel):
    """A person. A contact may be linked to several customers (``ContactLink``)."""

    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(max_length=600, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    gender = models.CharField(
        _("gender"), max_length=10, choices=Customer.Gender.choices, blank=True
    )
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    mobile_normalized = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    customers = models.ManyToManyField(
        Customer, through="ContactLink", related_name="contacts", verbose_name=_("customers")
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["name", "id"], name="contact_name_idx")]

    def __str__(self) -> str:
        return self.name


class ContactLink(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="links")
    title = models.CharField(_("title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("contact role")
        verbose_name_plural = _("contact roles")
        constraints = [
            models.UniqueConstraint(fields=["customer", "contact"], name="contactlink_unique"),
        ]
        indexes = [models.Index(fields=["contact", "customer"], name="contactlink_rev_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.customer_id}: {self.title}"


class Note(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes_set")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("note"))
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.customer_id}/{filename}"


class Attachment(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class SavedView(TimeStampedModel):
    """A named set of list filters a user saved."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(max_length=1000)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="savedview_unique_name"),
        ]


class RecentView(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "customer"], name="recentview_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} viewed {self.customer_id}"
