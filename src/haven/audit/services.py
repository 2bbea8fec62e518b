"""Writing the audit trail: one hash-chained entry per action, in the action's transaction; signing
the head again after an investigation; keeping anchors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from haven.audit.anchors import Anchor, AnchorFileError, anchor_append, anchor_file
from haven.audit.chain import GENESIS, entry_hash, normalise_detail
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
    with transaction.atomic(savepoint=False):
        for hook in before_append:
            hook()
        head, created = AuditHead.objects.select_for_update().get_or_create(
            pk=AuditHead.SINGLETON, defaults={"seq": 0, "entry_hash": GENESIS}
        )
        trusted = created or head_signer(head.seq, head.entry_hash, head.signature) is not None
        if created:
            last = AuditEntry.objects.order_by("-seq").first()
            if last is not None:
                # The head row was lost (a restore, a bad fixture load) while the chain exists:
                # go on from the last entry instead of colliding with seq 1 on every action.
                # `haven audit verify` still reports the missing head if anything was cut, and the
                # rebuilt head is not signed: this server did not see that entry written.
                logger.error("audit chain head was missing; rebuilt from entry %s", last.seq)
                head.seq, head.entry_hash = last.seq, last.entry_hash
                trusted = False
        elif not trusted:
            logger.error(
                "audit chain head at seq %s does not carry this server's signature: new entries "
                "stay unsigned until `haven audit sign-head` (run `haven audit verify`)",
                head.seq,
            )
        seq = head.seq + 1
        at = timezone.now()
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            session=session,
            prev_hash=head.entry_hash,
        )
        entry.entry_hash = entry_hash(
            seq=seq,
            at=at,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            session=session,
            prev_hash=head.entry_hash,
        )
        entry.save(force_insert=True)
        AuditHead.objects.filter(pk=AuditHead.SINGLETON).update(
            seq=seq,
            entry_hash=entry.entry_hash,
            at=at,
            signature=head_sign(seq, entry.entry_hash) if trusted else "",
        )
    return entry


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
