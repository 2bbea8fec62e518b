"""Reading the audit chain: verify every link, export and check anchors.

:func:`audit_verify` walks the chain in ``seq`` order in bounded memory and names what is wrong:

* ``edited``: an entry's content no longer matches its hash (or it was re-hashed, so the entry
  after it no longer links to it);
* ``deleted``: a gap in ``seq``, or an entry whose predecessor is gone;
* ``inserted``: an entry that the one after it links past, one before seq 1, or entries after
  the head;
* ``reordered``: an entry whose content is intact but was written at another ``seq`` (a swap, or
  a renumbered stretch after an insertion or deletion);
* ``truncated``: the head is further on than the last entry (the tail was removed);
* ``head``: the head row is missing or its hash is not the last entry's;
* ``signature``: the head does not carry this server's signature (:mod:`haven.audit.signing`):
  someone without ``HAVEN_SECRET_KEY`` rewrote the chain and moved the head, or re-signed it with
  another key;
* ``anchor``: an entry that an anchor kept outside the database (:mod:`haven.audit.anchors`)
  names is no longer in the chain with that hash: rewritten, removed, or the chain rolled back
  to an earlier state (whose head a copy of the database still holds signed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from haven import access
from haven.audit.anchors import (
    Anchor,
    AnchorFileError,
    anchor_file,
    anchors_read,
    parse_anchor_line,
)
from haven.audit.anchors import (
    parse_anchor as parse_anchor,  # re-exported: the command and tests read anchors here
)
from haven.audit.chain import ENTRY_FIELDS, GENESIS, format_at, hash_text
from haven.audit.models import AuditEntry, AuditHead
from haven.audit.pseudonyms import audit_id
from haven.audit.signing import PREVIOUS, head_signer, signature_valid
from haven.crypto import audit_public_key

if TYPE_CHECKING:
    from haven.accounts.models import User

EDITED = "edited"
DELETED = "deleted"
INSERTED = "inserted"
REORDERED = "reordered"
TRUNCATED = "truncated"
HEAD = "head"
SIGNATURE = "signature"
ANCHOR = "anchor"

_FIELDS = ENTRY_FIELDS
# Row tuple positions (the order of _FIELDS).
_SEQ, _AT, _ACTOR, _ACTION, _TTYPE, _TID, _DETAIL, _SESSION, _PREV, _HASH = range(10)
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int
    message: str
    seq_end: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class VerifyResult:
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    head_signer: str | None = None  # signing.CURRENT, signing.PREVIOUS, or None
    anchor_file: str | None = None
    anchors_checked: int = 0
    notes: list[str] = field(default_factory=list)  # worth knowing, not a problem
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    max_problems: int = 100

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def unlisted(self) -> int:
        return self.problem_count - len(self.problems)

    def kinds(self) -> list[tuple[str, int]]:
        """(kind, seq) of each listed problem, for tests and scripts."""
        return [(p.kind, p.seq) for p in self.problems]


def _at_text(value: Any) -> str:
    """The canonical time of a raw ``at`` column.

    PostgreSQL gives an aware datetime; SQLite a naive one in UTC (Django stores UTC there; Haven
    sets no per-database TIME_ZONE), or Django's UTC text if no converter ran.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="microseconds") + "Z"
        return format_at(value)
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:]}Z"
        if len(value) == 19 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}.000000Z"
        parsed = parse_datetime(value)
        if parsed is not None:
            return _at_text(parsed)
    raise ValueError("not a time")


def _hash_row(row: Row, seq: int) -> str:
    """The hash a raw entry row should carry if it were written at ``seq``."""
    detail = row[_DETAIL]
    try:
        return hash_text(
            seq,
            _at_text(row[_AT]),
            row[_ACTOR],
            row[_ACTION],
            row[_TTYPE],
            row[_TID],
            json.loads(detail) if isinstance(detail, str | bytes) else detail,
            row[_SESSION],
            row[_PREV],
        )
    except (TypeError, ValueError):  # a time or detail that no longer parses: not what was hashed
        return ""


def _raw_rows(chunk_size: int = 100, **lookup: Any) -> Iterator[Row]:
    """Entry rows in seq order as the database returns them (no ORM conversion: ``at`` and
    ``detail`` are left for :func:`_hash_row`), read ``chunk_size`` at a time (a server-side cursor
    on PostgreSQL)."""
    query = AuditEntry.objects.filter(**lookup).order_by("seq").values_list(*_FIELDS)
    sql, params = query.query.sql_with_params()
    connection = connections[query.db]
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield from rows


