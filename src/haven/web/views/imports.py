"""Importing a spreadsheet (supervisors): upload and dry run, check the mapping and the report,
load with progress (no JavaScript: each step is a page that refreshes itself), undo, discard.

The uploaded file is held in memory only (``MemoryOnlyUploadHandler`` with the import limits) and
never stored; what the dry run found is kept sealed (:mod:`haven.imports.services`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from haven import access
from haven.attachments.uploads import upload_refusals
from haven.errors import ConflictError
from haven.exports.tables import FORMATS, table_bytes
from haven.imports import selectors, services
from haven.imports.columns import FIELDS, Options, has_name
from haven.imports.models import ImportBatch, ImportStatus
from haven.web import forms as f
from haven.web import import_forms as imf
from haven.web.views.common import CONFLICT_MESSAGE, actor, ctx, recent_password_required

STEP_SECONDS = 4.0  # work done per page of a load before the page refreshes itself
STEP_SALT = "haven.imports.step"
STEP_MAX_AGE = 900


def _require(request: HttpRequest) -> None:
    if not access.allowed(actor(request), "import.run"):
        raise PermissionDenied(_("Only supervisors import spreadsheets."))


def _batch(request: HttpRequest, import_id: Any) -> ImportBatch:
    return selectors.import_get(user=actor(request), batch_id=import_id)


def _options(data: dict[str, Any]) -> Options:
    return Options(
        date_order=data.get("date_order") or "dmy",
        default_country=(data.get("default_country") or "").strip().upper(),
        default_channel=data.get("default_channel") or "staff",
        default_urgency=int(data.get("default_urgency") or 2),
    )


def _service_errors(form: Any, exc: ValidationError) -> None:
    f.add_service_errors(form, exc, rename={"mapping": "__all__", "batch": "__all__"})


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """The list of imports and the upload form; POST uploads a file and runs the dry run."""
    _require(request)
    user = actor(request)
    keys = ctx(request)
    mappings = selectors.mapping_list(ctx=keys, user=user)
    form = imf.UploadForm(request.POST or None, request.FILES or None, mappings=mappings)
    status = 200
    if request.method == "POST":
        status = 400
        refused = upload_refusals(request)
        if refused:
            form.add_error(
                "file",
                _("The file is larger than %(mb)d MB, or more than one file was sent.")
                % {"mb": int(_import_limit_mb())},
            )
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            saved = None
            if form.cleaned_data["saved_mapping"]:
                saved = selectors.mapping_get(
                    user=user, mapping_id=form.cleaned_data["saved_mapping"]
                )
            try:
                staged = services.import_stage(
                    ctx=keys,
                    actor=user,
                    data=upload.read(),
                    name=upload.name or "",
                    encoding=form.cleaned_data["encoding"] or "",
                    sheet=form.cleaned_data["sheet"] or "",
                    saved_mapping=saved,
                    options=None if saved is not None else _options(form.cleaned_data),
                )
            except ValidationError as exc:
                _service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Checked: nothing is loaded yet. Look at the report, then load the rows."),
                )
                return redirect("web:import", import_id=staged.batch.pk)
            finally:
                upload.close()
    return render(
        request,
        "web/imports/list.html",
        {
            "form": form,
            "imports": selectors.import_list(user=user)[:50],
            "mappings": mappings,
            "max_mb": _import_limit_mb(),
        },
        status=status,
    )


def _import_limit_mb() -> float:
    from django.conf import settings

    return int(settings.HAVEN_IMPORT_MAX_BYTES) / 1_000_000


def _report_context(request: HttpRequest, batch: ImportBatch) -> dict[str, Any]:
    report = selectors.import_report(ctx=ctx(request), user=actor(request), batch=batch)
    flagged = sorted({d.row for d in report.duplicates})
    mapping_form = imf.MappingForm(
        headers=[h for h in report.headers if h],
        initial={
            "version": batch.version,
            **report.options,
            **{
                f"col_{i}": report.mapping.get(h, "")
                for i, h in enumerate(h for h in report.headers if h)
            },
        },
    )
    commit_form = imf.CommitForm(
        rows=flagged,
        initial={
            "version": batch.version,
            "skip": [d.row for d in report.duplicates if d.probability >= 0.9],
        },
    )
    return {
        "batch": batch,
        "report": report,
        "mapping_form": mapping_form,
        "commit_form": commit_form,
        "fields": FIELDS,
        "has_name": has_name(report.mapping),
        "flagged": flagged,
        "formats": FORMATS,
        "can_load": batch.status in (ImportStatus.STAGED, ImportStatus.COMMITTING)
        and batch.has_stage,
        "can_undo": batch.status
        in (ImportStatus.COMMITTING, ImportStatus.COMMITTED, ImportStatus.UNDONE)
        and batch.people_committed > batch.requests_undone,
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, import_id: Any) -> HttpResponse:
    _require(request)
    batch = _batch(request, import_id)
    return render(request, "web/imports/detail.html", _report_context(request, batch))


@login_required
@require_POST
def import_remap(request: HttpRequest, import_id: Any) -> HttpResponse:
    _require(request)
    user = actor(request)
    batch = _batch(request, import_id)
    report = selectors.import_report(ctx=ctx(request), user=user, batch=batch, errors_limit=0)
    form = imf.MappingForm(request.POST, headers=[h for h in report.headers if h])
    if form.is_valid():
        options = _options(form.cleaned_data)
        try:
            services.import_remap(
                ctx=ctx(request),
                actor=user,
                batch=batch,
                expected_version=form.cleaned_data["version"],
                mapping=form.mapping(),
                options=options,
            )
            if form.cleaned_data["save_as"]:
                services.import_mapping_save(
                    ctx=ctx(request),
                    actor=user,
                    name=form.cleaned_data["save_as"],
                    mapping=form.mapping(),
                    options=options,
                )
        except ConflictError:
            messages.error(request, CONFLICT_MESSAGE)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Checked again with these columns. Nothing is loaded yet."))
        return redirect("web:import", import_id=batch.pk)
    context = _report_context(request, batch)
    context["mapping_form"] = form
    return render(request, "web/imports/detail.html", context, status=400)


def _step_url(request: HttpRequest, batch: ImportBatch) -> str:
    token = signing.dumps({"b": str(batch.pk), "u": actor(request).pk}, salt=STEP_SALT)
    return f"{reverse('web:import_progress', kwargs={'import_id': batch.pk})}?{urlencode({'go': token})}"


@login_required
@require_POST
def import_commit(request: HttpRequest, import_id: Any) -> HttpResponse:
    """Start (or go on with) the load: the first step runs now, the page then refreshes itself
    to run the next (each step a few seconds of chunks, each chunk its own transaction)."""
    _require(request)
    batch = _batch(request, import_id)
    # Any row numbers may be left out (the page offers those flagged as possible duplicates).
    rows = [int(r) for r in request.POST.getlist("skip") if r.isdigit() and len(r) < 9]
    form = imf.CommitForm(request.POST, rows=rows)
    if not form.is_valid():
        messages.error(request, _("Choose which rows to leave out, then load again."))
        return redirect("web:import", import_id=batch.pk)
    if batch.status == ImportStatus.STAGED and form.cleaned_data["version"] != batch.version:
        messages.error(request, CONFLICT_MESSAGE)
        return redirect("web:import", import_id=batch.pk)
    return _step(
        request, batch, skip=form.cleaned_data["skip"], atomic=form.cleaned_data["all_or_nothing"]
    )


def _step(
    request: HttpRequest, batch: ImportBatch, *, skip: list[int], atomic: bool = False
) -> HttpResponse:
    try:
        progress = services.import_commit(
            ctx=ctx(request),
            actor=actor(request),
            batch=batch,
            skip_rows=skip,
            atomic=atomic,
            seconds=None if atomic else STEP_SECONDS,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:import", import_id=batch.pk)
    if progress.finished:
        messages.success(
            request,
            _("Loaded %(people)d people in %(requests)d requests.")
            % {
                "people": progress.batch.people_committed,
                "requests": progress.batch.requests_committed,
            },
        )
        return redirect("web:import", import_id=batch.pk)
    return redirect(_step_url(request, progress.batch))


@login_required
@require_GET
def import_progress(request: HttpRequest, import_id: Any) -> HttpResponse:
    """How far a load is. With a valid ``go`` token (made for this person and this import, a
    few minutes old at most), it also loads the next few seconds of chunks: the page refreshes
    itself to the next token, so the load goes on without JavaScript while the page is open."""
    _require(request)
    batch = _batch(request, import_id)
    token = request.GET.get("go", "")
    if token and batch.status == ImportStatus.COMMITTING:
        try:
            data = signing.loads(token, salt=STEP_SALT, max_age=STEP_MAX_AGE)
        except signing.BadSignature:
            data = None
        if (
            isinstance(data, dict)
            and data.get("b") == str(batch.pk)
            and data.get("u") == actor(request).pk
        ):
            return _step(request, batch, skip=[])
    chunks = batch.chunks_total or 1
    done = (
        batch.chunks.filter(kind="rows", committed_at__isnull=False).count()
        if batch.has_stage
        else chunks
    )
    refresh = _step_url(request, batch) if batch.status == ImportStatus.COMMITTING else ""
    response = render(
        request,
        "web/imports/progress.html",
        {"batch": batch, "percent": int(100 * done / chunks), "refresh": refresh},
    )
    if refresh:
        # The page refreshes itself (header and meta tag): the next step of the load, no script.
        response["Refresh"] = f"1; url={refresh}"
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def import_bad_rows(request: HttpRequest, import_id: Any, fmt: str) -> HttpResponse:
    """The rows that will not load, with why, as CSV or XLSX (fix them there, import that)."""
    _require(request)
    if fmt not in FORMATS:
        raise Http404
    batch = _batch(request, import_id)
    bad = selectors.import_bad_rows(ctx=ctx(request), user=actor(request), batch=batch)
    content, content_type = table_bytes(fmt, bad.headers, bad.rows, sheet="errors")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="import-errors-{str(batch.pk)[:8]}.{fmt}"'
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@recent_password_required
def import_undo(request: HttpRequest, import_id: Any) -> HttpResponse:
    """Undo an import (destroys what it loaded; cases worked on since are kept unless forced)."""
    _require(request)
    batch = _batch(request, import_id)
    if request.method == "POST":
        try:
            result = services.import_undo(
                actor=actor(request), batch=batch, force=request.POST.get("force") == "on"
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            text = _("%(n)d requests destroyed with their cases.") % {"n": result.destroyed}
            if result.kept:
                text += " " + _("%(k)d kept because someone worked on them since the import.") % {
                    "k": result.kept
                }
            messages.success(request, text)
        return redirect("web:import", import_id=batch.pk)
    return render(request, "web/imports/undo.html", {"batch": batch})


@login_required
@require_POST
def import_discard(request: HttpRequest, import_id: Any) -> HttpResponse:
    _require(request)
    batch = _batch(request, import_id)
    try:
        services.import_discard(actor=actor(request), batch=batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("What the import kept is destroyed."))
    return redirect("web:imports")


@login_required
@require_POST
def import_mapping_delete(request: HttpRequest, mapping_id: Any) -> HttpResponse:
    _require(request)
    mapping = selectors.mapping_get(user=actor(request), mapping_id=mapping_id)
    services.import_mapping_delete(actor=actor(request), mapping=mapping)
    messages.success(request, _("The mapping was deleted."))
    return redirect("web:imports")
