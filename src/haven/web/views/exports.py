"""Downloads that take data out of Haven: the case list (supervisors), the audit trail
(auditors), a case's printable file (case staff with its key). Each is made in memory, sent
with ``Cache-Control: no-store`` and audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haven import access
from haven.cases import selectors as case_selectors
from haven.cases.search import person_search
from haven.documents.case_file import case_file_pdf
from haven.documents.pdf import FontMissingError
from haven.exports import selectors
from haven.exports.tables import FORMATS
from haven.web import forms as f
from haven.web.views.audit import AuditFilterForm
from haven.web.views.common import actor, ctx


def download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def case_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The case list as CSV or XLSX, with the list's filters (the query string)."""
    user = actor(request)
    if not access.allowed(user, "case.export"):
        raise PermissionDenied(_("Only supervisors export the case list."))
    if fmt not in FORMATS:
        raise Http404
    form = f.CaseFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Check the filters: nothing was exported."))
        return redirect("web:cases")
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "state": data["state"] or None,
            "urgency": data["urgency"],
            "country": data["country"] or None,
            "owner_id": data["owner"].pk if data["owner"] else None,
            "overdue": data["overdue"],
            "active": {"yes": True, "no": False}.get(data["active"]),
        }
    cases = case_selectors.case_list(user=user, **filters)
    try:
        if form.is_valid() and form.cleaned_data.get("q"):
            cases = person_search(
                ctx=ctx(request), user=user, query=form.cleaned_data["q"], cases=cases
            )
        export = selectors.case_export(ctx=ctx(request), user=user, cases=cases, fmt=fmt)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:cases")
    return download(export.content, export.content_type, export.filename)


@login_required
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The audit trail as CSV or XLSX, with the viewer's filters."""
    user = actor(request)
    if not access.allowed(user, "audit.export"):
        raise PermissionDenied(_("Only auditors export the audit trail."))
    if fmt not in FORMATS:
        raise Http404
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound:
        if not form.is_valid():
            messages.error(request, _("Check the filters: nothing was exported."))
            return redirect("web:audit")
        data = form.cleaned_data
        filters = {
            "actor_id": data["person"].pk if data["person"] else None,
            "target_id": data["record"] or None,
            "action": data["action"] or None,
            "since": data["since"],
            "until": data["until"],
        }
    try:
        export = selectors.audit_export(user=user, fmt=fmt, **filters)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:audit")
    return download(export.content, export.content_type, export.filename)


@login_required
@require_GET
def case_print(request: HttpRequest, case_id: Any) -> HttpResponse:
    """A case's file as a PDF (person, journey, notes, referrals), marked with who printed it
    and when; in the page's language unless ``?lang=en|ko``."""
    user = actor(request)
    language = request.GET.get("lang") or get_language() or "en"
    try:
        pdf = case_file_pdf(ctx=ctx(request), user=user, case_id=case_id, language=language)
    except FontMissingError as exc:
        messages.error(request, str(exc))
        return redirect("web:case", case_id=case_id)
    return download(pdf, "application/pdf", f"case-{str(case_id)[:8]}.pdf")