def _first_row(**lookup: Any) -> Row | None:
    return next(iter(_raw_rows(1, **lookup)), None)


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first}..{last}"


class _Walker:
    """Checks one entry at a time, remembering only the last two (and a few broken ones).

    An intact entry takes the fast path: right seq, hash matches, links to the one before. Only a
    broken one is looked into (where does it belong, does the entry it links to exist).
    """

    RECENT = 10_000  # hash -> the seq it was written at, for broken entries and look-ups
    LOOKUPS = 1_000  # database look-ups by hash, spent only on broken entries

    def __init__(self, result: VerifyResult) -> None:
        self.result = result
        self.expected = 1
        self.prev: Row | None = None
        self.prev_flagged = False
        self.prev_hash = GENESIS  # prev's entry_hash (GENESIS before seq 1)
        self.prev_written: int = 0  # the seq prev was written at
        self.prev2_hash: str | None = None  # hash of the entry before prev (GENESIS before seq 1)
        self.prev2_written: int = 0
        self.recent: dict[str, int] = {}
        self.lookups_left = self.LOOKUPS
        self.offset = 0  # written seq minus seq of the last reordered entry
        self.pending_move: tuple[int, int, int] | None = None  # first seq, last seq, offset

    # -- problems -------------------------------------------------------------------------------
    def _store(self, problem: Problem) -> None:
        self.result.problem_count += 1
        if len(self.result.problems) < self.result.max_problems:
            self.result.problems.append(problem)

    def _flush_move(self) -> None:
        if self.pending_move is None:
            return
        first, last, offset = self.pending_move
        self.pending_move = None
        if first == last:
            message = f"seq {first}: reordered: this entry was written as seq {first + offset}"
        else:
            message = (
                f"seq {first}..{last}: reordered: these {last - first + 1} entries were written "
                f"as seq {first + offset}..{last + offset}"
            )
        self._store(Problem(REORDERED, first, message, last if last != first else None))

    def add(self, kind: str, seq: int, message: str, seq_end: int | None = None) -> None:
        self._flush_move()
        self._store(Problem(kind, seq, message, seq_end))

    def moved(self, seq: int, written: int) -> None:
        offset = written - seq
        if self.pending_move is not None:
            first, last, pending_offset = self.pending_move
            if pending_offset == offset and seq == last + 1:
                self.pending_move = (first, seq, offset)
                return
            self._flush_move()
        self.pending_move = (seq, seq, offset)

    # -- recovering where a broken entry belongs ------------------------------------------------
    def _remember(self, hash_: str, written: int) -> None:
        if len(self.recent) >= self.RECENT:
            self.recent.clear()
        self.recent[hash_] = written

    def _seen(self, hash_: str) -> int | None:
        """The seq the entry with this hash was written at, if it was seen lately."""
        if hash_ == self.prev_hash and self.prev is not None:
            return self.prev_written
        if hash_ == self.prev2_hash and self.prev2_hash != GENESIS:
            return self.prev2_written
        return self.recent.get(hash_)

    def _lookup(self, hash_: str, depth: int) -> int | None:
        """The seq the entry with this hash was written at, found in the database."""
        if self.lookups_left <= 0:
            return None
        self.lookups_left -= 1
        row = _first_row(entry_hash=hash_)
        if row is None:
            return None
        written: int | None = None
        if _hash_row(row, row[_SEQ]) == row[_HASH]:
            written = int(row[_SEQ])
        elif depth > 0:
            written = self.written_seq(row, depth - 1)[0]
        if written is not None:
            self._remember(hash_, written)
        return written

    def _written_at(self, hash_: str) -> int | None:
        written = self._seen(hash_)
        return written if written is not None else self._lookup(hash_, 2)

    def written_seq(self, row: Row, depth: int = 2) -> tuple[int | None, bool]:
        """(The seq this entry's intact content was hashed with, whether its predecessor exists)."""
        candidates: list[int] = []
        predecessor = False
        if row[_PREV] == GENESIS:
            candidates.append(1)
            predecessor = True
        else:
            before = self._seen(row[_PREV])
            if before is None:
                before = self._lookup(row[_PREV], depth)
            if before is not None:
                candidates.append(before + 1)
                predecessor = True
        seq = int(row[_SEQ])
        candidates += [seq + self.offset, seq + 1, seq - 1]
        for candidate in candidates:
            if candidate >= 0 and candidate != seq and _hash_row(row, candidate) == row[_HASH]:
                return candidate, predecessor
        return None, predecessor

    # -- the walk -------------------------------------------------------------------------------
    def feed(self, row: Row) -> None:
        result = self.result
        seq = row[_SEQ]
        result.entries += 1
        result.last_seq = seq
        if (
            seq == self.expected
            and row[_PREV] == self.prev_hash
            and _hash_row(row, seq) == row[_HASH]
        ):
            self._advance(row, seq, flagged=False)
            return
        self._feed_broken(row, int(seq))

    def _advance(self, row: Row, written: int, *, flagged: bool) -> None:
        if self.result.first_seq is None:
            self.result.first_seq = int(row[_SEQ])
        self.prev2_hash, self.prev2_written = self.prev_hash, self.prev_written
        self.prev, self.prev_hash, self.prev_written = row, row[_HASH], written
        self.prev_flagged = flagged
        self.expected = row[_SEQ] + 1

    def _feed_broken(self, row: Row, seq: int) -> None:
        flagged = False
        gap = seq > self.expected
        if gap:
            first, last = self.expected, seq - 1
            self.add(
                DELETED,
                first,
                f"{_span(first, last)}: deleted: the chain jumps from seq {first - 1} to seq {seq}",
                last if last != first else None,
            )
        elif seq < self.expected:
            flagged = True
            self.add(
                INSERTED, seq, f"seq {seq}: inserted: out of sequence (expected {self.expected})"
            )

        predecessor = True
        if _hash_row(row, seq) == row[_HASH]:
            written: int | None = seq
        else:
            flagged = True
            written, predecessor = self.written_seq(row)
            if written is not None:
                self._remember(row[_HASH], written)

        # The link to the entry before (unless a problem found already explains a broken one).
        prev = self.prev
        if (
            row[_PREV] != self.prev_hash
            and not gap
            and not self.prev_flagged
            and not (prev is None and flagged)
        ):
            if prev is not None and row[_PREV] == self.prev2_hash:
                self.add(
                    INSERTED,
                    int(prev[_SEQ]),
                    f"seq {prev[_SEQ]}: inserted: seq {seq} links past it to the entry before",
                )
            elif not flagged and prev is not None:
                self.add(
                    EDITED,
                    int(prev[_SEQ]),
                    f"seq {prev[_SEQ]}: edited and re-hashed: seq {seq} no longer links to it",
                )
            elif not flagged:
                self.add(
                    DELETED,
                    seq,
                    f"seq {seq}: deleted: the entries before it are gone (it does not link to "
                    "the start of the chain)",
                )

        if written is None:
            self.add(EDITED, seq, f"seq {seq}: edited: its content no longer matches its hash")
        elif written != seq:
            if not predecessor:
                self.add(
                    DELETED,
                    seq,
                    f"seq {seq}: deleted: the entry before it (written as seq {written - 1}) "
                    "is gone",
                )
            self.offset = written - seq
            self.moved(seq, written)
        self._advance(row, written if written is not None else seq, flagged=flagged)

    def finish(self, head: tuple[int, str] | None) -> None:
        result = self.result
        last = self.prev
        if head is None:
            if last is not None:
                self.add(HEAD, int(last[_SEQ]), "head: the chain head row is missing")
            self._flush_move()
            return
        head_seq, head_hash = head
        result.head_seq, result.head_hash = head_seq, head_hash
        last_seq = int(last[_SEQ]) if last is not None else 0
        last_hash = last[_HASH] if last is not None else GENESIS
        if head_seq > last_seq:
            self.add(
                TRUNCATED,
                last_seq + 1,
                f"{_span(last_seq + 1, head_seq)}: deleted from the end: the head is at seq "
                f"{head_seq} but the last entry is seq {last_seq}",
                head_seq if head_seq != last_seq + 1 else None,
            )
        elif head_seq < last_seq:
            self.add(
                INSERTED,
                head_seq + 1,
                f"{_span(head_seq + 1, last_seq)}: inserted after the head (the head is at seq "
                f"{head_seq})",
                last_seq if last_seq != head_seq + 1 else None,
            )
        elif head_hash != last_hash and self._written_at(head_hash) != head_seq:
            # (A head that names an entry still present, only moved, is reported with that entry.)
            self.add(
                HEAD,
                head_seq,
                f"head: its hash does not match the last entry (seq {head_seq})",
            )
        self._flush_move()


