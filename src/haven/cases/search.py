"""Finding a person's case by name, through the blind index (:mod:`haven.vault.index`).

Names are never stored in a plain column: each person's names and aliases are kept as keyed
tokens under their case's data key, and a search compares the query's tokens. 김선희, Kim Sun-hui
and Gim Seon-hui give the same token; so, by design of the coarse key, do names the spelling
cannot tell apart (김순희). The result is always limited to the cases the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.brokers.models import Broker
from haven.brokers.selectors import broker_details, broker_list
from haven.brokers.services import broker_index_values
from haven.cases.models import Case, Group, Person
from haven.cases.selectors import CaseRow, GroupRow, case_rows, group_list, group_rows
from haven.crypto import CryptoError, KeyContext
from haven.validation import clean_text
from haven.vault.index import (
    index_key_active,
    partial_forms,
    pending_data_keys,
    search_data_keys,
    search_partial_data_keys,
    search_tokens_set,
)
from haven.vault.models import SearchIndexKey, SearchIndexPending, SearchPurpose
from haven.vault.sealed import data_keys_unlock, payload_read

MAX_QUERY_CHARS = 200
REFRESH_BATCH = 100
# A page indexes the waiting records before it searches when there are at most this many (a
# request that came in moments ago is found at once), and leaves a batch of REFRESH_BATCH for
# after its answer is sent (haven.web.after). A larger backlog (after a surge) is left whole
# for after the answer: indexing a part of it slowed every search by a few hundred milliseconds
# under a working day's load and still left the answer incomplete, which the page says.
INLINE_REFRESH = 20
# Waiting records are counted up to this many for the "not searchable yet" notice.
WAITING_COUNTED = 1_000
# What a person is found by: their names and aliases. A group's label is a name too (its data
# key holds no alias), so one lookup of these finds both.
PERSON_PURPOSES = (SearchPurpose.NAME, SearchPurpose.ALIAS)
BROKER_PURPOSES = (SearchPurpose.BROKER, SearchPurpose.PHONE)


def person_index_values(data: dict[str, Any]) -> dict[str, list[str]]:
    """What of a person's payload is searchable: their names, and their aliases."""
    names = [data.get("name_hangul") or "", data.get("name_romanized") or ""]
    return {
        SearchPurpose.NAME: [name for name in names if name],
        SearchPurpose.ALIAS: [a for a in data.get("aliases") or [] if isinstance(a, str)],
    }


def group_index_values(data: dict[str, Any]) -> dict[str, list[str]]:
    """What of a group's payload is searchable: its label ("Yanji three"), as a name of the
    group (its tokens belong to the group's own data key)."""
    label = data.get("label") or ""
    return {SearchPurpose.NAME: [label] if isinstance(label, str) and label else []}


# Every kind of record with search tokens, and what of its payload is searchable. The index
# rotation (haven.vault.index_rotation) rebuilds the same kinds.
def searchable() -> list[tuple[Any, Any]]:
    return [
        (Person, person_index_values),
        (Broker, broker_index_values),
        (Group, group_index_values),
    ]


def partial_matches(values: dict[str, list[str]], alternatives: list[frozenset[str]]) -> bool:
    """Whether a record's searchable ``values`` hold all the partial forms of one of the
    ``alternatives`` a search looks for (:func:`~haven.vault.index.query_partial_alternatives`),
    among the values of one purpose: the check of a partial search's candidates, which share
    only buckets."""
    for purpose, items in values.items():
        held: set[str] = set()
        for value in items:
            if isinstance(value, str):
                held |= partial_forms(value, words=purpose == SearchPurpose.BROKER)
        if any(alternative <= held for alternative in alternatives):
            return True
    return False


@dataclass
class Found:
    """The data keys a search found: by a whole name, and by part of one (candidates to check
    against ``alternatives``), as lists of ids, the partial ones as a subquery when there are
    very many (None: the query has no such form)."""

    exact: list[str] | None
    partial: list[str] | QuerySet[Any, Any] | None  # a subquery past MAX_PARTIAL_IDS
    alternatives: list[frozenset[str]]


def _find(
    *,
    ctx: KeyContext,
    purposes: tuple[str, ...],
    text: str,
    index_key: SearchIndexKey | None = None,
) -> Found:
    # Both read as lists of ids first: filtering cases by subqueries of tokens (with the grants'
    # check and the list's order) led PostgreSQL to walk every case in order, 0.3-1 s a query
    # at 100,000 cases; a short list of ids is looked up by its index.
    exact = search_data_keys(ctx=ctx, purposes=purposes, query=text, index_key=index_key)
    partial, alternatives = search_partial_data_keys(
        ctx=ctx, purposes=purposes, query=text, limit=MAX_PARTIAL_IDS, index_key=index_key
    )
    exact_ids = (
        None if exact is None else [str(k) for k in exact.values_list("data_key_id", flat=True)]
    )
    if exact_ids and isinstance(partial, list):
        # Whoever has the whole name holds all of its parts too: found already, not a candidate
        # to decrypt and check (for a common name, most of the partial candidates).
        whole = set(exact_ids)
        partial = [key_id for key_id in partial if key_id not in whole]
    return Found(exact=exact_ids, partial=partial, alternatives=alternatives)


