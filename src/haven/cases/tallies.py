"""Counts of the cases each person may see, kept at write time: no page load recounts them.

Who may see a case is decided by its key's live grants (:mod:`haven.access`), so a person's count
is a union over the holders they can act as (themselves and the team keys they hold), and
counting it from the cases means checking a grant for every case: about a second at 100,000
cases on SQLite, on every dashboard after any write. Instead:

* each case belongs to one **holder set** — the set of people and team keys with a live grant of
  its key (:class:`~haven.cases.models.HolderSet`; a few hundred distinct sets in an
  organisation, since cases are sealed to their recorder, owner, team, intake and supervisors);
* :class:`~haven.cases.models.CaseTally` remembers each case's set, state and urgency, and
  :class:`~haven.cases.models.HolderSetCount` how many cases each set has per state and urgency;
* database triggers note every case and grant written (:class:`~haven.cases.models.TallyDirty`,
  migration ``cases.0005``), and :func:`tallies_catch_up`, run by ``audit_record`` as the last
  write of every service's transaction, moves the noted cases between counts in that same
  transaction;
* a person's counts are the sums over the holder sets that include a holder they can act as
  (:func:`visible_counts`): a few hundred rows, whatever the number of cases;
* open cases are also counted per holder set and day of their next contact
  (:class:`~haven.cases.models.HolderSetDue`), so that the overdue count is a sum over the days
  before today (:func:`visible_due_before`) plus today's cases, counted directly;
* requests the same way, per holder set and triage status (:class:`~haven.cases.models.
  RequestTally`, :class:`~haven.cases.models.HolderSetRequestCount`): the inbox's count
  (:func:`visible_request_counts`).

Only ids, states, urgencies and numbers are kept; nothing is decrypted. Counters are split over a
few shards so that concurrent transactions on PostgreSQL do not queue on one row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.db.models.expressions import RawSQL

from haven.cases.journey import TERMINAL
from haven.cases.models import (
    Case,
    CaseTally,
    HolderSet,
    HolderSetCount,
    HolderSetDue,
    HolderSetMember,
    HolderSetRequestCount,
    Request,
    RequestTally,
    TallyDirty,
)
from haven.vault.holders import held_team_key_ids
from haven.vault.models import Grant, TeamKey

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.db.rows import Rows

SHARDS = 8

# digest -> holder set id; sets are never changed once made, so each process remembers them.
_set_ids: dict[bytes, int] = {}


def _refs_digest(refs: Iterable[str]) -> bytes:
    return hashlib.blake2b("\n".join(sorted(refs)).encode(), digest_size=16).digest()


def holder_set_id(refs: frozenset[str]) -> int:
    """The id of the holder set ``refs`` (``u:<id>``, ``t:<uuid>``), made on first need."""
    digest = _refs_digest(refs)
    found = _set_ids.get(digest)
    if found is not None:
        return found
    found = HolderSet.objects.filter(digest=digest).values_list("pk", flat=True).first()
    if found is None:
        try:
            with transaction.atomic():
                made = HolderSet.objects.create(digest=digest)
                HolderSetMember.objects.bulk_create(
                    HolderSetMember(holder_set=made, ref=ref) for ref in sorted(refs)
                )
                found = made.pk
        except IntegrityError:  # made by a concurrent transaction
            found = HolderSet.objects.values_list("pk", flat=True).get(digest=digest)
    if not connection.in_atomic_block:
        _set_ids[digest] = found
    else:
        # Remember it only once it is committed: a rolled-back set must not be reused.
        transaction.on_commit(lambda: _set_ids.__setitem__(digest, found))
    return found


def _add(model: Any, delta: int, **where: Any) -> None:
    """Add ``delta`` to the count row of ``model`` at ``where``, made on first need (a
    concurrent transaction making the same row first is met by adding to theirs)."""
    if model.objects.filter(**where).update(n=F("n") + delta):
        return
    try:
        with transaction.atomic():
            model.objects.create(**where, n=delta)
    except IntegrityError:
        model.objects.filter(**where).update(n=F("n") + delta)


def _shard() -> int:
    return random.randrange(SHARDS)  # noqa: S311  # nosec B311  # spreads writers over rows


def due_day(state: str, next_contact_due: dt.datetime | None) -> dt.date | None:
    """The day a case is counted as due on: its next contact's day (UTC) while it is open."""
    if next_contact_due is None or state in TERMINAL:
        return None
    return next_contact_due.astimezone(dt.UTC).date()


def _dirty() -> Any:
    rows = TallyDirty.objects.all()
    if connection.vendor == "postgresql":
        # Only what this transaction wrote: other transactions' notes are theirs to settle.
        rows = rows.filter(txid=RawSQL("txid_current()", []))
    return rows