def _read_head() -> tuple[int, str, str] | None:
    row = (
        AuditHead.objects.filter(pk=AuditHead.SINGLETON)
        .values_list("seq", "entry_hash", "signature")
        .first()
    )
    return (int(row[0]), str(row[1]), str(row[2])) if row is not None else None


def _rows(after: int, chunk_size: int) -> Iterable[Row]:
    return _raw_rows(chunk_size, seq__gt=after)


class _AnchorWatch:
    """Checks the walk against kept anchors: each anchored seq must still hold the anchored hash."""

    def __init__(self, walker: _Walker, anchors: list[Anchor]) -> None:
        self.walker = walker
        self.by_seq: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            self.by_seq.setdefault(anchor.seq, []).append(anchor)
        self.seen: set[int] = set()

    def see(self, row: Row) -> None:
        seq = int(row[_SEQ])
        self.seen.add(seq)
        for anchor in self.by_seq[seq]:
            if row[_HASH] != anchor.entry_hash:
                self.walker.add(
                    ANCHOR,
                    seq,
                    f"seq {seq}: not the entry anchored in {anchor.where()}{_kept(anchor)}: the "
                    f"chain up to seq {seq} was rewritten after it was anchored",
                )

    def finish(self, last_seq: int | None) -> None:
        for seq, anchors in sorted(self.by_seq.items()):
            if seq in self.seen:
                continue
            for anchor in anchors:
                if seq == 0:
                    if anchor.entry_hash != GENESIS:
                        self.walker.add(
                            ANCHOR, 0, f"{anchor.where()}: seq 0 can only be the empty chain"
                        )
                elif last_seq is None or seq > last_seq:
                    self.walker.add(
                        ANCHOR,
                        seq,
                        f"seq {seq}: anchored in {anchor.where()}{_kept(anchor)}, but the chain "
                        f"now ends at seq {last_seq or 0}: entries were removed from the end and "
                        "the head moved back",
                    )
                else:
                    self.walker.add(
                        ANCHOR,
                        seq,
                        f"seq {seq}: anchored in {anchor.where()}{_kept(anchor)}, and no longer "
                        "in the chain",
                    )


