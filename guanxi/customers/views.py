"""Customer and contact pages. Each view parses input, checks access through access.py,
calls a service or selector and renders; htmx requests get the page's fragment."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from guanxi.activities.selectors import timeline_for_customer
from guanxi.core.http import HtmxHttpRequest, form_add_errors, request_user
from guanxi.core.pagination import InvalidCursor
from guanxi.customers import access, services
from guanxi.customers.forms import (
    AddressForm,
    AttachmentForm,
    BulkActionForm,
    ContactForm,
    CustomerFilterForm,
    CustomerForm,
    MergeForm,
    NoteForm,
)
from guanxi.customers.models import (
    Address,
    Attachment,
    Contact,
    ContactLink,
    Customer,
    RecentView,
    SavedView,
)
from guanxi.customers.search import search_filter, search_ranked
from guanxi.customers.selectors import (
    contact_links_visible,
    contact_list,
    customer_detail,
    customer_list,
)
from guanxi.users.models import User

PAGE_SIZE = 50
FILTER_KEYS = [
    "q",
    "owner",
    "team",
    "kind",
    "tier",
    "status",
    "industry",
    "channel",
    "tag",
    "province",
    "city",
    "sort",
]


def _redirect_back(request: HttpRequest, back: str) -> HttpResponse:
    """Redirect to ``back`` if it is a page of this site, else to the customer list."""
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("customers:customer-index")


# --- list -----------------------------------------------------------------------------


def customer_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    form = CustomerFilterForm(request.GET, user=user)
    error = ""
    if not form.is_valid():
        error = _("Some filters are invalid; they were ignored.")
        form = CustomerFilterForm({}, user=user)
        form.is_valid()
    filters = form.to_filters()
    try:
        page = customer_list(
            user=user, filters=filters, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except InvalidCursor:
        error = _("That page link has expired; showing the first page.")
        page = customer_list(user=user, filters=filters, limit=PAGE_SIZE)
    query = {k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k)}
    context = {
        "form": form,
        "page": page,
        "error": error,
        "query": urlencode(query),
        "next_url": "?" + urlencode({**query, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
        "saved_views": SavedView.objects.filter(user=user),
        "bulk_form": BulkActionForm(),
        "can_reassign": user.has_perm("customers.reassign_customer"),
        "can_export": user.has_perm("customers.export_customer"),
        "can_delete": user.has_perm("customers.delete_customer"),
    }
    template = "customers/customer_index.html"
    if request.htmx and request.GET.get("cursor"):
        return render(request, template + "#rows", context)
    if request.htmx and request.htmx.target == "customer-results":
        return render(request, template + "#results", context)
    return render(request, template, context)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The global search box: best customer and contact matches, scoped by access."""
    user = request_user(request)
    q = request.GET.get("q", "")
    customers = (
        list(search_ranked(access.customers_visible_to(user), q)[:8]) if len(q.strip()) >= 2 else []
    )
    contacts = list(contact_list(user=user, q=q, limit=5).items) if len(q.strip()) >= 2 else []
    return render(
        request,
        "customers/search_results.html",
        {"customers": customers, "contacts": contacts, "q": q},
    )


@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk actions on the selected rows; rows outside the user's reach are skipped and said."""
    user = request_user(request)
    form = BulkActionForm(request.POST)
    back = request.POST.get("back", "")
    if not form.is_valid():
        for error in (
            form.errors.get("__all__", [])
            + form.errors.get("owner", [])
            + form.errors.get("tag", [])
            + form.errors.get("action", [])
        ):
            messages.error(request, str(error))
        return _redirect_back(request, back)
    action = form.cleaned_data["action"]
    ids = form.selected_ids
    perm_action = {"assign": "reassign", "tag": "edit", "untag": "edit", "delete": "delete"}
    allowed = access.customers_actionable_by(user, perm_action[action]).filter(pk__in=ids)
    allowed_ids = list(allowed.values_list("pk", flat=True))
    skipped = len(set(ids)) - len(allowed_ids)
    if action == "assign":
        done = services.customers_reassign(
            actor=user, customers=allowed, new_owner=form.cleaned_data["owner"]
        )
        messages.success(
            request,
            ngettext(
                "%(count)d customer was assigned to %(owner)s.",
                "%(count)d customers were assigned to %(owner)s.",
                done,
            )
            % {"count": done, "owner": form.cleaned_data["owner"]},
        )
    elif action in {"tag", "untag"}:
        tag = form.cleaned_data["tag"]
        for customer in allowed.prefetch_related("tags"):
            tags = set(customer.tags.all())
            tags = tags | {tag} if action == "tag" else tags - {tag}
            services.customer_update(actor=user, customer=customer, data={}, tags=tags)
        messages.success(
            request,
            ngettext(
                "Tags updated on %(count)d customer.",
                "Tags updated on %(count)d customers.",
                len(allowed_ids),
            )
            % {"count": len(allowed_ids)},
        )
    elif action == "delete":
        for customer in allowed:
            services.customer_delete(actor=user, customer=customer)
        messages.success(
            request,
            ngettext(
                "%(count)d customer was moved to the trash.",
                "%(count)d customers were moved to the trash.",
                len(allowed_ids),
            )
            % {"count": len(allowed_ids)},
        )
    if skipped:
        messages.warning(
            request,
            ngettext(
                "%(count)d selected customer was skipped: you may not do that to it.",
                "%(count)d selected customers were skipped: you may not do that to them.",
                skipped,
            )
            % {"count": skipped},
        )
    return _redirect_back(request, back)


