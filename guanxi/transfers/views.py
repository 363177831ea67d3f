"""Import and export pages. Each view parses input, checks the permission, calls one
service or selector and renders; the work itself lives in ``services``."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.core.http import request_user
from guanxi.transfers import selectors, services
from guanxi.transfers.fields import fields_for
from guanxi.transfers.forms import ImportMappingForm, ImportUploadForm
from guanxi.transfers.models import ExportJob, Format, Kind, Status
from guanxi.users.models import User


def _require(request: HttpRequest, perm: str) -> User:
    user = request_user(request)
    if not user.has_perm(perm):
        raise PermissionDenied
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require_GET
def job_index(request: HttpRequest) -> HttpResponse:
    jobs = selectors.jobs_recent(user=request_user(request))
    return render(request, "transfers/job_index.html", jobs)


@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    # The kind menu offers only what the user may import (leads: whoever may add leads).
    kinds = services.importable_kinds(user)
    if not kinds:
        raise PermissionDenied
    kind = request.GET.get("kind", kinds[0])
    form = ImportUploadForm(
        request.POST or None,
        request.FILES or None,
        kinds=kinds,
        initial={"kind": kind if kind in kinds else kinds[0]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_job_create(
                actor=user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)  # the service names the field ("file" or "kind")
        else:
            return redirect("transfers:import-mapping", pk=job.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "transfers/import_new.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    job = selectors.import_job_get(user=user, job_id=pk)
    if not user.has_perm(services.import_perm(job.kind)):
        raise PermissionDenied
    if job.status != Status.PENDING:
        return redirect("transfers:import-detail", pk=job.pk)
    form = ImportMappingForm(job, request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            services.import_job_configure(
                actor=user,
                job=job,
                mapping=form.mapping(),
                duplicate_mode=form.cleaned_data["duplicate_mode"],
                all_or_nothing=form.cleaned_data["all_or_nothing"],
            )
            if "start" in request.POST:
                services.import_job_start(actor=user, job=job)
                return redirect("transfers:import-detail", pk=job.pk)
            preview = services.import_preview(job=job)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    mapped = [i for i, key in enumerate(job.mapping) if key]
    labels = {f.key: str(f.label) for f in fields_for(job.kind)}
    rows = (
        None
        if preview is None
        else [
            {
                "row": r.row,
                "action": r.action,
                "note": r.note,
                "issues": [(labels.get(f, f), m) for f, m in r.issues],
                "values": [r.values[i] if i < len(r.values) else "" for i in mapped],
            }
            for r in preview
        ]
    )
    context = {
        "job": job,
        "form": form,
        "preview": rows,
        "mapped_headers": [job.headers[i] for i in mapped],
    }
    if _is_htmx(request) and request.method == "POST":
        return render(request, "transfers/import_mapping.html#preview", context)
    return render(request, "transfers/import_mapping.html", context)


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(user=request_user(request), job_id=pk)
    context = {"job": job, "issues": job.issues.all()[:20] if job.is_finished else []}
    template = "transfers/import_detail.html"
    return render(request, f"{template}#progress" if _is_htmx(request) else template, context)


@require_GET
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    job = selectors.import_job_get(user=request_user(request), job_id=pk)
    if not job.error_file:
        raise Http404("No error report")
    stem = job.original_name.rsplit(".", 1)[0]
    return FileResponse(
        job.error_file.open("rb"),
        as_attachment=True,
        filename=f"{stem}-errors.csv",
        content_type="text/csv",
    )


def _download(job: ExportJob) -> FileResponse:
    types = {
        Format.CSV: "text/csv; charset=utf-8",
        Format.VCF: "text/vcard; charset=utf-8",
        Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.filename,
        content_type=types[Format(job.format)],
    )


@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    """Export the list the user is looking at (its query string); small lists download
    at once, large ones continue in the background."""
    # "records" rather than "kind": the list's own filters include kind=company/person.
    kind = request.GET.get("records", Kind.CUSTOMERS)
    user = _require(request, services.export_perm(kind))
    fmt = request.GET.get("format", Format.CSV)
    filters = selectors.export_filters_clean(request.GET, kind=kind)
    try:
        job = services.export_job_create(actor=user, kind=kind, fmt=fmt, filters=filters)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain")
    job = services.export_job_start(job=job)
    if job.status == Status.DONE:
        return _download(job)
    if job.status == Status.FAILED:
        messages.error(request, _("The export failed."))
    return redirect("transfers:export-detail", pk=job.pk)


@require_GET
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.export_job_get(user=request_user(request), job_id=pk)
    template = "transfers/export_detail.html"
    return render(request, f"{template}#progress" if _is_htmx(request) else template, {"job": job})


@require_GET
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = selectors.export_job_get(user=request_user(request), job_id=pk)
    if job.status != Status.DONE or not job.file:
        raise Http404("The export is not ready")
    return _download(job)
