from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import Region
from guanxi.core.validators import normalize_cn_mobile, normalize_uscc, validate_phone
from guanxi.customers.models import Address, Channel, Contact, Customer, Industry, Tag
from guanxi.customers.selectors import SORTS, CustomerFilters
from guanxi.users.models import Team, User


def _province_choices() -> list[tuple[str, str]]:
    names = Region.objects.filter(level=Region.Level.PROVINCE).values_list("name", flat=True)
    return [("", "—"), *[(n, n) for n in names]]


def _children_choices(level: int, parent_name: str) -> list[tuple[str, str]]:
    parent = Region.objects.filter(level=level, name=parent_name).first() if parent_name else None
    names = parent.children.values_list("name", flat=True) if parent else []
    return [("", "—"), *[(n, n) for n in names]]


class RegionFieldsMixin:
    """Province → city (→ district) selects from the China region list, chained by htmx.

    A value not in the list (old data, a typo in an import) is kept as a choice so that
    editing never silently drops it.
    """

    region_fields: tuple[str, ...] = ("province", "city")

    def setup_regions(self) -> None:
        form: forms.BaseForm = self  # type: ignore[assignment]
        data = form.data if form.is_bound else {}
        prefix = form.add_prefix
        province = data.get(prefix("province")) or form.initial.get("province") or ""
        city = data.get(prefix("city")) or form.initial.get("city") or ""
        choices = {
            "province": _province_choices(),
            "city": _children_choices(Region.Level.PROVINCE, province),
            "district": _children_choices(Region.Level.CITY, city),
        }
        for name in self.region_fields:
            current = data.get(prefix(name)) or form.initial.get(name) or ""
            options = choices[name]
            if current and current not in {value for value, _label in options}:
                options = [*options, (current, current)]
            field = form.fields[name]
            field.widget = forms.Select(choices=options)
            field.widget.attrs["id"] = f"id_{prefix(name)}"
        form.fields["province"].widget.attrs.update(
            {
                "hx-get": "/regions/options/",
                "hx-target": f"#id_{prefix('city')}",
                "hx-trigger": "change",
                "hx-params": prefix("province"),
                # Explicit, because htmx attributes are inherited and the customer form's
                # duplicate check sets hx-swap="outerHTML" around these fields.
                "hx-swap": "innerHTML",
            }
        )
        if "district" in self.region_fields:
            form.fields["city"].widget.attrs.update(
                {
                    "hx-get": "/regions/options/",
                    "hx-target": f"#id_{prefix('district')}",
                    "hx-trigger": "change",
                    "hx-params": prefix("city"),
                    "hx-swap": "innerHTML",
                }
            )


class CustomerForm(RegionFieldsMixin, forms.ModelForm):
    # Longer than 18 so that a code pasted with spaces reaches clean_uscc, which strips them.
    uscc = forms.CharField(
        label=_("Unified Social Credit Code"),
        help_text=_("18 characters (digits and capital letters); companies only."),
        max_length=30,
        required=False,
    )
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=Tag.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    allow_duplicate = forms.BooleanField(
        label=_("Save anyway: this is not a duplicate"),
        required=False,
    )

    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "tier",
            "status",
            "industry",
            "channel",
            "owner",
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
        widgets = {
            "birthday": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "lunar_birthday": forms.TextInput(attrs={"placeholder": "08-15"}),
        }

    def __init__(self, *args, can_reassign: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ModelChoiceField)
        channel.queryset = Channel.objects.filter(is_active=True)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = User.objects.filter(is_active=True).order_by("username")
        # Empty on create means "me" (the service's default); an existing customer keeps an
        # owner, so that it never silently drops out of everyone's scope.
        owner.required = bool(self.instance.pk)
        if not can_reassign:
            del self.fields["owner"]
        if self.instance.pk:
            self.fields["tags"].initial = list(self.instance.tags.all())
        self.setup_regions()

    def clean_mobile(self) -> str:
        value = self.cleaned_data.get("mobile", "")
        return normalize_cn_mobile(value) if value else ""

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "")
        validate_phone(value)
        return value

    def clean_uscc(self) -> str:
        value = self.cleaned_data.get("uscc", "")
        return normalize_uscc(value) if value else ""

    def clean(self):
        data = super().clean() or {}
        if data.get("uscc") and data.get("kind") != Customer.Kind.COMPANY:
            self.add_error("uscc", _("Only companies have a Unified Social Credit Code."))
        return data

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in {"tags", "allow_duplicate"}}
        if data.get("owner", "") is None:
            data.pop("owner")
        return data


