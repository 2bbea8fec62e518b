"""Error pages: a body too large gets a clear 413 rather than a crash."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _


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
        return JsonResponse({"detail": message}, status=status)
    template = loader.get_template("400.html")
    return HttpResponse(
        template.render({"message": message, "status": status}, request), status=status
    )
