"""Which login session the current request belongs to, for the audit trail.

Every entry records "from which session" without each caller passing it: the middleware binds a
reference for the request, and :func:`haven.audit.services.audit_record` reads it. The reference
is a random token kept in the session's own data (created at the first audited request after
login), never the session key, so a copy of the audit table cannot be used to hijack a session and
two entries from one login share a reference.

Enable it by adding ``"haven.audit.context.AuditSessionMiddleware"`` to ``MIDDLEWARE`` after
``AuthenticationMiddleware``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

SESSION_KEY = "_haven_audit_ref"
_current: ContextVar[str] = ContextVar("haven_audit_session", default="")


def current_session() -> str:
    return _current.get()


@contextmanager
def audit_session(reference: str) -> Iterator[None]:
    """Entries written inside this block carry ``reference`` (unless a caller passes its own)."""
    token = _current.set(reference[:64])
    try:
        yield
    finally:
        _current.reset(token)


def session_reference(request: Any) -> str:
    """The request's audit reference: '' unless a logged-in user with a session."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if session is None or user is None or not getattr(user, "is_authenticated", False):
        return ""
    reference = session.get(SESSION_KEY)
    if not isinstance(reference, str) or not reference:
        reference = secrets.token_hex(8)
        session[SESSION_KEY] = reference
    return reference


class AuditSessionMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        with audit_session(session_reference(request)):
            return self.get_response(request)