class ContactForm(forms.ModelForm):
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)

    class Meta:
        model = Contact
        fields = ["name", "gender", "mobile", "phone", "email", "wechat", "birthday", "notes"]
        widgets = {
            "birthday": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, with_role: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_role:
            for name in ("title", "department", "is_primary"):
                del self.fields[name]

    def clean_mobile(self) -> str:
        value = self.cleaned_data.get("mobile", "")
        return normalize_cn_mobile(value) if value else ""

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "")
        validate_phone(value)
        return value


class AddressForm(RegionFieldsMixin, forms.ModelForm):
    region_fields = ("province", "city", "district")

    class Meta:
        model = Address
        fields = ["kind", "province", "city", "district", "street", "postcode", "is_primary"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_regions()

    def clean_postcode(self) -> str:
        value = self.cleaned_data.get("postcode", "")
        if value and not (value.isdigit() and len(value) == 6):
            raise ValidationError(_("A postcode has 6 digits."))
        return value


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10000,
        help_text=_("Mention a colleague with @username to notify them."),
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))


class CustomerFilterForm(forms.Form):
    """The list filters, read from the query string. Bad values are errors, not 500s."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.CharField(label=_("Owner"), required=False)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("All")
    )
    kind = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All")), *Customer.Kind.choices]
    )
    tier = forms.ChoiceField(
        label=_("Value tier"), required=False, choices=[("", _("All")), *Customer.Tier.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Customer.Status.choices]
    )
    industry = forms.ChoiceField(
        label=_("Industry"), required=False, choices=[("", _("All")), *Industry.choices]
    )
    channel = forms.ModelChoiceField(
        label=_("Source channel"),
        queryset=Channel.objects.all(),
        required=False,
        empty_label=_("All"),
    )
    tag = forms.ModelChoiceField(
        label=_("Tag"), queryset=Tag.objects.all(), required=False, empty_label=_("All")
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
            ("-name", _("Name Z→A")),
        ],
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_owner(self) -> int | None:
        value = self.cleaned_data.get("owner") or ""
        if not value:
            return None
        if value == "me":
            return self.user.pk
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise ValidationError(_("Choose an owner from the list."))
        return int(value)

    def to_filters(self) -> CustomerFilters:
        d = self.cleaned_data
        sort = d.get("sort") or "-updated_at"
        return CustomerFilters(
            q=d.get("q", ""),
            owner_id=d.get("owner"),
            team_id=d["team"].pk if d.get("team") else None,
            kind=d.get("kind", ""),
            tier=d.get("tier", ""),
            status=d.get("status", ""),
            industry=d.get("industry", ""),
            channel_id=d["channel"].pk if d.get("channel") else None,
            tag_id=d["tag"].pk if d.get("tag") else None,
            province=d.get("province", ""),
            city=d.get("city", ""),
            sort=sort if sort in SORTS else "-updated_at",
        )


class BulkActionForm(forms.Form):
    ACTIONS = [
        ("assign", _("Assign owner")),
        ("tag", _("Add tag")),
        ("untag", _("Remove tag")),
        ("delete", _("Move to trash")),
    ]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    ids = forms.CharField(widget=forms.MultipleHiddenInput, required=False)
    owner = forms.ModelChoiceField(
        label=_("New owner"),
        required=False,
        queryset=User.objects.filter(is_active=True),
        empty_label="—",
    )
    tag = forms.ModelChoiceField(
        label=_("Tag"), required=False, queryset=Tag.objects.all(), empty_label="—"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selected_ids: list[int] = []

    def clean(self):
        data = super().clean() or {}
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        try:
            self.selected_ids = [int(v) for v in raw][:5000]
        except ValueError:
            raise ValidationError(_("The selection is invalid; reload the page.")) from None
        if not self.selected_ids:
            raise ValidationError(_("Select at least one customer."))
        if data.get("action") == "assign" and not data.get("owner"):
            self.add_error("owner", _("Choose the new owner."))
        if data.get("action") in {"tag", "untag"} and not data.get("tag"):
            self.add_error("tag", _("Choose a tag."))
        return data


class MergeForm(forms.Form):
    source = forms.IntegerField(label=_("Customer number to merge into this one"), min_value=1)