@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    name = request.POST.get("name", "").strip()[:60]
    query = request.POST.get("query", "")[:1000]
    if not name:
        messages.error(request, _("Give the view a name."))
    else:
        SavedView.objects.update_or_create(user=user, name=name, defaults={"query": query})
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return redirect(f"{request.path.rsplit('/views/', 1)[0]}/?{query}")


@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    SavedView.objects.filter(user=request_user(request), pk=view_id).delete()
    return redirect("customers:customer-index")


# --- detail ---------------------------------------------------------------------------


def customer_detail_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = customer_detail(user=user, customer_id=customer_id)
    if customer is None:
        raise Http404("No such customer")
    can = access.customer_permissions(user, customer)
    RecentView.objects.bulk_create(
        [RecentView(user=user, customer=customer)],
        update_conflicts=True,
        unique_fields=["user", "customer"],
        update_fields=["viewed_at"],
    )
    duplicates = _visible_duplicates(
        user,
        services.duplicates_find(
            name=customer.name,
            city=customer.city,
            phone=customer.phone,
            mobile=customer.mobile,
            email=customer.email,
            uscc=customer.uscc,
            exclude_id=customer.pk,
            limit=5,
        ),
    )
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "timeline": timeline_for_customer(customer_id=customer.pk)[:100],
            "notes": customer.notes_set.select_related("author")[:50],
            "attachments": customer.attachments.select_related("uploaded_by"),
            "note_form": NoteForm(),
            "attachment_form": AttachmentForm(),
            "can_edit": can["edit"],
            "can_delete": can["delete"],
            "can_merge": can["merge"],
            "can_note": can["note"],
            "can_attach": can["attach"],
            "duplicates": [(c, reasons) for c, reasons, visible in duplicates if visible],
        },
    )


def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = access.customer_access_by_id(request_user(request), customer_id)
    return render(
        request,
        "customers/customer_detail.html#timeline",
        {"customer": customer, "timeline": timeline_for_customer(customer_id=customer.pk)[:100]},
    )


# --- create and edit ------------------------------------------------------------------


def _visible_duplicates(
    user: User, found: list[tuple[Customer, list[str]]]
) -> list[tuple[Customer, list[str], bool]]:
    """Mark which duplicates the user may open (the others show name and owner only)."""
    visible = set(
        access.customers_visible_to(user)
        .filter(pk__in=[c.pk for c, _r in found])
        .values_list("pk", flat=True)
    )
    return [(c, reasons, c.pk in visible) for c, reasons in found]


def _duplicates_for_form(user: User, form: CustomerForm, exclude_id: int | None):
    data = form.cleaned_data
    found = services.duplicates_find(
        name=data.get("name", ""),
        city=data.get("city", ""),
        phone=data.get("phone", ""),
        mobile=data.get("mobile", ""),
        email=data.get("email", ""),
        uscc=data.get("uscc", ""),
        exclude_id=exclude_id,
    )
    return _visible_duplicates(user, found)


def customer_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("customers.add_customer"):
        raise PermissionDenied
    can_reassign = user.has_perm("customers.reassign_customer")
    form = CustomerForm(request.POST or None, can_reassign=can_reassign, initial={"owner": user.pk})
    duplicates = []
    if request.method == "POST" and form.is_valid():
        duplicates = _duplicates_for_form(user, form, None)
        if not duplicates or form.cleaned_data["allow_duplicate"]:
            try:
                customer = services.customer_create(
                    actor=user, data=form.service_data(), tags=form.cleaned_data["tags"]
                )
            except ValidationError as exc:
                form_add_errors(form, exc)
            else:
                messages.success(
                    request, _("Customer “%(name)s” created.") % {"name": customer.name}
                )
                return redirect("customers:customer-detail", customer.pk)
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "duplicates": duplicates, "creating": True},
    )


