"""Pages of the product catalogue, quotes, orders and receivables. Each view parses input,
checks access through access.py, calls a service or selector and renders."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.commerce import access, forms, selectors, services
from guanxi.commerce.models import Invoice, Order, PriceList, PriceListItem, Product, Quote
from guanxi.commerce.pdf import quote_pdf
from guanxi.core.http import HtmxHttpRequest, form_add_errors, request_user
from guanxi.core.pagination import InvalidCursor, Page
from guanxi.customers.access import customer_access_by_id
from guanxi.customers.models import Customer
from guanxi.sales.access import opportunity_access_by_id
from guanxi.users.models import User

PAGE_SIZE = 50


def _need(user: User, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def _list_page(
    request: HtmxHttpRequest,
    template: str,
    fetch: Any,
    keys: list[str],
    context: dict[str, Any],
) -> HttpResponse:
    """A filtered list with "load more" (keyset pages); htmx gets the rows fragment."""
    error = ""
    try:
        page: Page[Any] = fetch(request.GET.get("cursor"))
    except InvalidCursor:
        error = _("That page link has expired; showing the first page.")
        page = fetch(None)
    query = {k: request.GET[k] for k in keys if request.GET.get(k)}
    context |= {
        "page": page,
        "error": error,
        "next_url": "?" + urlencode({**query, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
    }
    if request.htmx and request.GET.get("cursor"):
        template += "#rows"
    elif request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


# --- products and price lists ----------------------------------------------------------------


def product_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.view_product")
    q = request.GET.get("q", "")
    products = selectors.product_list(user=user, q=q)[:200]
    template = "commerce/product_index.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"products": products, "q": q})


def product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    user = request_user(request)
    if product_id is None:
        _need(user, "commerce.add_product")
        product = None
    else:
        product = access.product_access_by_id(user, product_id, "edit")
    form = forms.ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            # The bound form already wrote into ``product``: the service gets the stored
            # row, so that it logs what changed.
            stored = Product.objects.get(pk=product.pk) if product is not None else None
            saved = services.product_save(actor=user, data=form.cleaned_data, product=stored)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Product %s saved.") % saved)
            return redirect("commerce:product-index")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "commerce/product_form.html", {"form": form, "product": product}, status=status
    )


def price_list_index(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.view_pricelist")
    lists = access.price_lists_visible_to(user)
    return render(request, "commerce/price_list_index.html", {"lists": lists})


def price_list_edit(request: HttpRequest, price_list_id: int | None = None) -> HttpResponse:
    """The list's header, and its prices one product at a time."""
    user = request_user(request)
    price_list = None
    if price_list_id is not None:
        price_list = access.price_lists_visible_to(user).filter(pk=price_list_id).first()
        if price_list is None:
            raise Http404("No such price list")
    else:
        _need(user, "commerce.add_pricelist")
    may_change = user.has_perm("commerce.change_pricelist")
    form = forms.PriceListForm(instance=price_list)
    item_form = forms.PriceListItemForm()
    status = 200
    if request.method == "POST":
        if not may_change and price_list is not None:
            raise PermissionDenied
        if "product" in request.POST and price_list is not None:
            item_form = forms.PriceListItemForm(request.POST)
            if item_form.is_valid():
                services.price_list_item_set(
                    actor=user,
                    price_list=price_list,
                    product=item_form.cleaned_data["product"],
                    price=item_form.cleaned_data["price"],
                )
                messages.success(request, _("Price saved."))
                return redirect("commerce:price-list-edit", price_list.pk)
        else:
            form = forms.PriceListForm(request.POST, instance=price_list)
            if form.is_valid():
                try:
                    # The bound form already wrote into ``price_list``: the service gets
                    # the stored row, so that it logs what changed.
                    stored = (
                        PriceList.objects.get(pk=price_list.pk) if price_list is not None else None
                    )
                    saved = services.price_list_save(
                        actor=user, data=form.cleaned_data, price_list=stored
                    )
                except ValidationError as exc:
                    form_add_errors(form, exc)
                else:
                    messages.success(request, _("Price list saved."))
                    return redirect("commerce:price-list-edit", saved.pk)
        status = 422
    items = (
        PriceListItem.objects.filter(price_list=price_list).select_related("product")
        if price_list is not None
        else []
    )
    return render(
        request,
        "commerce/price_list_form.html",
        {
            "form": form,
            "item_form": item_form,
            "price_list": price_list,
            "items": items,
            "may_change": may_change or price_list is None,
        },
        status=status,
    )


