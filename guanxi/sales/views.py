"""Lead and opportunity pages. Each view parses input, checks access through access.py,
calls a service or selector and renders; htmx requests get the page's fragment."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from guanxi.core.http import HtmxHttpRequest, form_add_errors, request_user
from guanxi.core.pagination import InvalidCursor
from guanxi.customers.access import customers_visible_to
from guanxi.customers.models import Customer
from guanxi.customers.search import search_ranked
from guanxi.sales import access, services
from guanxi.sales.forms import (
    AssignForm,
    BulkActionForm,
    CloseForm,
    ConvertForm,
    DisqualifyForm,
    LeadFilterForm,
    LeadForm,
    MoveForm,
    OpportunityAssignForm,
    OpportunityFilterForm,
    OpportunityForm,
)
from guanxi.sales.models import Lead, Opportunity, Stage
from guanxi.sales.selectors import (
    forecast,
    kanban_board,
    lead_list,
    lead_search_filter,
    lead_timeline,
    opportunity_list,
    opportunity_stage_history,
    opportunity_timeline_entries,
)
from guanxi.users.models import User

PAGE_SIZE = 50
FILTER_KEYS = ["q", "status", "intent", "owner", "channel", "source", "province", "city", "sort"]


def _still_visible(user: User, lead: Lead) -> bool:
    """After an assignment the actor may have handed the lead out of their own reach."""
    return access.leads_visible_to(user).filter(pk=lead.pk).exists()


def _to_lead_or_index(user: User, lead: Lead) -> HttpResponse:
    if _still_visible(user, lead):
        return redirect("sales:lead-detail", lead.pk)
    return redirect("sales:lead-index")


def _redirect_back(request: HttpRequest, back: str) -> HttpResponse:
    """Redirect to ``back`` if it is a page of this site, else to the lead list."""
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("sales:lead-index")


# --- list -----------------------------------------------------------------------------


def lead_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    form = LeadFilterForm(request.GET, user=user)
    error = ""
    if not form.is_valid():
        error = _("Some filters are invalid; they were ignored.")
        form = LeadFilterForm({}, user=user)
        form.is_valid()
    filters = form.to_filters()
    try:
        page = lead_list(
            user=user, filters=filters, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except InvalidCursor:
        error = _("That page link has expired; showing the first page.")
        page = lead_list(user=user, filters=filters, limit=PAGE_SIZE)
    query = {k: request.GET[k] for k in FILTER_KEYS if request.GET.get(k)}
    can_assign = user.has_perm("sales.assign_lead")
    can_delete = user.has_perm("sales.delete_lead")
    context = {
        "form": form,
        "page": page,
        "error": error,
        "query": urlencode(query),
        "next_url": "?" + urlencode({**query, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
        "bulk_form": BulkActionForm() if can_assign or can_delete else None,
        "can_assign": can_assign,
        "can_delete": can_delete,
    }
    template = "sales/lead_index.html"
    if request.htmx and request.GET.get("cursor"):
        return render(request, template + "#rows", context)
    if request.htmx and request.htmx.target == "lead-results":
        return render(request, template + "#results", context)
    return render(request, template, context)


@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk actions on the selected rows; rows outside the user's reach are skipped and said."""
    user = request_user(request)
    form = BulkActionForm(request.POST)
    back = request.POST.get("back", "")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return _redirect_back(request, back)
    action = form.cleaned_data["action"]
    ids = form.selected_ids
    allowed = list(
        access.leads_actionable_by(user, action).filter(pk__in=ids).select_related("owner")
    )
    skipped = len(set(ids)) - len(allowed)
    if action == "assign":
        owner = form.cleaned_data["owner"]
        try:
            done = services.leads_assign(actor=user, leads=allowed, owner=owner)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return _redirect_back(request, back)
        messages.success(
            request,
            ngettext(
                "%(count)d lead was assigned to %(owner)s.",
                "%(count)d leads were assigned to %(owner)s.",
                done,
            )
            % {"count": done, "owner": owner},
        )
    else:
        for lead in allowed:
            services.lead_delete(actor=user, lead=lead)
        messages.success(
            request,
            ngettext(
                "%(count)d lead was moved to the trash.",
                "%(count)d leads were moved to the trash.",
                len(allowed),
            )
            % {"count": len(allowed)},
        )
    if skipped:
        messages.warning(
            request,
            ngettext(
                "%(count)d selected lead was skipped: you may not do that to it.",
                "%(count)d selected leads were skipped: you may not do that to them.",
                skipped,
            )
            % {"count": skipped},
        )
    return _redirect_back(request, back)