def _checked(
    *,
    ctx: KeyContext,
    candidates: list[Any],
    record_of: Any,
    extract: Any,
    alternatives: list[frozenset[str]],
) -> list[Any]:
    """The candidates whose record (``record_of(candidate)``) really matches one of the
    ``alternatives``, read for this check only; a record that fails its integrity check is
    left out."""
    # Their keys in one query, not one query per candidate.
    data_keys_unlock(ctx=ctx, key_ids=[record_of(c).data_key_id for c in candidates])
    kept = []
    for candidate in candidates:
        try:
            values = extract(payload_read(ctx=ctx, record=record_of(candidate)))
        except CryptoError:
            continue
        if partial_matches(values, alternatives):
            kept.append(candidate)
    return kept


def search_index_refresh(
    *,
    ctx: KeyContext,
    actor: User | None,
    limit: int = REFRESH_BATCH,
) -> int:
    """Index the records written without search tokens (by someone who did not hold the index
    key yet) that ``ctx`` can open, at most ``limit`` of them. Returns how many were indexed.
    A page about to answer calls :func:`search_index_settle` instead.

    Nothing decrypted here is shown to anyone; one audit entry records which keys were indexed.
    """
    if not ctx.holds_index_key():
        return 0
    pending = pending_data_keys(ctx=ctx, limit=limit)
    if not pending:
        return 0
    return _index_pending(ctx=ctx, actor=actor, pending=pending)


def search_index_settle(*, ctx: KeyContext, actor: User) -> int:
    """Before a search page answers: index the records waiting for their search tokens that
    ``ctx`` can open if they are few (:data:`INLINE_REFRESH`: a request recorded moments ago by
    someone without the index key), with one read of what waits. Returns how many still wait
    (counted up to :data:`WAITING_COUNTED`), for the page's notice and for after its answer.

    One read, not two: with a surge's backlog waiting, each read walks it (tens of
    milliseconds), and the page used to read it to refresh and again to count."""
    if not ctx.holds_index_key() or not access.has_role(actor, access.CASE_READERS):
        return 0
    pending = pending_data_keys(ctx=ctx, limit=WAITING_COUNTED)
    if not pending or len(pending) > INLINE_REFRESH:
        return len(pending)
    return len(pending) - _index_pending(ctx=ctx, actor=actor, pending=pending)


def _index_pending(*, ctx: KeyContext, actor: User | None, pending: list[str]) -> int:
    """Index the ``pending`` records ``ctx`` can open; how many were indexed."""
    data_keys_unlock(ctx=ctx, key_ids=pending)
    mine = [key_id for key_id in pending if ctx.has_data_key(key_id)]
    if not mine:
        return 0
    values: dict[str, dict[str, list[str]]] = {key_id: {} for key_id in mine}
    records: list[tuple[Any, Any]] = [
        (record, extract)
        for model, extract in searchable()
        for record in model.objects.filter(data_key_id__in=mine)
    ]
    failed: set[str] = set()
    for record, extract in records:
        key_id = str(record.data_key_id)
        try:
            found = extract(payload_read(ctx=ctx, record=record))
        except CryptoError:
            failed.add(key_id)  # fails its integrity check: stays pending, and unread
            continue
        for purpose, items in found.items():
            values[key_id].setdefault(purpose, []).extend(items)
    readable = [key_id for key_id in mine if key_id not in failed]
    with transaction.atomic():
        # Claimed, not assumed: another search may be indexing the same records now (its rows
        # are locked: skipped) or may have done so since they were read (no longer pending).
        # Writing their tokens twice broke the unique index on PostgreSQL (an error page).
        claimed = {
            str(key_id)
            for key_id in SearchIndexPending.objects.select_for_update(skip_locked=True)
            .filter(data_key_id__in=readable)
            .values_list("data_key_id", flat=True)
        }
        indexed = [key_id for key_id in readable if key_id in claimed]
        for key_id in indexed:
            search_tokens_set(ctx=ctx, data_key_id=key_id, values=values[key_id])
        if indexed:
            audit_record(actor=actor, action="search.index", detail={"data_keys": indexed})
    return len(indexed)


