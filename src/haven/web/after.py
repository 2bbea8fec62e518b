"""Work a staff page leaves for after its answer is sent: catching up on records the portal
stored (search tokens, duplicate encodings), which only a staff member's keys can do and which
the page itself does not need.

A view calls :func:`after_response`; :class:`AfterResponseMiddleware` runs the work when the
WSGI server closes the response, after its last byte was written (Django calls a response's
closers then, before ``request_finished``). The person gets their page without waiting for it;
the worker process then does the work with the same key context, which is forgotten when the
work is done (``KeyCookieMiddleware`` leaves that last), instead of when the answer was made. A failure is logged, never shown: the work
is done again by the next page that leaves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("haven.web")

_ATTRIBUTE = "_haven_after_response"


def after_response(request: HttpRequest, work: Callable[[], object]) -> None:
    """Run ``work`` once ``request``'s answer has been sent (in order, after earlier ones)."""
    pending: list[Callable[[], object]] = request.__dict__.setdefault(_ATTRIBUTE, [])
    pending.append(work)


def work_left(request: HttpRequest) -> bool:
    """Whether a view left work for after ``request``'s answer."""
    return bool(request.__dict__.get(_ATTRIBUTE))


def _run(pending: list[Callable[[], object]]) -> None:
    for work in pending:
        try:
            work()
        except Exception:  # noqa: BLE001 - logged; the next page that needs it does it again
            logger.exception("work left for after a response failed")


class AfterResponseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        pending = request.__dict__.pop(_ATTRIBUTE, None)
        if pending:
            # Django's own hook for work when the server closes a response (FileResponse
            # closes its file this way).
            response._resource_closers.append(lambda: _run(pending))  # type: ignore[attr-defined]
        return response