# --- quotes ----------------------------------------------------------------------------------


def quote_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.view_quote")
    form = forms.QuoteFilterForm(request.GET)
    form.is_valid()
    data = form.cleaned_data if form.is_valid() else {}

    def fetch(cursor: str | None) -> Page[Quote]:
        return selectors.quote_list(
            user=user,
            status=data.get("status") or "",
            mine=bool(data.get("mine")),
            awaiting_my_approval=bool(data.get("approval")),
            q=data.get("q") or "",
            cursor=cursor,
            limit=PAGE_SIZE,
        )

    return _list_page(
        request,
        "commerce/quote_index.html",
        fetch,
        ["status", "mine", "approval", "q"],
        {"form": form},
    )


def _quote_subject(request: HttpRequest, user: User) -> tuple[Customer, Any]:
    """The customer (and opportunity) a new quote or order is for, from the query."""
    opportunity = None
    raw_opp = request.GET.get("opportunity") or request.POST.get("opportunity")
    raw_customer = request.GET.get("customer") or request.POST.get("customer")
    try:
        if raw_opp:
            opportunity = opportunity_access_by_id(user, int(raw_opp), "edit")
            return opportunity.customer, opportunity
        if raw_customer:
            return customer_access_by_id(user, int(raw_customer)), None
    except ValueError:
        raise Http404("No such customer") from None
    raise Http404(_("Start a quote or order from a customer or an opportunity."))


def _lines_from_quote(quote: Quote) -> dict[str, Any]:
    initial = [
        {
            "product": line.product_id,
            "description": line.description,
            "quantity": services.plain(line.quantity),
            "unit_price": line.unit_price,
            "discount_percent": services.plain(line.discount_percent),
            "tax_rate": services.plain(line.tax_rate),
        }
        for line in quote.lines.all()
    ]
    return {"initial": initial}


def _quote_form_page(
    request: HttpRequest,
    user: User,
    *,
    customer: Customer,
    opportunity: Any,
    quote: Quote | None,
) -> HttpResponse:
    add_row = "add_line" in request.POST
    if request.method == "POST":
        form = forms.QuoteForm(request.POST, instance=quote, customer=customer)
        lines = forms.formset_bound(forms.QuoteLineFormSet, request.POST, add_row=add_row)
        if not add_row and form.is_valid() and lines.is_valid():
            data = {f: form.cleaned_data.get(f) for f in services.QUOTE_FIELDS}
            try:
                if quote is None:
                    saved = services.quote_create(
                        actor=user,
                        customer=customer,
                        opportunity=opportunity,
                        lines=lines.lines(),
                        data=data,
                    )
                else:
                    saved = services.quote_update(
                        actor=user, quote=quote, lines=lines.lines(), data=data
                    )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    rest = lines.add_service_errors(exc.message_dict)
                    header = {k: v for k, v in exc.message_dict.items() if k in form.fields}
                    for key, errors in header.items():
                        form.add_error(key, errors)
                    shown = {m for messages_ in header.values() for m in messages_}
                    for message in rest:
                        if message not in shown:
                            form.add_error(None, message)
                else:
                    form.add_error(None, exc)
            else:
                messages.success(request, _("Quote %s saved.") % saved)
                return redirect("commerce:quote-detail", saved.pk)
        status = 200 if add_row else 422
    else:
        initial = (
            {"currency": opportunity.currency, "title": opportunity.name}
            if opportunity is not None
            else {"currency": "CNY"}
        )
        form = forms.QuoteForm(instance=quote, customer=customer, initial=initial)
        lines = forms.QuoteLineFormSet(
            prefix="lines", **(_lines_from_quote(quote) if quote is not None else {})
        )
        status = 200
    return render(
        request,
        "commerce/quote_form.html",
        {
            "form": form,
            "lines": lines,
            "customer": customer,
            "opportunity": opportunity,
            "quote": quote,
            "policy": services.policy_get(),
        },
        status=status,
    )


def quote_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.add_quote")
    customer, opportunity = _quote_subject(request, user)
    return _quote_form_page(request, user, customer=customer, opportunity=opportunity, quote=None)


