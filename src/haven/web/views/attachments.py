"""Opening a request's files: the cleaned copy by default, the original with permission.

A file is always sent as a download (``Content-Disposition: attachment``) under a safe name with
the extension of what it really is, never sniffed (``nosniff``), and sandboxed by its
Content-Security-Policy should a browser render it anyway.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from haven.attachments.selectors import (
    CLEANED,
    ORIGINAL,
    Download,
    attachment_download,
    attachment_get,
)
from haven.web.views.common import actor, ctx

FILE_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


def file_response(download: Download) -> HttpResponse:
    response = HttpResponse(download.content, content_type=download.mime)
    response.headers["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=download.name) or "attachment"
    )
    response.headers["Content-Length"] = str(len(download.content))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _download(request: HttpRequest, attachment_id: Any, copy: str) -> HttpResponse:
    user = actor(request)
    attachment = attachment_get(user=user, attachment_id=attachment_id)
    return file_response(
        attachment_download(ctx=ctx(request), user=user, attachment=attachment, copy=copy)
    )


@login_required
@require_GET
def attachment_cleaned(request: HttpRequest, attachment_id: Any) -> HttpResponse:
    return _download(request, attachment_id, CLEANED)


@login_required
@require_GET
def attachment_original(request: HttpRequest, attachment_id: Any) -> HttpResponse:
    return _download(request, attachment_id, ORIGINAL)