def _dirty_exists() -> bool:
    """Whether :func:`_dirty` holds anything, asked in SQL of its own: it is asked before every
    audit entry, and most transactions (a portal submission, a note) write nothing counted."""
    table = connection.ops.quote_name(TallyDirty._meta.db_table)
    mine = " WHERE txid = txid_current()" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table}{mine} LIMIT 1")  # noqa: S608  # nosec B608  # our own table's name
        return cursor.fetchone() is not None


def tallies_forget() -> None:
    """Forget the holder sets remembered by this process (tests, whose databases come and go)."""
    _set_ids.clear()


def tallies_catch_up(*, everything: bool = False) -> int:
    """Move the cases written in this transaction between counts; returns how many were
    settled. ``everything``: also what earlier transactions left (``haven purge``)."""
    if not everything and not _dirty_exists():
        return 0
    rows = TallyDirty.objects.all() if everything else _dirty()
    noted = list(rows.values_list("pk", "case_id", "request_id", "data_key_id"))
    if not noted:
        return 0
    case_ids = {case_id for _, case_id, _, _ in noted if case_id is not None}
    request_ids = {request_id for _, _, request_id, _ in noted if request_id is not None}
    key_ids = {key_id for _, _, _, key_id in noted if key_id is not None}
    if key_ids:
        case_ids |= set(Case.objects.filter(data_key_id__in=key_ids).values_list("pk", flat=True))
        request_ids |= set(
            Request.objects.filter(data_key_id__in=key_ids).values_list("pk", flat=True)
        )
    settled = _settle(case_ids) + _settle_requests(request_ids)
    TallyDirty.objects.filter(pk__in=[pk for pk, _, _, _ in noted]).delete()
    return settled


def _holders_of(key_ids: Iterable[Any]) -> dict[Any, set[str]]:
    holders: dict[Any, set[str]] = defaultdict(set)
    for key_id, user_id, team_key_id in Grant.objects.filter(
        data_key_id__in=list(key_ids), stale=False
    ).values_list("data_key_id", "user_id", "team_key_id"):
        holders[key_id].add(f"u:{user_id}" if user_id is not None else f"t:{team_key_id}")
    return holders


def _settle_requests(request_ids: set[Any]) -> int:
    """:func:`_settle` for requests: their holder set and status, counted per set and status."""
    if not request_ids:
        return 0
    now = {
        pk: (key, status)
        for pk, key, status in Request.objects.filter(pk__in=request_ids).values_list(
            "pk", "data_key_id", "status"
        )
    }
    holders = _holders_of(key for key, _ in now.values())
    before = {
        tally.request_id: tally
        for tally in RequestTally.objects.select_for_update().filter(request_id__in=request_ids)
    }
    deltas: dict[tuple[int, str], int] = defaultdict(int)
    written: list[RequestTally] = []
    gone: list[Any] = []
    for request_id in request_ids:
        old = before.get(request_id)
        current = now.get(request_id)
        new = None
        if current is not None:
            key, status = current
            new = (holder_set_id(frozenset(holders.get(key, ()))), status)
        if old is not None and new == (old.holder_set_id, old.status):
            continue
        if old is not None:
            deltas[(old.holder_set_id, old.status)] -= 1
        if new is None:
            if old is not None:
                gone.append(request_id)
            continue
        deltas[new] += 1
        written.append(RequestTally(request_id=request_id, holder_set_id=new[0], status=new[1]))
    # One order for every writer (see _settle).
    for (holder_set, status), delta in sorted(deltas.items()):
        if delta:
            _add(
                HolderSetRequestCount,
                delta,
                holder_set_id=holder_set,
                status=status,
                shard=_shard(),
            )
    if gone:
        RequestTally.objects.filter(request_id__in=gone).delete()
    if written:
        RequestTally.objects.bulk_create(
            written,
            update_conflicts=True,
            unique_fields=["request_id"],
            update_fields=["holder_set", "status"],
        )
    return len(request_ids)


