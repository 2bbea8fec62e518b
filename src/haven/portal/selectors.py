"""Reads about the portal's own rows (the request itself is read through haven.cases)."""

from __future__ import annotations

from haven.portal.models import QueuedRequest


def queued_request_count() -> int:
    """How many portal requests taken in a surge wait to be opened (haven.portal.queue)."""
    return QueuedRequest.objects.count()