# --- detail and its actions -----------------------------------------------------------


def _detail(request: HttpRequest, user: User, lead: Lead, **forms: Any) -> HttpResponse:
    can = access.lead_permissions(user, lead)
    is_open = lead.is_open
    customer_visible = (
        lead.customer_id is not None
        and customers_visible_to(user).filter(pk=lead.customer_id).exists()
    )
    context = {
        "lead": lead,
        "timeline": lead_timeline(lead),
        "can_edit": can["edit"] and is_open,
        "can_assign": can["assign"] and is_open,
        "can_disqualify": can["edit"] and is_open,
        "can_reopen": can["edit"] and lead.status == Lead.Status.DISQUALIFIED,
        "can_convert": can["convert"] and is_open,
        "can_delete": can["delete"],
        "customer_visible": customer_visible,
        "assign_form": forms.get("assign_form") or AssignForm(initial={"owner": lead.owner_id}),
        "disqualify_form": forms.get("disqualify_form") or DisqualifyForm(),
    }
    return render(request, "sales/lead_detail.html", context)


def lead_detail(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    return _detail(request, user, access.lead_access_by_id(user, lead_id))


@require_POST
def lead_assign(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "assign")
    form = AssignForm(request.POST)
    if form.is_valid():
        owner = form.cleaned_data["owner"]
        try:
            done = services.leads_assign(actor=user, leads=[lead], owner=owner)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            if done and owner is not None:
                messages.success(
                    request, _("The lead was assigned to %(owner)s.") % {"owner": owner}
                )
            elif done:
                messages.success(request, _("The lead is back in the pool."))
            else:
                messages.info(request, _("Nothing changed."))
            return _to_lead_or_index(user, lead)
    return _detail(request, user, lead, assign_form=form)


@require_POST
def lead_disqualify(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "edit")
    form = DisqualifyForm(request.POST)
    if form.is_valid():
        try:
            services.lead_disqualify(
                actor=user,
                lead=lead,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("The lead was disqualified."))
            return redirect("sales:lead-detail", lead.pk)
    return _detail(request, user, lead, disqualify_form=form)


@require_POST
def lead_reopen(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "edit")
    try:
        services.lead_reopen(actor=user, lead=lead)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The lead was reopened."))
    return redirect("sales:lead-detail", lead.pk)


@require_POST
def lead_delete(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "delete")
    services.lead_delete(actor=user, lead=lead)
    messages.success(request, _("“%(name)s” was moved to the trash.") % {"name": lead.name})
    return redirect("sales:lead-index")


@require_POST
def lead_restore(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "restore", include_deleted=True)
    services.lead_restore(actor=user, lead=lead)
    messages.success(request, _("“%(name)s” was restored.") % {"name": lead.name})
    return redirect("sales:lead-detail", lead.pk)


def lead_trash(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("sales.delete_lead"):
        raise PermissionDenied
    deleted = (
        access.leads_actionable_by(user, "restore", include_deleted=True)
        .filter(deleted_at__isnull=False)
        .select_related("owner")
        .order_by("-deleted_at")[:200]
    )
    return render(request, "sales/lead_trash.html", {"leads": deleted})


def lead_pool(request: HttpRequest) -> HttpResponse:
    """Open leads nobody owns (公海), newest first; contact details show once claimed."""
    user = request_user(request)
    if not user.has_perm("sales.change_lead"):
        raise PermissionDenied
    pool = access.leads_in_pool(user).select_related("channel")
    q = request.GET.get("q", "")[:100]
    province = request.GET.get("province", "")[:32]
    if q:
        pool = lead_search_filter(pool, q)
    if province:
        pool = pool.filter(province=province)
    limit = services.lead_claim_limit(user)
    held = Lead.objects.filter(
        owner=user, status__in=Lead.OPEN_STATUSES, deleted_at__isnull=True
    ).count()
    return render(
        request,
        "sales/lead_pool.html",
        {
            "leads": pool.order_by("-created_at", "-id")[:200],
            "q": q,
            "province": province,
            "limit": limit,
            "held": held,
        },
    )


@require_POST
def lead_claim(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.leads_in_pool(user).filter(pk=lead_id).first()
    if lead is None:
        messages.error(request, _("Someone else has claimed this lead, or it was closed."))
        return redirect("sales:lead-pool")
    try:
        services.lead_claim(actor=user, lead=lead)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sales:lead-pool")
    messages.success(request, _("The lead is yours now."))
    return redirect("sales:lead-detail", lead.pk)


# --- create and edit ------------------------------------------------------------------


def lead_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("sales.add_lead"):
        raise PermissionDenied
    # Reps capture leads for themselves; those who do not work leads (marketers) leave
    # them to the assignment rules.
    initial = {"owner": user.pk} if user.has_perm("sales.change_lead") else {}
    form = LeadForm(
        request.POST or None,
        user=user,
        can_assign=user.has_perm("sales.assign_lead"),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(actor=user, data=form.service_data())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            if lead.owner is not None and lead.owner.pk != user.pk:
                message = _("Lead “%(name)s” created and assigned to %(owner)s.") % {
                    "name": lead.name,
                    "owner": lead.owner,
                }
            else:
                message = _("Lead “%(name)s” created.") % {"name": lead.name}
            messages.success(request, message)
            return _to_lead_or_index(user, lead)
    return render(request, "sales/lead_form.html", {"form": form, "creating": True})


def lead_edit(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "edit")
    if not lead.is_open:
        messages.error(request, _("A converted, disqualified or deleted lead cannot be edited."))
        return redirect("sales:lead-detail", lead.pk)
    # The form writes the new values onto its instance; the service needs the stored lead
    # to record old → new.
    form = LeadForm(
        request.POST or None,
        instance=access.lead_access_by_id(user, lead_id, "edit"),
        user=user,
        can_assign=access.lead_can(user, lead, "assign"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(actor=user, lead=lead, data=form.service_data())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return _to_lead_or_index(user, lead)
    return render(request, "sales/lead_form.html", {"form": form, "lead": lead})


# --- conversion -----------------------------------------------------------------------


def _visible_duplicates(
    user: User, found: list[tuple[Customer, list[str]]]
) -> list[tuple[Customer, list[str], bool]]:
    """Mark which duplicates the user may open (the others show name and owner only)."""
    visible = set(
        customers_visible_to(user)
        .filter(pk__in=[c.pk for c, _r in found])
        .values_list("pk", flat=True)
    )
    return [(c, reasons, c.pk in visible) for c, reasons in found]


def lead_convert(request: HtmxHttpRequest, lead_id: int) -> HttpResponse:
    """Convert a lead to a new customer (after the duplicate check) or link it to one the
    user may see."""
    user = request_user(request)
    lead = access.lead_access_by_id(user, lead_id, "convert")
    template = "sales/lead_convert.html"
    if request.htmx and request.method == "GET" and "q" in request.GET:
        q = request.GET.get("q", "")[:100]
        found = (
            list(search_ranked(customers_visible_to(user), q).select_related("owner")[:8])
            if len(q.strip()) >= 2
            else []
        )
        return render(request, template + "#search-results", {"found": found, "q": q})
    if not lead.is_open:
        messages.error(request, _("Only an open lead can be converted."))
        return redirect("sales:lead-detail", lead.pk)
    form = ConvertForm(request.POST or None)
    duplicates: list[tuple[Customer, list[str], bool]] = []
    if request.method == "POST" and form.is_valid():
        customer = None
        if form.cleaned_data["mode"] == ConvertForm.EXISTING:
            customer = customers_visible_to(user).filter(pk=form.cleaned_data["customer"]).first()
            if customer is None:
                form.add_error("customer", _("Choose a customer that you may see."))
        opportunity = form.opportunity() if not form.errors else None
        if opportunity is not None and not user.has_perm("sales.add_opportunity"):
            form.add_error("opportunity_name", _("You may not open opportunities."))
        if not form.errors:
            try:
                if opportunity is None:
                    converted = services.lead_convert(
                        actor=user,
                        lead=lead,
                        customer=customer,
                        allow_duplicates=form.cleaned_data["allow_duplicates"],
                    )
                else:
                    converted, _opportunity = services.lead_convert_with_opportunity(
                        actor=user,
                        lead=lead,
                        customer=customer,
                        allow_duplicates=form.cleaned_data["allow_duplicates"],
                        opportunity=opportunity,
                    )
            except services.DuplicateCustomers as exc:
                duplicates = _visible_duplicates(user, exc.matches)
            except ValidationError as exc:
                form_add_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("The lead was converted: customer “%(name)s”.") % {"name": converted.name},
                )
                if customers_visible_to(user).filter(pk=converted.pk).exists():
                    return redirect("customers:customer-detail", converted.pk)
                return redirect("sales:lead-detail", lead.pk)
    return render(request, template, {"lead": lead, "form": form, "duplicates": duplicates})


# --- opportunities --------------------------------------------------------------------

OPPORTUNITY_FILTER_KEYS = [
    "q",
    "pipeline",
    "stage",
    "status",
    "intent",
    "owner",
    "close_from",
    "close_to",
    "sort",
]


def _wants_fragment(request: HtmxHttpRequest) -> bool:
    """A move sent from the kanban board (htmx or fetch), answered with a status code and
    a short message rather than a redirect."""
    return bool(request.htmx) or request.headers.get("Accept", "").startswith("application/json")


def opportunity_index(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied
    pipelines = access.pipelines_visible_to(user)
    form = OpportunityFilterForm(request.GET, user=user, pipelines=pipelines)
    error = ""
    if not form.is_valid():
        error = _("Some filters are invalid; they were ignored.")
        form = OpportunityFilterForm({}, user=user, pipelines=pipelines)
        form.is_valid()
    filters = form.to_filters()
    try:
        page = opportunity_list(
            user=user, filters=filters, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except InvalidCursor:
        error = _("That page link has expired; showing the first page.")
        page = opportunity_list(user=user, filters=filters, limit=PAGE_SIZE)
    query = {k: request.GET[k] for k in OPPORTUNITY_FILTER_KEYS if request.GET.get(k)}
    context = {
        "form": form,
        "page": page,
        "error": error,
        "next_url": "?" + urlencode({**query, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
        "can_delete": user.has_perm("sales.delete_opportunity"),
    }
    template = "sales/opportunity_index.html"
    if request.htmx and request.GET.get("cursor"):
        return render(request, template + "#rows", context)
    if request.htmx and request.htmx.target == "opportunity-results":
        return render(request, template + "#results", context)
    return render(request, template, context)


def _opportunity_detail(
    request: HttpRequest, user: User, opp: Opportunity, status: int = 200, **forms: Any
) -> HttpResponse:
    can = access.opportunity_permissions(user, opp)
    live = opp.deleted_at is None
    context = {
        "opp": opp,
        "history": opportunity_stage_history(opp),
        "timeline": list(opportunity_timeline_entries(opp).order_by("-created_at", "-id")[:100]),
        "customer_visible": customers_visible_to(user).filter(pk=opp.customer_id).exists(),
        "can_edit": can["edit"] and live,
        "can_move": can["move"] and live,
        "can_assign": can["assign"] and live,
        "can_delete": can["delete"] and live,
        "can_restore": can["restore"] and not live,
        "move_form": forms.get("move_form")
        or MoveForm(pipeline=opp.pipeline, initial={"stage": opp.stage_id}),
        "close_form": forms.get("close_form") or CloseForm(),
        "assign_form": forms.get("assign_form")
        or OpportunityAssignForm(initial={"owner": opp.owner_id}),
    }
    return render(request, "sales/opportunity_detail.html", context, status=status)


def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, include_deleted=True)
    if opp.deleted_at is not None and not access.opportunity_can(user, opp, "restore"):
        raise Http404("No such opportunity")
    return _opportunity_detail(request, user, opp)


def _move_refused(
    request: HtmxHttpRequest, exc: ValidationError, status: int = 422
) -> HttpResponse:
    return HttpResponse(" ".join(exc.messages), status=status, content_type="text/plain")


@require_POST
def opportunity_move(request: HtmxHttpRequest, opportunity_id: int) -> HttpResponse:
    """Move to a stage: from the detail page (redirect back) or dropped on the kanban board
    (204 when done; 4xx with the reason as text, and the card goes back)."""
    user = request_user(request)
    fragment = _wants_fragment(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "move")
    form = MoveForm(request.POST, pipeline=opp.pipeline)
    if not form.is_valid():
        if fragment:
            messages_ = [str(e) for errors in form.errors.values() for e in errors]
            return HttpResponse(" ".join(messages_), status=422, content_type="text/plain")
        return _opportunity_detail(request, user, opp, status=422, move_form=form)
    try:
        services.opportunity_move(
            actor=user,
            opportunity=opp,
            stage=form.cleaned_data["stage"],
            win_loss_reason=form.cleaned_data["win_loss_reason"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        if fragment:
            return _move_refused(request, exc)
        form_add_errors(form, exc)
        return _opportunity_detail(request, user, opp, status=422, move_form=form)
    if fragment:
        return HttpResponse(status=204)
    messages.success(request, _("Moved to “%(stage)s”.") % {"stage": opp.stage})
    return redirect("sales:opportunity-detail", opp.pk)


@require_POST
def opportunity_close(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "move")
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.opportunity_close(
                actor=user,
                opportunity=opp,
                won=form.cleaned_data["outcome"] == CloseForm.WON,
                win_loss_reason=form.cleaned_data["win_loss_reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("The opportunity was closed."))
            return redirect("sales:opportunity-detail", opp.pk)
    return _opportunity_detail(request, user, opp, status=422, close_form=form)


@require_POST
def opportunity_reopen(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "move")
    try:
        services.opportunity_reopen(actor=user, opportunity=opp)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The opportunity was reopened."))
    return redirect("sales:opportunity-detail", opp.pk)


@require_POST
def opportunity_assign(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "assign")
    form = OpportunityAssignForm(request.POST)
    if form.is_valid():
        owner = form.cleaned_data["owner"]
        try:
            done = services.opportunities_assign(actor=user, opportunities=[opp], owner=owner)
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            if done:
                messages.success(
                    request, _("The opportunity was assigned to %(owner)s.") % {"owner": owner}
                )
            else:
                messages.info(request, _("Nothing changed."))
            if access.opportunities_visible_to(user).filter(pk=opp.pk).exists():
                return redirect("sales:opportunity-detail", opp.pk)
            return redirect("sales:opportunity-index")
    return _opportunity_detail(request, user, opp, status=422, assign_form=form)


@require_POST
def opportunity_delete(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "delete")
    services.opportunity_delete(actor=user, opportunity=opp)
    messages.success(request, _("“%(name)s” was moved to the trash.") % {"name": opp.name})
    return redirect("sales:opportunity-index")


@require_POST
def opportunity_restore(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "restore", include_deleted=True)
    services.opportunity_restore(actor=user, opportunity=opp)
    messages.success(request, _("“%(name)s” was restored.") % {"name": opp.name})
    return redirect("sales:opportunity-detail", opp.pk)


def _customers_for_opportunities(user: User) -> Any:
    return customers_visible_to(user).filter(deleted_at__isnull=True)


def opportunity_customer_options(request: HttpRequest) -> HttpResponse:
    """``<option>`` list of the customers the user may see matching ``q`` (htmx, for the
    customer select of the opportunity form)."""
    user = request_user(request)
    if not user.has_perm("sales.add_opportunity"):
        raise PermissionDenied
    q = request.GET.get("q", "")[:100]
    found = (
        list(search_ranked(_customers_for_opportunities(user), q)[:20])
        if len(q.strip()) >= 2
        else []
    )
    return render(request, "sales/opportunity_form.html#customer-options", {"found": found})


def opportunity_create(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("sales.add_opportunity"):
        raise PermissionDenied
    initial: dict[str, Any] = {"owner": user.pk}
    preset = request.GET.get("customer", "")
    if preset.isascii() and preset.isdigit() and len(preset) <= 18:
        initial["customer"] = int(preset)
    form = OpportunityForm(
        request.POST or None,
        user=user,
        can_assign=user.has_perm("sales.assign_opportunity"),
        customers=_customers_for_opportunities(user),
        pipelines=access.pipelines_visible_to(user),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            opp = services.opportunity_create(actor=user, data=form.service_data())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Opportunity “%(name)s” created.") % {"name": opp.name})
            if access.opportunities_visible_to(user).filter(pk=opp.pk).exists():
                return redirect("sales:opportunity-detail", opp.pk)
            return redirect("sales:opportunity-index")
    return render(request, "sales/opportunity_form.html", {"form": form, "creating": True})


def opportunity_edit(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    user = request_user(request)
    opp = access.opportunity_access_by_id(user, opportunity_id, "edit")
    # The form writes onto its own instance; the service needs the stored one for old → new.
    form = OpportunityForm(
        request.POST or None,
        instance=access.opportunity_access_by_id(user, opportunity_id, "edit"),
        user=user,
        can_assign=access.opportunity_can(user, opp, "assign"),
        customers=_customers_for_opportunities(user),
        pipelines=access.pipelines_visible_to(user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(actor=user, opportunity=opp, data=form.service_data())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            if access.opportunities_visible_to(user).filter(pk=opp.pk).exists():
                return redirect("sales:opportunity-detail", opp.pk)
            return redirect("sales:opportunity-index")
    return render(request, "sales/opportunity_form.html", {"form": form, "opp": opp})


def _pipeline_from_query(request: HttpRequest, user: User) -> tuple[Any, Any]:
    pipelines = access.pipelines_visible_to(user)
    raw = request.GET.get("pipeline", "")
    pipeline = None
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        pipeline = pipelines.filter(pk=int(raw)).first()
    if pipeline is None:
        pipeline = pipelines.order_by("-is_default", "id").first()
    return pipelines, pipeline


def kanban(request: HttpRequest) -> HttpResponse:
    """The pipeline's open stages as columns; cards are dragged between them."""
    user = request_user(request)
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied
    pipelines, pipeline = _pipeline_from_query(request, user)
    columns = kanban_board(user=user, pipeline=pipeline) if pipeline is not None else []
    closing = (
        list(pipeline.stages.exclude(kind=Stage.Kind.OPEN).order_by("order", "id"))
        if pipeline is not None
        else []
    )
    context = {
        "pipelines": list(pipelines),
        "pipeline": pipeline,
        "columns": columns,
        "closing_stages": closing,
        "reasons": Opportunity.WinLossReason.choices,
        "can_move": user.has_perm("sales.change_opportunity"),
    }
    return render(request, "sales/kanban.html", context)


def forecast_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("sales.view_opportunity"):
        raise PermissionDenied
    pipelines, pipeline = _pipeline_from_query(request, user)
    this_year = timezone.localdate().year
    raw_year = request.GET.get("year", "")
    year = int(raw_year) if raw_year.isdigit() and 2000 <= int(raw_year) <= 2100 else this_year
    result = forecast(user=user, pipeline=pipeline, year=year) if pipeline is not None else None
    context = {
        "pipelines": list(pipelines),
        "pipeline": pipeline,
        "year": year,
        "years": range(this_year - 3, this_year + 3),
        "forecast": result,
    }
    return render(request, "sales/opportunity_forecast.html", context)