def _settle(case_ids: set[Any]) -> int:
    if not case_ids:
        return 0
    now = {
        pk: (key, state, urgency, due_day(state, due))
        for pk, key, state, urgency, due in Case.objects.filter(pk__in=case_ids).values_list(
            "pk", "data_key_id", "state", "urgency", "next_contact_due"
        )
    }
    holders = _holders_of(key for key, _, _, _ in now.values())
    before = {
        tally.case_id: tally
        for tally in CaseTally.objects.select_for_update().filter(case_id__in=case_ids)
    }
    # Moves are summed per count before any is written: an import's chunk of 500 new cases
    # sealed to the same holders is one counter update, not 500 (and one insert of tallies).
    deltas: dict[tuple[int, str, int], int] = defaultdict(int)
    due_deltas: dict[tuple[int, dt.date], int] = defaultdict(int)
    written: list[CaseTally] = []
    gone: list[Any] = []
    for case_id in case_ids:
        old = before.get(case_id)
        current = now.get(case_id)
        new = None
        if current is not None:
            key, state, urgency, day = current
            new = (holder_set_id(frozenset(holders.get(key, ()))), state, urgency, day)
        if old is not None and new == (old.holder_set_id, old.state, old.urgency, old.due):
            continue
        if old is not None:
            deltas[(old.holder_set_id, old.state, old.urgency)] -= 1
            if old.due is not None:
                due_deltas[(old.holder_set_id, old.due)] -= 1
        if new is None:
            if old is not None:
                gone.append(case_id)
            continue
        deltas[new[:3]] += 1
        if new[3] is not None:
            due_deltas[(new[0], new[3])] += 1
        written.append(
            CaseTally(
                case_id=case_id, holder_set_id=new[0], state=new[1], urgency=new[2], due=new[3]
            )
        )
    # In one order for every writer, so that two settling transactions never wait on each
    # other's counters in opposite orders (a deadlock on PostgreSQL).
    for (holder_set, state, urgency), delta in sorted(deltas.items()):
        if delta:
            _add(
                HolderSetCount,
                delta,
                holder_set_id=holder_set,
                state=state,
                urgency=urgency,
                shard=_shard(),
            )
    for (holder_set, day), delta in sorted(due_deltas.items()):
        if delta:
            _add(HolderSetDue, delta, holder_set_id=holder_set, day=day)
    if gone:
        CaseTally.objects.filter(case_id__in=gone).delete()
    if written:
        # Insert or replace, as update_or_create did one case at a time.
        CaseTally.objects.bulk_create(
            written,
            update_conflicts=True,
            unique_fields=["case_id"],
            update_fields=["holder_set", "state", "urgency", "due"],
        )
    return len(case_ids)


def _upsert(
    model: Any, keys: tuple[str, ...], values: tuple[Any, ...], n: int
) -> tuple[str, tuple]:
    """An insert of a count row that adds ``n`` to the row already there (both databases
    accept ``ON CONFLICT ... DO UPDATE``): one statement, whether or not the row exists."""
    table = model._meta.db_table
    columns = ", ".join((*keys, "n"))
    marks = ", ".join(["%s"] * (len(keys) + 1))
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608  # nosec B608  # names from the models
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET n = {table}.n + excluded.n"
    )
    return sql, (*values, n)


@dataclass(frozen=True)
class TallyMoves:
    """The counts of new requests and cases, worked out before their transaction opens
    (:func:`tallies_of_new`), as statements to run in it right after their rows are inserted
    (:meth:`haven.db.rows.Inserts.then`): the counters' upserts, then dropping the notes the
    new rows' triggers left (they are settled: the catch-up before the audit entry finds
    nothing of theirs to do)."""

    statements: tuple[tuple[str, tuple[Any, ...]], ...]


def _notes_dropped(case_ids: list[Any], request_ids: list[Any]) -> tuple[str, tuple[Any, ...]]:
    table = TallyDirty._meta.db_table
    prep = TallyDirty._meta.get_field("case_id").get_db_prep_value
    where = " OR ".join(
        f"{column} IN ({', '.join(['%s'] * len(ids))})"
        for column, ids in (("case_id", case_ids), ("request_id", request_ids))
        if ids
    )
    if connection.vendor == "postgresql":
        # Only this transaction's notes (as _dirty): another's are theirs to settle.
        where = f"({where}) AND txid = txid_current()"
    params = tuple(prep(value, connection) for value in (*case_ids, *request_ids))
    return f"DELETE FROM {table} WHERE {where}", params  # noqa: S608  # nosec B608  # names and placeholders only


