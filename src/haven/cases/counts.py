"""Counts of the cases someone may see, remembered until a case or a grant changes.

Counting the cases a supervisor may see means checking a grant for every case (100,000 at the
scale the caseload benchmark measures): about a second on SQLite. Those counts change only when
a case or a grant is written, and database triggers raise :class:`CountsVersion` on every such
write (migration ``cases.0003``), so a count is kept in the cache under the version it was made
at, with who asked (their id and the team keys they hold) and what was counted. Only numbers are
cached. A count that depends on the clock (overdue) carries the minute in what it counts, so it
is remembered for that minute at most.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.core.cache import cache

from haven.cases.models import CountsVersion
from haven.vault.holders import held_team_key_ids

if TYPE_CHECKING:
    from haven.accounts.models import User

T = TypeVar("T")
KEEP_SECONDS = 600


def counts_version() -> int | None:
    """The current version, or None when its row is missing (then nothing is cached)."""
    return (
        CountsVersion.objects.filter(pk=CountsVersion.SINGLETON).values_list("n", flat=True).first()
    )


def remembered_count(*, user: User, what: str, compute: Callable[[], T]) -> T:
    """``compute()`` (a count, or counts, of cases ``user`` may see, described by ``what``),
    from the cache when nothing it depends on has been written since it was made."""
    version = counts_version()
    if version is None:
        return compute()
    holder = ",".join(sorted(held_team_key_ids(user)))
    key = (
        "haven:counts:"
        + hashlib.blake2b(
            f"{version}|{user.pk}|{holder}|{what}".encode(), digest_size=16
        ).hexdigest()
    )
    found = cache.get(key)
    if found is not None:
        return found
    value = compute()
    cache.set(key, value, KEEP_SECONDS)
    return value
