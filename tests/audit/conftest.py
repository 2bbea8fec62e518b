"""Audit chain helpers: a short chain of real entries, and a forger who knows the hash function."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from haven.audit.chain import entry_hash
from haven.audit.models import AuditEntry, AuditHead
from haven.audit.services import audit_record


def make_chain(actor: Any, n: int) -> list[AuditEntry]:
    return [
        audit_record(actor=actor, action="case.view", detail={"i": i, "fields": ["summary"]})
        for i in range(1, n + 1)
    ]


def rehash(seq: int, **changes: Any) -> None:
    """Change an entry and give it the hash its new content should have (a careful forger)."""
    entry = AuditEntry.objects.get(seq=seq)
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.entry_hash = hash_of(entry)
    entry.save()


def hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        detail=entry.detail,
        session=entry.session,
        prev_hash=entry.prev_hash,
    )


def forge(*, seq: int, prev_hash: str, action: str = "case.view") -> AuditEntry:
    """A forged entry with a plausible hash: correct form, linked to ``prev_hash``."""
    entry = AuditEntry(
        seq=seq,
        at=dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC),
        actor_id=None,
        action=action,
        target_type="cases.case",
        target_id="42",
        detail={},
        session="",
        prev_hash=prev_hash,
    )
    entry.entry_hash = hash_of(entry)
    entry.save(force_insert=True)
    return entry


def shift_up(from_seq: int) -> None:
    """Renumber every entry from ``from_seq`` on one up, making room for an insertion."""
    with transaction.atomic():
        for entry in AuditEntry.objects.filter(seq__gte=from_seq).order_by("-seq"):
            AuditEntry.objects.filter(pk=entry.pk).update(seq=entry.seq + 1)


def swap(seq_a: int, seq_b: int) -> None:
    a = AuditEntry.objects.get(seq=seq_a)
    b = AuditEntry.objects.get(seq=seq_b)
    with transaction.atomic():
        AuditEntry.objects.filter(pk=a.pk).update(seq=10**9)
        AuditEntry.objects.filter(pk=b.pk).update(seq=seq_a)
        AuditEntry.objects.filter(pk=a.pk).update(seq=seq_b)


def head() -> AuditHead:
    return AuditHead.objects.get(pk=AuditHead.SINGLETON)


@pytest.fixture
def chain(alice) -> list[AuditEntry]:
    """Six entries by alice: seq 1..6."""
    return make_chain(alice, 6)


def _fresh_chain() -> None:
    AuditEntry.objects.all().delete()
    AuditHead.objects.all().delete()


# These tests count entries from seq 1: the named users come without the entries that setting up
# the organisation's keys and sharing team keys with them wrote.
@pytest.fixture
def alice(alice):
    _fresh_chain()
    return alice


@pytest.fixture
def bob(bob):
    _fresh_chain()
    return bob