MAX_PARTIAL_CANDIDATES = 2_000
# Holders of a part's buckets read as a list of ids up to this many, whoever may see them
# (a two-syllable given name has a few hundred per reading at 100,000 people); past it they
# are filtered in the database, slower but cutting no one the searcher may see.
MAX_PARTIAL_IDS = 10_000


def _ready(
    *,
    ctx: KeyContext,
    user: User,
    query: str,
    refresh: int = REFRESH_BATCH,
) -> str:
    """The cleaned query, once the person may search (else PermissionDenied) and up to
    ``refresh`` of the records waiting for their tokens that they can open are indexed."""
    if not access.has_role(user, access.CASE_READERS):
        raise PermissionDenied("Your role cannot see cases.")
    text = clean_text(query, field="q", max_length=MAX_QUERY_CHARS, multiline=False)
    if text and not ctx.holds_index_key():
        raise PermissionDenied(
            "You cannot search by name: you do not hold the all-staff key yet. "
            "Ask a supervisor to share it with you."
        )
    if text and refresh > 0:
        search_index_refresh(ctx=ctx, actor=user, limit=refresh)
    return text


def person_search(
    *,
    ctx: KeyContext,
    user: User,
    query: str,
    cases: QuerySet[Case] | None = None,
    refresh: int = REFRESH_BATCH,
    audited: bool = True,
) -> QuerySet[Case]:
    """The cases ``user`` may see whose person has a name or alias matching ``query``: the
    whole name in any spelling, or part of it (two syllables or more in a row: 김순 for 김순희,
    Sun-hui for 김선희; see :mod:`haven.vault.index`).

    ``cases`` narrows an existing queryset (a filtered, ordered case list); by default all cases.
    ``refresh``: how many records waiting for their search tokens are indexed first (pages
    call :func:`search_index_settle` instead, then pass 0, and index more after their
    answer). ``audited=False``: no audit entry of its own (for a caller that records the
    search in an entry of its own). Refused
    (PermissionDenied) for roles that see no cases and for people who do not hold the all-staff
    key; an overlong query or one with control characters is a ValidationError on ``q``; a query
    with no letters or digits finds nothing.
    """
    text = _ready(ctx=ctx, user=user, query=query, refresh=refresh)
    base = Case.objects.all() if cases is None else cases
    base = base.filter(access.visible_to(user))
    if not text:
        return base.none()
    found = _find(ctx=ctx, purposes=PERSON_PURPOSES, text=text)
    matched = _matching_cases(ctx=ctx, base=base, found=found)
    if audited:
        audit_record(actor=user, action="case.search", detail={})
    return matched


def _matching_cases(*, ctx: KeyContext, base: QuerySet[Case], found: Found) -> QuerySet[Case]:
    """The cases of ``base`` (already narrowed to what the searcher sees) whose person is one
    ``found`` names: by a whole name, or by part of one once their names are checked."""
    if found.exact is None and found.partial is None:
        return base.none()
    matched = Q(pk__in=[])
    if found.exact is not None:
        matched |= Q(data_key_id__in=found.exact)
    if found.partial is not None:
        candidates = list(
            base.filter(data_key_id__in=found.partial)
            .select_related("person", "person__data_key")
            .order_by()[:MAX_PARTIAL_CANDIDATES]
        )
        kept = _checked(
            ctx=ctx,
            candidates=candidates,
            record_of=lambda case: case.person,
            extract=person_index_values,
            alternatives=found.alternatives,
        )
        matched |= Q(pk__in=[case.pk for case in kept])
    return base.filter(matched)


def group_search(
    *,
    ctx: KeyContext,
    user: User,
    query: str,
    refresh: int = REFRESH_BATCH,
    audited: bool = True,
) -> list[Group]:
    """The groups ``user`` sees a member of whose label matches ``query``, whole or in part
    (``refresh`` and ``audited`` as for :func:`person_search`)."""
    text = _ready(ctx=ctx, user=user, query=query, refresh=refresh)
    if not text:
        return []
    found = _find(ctx=ctx, purposes=(SearchPurpose.NAME,), text=text)
    result = _matching_groups(ctx=ctx, user=user, found=found)
    if audited:
        audit_record(actor=user, action="group.search", detail={"found": len(result)})
    return result


def _matching_groups(*, ctx: KeyContext, user: User, found: Found) -> list[Group]:
    """The groups ``user`` sees a member of that ``found`` names, labels checked for parts."""
    groups = group_list(user=user)
    result: list[Group] = []
    if found.exact is not None:
        result += list(groups.filter(data_key_id__in=found.exact)[:MAX_PARTIAL_CANDIDATES])
    if found.partial is not None:
        candidates = list(
            groups.filter(data_key_id__in=found.partial).exclude(pk__in=[g.pk for g in result])[
                :MAX_PARTIAL_CANDIDATES
            ]
        )
        result += _checked(
            ctx=ctx,
            candidates=candidates,
            record_of=lambda group: group,
            extract=group_index_values,
            alternatives=found.alternatives,
        )
    return result