def quote_edit(request: HttpRequest, quote_id: int) -> HttpResponse:
    user = request_user(request)
    quote = access.quote_access_by_id(user, quote_id, "edit")
    if not quote.is_editable:
        messages.warning(request, _("Only a draft quote can be changed; make a new version."))
        return redirect("commerce:quote-detail", quote.pk)
    return _quote_form_page(
        request, user, customer=quote.customer, opportunity=quote.opportunity, quote=quote
    )


def _quote_page(
    request: HttpRequest, user: User, quote: Quote, status: int = 200, **forms_: Any
) -> HttpResponse:
    may = selectors.quote_may(user, quote)
    contact_email = quote.contact.email if quote.contact is not None else ""
    context = {
        "quote": quote,
        "lines": quote.lines.select_related("product"),
        "versions": selectors.quote_versions(quote),
        "may": may,
        "needs_approval": services.quote_needs_approval(quote),
        "expired": services.quote_is_expired(quote),
        "decision_form": forms_.get("decision_form") or forms.DecisionForm(),
        "send_form": forms_.get("send_form")
        or forms.SendForm(initial={"to": contact_email or quote.customer.email}),
        "decline_form": forms_.get("decline_form") or forms.DeclineForm(),
        "order": Order.objects.filter(quote=quote).first(),
        "errors": forms_.get("errors", []),
    }
    return render(request, "commerce/quote_detail.html", context, status=status)


def quote_detail(request: HttpRequest, quote_id: int) -> HttpResponse:
    user = request_user(request)
    return _quote_page(request, user, access.quote_access_by_id(user, quote_id))


def quote_pdf_view(request: HttpRequest, quote_id: int) -> HttpResponse:
    user = request_user(request)
    quote = access.quote_access_by_id(user, quote_id)
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = (
        f'{disposition}; filename="{quote.number}-v{quote.version}.pdf"'
    )
    return response


QUOTE_ACTIONS = {"submit", "approve", "reject", "send", "accept", "decline", "revise"}


@require_POST
def quote_act(request: HttpRequest, quote_id: int, action: str) -> HttpResponse:
    """Submit, approve, reject, send, accept, decline or revise a quote."""
    if action not in QUOTE_ACTIONS:
        raise Http404("No such action")
    user = request_user(request)
    quote = access.quote_access_by_id(
        user, quote_id, "approve" if action in ("approve", "reject") else "edit"
    )
    page_forms: dict[str, Any] = {}
    try:
        if action == "submit":
            services.quote_submit(actor=user, quote=quote)
            done = _("Submitted for approval; the approvers have been notified.")
        elif action in ("approve", "reject"):
            form: Form = forms.DecisionForm(request.POST)
            page_forms["decision_form"] = form
            if not form.is_valid():
                return _quote_page(request, user, quote, 422, **page_forms)
            note = form.cleaned_data["note"]
            if action == "approve":
                services.quote_approve(actor=user, quote=quote, note=note)
                done = _("Discount approved.")
            else:
                services.quote_reject(actor=user, quote=quote, note=note)
                done = _("Discount rejected.")
        elif action == "send":
            form = forms.SendForm(request.POST)
            page_forms["send_form"] = form
            if not form.is_valid():
                return _quote_page(request, user, quote, 422, **page_forms)
            services.quote_send(
                actor=user,
                quote=quote,
                to=form.cleaned_data["to"],
                message=form.cleaned_data["message"],
            )
            done = (
                _("Quote e-mailed to %s.") % ", ".join(form.cleaned_data["to"])
                if form.cleaned_data["to"]
                else _("Quote marked as sent.")
            )
        elif action == "accept":
            services.quote_accept(actor=user, quote=quote)
            done = _("Quote accepted by the customer.")
        elif action == "decline":
            form = forms.DeclineForm(request.POST)
            page_forms["decline_form"] = form
            form.is_valid()
            services.quote_decline(
                actor=user, quote=quote, reason=form.cleaned_data.get("reason", "")
            )
            done = _("Quote declined by the customer.")
        else:
            new = services.quote_revise(actor=user, quote=quote)
            messages.success(request, _("Version %d created; edit it.") % new.version)
            return redirect("commerce:quote-edit", new.pk)
    except ValidationError as exc:
        # Field errors go on the form that was posted; the rest above the page, since the
        # form's box may not show in the quote's state.
        target = page_forms.get("decision_form") or page_forms.get("send_form")
        fields = target.fields if target is not None else {}
        if target is not None and hasattr(exc, "error_dict") and set(exc.error_dict) <= set(fields):
            form_add_errors(target, exc)
            return _quote_page(request, user, quote, 422, **page_forms)
        return _quote_page(request, user, quote, 422, errors=exc.messages, **page_forms)
    messages.success(request, done)
    return redirect("commerce:quote-detail", quote.pk)


