"""The disclosure gate: the one predicate every outward path asks before it says anything about a
person — approving and releasing a statement, rendering it (on a page, as text, for print or as a
PDF), exporting it, the press office's lists and counts of cover records, and the API.

A cover record may be spoken about when everyone it concerns is safe: for a case, the person and
everyone travelling in their group; for a group, every member. A person is safe when their case
is in ``arrived``, ``handed_over`` or ``closed`` (:data:`haven.cases.journey.SAFE`). A side exit
(detained, repatriated, deceased, lost contact) is never safe, unless a supervisor opened that
person with a written reason, and only while the case stays in the state it was opened in.
Everything else (still on the way, declined, withdrawn, a duplicate) is closed.

The gate reads plain columns only (states, groups, openings): it needs no key, so it runs the same
for a press officer, who holds none of the cases, as for a supervisor. It is asked again at every
render: a case that goes back (say, to lost contact) closes every statement about it at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from haven.cases.journey import SAFE, State
from haven.cases.models import Case

SIDE_EXITS: frozenset[str] = frozenset(
    {State.DETAINED, State.REPATRIATED, State.DECEASED, State.LOST_CONTACT}
)


def person_safe(state: str, opened_in: str | None) -> bool:
    """Whether one person's case lets statements speak about them."""
    if state in SAFE:
        return True
    return state in SIDE_EXITS and opened_in == state


@dataclass(frozen=True)
class GateResult:
    """The gate's answer for some cover records. ``closed`` lists the cover records that may not
    be spoken about, ``people`` the cases in scope of each (for supervisors, and for the leak
    check: never shown to the press office), ``unsafe`` the cases that close them."""

    open_covers: frozenset[str] = frozenset()
    closed: frozenset[str] = frozenset()
    people: dict[str, frozenset[str]] = field(default_factory=dict)
    unsafe: frozenset[str] = frozenset()

    @property
    def open(self) -> bool:
        """True when every cover record asked about may be spoken about (and there was one)."""
        return bool(self.open_covers) and not self.closed

    def is_open(self, cover_id: Any) -> bool:
        return str(cover_id) in self.open_covers

    def cases(self) -> frozenset[str]:
        """Every case in scope of the cover records asked about."""
        found: set[str] = set()
        for ids in self.people.values():
            found |= ids
        return frozenset(found)


def gate(covers: Iterable[Any], *, missing: Iterable[str] = ()) -> GateResult:
    """The gate for ``covers`` (cover records; ``missing``: ids a statement names that no longer
    exist, which close it). Two queries, whatever the number of covers."""
    covers = list(covers)
    case_ids = {str(c.case_id) for c in covers if c.case_id is not None}
    group_ids = {str(c.group_id) for c in covers if c.group_id is not None}
    # A case's group (everyone travelling with the person is in scope too).
    group_of = {
        str(pk): (str(group) if group is not None else None)
        for pk, group in Case.objects.filter(pk__in=case_ids).values_list("pk", "group_id")
    }
    group_ids |= {g for g in group_of.values() if g is not None}
    rows = (
        Case.objects.filter(Q(pk__in=case_ids) | Q(group_id__in=group_ids)).values_list(
            "pk", "group_id", "state", "opening__state"
        )
        if case_ids or group_ids
        else []
    )
    members: dict[str, set[str]] = {}
    safe: dict[str, bool] = {}
    for pk, group, state, opened_in in rows:
        safe[str(pk)] = person_safe(state, opened_in)
        if group is not None:
            members.setdefault(str(group), set()).add(str(pk))
    people: dict[str, frozenset[str]] = {}
    open_covers: set[str] = set()
    closed: set[str] = {str(m) for m in missing}
    for cover in covers:
        if cover.case_id is not None:
            key = str(cover.case_id)
            scope = {key} if key in group_of else set()
            own_group = group_of.get(key)
            if own_group is not None:
                scope |= members.get(own_group, set())
        else:
            scope = set(members.get(str(cover.group_id), set()))
        people[str(cover.pk)] = frozenset(scope)
        if scope and all(safe.get(pk, False) for pk in scope):
            open_covers.add(str(cover.pk))
        else:
            closed.add(str(cover.pk))
    unsafe = frozenset(pk for pk, ok in safe.items() if not ok)
    return GateResult(
        open_covers=frozenset(open_covers), closed=frozenset(closed), people=people, unsafe=unsafe
    )
