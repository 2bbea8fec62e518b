"""Error pages of a process that serves only the portal (``HAVEN_SERVE=portal``).

The staff error pages link to the staff dashboard, which such a process does not have; these
say the same things in the portal's own plain page, with its headers and no staff link.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from haven.portal import languages
from haven.portal.views import _headers, _kind_error


def _answer(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    """The portal's plain message page, in the language of the path, for marked texts."""
    lang = languages.from_path(request.path)
    with translation.override(lang):
        page = _kind_error(
            request, lang, status=status, title=gettext(title), message=gettext(message)
        )
        return _headers(page, lang)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        return _answer(
            request,
            status=413,
            title=_("Too large"),
            message=_(
                "What you sent is too large to accept. Nothing was saved. Shorten it and try again."
            ),
        )
    return _answer(
        request,
        status=400,
        title=_("Bad request"),
        message=_("The request could not be understood. Nothing was saved."),
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, status=404, title=_("Not found"), message=_("There is nothing here."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _answer(
        request,
        status=500,
        title=_("Server error"),
        message=_(
            "Something went wrong on our side. If you were sending a request, nothing was "
            "acknowledged: please try again in a few minutes."
        ),
    )