def tallies_of_new(
    *, holders: Iterable[Any], requests: Iterable[Request], cases: Iterable[Case], rows: Rows
) -> TallyMoves:
    """The tallies of requests and cases not yet inserted, whose keys are granted to exactly
    ``holders`` (team keys; ValueError otherwise), added to ``rows``, and their counters' moves to run in
    the transaction that inserts them (:class:`TallyMoves`).

    The same result as :func:`tallies_catch_up` settling them, without its dozen queries inside
    the transaction: the portal stores a request this way, and SQLite's one write lock is held
    for its inserts only (``tests/cases/test_tallies.py`` checks it against a recount)."""
    holders = list(holders)
    if not all(isinstance(holder, TeamKey) for holder in holders):
        # A person without a key pair gets no grant (vault.sealed.holder_public_keys), so the
        # set of grants written could differ from the set given: team keys only.
        raise ValueError("tallies_of_new counts records granted to team keys only")
    holder_set = holder_set_id(frozenset(f"t:{holder.pk}" for holder in holders))
    counts: dict[tuple[str, int], int] = defaultdict(int)
    dues: dict[dt.date, int] = defaultdict(int)
    statuses: dict[str, int] = defaultdict(int)
    case_ids, request_ids = [], []
    for case in cases:
        day = due_day(case.state, case.next_contact_due)
        counts[(case.state, case.urgency)] += 1
        if day is not None:
            dues[day] += 1
        rows.add(
            CaseTally(
                case_id=case.pk,
                holder_set_id=holder_set,
                state=case.state,
                urgency=case.urgency,
                due=day,
            )
        )
        case_ids.append(case.pk)
    for request in requests:
        statuses[request.status] += 1
        rows.add(
            RequestTally(request_id=request.pk, holder_set_id=holder_set, status=request.status)
        )
        request_ids.append(request.pk)
    # In the order _settle moves counts, so that no two writers wait on each other's rows in
    # opposite orders (a deadlock on PostgreSQL).
    statements = [
        _upsert(
            HolderSetCount,
            ("holder_set_id", "state", "urgency", "shard"),
            (holder_set, state, urgency, _shard()),
            n,
        )
        for (state, urgency), n in sorted(counts.items())
    ]
    statements += [
        _upsert(
            HolderSetDue,
            ("holder_set_id", "day"),
            (holder_set, connection.ops.adapt_datefield_value(day)),
            n,
        )
        for day, n in sorted(dues.items())
    ]
    statements += [
        _upsert(
            HolderSetRequestCount,
            ("holder_set_id", "status", "shard"),
            (holder_set, status, _shard()),
            n,
        )
        for status, n in sorted(statuses.items())
    ]
    if case_ids or request_ids:
        statements.append(_notes_dropped(case_ids, request_ids))
    return TallyMoves(statements=tuple(statements))


def tallies_rebuild() -> int:
    """Count every case afresh (after a bulk load that bypassed the services, or to check)."""
    with transaction.atomic():
        TallyDirty.objects.all().delete()
        CaseTally.objects.all().delete()
        HolderSetCount.objects.all().delete()
        HolderSetDue.objects.all().delete()
        RequestTally.objects.all().delete()
        HolderSetRequestCount.objects.all().delete()
        ids = list(Case.objects.values_list("pk", flat=True))
        for start in range(0, len(ids), 2000):
            _settle(set(ids[start : start + 2000]))
        request_ids = list(Request.objects.values_list("pk", flat=True))
        for start in range(0, len(request_ids), 2000):
            _settle_requests(set(request_ids[start : start + 2000]))
    return len(ids)


def _visible_sets(user: User) -> Any:
    refs = [f"u:{user.pk}", *(f"t:{key_id}" for key_id in held_team_key_ids(user))]
    return HolderSetMember.objects.filter(ref__in=refs).values("holder_set_id")


def visible_due_before(user: User, day: dt.date) -> int:
    """How many open cases ``user`` may see whose next contact fell on a day (UTC) before
    ``day``."""
    found = HolderSetDue.objects.filter(holder_set_id__in=_visible_sets(user), day__lt=day)
    return found.aggregate(total=Sum("n"))["total"] or 0


def visible_request_counts(user: User) -> dict[str, int]:
    """How many requests ``user`` may see, per triage status (sums over holder sets)."""
    return {
        row["status"]: row["total"]
        for row in HolderSetRequestCount.objects.filter(holder_set_id__in=_visible_sets(user))
        .values("status")
        .annotate(total=Sum("n"))
        .order_by()
        if row["total"]
    }


def visible_counts(user: User) -> dict[tuple[str, int], int]:
    """How many cases ``user`` may see, per (state, urgency): sums over the holder sets that
    include a holder they can act as. Call only for roles that work with cases."""
    sets = _visible_sets(user)
    return {
        (row["state"], row["urgency"]): row["total"]
        for row in HolderSetCount.objects.filter(holder_set_id__in=sets)
        .values("state", "urgency")
        .annotate(total=Sum("n"))
        .order_by()
        if row["total"]
    }


def visible_total(
    user: User,
    *,
    states: Iterable[str] | None = None,
    urgency: int | None = None,
    excluding: Iterable[str] = (),
) -> int:
    """The number of cases ``user`` may see in ``states`` (all when None), of ``urgency`` (any
    when None), outside ``excluding``."""
    wanted = None if states is None else set(states)
    skip = set(excluding)
    return sum(
        n
        for (state, level), n in visible_counts(user).items()
        if (wanted is None or state in wanted)
        and state not in skip
        and (urgency is None or level == urgency)
    )