def _kept(anchor: Anchor) -> str:
    return f" (kept {format_at(anchor.kept_at)})" if anchor.kept_at is not None else ""


def _load_anchors(result: VerifyResult, walker: _Walker, extra: list[Anchor]) -> list[Anchor]:
    """The kept anchors and ``extra`` ones; a line that is not an anchor, or whose signature does
    not match it, is a problem (the file was altered)."""
    anchors = list(extra)
    path = anchor_file()
    if path is None:
        result.notes.append(
            "no anchor file is configured (HAVEN_AUDIT_ANCHOR_FILE): a rollback of the whole "
            "chain to an earlier state would not show"
        )
    else:
        result.anchor_file = str(path)
        try:
            kept, bad_lines = anchors_read(path)
        except AnchorFileError as exc:
            walker.add(ANCHOR, 0, f"anchor file: {exc}")
            kept, bad_lines = [], []
        for message in bad_lines:
            walker.add(ANCHOR, 0, message)
        if not kept and not bad_lines:
            result.notes.append(f"no anchor is kept in {path} yet: run haven audit anchor")
        anchors += kept
    other_keys = 0
    for anchor in anchors:
        if not anchor.signature:
            continue
        if not signature_valid(anchor.seq, anchor.entry_hash, anchor.signature):
            walker.add(
                ANCHOR,
                anchor.seq,
                f"{anchor.where()}: its signature does not match seq {anchor.seq} and its hash: "
                "the anchor was altered",
            )
        elif head_signer(anchor.seq, anchor.entry_hash, anchor.signature) is None:
            other_keys += 1
    if other_keys:
        result.notes.append(
            f"{other_keys} anchor(s) were signed with a key this server no longer holds (kept "
            "before HAVEN_SECRET_KEY changed)"
        )
    return anchors