def broker_search(
    *,
    ctx: KeyContext,
    user: User,
    query: str,
    refresh: int = REFRESH_BATCH,
    audited: bool = True,
) -> list[Broker]:
    """The brokers whose alias (whole, or a word's start: "Jang") or phone number matches
    (``refresh`` and ``audited`` as for :func:`person_search`)."""
    text = _ready(ctx=ctx, user=user, query=query, refresh=refresh)
    if not text:
        return []
    found = _find(ctx=ctx, purposes=BROKER_PURPOSES, text=text)
    result = _matching_brokers(ctx=ctx, user=user, found=found)
    if audited:
        audit_record(actor=user, action="broker.search", detail={"found": len(result)})
    return result


def _matching_brokers(*, ctx: KeyContext, user: User, found: Found) -> list[Broker]:
    """The brokers ``user`` may see that ``found`` names, aliases checked for parts."""
    brokers = broker_list(user=user).order_by("created_at")
    result: list[Broker] = []
    if found.exact is not None:
        result += list(brokers.filter(data_key_id__in=found.exact)[:MAX_PARTIAL_CANDIDATES])
    if found.partial is not None:
        candidates = list(
            brokers.filter(data_key_id__in=found.partial).exclude(pk__in=[b.pk for b in result])[
                :MAX_PARTIAL_CANDIDATES
            ]
        )
        result += _checked(
            ctx=ctx,
            candidates=candidates,
            record_of=lambda broker: broker,
            extract=broker_index_values,
            alternatives=found.alternatives,
        )
    return result


@dataclass
class Everything:
    """What the search page shows: people's cases, groups (with the members the searcher sees)
    and brokers (with their alias), names decrypted, each cut to a page."""

    people: list[CaseRow]
    groups: list[GroupRow]
    brokers: list[tuple[Broker, str]]


def search_everything(*, ctx: KeyContext, user: User, query: str, shown: int) -> Everything:
    """The search page's one search over people, groups and brokers, at most ``shown`` of each
    with their names decrypted for the page (records waiting for their tokens are left to
    :func:`search_index_settle`). One audit entry records the search and what it showed:
    ``case.search`` with the cases, groups and brokers listed, in place of a list entry for
    each. Refused and validated as :func:`person_search`; an empty query finds nothing,
    unrecorded.
    """
    # One entry, not one per kind and one per list shown: each is a write, and on SQLite a
    # turn of the one writer's lock, queued behind the portal's submissions under a working
    # day's load. People and groups are found by one lookup of their names' tokens (a group's
    # label is a name; its data key holds no alias), the active index key read once.
    text = _ready(ctx=ctx, user=user, query=query, refresh=0)
    if not text:
        return Everything(people=[], groups=[], brokers=[])
    try:
        index_key = index_key_active()
        named = _find(ctx=ctx, purposes=PERSON_PURPOSES, text=text, index_key=index_key)
        visible = Case.objects.filter(access.visible_to(user))
        cases = list(
            _matching_cases(ctx=ctx, base=visible, found=named).select_related(
                "person", "person__data_key"
            )[:shown]
        )
        groups = _matching_groups(ctx=ctx, user=user, found=named)[:shown]
        brokers = _matching_brokers(
            ctx=ctx,
            user=user,
            found=_find(ctx=ctx, purposes=BROKER_PURPOSES, text=text, index_key=index_key),
        )[:shown]
        found = Everything(
            people=case_rows(ctx=ctx, user=user, cases=cases, audited=False),
            groups=group_rows(ctx=ctx, user=user, groups=groups, audited=False),
            brokers=[
                (broker, broker_details(ctx=ctx, broker=broker).get("alias", ""))
                for broker in brokers
            ],
        )
    except Exception:
        # Names were decrypted for the check before whatever failed: the search is recorded
        # all the same, as a finished one is.
        audit_record(actor=user, action="case.search", detail={"failed": True})
        raise
    audit_record(
        actor=user,
        action="case.search",
        detail={
            # The groups' members too: their names are on the page beside each group's label.
            "cases": list(
                dict.fromkeys(
                    [str(row.case.pk) for row in found.people]
                    + [str(m.case.pk) for row in found.groups for m in row.members]
                )
            ),
            "groups": [str(row.group.pk) for row in found.groups],
            "brokers": [str(broker.pk) for broker, _alias in found.brokers],
        },
    )
    return found
