"""Writing the audit trail: one hash-chained entry per action, in the action's transaction; signing
the head again after an investigation; keeping anchors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from haven.audit.anchors import Anchor, AnchorFileError, anchor_append, anchor_file
from haven.audit.chain import ENTRY_FIELDS, GENESIS, entry_hash, normalise_detail
from haven.audit.context import current_session
from haven.audit.models import AuditEntry, AuditHead
from haven.audit.pseudonyms import audit_target_id, pseudonymise_detail
from haven.audit.signing import head_sign, head_signer

# Detail keys that may carry only non-sensitive values (states, counts, ids, field names).
_ALLOWED_DETAIL_TYPES = (str, int, float, bool, type(None), list)

logger = logging.getLogger("haven.audit")


# Work that must happen last in every writing transaction, before its audit entry: apps register
# it from AppConfig.ready (haven.cases: settling the counts of cases written, haven.cases.tallies).
# The chain head's row lock, which every writer queues on, is taken after them.
before_append: list[Callable[[], object]] = []


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    detail: dict[str, Any] | None = None,
    session: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit chain. Call inside the transaction of the action it records.

    The chain head row is locked (``SELECT ... FOR UPDATE``; on SQLite the IMMEDIATE transaction
    already holds the write lock) until that transaction ends, so concurrent appends queue and each
    takes the next ``seq`` and links to the entry before. A rolled-back action leaves no entry and
    no head advance. Called outside a transaction, the entry is written in one of its own.

    The new head is signed (:mod:`haven.audit.signing`) only if the head it follows carries this
    server's signature: a head changed in the database (a rewritten chain, a moved or rebuilt head)
    is never signed over. The entry is written all the same, so that the organisation's work does
    not stop, and the head stays unsigned, which ``haven audit verify`` reports, until
    :func:`audit_head_sign` is run after an investigation.

    ``session`` is a non-identifying reference to the login session (never the session key);
    by default the one the request's middleware bound (:mod:`haven.audit.context`), if any.
    """
    if session is None:
        session = current_session()
    detail = detail or {}
    for key, value in detail.items():
        if not isinstance(value, _ALLOWED_DETAIL_TYPES):
            raise TypeError(f"audit detail {key!r} must be a plain value")
    detail = normalise_detail(pseudonymise_detail(detail))
    actor_id = (
        getattr(actor, "pk", None)
        if actor is not None and getattr(actor, "is_authenticated", False)
        else None
    )
    target_type = target._meta.label_lower if target is not None else ""
    target_id = audit_target_id(target) if target is not None else ""
    # An entry written in a transaction of its own (a page's read) follows no write of that
    # transaction: on PostgreSQL the hooks, which settle only what this transaction wrote, would
    # look and find nothing. SQLite's hooks also settle what autocommitted writes left.
    inside = transaction.get_connection().in_atomic_block
    with transaction.atomic(savepoint=False):
        connection = transaction.get_connection()
        if inside or connection.vendor != "postgresql":
            for hook in before_append:
                hook()
        with connection.cursor() as cursor:
            head = _head_locked(cursor, connection)
            if head is None:
                (seq, head_hash), trusted = _head_created()
            else:
                seq, head_hash, signature = head
                trusted = head_signer(seq, head_hash, signature) is not None
                if not trusted:
                    logger.error(
                        "audit chain head at seq %s does not carry this server's signature: new "
                        "entries stay unsigned until `haven audit sign-head` (run `haven audit "
                        "verify`)",
                        seq,
                    )
            values: dict[str, Any] = {
                "seq": seq + 1,
                "at": timezone.now(),
                "actor_id": actor_id,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "detail": detail,
                "session": session,
                "prev_hash": head_hash,
            }
            entry = AuditEntry(**values, entry_hash=entry_hash(**values))
            new_signature = head_sign(entry.seq, entry.entry_hash) if trusted else ""
            _append(cursor, connection, entry, new_signature)
    return entry


