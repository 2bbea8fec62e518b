"""Writing the audit trail: one hash-chained entry per action, in the action's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from haven.audit.chain import GENESIS, entry_hash, normalise_detail
from haven.audit.context import current_session
from haven.audit.models import AuditEntry, AuditHead
from haven.audit.pseudonyms import audit_target_id, pseudonymise_detail

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
        if created:
            last = AuditEntry.objects.order_by("-seq").first()
            if last is not None:
                # The head row was lost (a restore, a bad fixture load) while the chain exists:
                # go on from the last entry instead of colliding with seq 1 on every action.
                # `haven audit verify` still reports the missing head if anything was cut.
                logger.error("audit chain head was missing; rebuilt from entry %s", last.seq)
                head.seq, head.entry_hash = last.seq, last.entry_hash
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
            seq=seq, entry_hash=entry.entry_hash, at=at
        )
    return entry
