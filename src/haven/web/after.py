"""Work a staff page leaves for after its answer is sent: catching up on records the portal
stored (search tokens, duplicate encodings), which only a staff member's keys can do and which
the page itself does not need.

A view calls :func:`after_response`. The work runs when the WSGI server closes the response,
after its last byte was written (Django calls a response's closers then, before
``request_finished``): the person gets their page without waiting for it. Work that needs the
person's keys is attached by ``KeyCookieMiddleware`` (:mod:`haven.vault.middleware`), which
forgets the key context when the work is done, even if it fails, instead of with the answer;
other work by :class:`AfterResponseMiddleware`. Audit entries written by the work carry the
request's session reference. A failure is logged, never shown: the work is done again by the
next page that leaves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from haven.audit.context import audit_session, current_session

logger = logging.getLogger("haven.web")

_ATTRIBUTE = "_haven_after_response"

Work = Callable[[], object]


def after_response(request: Any, work: Work) -> None:
    """Run ``work`` once ``request``'s answer has been sent (in order, after earlier ones)."""
    django_request = getattr(request, "_request", request)  # a DRF request wraps Django's
    session = current_session()

    def in_session() -> None:
        with audit_session(session):
            work()

    django_request.__dict__.setdefault(_ATTRIBUTE, []).append(in_session)


def work_taken(request: HttpRequest) -> list[Work] | None:
    """The work left for after ``request``'s answer, taken (whoever takes it must run it)."""
    return request.__dict__.pop(_ATTRIBUTE, None) or None


def run_after(response: HttpResponse, work: list[Work], *, finally_: Work | None = None) -> None:
    """Run ``work`` when ``response`` is closed, then ``finally_`` whatever happened."""

    def close() -> None:
        try:
            for each in work:
                try:
                    each()
                except Exception:  # noqa: BLE001 - logged; the next page that needs it does it
                    logger.exception("work left for after a response failed")
        finally:
            if finally_ is not None:
                finally_()

    # Django's own hook for work when the server closes a response (FileResponse closes its
    # file this way).
    response._resource_closers.append(close)  # type: ignore[attr-defined]


class AfterResponseMiddleware:
    """Runs work left for after the answer that no key context took (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        work = work_taken(request)
        if work:
            run_after(response, work)
        return response