def _check_head_signature(
    result: VerifyResult, walker: _Walker, head: tuple[int, str, str]
) -> None:
    seq, entry_hash, signature = head
    result.head_signer = head_signer(seq, entry_hash, signature)
    if result.head_signer == PREVIOUS:
        result.notes.append(
            "the head is signed with a key in HAVEN_SECRET_KEY_FALLBACKS; the next entry is signed "
            "with the current key"
        )
    elif result.head_signer is None and not signature:
        walker.add(
            SIGNATURE,
            seq,
            f"head: seq {seq} is not signed: the head was moved or rebuilt outside Haven, or "
            "followed a head whose signature did not check (the chain may have been rewritten; "
            "compare it with a printed anchor, then run haven audit sign-head)",
        )
    elif result.head_signer is None:
        walker.add(
            SIGNATURE,
            seq,
            f"head: the signature of seq {seq} is not this server's: the head was re-signed "
            "with another key or forged (or HAVEN_SECRET_KEY changed without "
            "HAVEN_SECRET_KEY_FALLBACKS)",
        )


def audit_verify(
    *,
    chunk_size: int = 2000,
    max_problems: int = 100,
    progress: Callable[[int], None] | None = None,
    anchors: Iterable[str] = (),
) -> VerifyResult:
    """Walk the whole chain and report every problem (the first ``max_problems`` listed).

    Besides the links, the head must carry this server's signature, and every anchor kept in
    ``HAVEN_AUDIT_ANCHOR_FILE`` (and each of ``anchors``, lines as printed by ``haven audit
    anchor``) must still name an entry of the chain with the same hash.

    Entries appended while the walk runs are taken in too: the head is read after the walk, and
    the walk continues up to it, so a busy system does not look truncated.
    """
    result = VerifyResult(max_problems=max_problems)
    walker = _Walker(result)
    given = [parse_anchor_line(text) for text in anchors]
    watch = _AnchorWatch(walker, _load_anchors(result, walker, given))
    anchored = watch.by_seq
    result.anchors_checked = sum(len(found) for found in anchored.values())
    after = -1
    head = None
    for _round in range(10):
        batch = 0
        for row in _rows(after, chunk_size):
            walker.feed(row)
            if anchored and row[_SEQ] in anchored:
                watch.see(row)
            batch += 1
            if progress is not None and batch % chunk_size == 0:
                progress(chunk_size)
        if progress is not None and batch % chunk_size:
            progress(batch % chunk_size)
        if result.last_seq is not None:
            after = result.last_seq
        head = _read_head()
        if batch == 0 or head is None or head[0] <= max(after, 0):
            break
    walker.finish(head[:2] if head is not None else None)
    watch.finish(result.last_seq)
    if head is not None:
        _check_head_signature(result, walker, head)
    return result


def audit_chain_length() -> int:
    """The number of entries the head says the chain has (cheap; for progress bars)."""
    head = _read_head()
    return head[0] if head is not None else 0


# -- anchors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorCheck:
    ok: bool
    message: str


def audit_anchor() -> Anchor:
    """The current chain head with its signature, to print or keep where the server cannot
    change it (``haven audit anchor``, the auditors' and supervisors' pages)."""
    head = AuditHead.objects.filter(pk=AuditHead.SINGLETON).first()
    if head is None:
        return Anchor(seq=0, entry_hash=GENESIS, at=None)
    return Anchor(seq=head.seq, entry_hash=head.entry_hash, at=head.at, signature=head.signature)


def audit_anchor_check(text: str) -> AnchorCheck:
    """Is the entry an anchor names still in the chain, with the same hash and intact content?

    ``text`` is a line as printed by ``haven audit anchor`` (or just its ``seq:hash``); a
    signature on it must match. Raises ValueError when ``text`` is not an anchor. Run
    :func:`audit_verify` as well: an anchor vouches for the chain up to its entry only together
    with intact links.
    """
    anchor = parse_anchor_line(text)
    seq, expected = anchor.seq, anchor.entry_hash
    if anchor.signature and not signature_valid(seq, expected, anchor.signature):
        return AnchorCheck(
            False, f"seq {seq}: the anchor's signature does not match it: the anchor was altered"
        )
    if seq == 0:
        ok = expected == GENESIS
        return AnchorCheck(
            ok, "seq 0 is the empty chain" if ok else "seq 0 can only be the empty chain"
        )
    row = _first_row(seq=seq)
    if row is None:
        return AnchorCheck(
            False, f"seq {seq}: no such entry any more: deleted, or the chain was truncated"
        )
    if row[_HASH] != expected:
        return AnchorCheck(
            False,
            f"seq {seq}: the entry's hash is now {row[_HASH]}, not {expected}: the chain up to "
            "this entry was rewritten",
        )
    if _hash_row(row, seq) != row[_HASH]:
        return AnchorCheck(
            False,
            f"seq {seq}: the entry still carries the anchored hash but its content was edited",
        )
    head = _read_head()
    now = f" (the head is now at seq {head[0]})" if head is not None else ""
    return AnchorCheck(True, f"seq {seq}: the anchored entry is still in the chain{now}")


