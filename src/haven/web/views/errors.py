"""Error pages: a body too large gets a clear 413 rather than a crash."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Handler for 400s (Django routes SuspiciousOperation, RequestDataTooBig included, here)."""
    too_big = isinstance(exception, RequestDataTooBig | TooManyFieldsSent)
    status = 413 if too_big else 400
    message = (
        _("What you sent is too large to accept. Nothing was saved. Shorten it and try again.")
        if too_big
        else _("The request could not be understood. Nothing was saved.")
    )
    if request.path.startswith("/api/"):
        code = "too_large" if too_big else "bad_request"
        return JsonResponse({"code": code, "detail": message}, status=status)
    template = loader.get_template("400.html")
    return HttpResponse(
        template.render({"message": message, "status": status}, request), status=status
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Handler for 404s that no view answered (an API path whose id is not a UUID, say): JSON as
    the API documents under /api/, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)