def _head_locked(cursor: Any, connection: Any) -> tuple[int, str, str] | None:
    """The head's seq, hash and signature, its row locked (on SQLite the IMMEDIATE transaction
    already holds the write lock). In SQL of its own: every action of the organisation waits
    for the head, and the ORM's query building took longer than the query."""
    table = connection.ops.quote_name(AuditHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(
        f"SELECT seq, entry_hash, signature FROM {table} WHERE id = %s{lock}",  # noqa: S608  # nosec B608  # our own table's name
        [AuditHead.SINGLETON],
    )
    row = cursor.fetchone()
    return (int(row[0]), row[1], row[2]) if row is not None else None


def _head_created() -> tuple[tuple[int, str], bool]:
    """The head row, made when missing (for the first entry, or when the head was lost: a
    restore, a bad fixture load, while the chain exists): its seq and hash, and whether the next
    head may be signed."""
    head, created = AuditHead.objects.select_for_update().get_or_create(
        pk=AuditHead.SINGLETON, defaults={"seq": 0, "entry_hash": GENESIS}
    )
    if not created:  # made by a concurrent first append between our read and this one
        trusted = head_signer(head.seq, head.entry_hash, head.signature) is not None
        return (head.seq, head.entry_hash), trusted
    last = AuditEntry.objects.order_by("-seq").first()
    if last is None:
        return (0, GENESIS), True
    # Go on from the last entry instead of colliding with seq 1 on every action. `haven audit
    # verify` still reports the missing head if anything was cut, and the rebuilt head is not
    # signed: this server did not see that entry written.
    logger.error("audit chain head was missing; rebuilt from entry %s", last.seq)
    return (last.seq, last.entry_hash), False


# Per database vendor: the entry's fields and the SQL that appends it (see _append).
_APPEND_SQL: dict[str, tuple[list[Any], str, str]] = {}


def _append_sql(connection: Any) -> tuple[list[Any], str, str]:
    """The entry's fields in column order, the statement that inserts the entry and moves the
    head (one on PostgreSQL, else the insert), and the head's move on its own; made once per
    process, since every action of the organisation appends."""
    known = _APPEND_SQL.get(connection.vendor)
    if known is not None:
        return known
    by_name = {f.attname: f for f in AuditEntry._meta.concrete_fields}
    fields = [by_name[name] for name in ENTRY_FIELDS]
    quote = connection.ops.quote_name
    entries, heads = quote(AuditEntry._meta.db_table), quote(AuditHead._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    insert = f"INSERT INTO {entries} ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608  # our own table and column names
    update = f"UPDATE {heads} SET seq = %s, entry_hash = %s, at = %s, signature = %s WHERE id = %s"  # noqa: S608  # nosec B608  # our own table's name
    if connection.vendor == "postgresql":
        insert = f"WITH e AS ({insert} RETURNING id) {update} RETURNING (SELECT id FROM e)"  # noqa: S608  # nosec B608  # the two statements above
    _APPEND_SQL[connection.vendor] = (fields, insert, update)
    return fields, insert, update


def _append(cursor: Any, connection: Any, entry: AuditEntry, signature: str) -> None:
    """Insert the entry and move the head to it. On PostgreSQL in one statement: the head stays
    locked until the transaction ends, and each round trip while it is held makes every other
    writer wait (the portal's surge and every staff page queue there)."""
    fields, insert, update = _append_sql(connection)
    values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
    # The head's `at` is a DateTimeField like the entry's: prepared the same way.
    at = fields[ENTRY_FIELDS.index("at")].get_db_prep_save(entry.at, connection)
    head = [entry.seq, entry.entry_hash, at, signature, AuditHead.SINGLETON]
    if connection.vendor == "postgresql":
        cursor.execute(insert, [*values, *head])
        entry.pk = cursor.fetchone()[0]
    else:
        cursor.execute(insert, values)
        entry.pk = cursor.lastrowid
        cursor.execute(update, head)
    entry._state.adding = False
    entry._state.db = connection.alias


class AuditRefusedError(Exception):
    """The head cannot be anchored or signed as it is; the message says why and what to do."""


def audit_anchor_keep(*, now: Any = None) -> tuple[Anchor, str | None]:
    """Anchor the chain head: append it to ``HAVEN_AUDIT_ANCHOR_FILE`` (when one is configured).

    Returns the anchor and the line kept (None without a file). Refused (AuditRefusedError) when
    the head does not carry this server's signature, its last entry is not intact, or the last
    kept anchor no longer holds: anchoring then would vouch for a chain that was changed. The
    database is not written.
    """
    from haven.audit.selectors import audit_head_intact

    anchor, problem = audit_head_intact()
    if problem:
        raise AuditRefusedError(f"Not anchored: {problem}.")
    path = anchor_file()
    if path is None:
        return anchor, None
    try:
        line = anchor_append(path, anchor, kept_at=now or timezone.now())
    except AnchorFileError as exc:
        raise AuditRefusedError(f"Not anchored: {exc}") from exc
    return anchor, line


def audit_head_sign(*, anchors: Iterable[str] = (), without_anchor: bool = False) -> AuditEntry:
    """Sign the chain head again with this server's key, after an investigation.

    For a head left unsigned (it followed a head whose signature did not check, or was rebuilt)
    or signed with a key the server no longer has. Signing vouches for the chain as it stands, so
    the whole chain is verified first, against every kept anchor and each of ``anchors`` (lines
    printed earlier and kept elsewhere): any problem but the head's signature refuses it, and so
    does having no anchor at all to compare with unless ``without_anchor``. Writes an
    ``audit.head_signed`` entry.
    """
    from haven.audit.selectors import SIGNATURE, audit_tail_intact, audit_verify

    anchors = list(anchors)
    result = audit_verify(anchors=anchors, max_problems=10)
    others = [p for p in result.problems if p.kind != SIGNATURE]
    if others or result.problem_count > len(result.problems):
        listed = "; ".join(str(p) for p in others[:3])
        raise AuditRefusedError(
            f"Not signed: the chain has {result.problem_count} problem(s) besides the head's "
            f"signature ({listed}). Run haven audit verify."
        )
    if result.anchors_checked == 0 and not without_anchor:
        raise AuditRefusedError(
            "Not signed: there is no anchor to compare the chain with (none kept in "
            "HAVEN_AUDIT_ANCHOR_FILE, none given). Give the last anchor you printed, or confirm "
            "that you checked the chain another way."
        )
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().get(pk=AuditHead.SINGLETON)
        was = "another key" if head.signature else "unsigned"
        if result.head_signer is not None and head.seq == result.head_seq:
            was = "previous key" if result.head_signer == "previous" else "current key"
        moved = (head.seq, head.entry_hash) != (result.head_seq, result.head_hash)
        if moved and not audit_tail_intact(result.head_seq or 0, result.head_hash or GENESIS):
            raise AuditRefusedError(
                "Not signed: entries written during the check do not link to the chain. Run "
                "haven audit verify."
            )
        head.signature = head_sign(head.seq, head.entry_hash)
        head.save(update_fields=["signature"])
        return audit_record(
            actor=None,
            action="audit.head_signed",
            detail={"seq": head.seq, "was": was, "anchors": result.anchors_checked},
        )