def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "edit")
    can_reassign = access.customer_can(user, customer, "reassign")
    form = CustomerForm(request.POST or None, instance=customer, can_reassign=can_reassign)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        duplicates = _duplicates_for_form(user, form, customer.pk)
        if not duplicates or form.cleaned_data["allow_duplicate"]:
            fresh = Customer.objects.get(pk=customer.pk)
            try:
                services.customer_update(
                    actor=user,
                    customer=fresh,
                    data=form.service_data(),
                    tags=form.cleaned_data["tags"],
                )
            except ValidationError as exc:
                form_add_errors(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("customers:customer-detail", customer.pk)
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "duplicates": duplicates, "customer": customer},
    )


@require_GET
def duplicate_check(request: HttpRequest) -> HttpResponse:
    """Live duplicate hint while typing (htmx), for users who create or edit customers."""
    user = request_user(request)
    if not (user.has_perm("customers.add_customer") or user.has_perm("customers.change_customer")):
        raise PermissionDenied
    exclude = request.GET.get("exclude")
    found = services.duplicates_find(
        name=request.GET.get("name", "")[:200],
        city=request.GET.get("city", "")[:32],
        phone=request.GET.get("phone", "")[:30],
        mobile=request.GET.get("mobile", "")[:30],
        email=request.GET.get("email", "")[:254],
        uscc=request.GET.get("uscc", "")[:18],
        exclude_id=int(exclude) if exclude and exclude.isascii() and exclude.isdigit() else None,
    )
    return render(
        request,
        "customers/customer_form.html#duplicates",
        {"duplicates": _visible_duplicates(user, found), "live": True},
    )


# --- delete, restore, purge, merge ---------------------------------------------------


@require_POST
def customer_delete(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "delete")
    services.customer_delete(actor=user, customer=customer)
    messages.success(request, _("“%(name)s” was moved to the trash.") % {"name": customer.name})
    return redirect("customers:customer-index")


def customer_pool(request: HttpRequest) -> HttpResponse:
    """Live customers nobody owns (公海), newest first; contact details once claimed."""
    user = request_user(request)
    if not user.has_perm("customers.change_customer"):
        raise PermissionDenied
    pool = access.customers_in_pool(user).select_related("channel")
    q = request.GET.get("q", "")[:100]
    province = request.GET.get("province", "")[:32]
    if q:
        pool = search_filter(pool, q)
    if province:
        pool = pool.filter(province=province)
    return render(
        request,
        "customers/customer_pool.html",
        {"customers": pool.order_by("-created_at", "-id")[:200], "q": q, "province": province},
    )


