from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.commerce.models import Order, Payment, Policy, PriceList, Product, Quote
from guanxi.commerce.services import LineInput
from guanxi.customers.models import Contact, Customer

DATE = forms.DateInput(attrs={"type": "date"})
CURRENCY_HELP = _("Three-letter code, e.g. CNY, USD.")


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "unit",
            "price",
            "currency",
            "tax_rate",
            "warranty_months",
            "description",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class PriceListForm(forms.ModelForm):
    class Meta:
        model = PriceList
        fields = ["name", "currency", "customer_tier", "valid_from", "valid_until", "is_active"]
        widgets = {"valid_from": DATE, "valid_until": DATE}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end is before the start."))
        return data


class PriceListItemForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("product"), queryset=Product.objects.filter(is_active=True)
    )
    price = forms.DecimalField(
        label=_("price"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Leave empty to remove the product from the list."),
    )


def _contacts_of(customer: Customer) -> Any:
    return Contact.objects.filter(links__customer=customer, deleted_at__isnull=True).order_by(
        "name"
    )


class QuoteForm(forms.ModelForm):
    class Meta:
        model = Quote
        fields = ["title", "contact", "currency", "price_list", "valid_until", "language", "terms"]
        widgets = {"valid_until": DATE, "terms": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"currency": CURRENCY_HELP}

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, forms.ModelChoiceField)
        contact.queryset = _contacts_of(customer)
        price_list = self.fields["price_list"]
        assert isinstance(price_list, forms.ModelChoiceField)
        price_list.queryset = PriceList.objects.filter(is_active=True)
        price_list.help_text = _("Empty: the list for the customer's group is used.")
        self.fields["valid_until"].required = False
        self.fields["valid_until"].help_text = _("Empty: valid for the policy's number of days.")


class LineForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("product"), queryset=Product.objects.none(), required=False
    )
    description = forms.CharField(label=_("description"), max_length=300, required=False)
    quantity = forms.DecimalField(label=_("quantity"), max_digits=12, decimal_places=3)
    unit_price = forms.DecimalField(
        label=_("unit price"), max_digits=14, decimal_places=2, required=False
    )
    discount_percent = forms.DecimalField(
        label=_("discount (%)"), max_digits=5, decimal_places=2, required=False
    )
    tax_rate = forms.DecimalField(
        label=_("tax rate (%)"), max_digits=5, decimal_places=2, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        assert isinstance(product, forms.ModelChoiceField)
        product.queryset = Product.objects.filter(is_active=True).only("sku", "name")

    def line_input(self) -> LineInput:
        data = self.cleaned_data
        return LineInput(
            product=data.get("product"),
            description=data.get("description") or "",
            quantity=data["quantity"],
            unit_price=data.get("unit_price"),
            discount_percent=data.get("discount_percent") or 0,
            tax_rate=data.get("tax_rate"),
            serial_numbers=data.get("serial_numbers") or "",
        )


class OrderLineForm(LineForm):
    serial_numbers = forms.CharField(label=_("serial numbers"), required=False)


class BaseLineFormSet(forms.BaseFormSet):
    """Lines of a quote or order: blank rows are ignored and rows ticked "remove" are left
    out, wherever they are in the table."""

    def _construct_form(self, i: int, **kwargs: Any) -> forms.Form:
        kwargs["empty_permitted"] = True
        kwargs["use_required_attribute"] = False
        return super()._construct_form(i, **kwargs)  # type: ignore[misc]

    def _rows(self) -> list[LineForm]:
        """The filled-in rows not ticked "remove" (after validation)."""
        return [
            form
            for form in self.forms
            if isinstance(form, LineForm)
            and form.has_changed()
            and not getattr(form, "cleaned_data", {}).get("DELETE")
        ]

    def lines(self) -> list[LineInput]:
        """The filled-in rows as service input."""
        return [form.line_input() for form in self._rows()]

    def add_service_errors(self, errors: dict[str, list[str]]) -> list[str]:
        """Put ``lines.<n>.<field>`` errors on the n-th filled row; return the rest."""
        rows = self._rows()
        rest = []
        for key, messages in errors.items():
            parts = key.split(".")
            if parts[0] == "lines" and len(parts) == 3 and int(parts[1]) < len(rows):
                form = rows[int(parts[1])]
                field = parts[2] if parts[2] in form.fields else None
                form.add_error(field, messages)
            else:
                rest.extend(messages)
        return rest


QuoteLineFormSet = formset_factory(LineForm, formset=BaseLineFormSet, extra=2, can_delete=True)
OrderLineFormSet = formset_factory(OrderLineForm, formset=BaseLineFormSet, extra=3, can_delete=True)


def formset_bound(cls: Any, data: Any, *, add_row: bool) -> Any:
    """Bind a line formset; with ``add_row`` one blank row more."""
    if add_row:
        data = data.copy()
        total = int(data.get("lines-TOTAL_FORMS") or 0)
        data["lines-TOTAL_FORMS"] = str(total + 1)
    return cls(data, prefix="lines")


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("note"), max_length=300, required=False, widget=forms.TextInput()
    )