# --- orders ----------------------------------------------------------------------------------


def order_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.view_order")
    form = forms.OrderFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}

    def fetch(cursor: str | None) -> Page[Order]:
        return selectors.order_list(
            user=user,
            status=data.get("status") or "",
            q=data.get("q") or "",
            cursor=cursor,
            limit=PAGE_SIZE,
        )

    return _list_page(request, "commerce/order_index.html", fetch, ["status", "q"], {"form": form})


def order_new(request: HttpRequest) -> HttpResponse:
    """An order entered directly for a customer."""
    user = request_user(request)
    _need(user, "commerce.add_order")
    customer, opportunity = _quote_subject(request, user)
    add_row = "add_line" in request.POST
    if request.method == "POST":
        form = forms.OrderForm(request.POST, customer=customer)
        lines = forms.formset_bound(forms.OrderLineFormSet, request.POST, add_row=add_row)
        if not add_row and form.is_valid() and lines.is_valid():
            data = dict(form.cleaned_data)
            try:
                order = services.order_create(
                    actor=user,
                    customer=customer,
                    opportunity=opportunity,
                    lines=lines.lines(),
                    data=data,
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for message in lines.add_service_errors(exc.message_dict):
                        form.add_error(None, message)
                else:
                    form.add_error(None, exc)
            else:
                messages.success(request, _("Order %s created.") % order)
                return redirect("commerce:order-detail", order.pk)
        status = 200 if add_row else 422
    else:
        form = forms.OrderForm(customer=customer)
        lines = forms.OrderLineFormSet(prefix="lines")
        status = 200
    return render(
        request,
        "commerce/order_form.html",
        {"form": form, "lines": lines, "customer": customer, "opportunity": opportunity},
        status=status,
    )


def order_from_quote_view(request: HttpRequest, quote_id: int) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.add_order")
    quote = access.quote_access_by_id(user, quote_id, "edit")
    form = forms.FromQuoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_from_quote(actor=user, quote=quote, data=form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Order %s created.") % order)
            return redirect("commerce:order-detail", order.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request, "commerce/order_from_quote.html", {"form": form, "quote": quote}, status=status
    )


def _order_page(
    request: HttpRequest, user: User, order: Order, status: int = 200, **forms_: Any
) -> HttpResponse:
    may_edit = access.order_can(user, order, "edit")
    invoices = list(order.invoices.all())
    invoiced = sum((i.amount for i in invoices if i.status != Invoice.Status.CANCELLED), start=0)
    context = {
        "order": order,
        "lines": order.lines.select_related("product").prefetch_related("warranties"),
        "invoices": invoices,
        "uninvoiced": order.total - invoiced,
        "may_edit": may_edit,
        "may_invoice": may_edit and user.has_perm("commerce.add_invoice"),
        "next_statuses": [(s, Order.Status(s).label) for s in services.ORDER_FLOW[order.status]],
        "status_form": forms_.get("status_form") or forms.StatusForm(),
        "invoice_form": forms_.get("invoice_form") or forms.InvoiceForm(),
        "late": services.order_dates_overdue(order),
    }
    return render(request, "commerce/order_detail.html", context, status=status)


def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    user = request_user(request)
    return _order_page(request, user, access.order_access_by_id(user, order_id))


def order_edit(request: HttpRequest, order_id: int) -> HttpResponse:
    """Delivery details, notes and serial numbers."""
    user = request_user(request)
    order = access.order_access_by_id(user, order_id, "edit")
    form = forms.OrderEditForm(request.POST or None, instance=order)
    lines = list(order.lines.all())
    if request.method == "POST" and form.is_valid():
        serials = {
            line.pk: request.POST.get(f"serials-{line.pk}", line.serial_numbers) for line in lines
        }
        try:
            services.order_update(actor=user, order=order, data=form.cleaned_data, serials=serials)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Order saved."))
            return redirect("commerce:order-detail", order.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "commerce/order_edit.html",
        {"form": form, "order": order, "lines": lines},
        status=status,
    )


@require_POST
def order_status(request: HttpRequest, order_id: int) -> HttpResponse:
    user = request_user(request)
    order = access.order_access_by_id(user, order_id, "edit")
    form = forms.StatusForm(request.POST)
    if form.is_valid():
        try:
            services.order_set_status(
                actor=user,
                order=order,
                status=form.cleaned_data["status"],
                on=form.cleaned_data["on"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Order is now %s.") % order.get_status_display())
            return redirect("commerce:order-detail", order.pk)
    return _order_page(request, user, order, 422, status_form=form)


@require_POST
def invoice_new(request: HttpRequest, order_id: int) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.add_invoice")
    order = access.order_access_by_id(user, order_id, "edit")
    form = forms.InvoiceForm(request.POST)
    if form.is_valid():
        try:
            invoice = services.invoice_create(actor=user, order=order, **form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Receivable %s added.") % invoice)
            return redirect("commerce:order-detail", order.pk)
    return _order_page(request, user, order, 422, invoice_form=form)


# --- receivables -----------------------------------------------------------------------------


def invoice_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.view_invoice")
    form = forms.InvoiceFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    show = data.get("show") or ("overdue" if request.GET.get("overdue") else "open")

    def fetch(cursor: str | None) -> Page[Invoice]:
        return selectors.invoice_list(
            user=user, show=show, q=data.get("q") or "", cursor=cursor, limit=PAGE_SIZE
        )

    return _list_page(
        request,
        "commerce/invoice_index.html",
        fetch,
        ["show", "q"],
        {
            "form": form,
            "show": show,
            "summary": selectors.receivables_summary(user=user),
            "today": timezone.localdate(),
        },
    )


def _invoice_page(
    request: HttpRequest, user: User, invoice: Invoice, status: int = 200, **forms_: Any
) -> HttpResponse:
    may_pay = access.invoices_actionable_by(user, "pay").filter(pk=invoice.pk).exists()
    context = {
        "invoice": invoice,
        "payments": invoice.payments.select_related("recorded_by"),
        "reminders": invoice.reminders.all(),
        "may_pay": may_pay and invoice.status in selectors.OPEN_INVOICE,
        "may_cancel": access.invoices_actionable_by(user, "edit").filter(pk=invoice.pk).exists()
        and invoice.status == Invoice.Status.OPEN
        and invoice.paid_amount == 0,
        "payment_form": forms_.get("payment_form")
        or forms.PaymentForm(initial={"amount": invoice.outstanding}),
        "cancel_form": forms_.get("cancel_form") or forms.InvoiceCancelForm(),
        "today": timezone.localdate(),
    }
    return render(request, "commerce/invoice_detail.html", context, status=status)


def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = request_user(request)
    return _invoice_page(request, user, access.invoice_access_by_id(user, invoice_id))


@require_POST
def payment_new(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = request_user(request)
    invoice = access.invoice_access_by_id(user, invoice_id, "pay")
    form = forms.PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.payment_record(actor=user, invoice=invoice, **form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect("commerce:invoice-detail", invoice.pk)
    return _invoice_page(request, user, invoice, 422, payment_form=form)


@require_POST
def invoice_cancel_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = request_user(request)
    invoice = access.invoice_access_by_id(user, invoice_id, "edit")
    form = forms.InvoiceCancelForm(request.POST)
    if form.is_valid():
        try:
            services.invoice_cancel(actor=user, invoice=invoice, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Receivable cancelled."))
            return redirect("commerce:invoice-detail", invoice.pk)
    return _invoice_page(request, user, invoice, 422, cancel_form=form)


def policy_edit(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _need(user, "commerce.change_policy")
    form = forms.PolicyForm(request.POST or None, instance=services.policy_get())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Policy saved."))
        return redirect("commerce:policy-edit")
    status = 422 if request.method == "POST" else 200
    return render(request, "commerce/policy_form.html", {"form": form}, status=status)