@dataclass(frozen=True)
class SignedHead:
    anchor: Anchor
    signed: bool  # by this server's current or previous key
    public_key: str  # this server's audit key, to check printed anchors with


def audit_signed_head(*, user: User) -> SignedHead:
    """The head to print on the auditors' and supervisors' pages, and this server's audit key."""
    access.require(access.allowed(user, "audit.head"))
    anchor = audit_anchor()
    signer = head_signer(anchor.seq, anchor.entry_hash, anchor.signature)
    return SignedHead(anchor=anchor, signed=signer is not None, public_key=audit_public_key())


def audit_head_intact() -> tuple[Anchor, str | None]:
    """The head and, if it cannot be anchored as it is, why (cheap: no walk).

    It must carry this server's signature, and its last entry must be in the chain, intact, with
    the head's hash. The last kept anchor must still hold as well: a chain rolled back since it
    was kept is not anchored again.
    """
    anchor = audit_anchor()
    if head_signer(anchor.seq, anchor.entry_hash, anchor.signature) is None:
        return anchor, (
            f"the head (seq {anchor.seq}) does not carry this server's signature: run "
            "haven audit verify"
        )
    if anchor.seq:
        row = _first_row(seq=anchor.seq)
        if (
            row is None
            or row[_HASH] != anchor.entry_hash
            or _hash_row(row, anchor.seq) != row[_HASH]
        ):
            return anchor, (
                f"the head names seq {anchor.seq}, which is not in the chain as it says: run "
                "haven audit verify"
            )
    path = anchor_file()
    if path is not None:
        try:
            kept, _bad = anchors_read(path)
        except AnchorFileError as exc:
            return anchor, str(exc)
        if kept:
            last = kept[-1]
            check = audit_anchor_check(last.reference)
            if last.seq > anchor.seq or not check.ok:
                return anchor, (
                    f"the last kept anchor ({last.where()}) no longer holds: {check.message}"
                    if not check.ok
                    else f"the chain ends at seq {anchor.seq}, before the last kept anchor "
                    f"(seq {last.seq}, {last.where()}): it was rolled back"
                )
    return anchor, None


# -- the auditors' viewer ---------------------------------------------------------------------


def audit_entry_list(
    *,
    user: User,
    actor_id: int | None = None,
    target_id: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Audit entries for auditors, newest first (by ``seq``), narrowed by the given filters.

    ``since`` and ``until`` are inclusive. Entries hold no sensitive values: nothing is decrypted.
    """
    access.require(access.has_role(user, access.AUDIT_READERS))
    entries = AuditEntry.objects.select_related("actor").order_by("-seq")
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if target_id:
        # Record ids are stored as pseudonyms; a pasted pseudonym is found as it is.
        entries = entries.filter(target_id__in={target_id.strip(), audit_id(target_id.strip())})
    if action:
        entries = entries.filter(action=action)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lte=until)
    return entries


def audit_tail_intact(after_seq: int, after_hash: str) -> bool:
    """Whether the entries after ``after_seq`` (whose hash is ``after_hash``) are intact, each
    linked to the one before, up to the head (cheap: for the few entries written during a walk)."""
    head = _read_head()
    if head is None:
        return False
    expected, prev = after_seq + 1, after_hash
    for row in _raw_rows(100, seq__gt=after_seq):
        if row[_SEQ] != expected or row[_PREV] != prev or _hash_row(row, expected) != row[_HASH]:
            return False
        expected, prev = expected + 1, row[_HASH]
    return head[0] == expected - 1 and head[1] == prev