class SendForm(forms.Form):
    to = forms.CharField(
        label=_("send to"),
        required=False,
        help_text=_("E-mail addresses, separated by commas. Empty: only mark the quote sent."),
    )
    message = forms.CharField(
        label=_("message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_to(self) -> list[str]:
        raw = self.cleaned_data.get("to") or ""
        addresses = [a.strip() for a in raw.replace(";", ",").replace("，", ",").split(",")]
        addresses = [a for a in addresses if a]
        validator = forms.EmailField()
        for address in addresses:
            try:
                validator.clean(address)
            except ValidationError:
                raise ValidationError(
                    _("%(address)s is not an e-mail address."), params={"address": address}
                ) from None
        return addresses


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class OrderForm(forms.ModelForm):
    currency = forms.CharField(
        label=_("currency"), max_length=3, initial="CNY", help_text=CURRENCY_HELP
    )

    class Meta:
        model = Order
        fields = ["contact", "ordered_on", "delivery_due", "shipping_address", "notes"]
        widgets = {
            "ordered_on": DATE,
            "delivery_due": DATE,
            "shipping_address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, forms.ModelChoiceField)
        contact.queryset = _contacts_of(customer)
        self.fields["ordered_on"].initial = timezone.localdate


class OrderEditForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ["contact", "delivery_due", "shipping_address", "notes"]
        widgets = {
            "delivery_due": DATE,
            "shipping_address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        assert isinstance(contact, forms.ModelChoiceField)
        contact.queryset = _contacts_of(self.instance.customer)


class FromQuoteForm(forms.Form):
    ordered_on = forms.DateField(label=_("order date"), widget=DATE, initial=timezone.localdate)
    delivery_due = forms.DateField(label=_("delivery due"), widget=DATE, required=False)
    shipping_address = forms.CharField(
        label=_("shipping address"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("new status"), choices=Order.Status.choices)
    on = forms.DateField(
        label=_("date"), widget=DATE, required=False, help_text=_("Delivery date; empty: today.")
    )
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class InvoiceForm(forms.Form):
    amount = forms.DecimalField(label=_("amount due"), max_digits=14, decimal_places=2)
    issued_on = forms.DateField(label=_("issued on"), widget=DATE, initial=timezone.localdate)
    due_on = forms.DateField(label=_("due on"), widget=DATE)
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2)
    paid_on = forms.DateField(label=_("paid on"), widget=DATE, initial=timezone.localdate)
    method = forms.ChoiceField(
        label=pgettext_lazy("payment", "method"),
        choices=Payment.Method.choices,
        initial=Payment.Method.BANK,
    )
    reference = forms.CharField(label=_("reference"), max_length=100, required=False)


class InvoiceCancelForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=300)


class InvoiceFilterForm(forms.Form):
    SHOW = [
        ("open", pgettext_lazy("invoice", "Open")),
        ("overdue", _("Overdue")),
        ("paid", _("Paid")),
        ("all", _("All")),
    ]
    show = forms.ChoiceField(label=_("show"), choices=SHOW, required=False)
    q = forms.CharField(label=_("customer or number"), required=False)


class QuoteFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("status"), choices=[("", _("Any status")), *Quote.Status.choices], required=False
    )
    mine = forms.BooleanField(label=_("only mine"), required=False)
    approval = forms.BooleanField(label=_("waiting for my approval"), required=False)
    q = forms.CharField(label=_("customer or number"), required=False)


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("status"), choices=[("", _("Any status")), *Order.Status.choices], required=False
    )
    q = forms.CharField(label=_("customer or number"), required=False)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = [
            "approval_threshold_percent",
            "max_discount_percent",
            "quote_validity_days",
            "payment_terms_days",
            "reminder_days",
            "remind_customers",
            "seller_name",
            "seller_details",
        ]
        widgets = {"seller_details": forms.Textarea(attrs={"rows": 3})}

    def clean_reminder_days(self) -> str:
        raw = self.cleaned_data.get("reminder_days") or ""
        days = []
        for part in raw.replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                days.append(int(part))
            except ValueError:
                raise ValidationError(
                    _("%(part)s is not a whole number of days."), params={"part": part}
                ) from None
        return ",".join(str(d) for d in sorted(set(days)))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        threshold, maximum = (
            data.get("approval_threshold_percent"),
            data.get("max_discount_percent"),
        )
        if threshold is not None and maximum is not None and threshold > maximum:
            self.add_error(
                "approval_threshold_percent",
                _("The approval threshold cannot be above the highest discount allowed."),
            )
        return data
