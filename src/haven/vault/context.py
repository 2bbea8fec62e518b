"""Where views, API views and commands get the acting person's key context."""

from __future__ import annotations

from typing import Any

from haven.crypto import KeyContext, key_context_for


def key_context(request: Any) -> KeyContext:
    """The key context of the logged-in person making ``request``, made once per request."""
    ctx = getattr(request, "_haven_key_context", None)
    if ctx is None:
        ctx = key_context_for(request.user.pk)
        request._haven_key_context = ctx
    return ctx


def system_key_context() -> KeyContext:
    """For commands run by an operator (demo seeding, benchmarks), not on behalf of a web user."""
    return key_context_for(None)