@require_POST
def customer_claim(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customers_in_pool(user).filter(pk=pk).first()
    if customer is None:
        messages.error(request, _("Someone else has claimed this customer, or it was deleted."))
        return redirect("customers:customer-pool")
    try:
        services.customer_claim(actor=user, customer=customer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customers:customer-pool")
    messages.success(request, _("The customer is yours now."))
    return redirect("customers:customer-detail", customer.pk)


def customer_trash(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("customers.delete_customer"):
        raise PermissionDenied
    deleted = (
        access.customers_actionable_by(user, "restore")
        .filter(deleted_at__isnull=False)
        .select_related("owner", "deleted_by")
        .order_by("-deleted_at")[:200]
    )
    return render(
        request,
        "customers/customer_trash.html",
        {"customers": deleted, "can_purge": user.has_perm("customers.purge_customer")},
    )


@require_POST
def customer_restore(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "restore", include_deleted=True)
    services.customer_restore(actor=user, customer=customer)
    messages.success(request, _("“%(name)s” was restored.") % {"name": customer.name})
    return redirect("customers:customer-detail", customer.pk)


@require_POST
def customer_purge(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "purge", include_deleted=True)
    try:
        services.customer_purge(actor=user, customer=customer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customers:customer-detail", customer.pk)
    messages.success(request, _("“%(name)s” was purged for good.") % {"name": customer.name})
    return redirect("customers:customer-trash")


def customer_merge(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Merge another customer (the duplicate) into this one, after a side-by-side check."""
    user = request_user(request)
    target = access.customer_access_by_id(user, customer_id, "merge")
    form = MergeForm(request.POST or request.GET or None)
    source = None
    if form.is_bound and form.is_valid():
        source = (
            access.customers_actionable_by(user, "merge")
            .filter(pk=form.cleaned_data["source"])
            .first()
        )
        if source is None or source.pk == target.pk:
            form.add_error("source", _("Choose another customer that you may change."))
            source = None
        elif request.method == "POST" and request.POST.get("confirm") == "1":
            try:
                services.customer_merge(actor=user, target=target, source=source)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("customers:customer-detail", target.pk)
            messages.success(
                request,
                _("“%(source)s” was merged into “%(target)s”.")
                % {"source": source.name, "target": target.name},
            )
            return redirect("customers:customer-detail", target.pk)
    fields = [
        "name",
        "kind",
        "owner",
        "tier",
        "status",
        "phone",
        "mobile",
        "email",
        "uscc",
        "province",
        "city",
        "industry",
        "website",
    ]
    rows = [
        (
            getattr(Customer._meta.get_field(f), "verbose_name", f),
            getattr(target, f),
            getattr(source, f) if source else "",
        )
        for f in fields
    ]
    return render(
        request,
        "customers/customer_merge.html",
        {"target": target, "source": source, "form": form, "rows": rows},
    )


# --- notes, attachments, addresses ----------------------------------------------------


@require_POST
def note_create(request: HtmxHttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "note")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.note_create(actor=user, customer=customer, body=form.cleaned_data["body"])
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            form = NoteForm()
    notes = customer.notes_set.select_related("author")[:50]
    context = {"customer": customer, "notes": notes, "note_form": form, "can_note": True}
    if request.htmx:
        return render(request, "customers/customer_detail.html#notes", context)
    if form.errors:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("customers:customer-detail", customer.pk)


@require_POST
def attachment_upload(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "attach")
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file to upload."))
    else:
        try:
            services.attachment_add(actor=user, customer=customer, upload=form.cleaned_data["file"])
            messages.success(request, _("File uploaded."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("customers:customer-detail", customer.pk)


def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = get_object_or_404(Attachment, pk=attachment_id)
    access.customer_access_by_id(request_user(request), attachment.customer_id)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)


def address_edit(
    request: HttpRequest, customer_id: int, address_id: int | None = None
) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "edit")
    address = (
        get_object_or_404(Address, pk=address_id, customer=customer)
        if address_id
        else Address(customer=customer)
    )
    form = AddressForm(request.POST or None, instance=address, prefix="address")
    if request.method == "POST" and form.is_valid():
        try:
            services.address_save(actor=user, customer=customer, address=form.save(commit=False))
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Address saved."))
            return redirect("customers:customer-detail", customer.pk)
    return render(
        request,
        "customers/address_form.html",
        {"form": form, "customer": customer, "address": address},
    )


@require_POST
def address_delete(request: HttpRequest, customer_id: int, address_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "edit")
    address = get_object_or_404(Address, pk=address_id, customer=customer)
    services.address_delete(actor=user, address=address)
    return redirect("customers:customer-detail", customer.pk)


# --- contacts -------------------------------------------------------------------------


def contact_index(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    q = request.GET.get("q", "")[:100]
    try:
        page = contact_list(user=user, q=q, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except InvalidCursor:
        page = contact_list(user=user, q=q, limit=PAGE_SIZE)
    next_url = "?" + urlencode({"q": q, "cursor": page.next_cursor}) if page.next_cursor else ""
    return render(
        request, "customers/contact_index.html", {"page": page, "q": q, "next_url": next_url}
    )


def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = request_user(request)
    contact = access.contact_access_by_id(user, contact_id)
    return render(
        request,
        "customers/contact_detail.html",
        {
            "contact": contact,
            "links": contact_links_visible(user=user, contact=contact),
            "can_edit": access.contacts_editable_by(user).filter(pk=contact.pk).exists(),
            "can_delete": user.has_perm("customers.delete_contact")
            and access.contacts_editable_by(user).filter(pk=contact.pk).exists(),
        },
    )


def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "edit")
    if not user.has_perm("customers.add_contact"):
        raise PermissionDenied
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = services.contact_create(
                actor=user,
                customer=customer,
                data={
                    k: v for k, v in data.items() if k not in {"title", "department", "is_primary"}
                },
                title=data["title"],
                department=data["department"],
                is_primary=data["is_primary"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
            return redirect("customers:customer-detail", customer.pk)
    return render(request, "customers/contact_form.html", {"form": form, "customer": customer})


def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = request_user(request)
    contact = access.contact_access_by_id(user, contact_id, "edit")
    form = ContactForm(request.POST or None, instance=contact, with_role=False)
    if request.method == "POST" and form.is_valid():
        try:
            # The form has already written the new values onto its instance; the service
            # needs the stored contact to record old → new.
            stored = Contact.objects.get(pk=contact.pk)
            services.contact_update(actor=user, contact=stored, data=form.cleaned_data)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customers:contact-detail", contact.pk)
    return render(request, "customers/contact_form.html", {"form": form, "contact": contact})


@require_POST
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = request_user(request)
    contact = access.contact_access_by_id(user, contact_id, "delete")
    services.contact_delete(actor=user, contact=contact)
    messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
    return redirect("customers:contact-index")


@require_POST
def contact_unlink(request: HttpRequest, customer_id: int, contact_id: int) -> HttpResponse:
    user = request_user(request)
    customer = access.customer_access_by_id(user, customer_id, "edit")
    link = get_object_or_404(
        ContactLink.objects.select_related("contact"), customer=customer, contact_id=contact_id
    )
    services.contact_unlink(actor=user, contact=link.contact, customer=customer)
    return redirect("customers:customer-detail", customer.pk)
