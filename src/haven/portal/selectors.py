"""Reads about the portal's own rows (the request itself is read through haven.cases)."""

from __future__ import annotations

from haven.portal.models import QueuedRequest
from haven.vault.models import TeamKey, TeamKeyKind


def queued_request_count() -> int:
    """How many portal requests taken in a surge wait to be opened (haven.portal.queue); those
    set aside after a failed opening are not counted (their audit entries tell of them)."""
    return QueuedRequest.objects.filter(failed_at__isnull=True).count()


def intake_key() -> TeamKey | None:
    """The active intake key, as :func:`haven.vault.holders.system_key` gives it, in a raw query:
    a queued request's other steps take about 4 ms, and the ORM's query took almost one."""
    query = f"SELECT * FROM {TeamKey._meta.db_table} WHERE kind = %s AND active ORDER BY id"  # noqa: S608  # nosec B608  # our own table's name
    found = list(TeamKey.objects.raw(query, [TeamKeyKind.INTAKE.value]))
    return found[0] if found else None
