"""The signed chain head: what is signed, and whether a stored signature is this server's.

The hash chain shows an entry edited, moved or removed *unless* whoever changed it also re-hashed
everything after it and moved the head: anyone who can write to the database can. The head's
``seq`` and ``entry_hash`` are therefore signed with a key derived from ``HAVEN_SECRET_KEY``
(:func:`haven.crypto.audit_sign`), which a database writer does not hold. Every append checks the
stored signature before it links to the head, so a head changed in the database is never signed
over by the next entry; ``haven audit verify`` checks it at the end of the walk.

A signed head does not show a *rollback*: a copy of the database taken earlier holds an earlier
head with a genuine signature, and truncating the chain back to it is consistent. Anchors kept
outside the database (:mod:`haven.audit.anchors`) show that.
"""

from __future__ import annotations

from django.conf import settings

from haven.audit.chain import GENESIS
from haven.crypto import audit_sign, audit_signature_signer, audit_signature_valid

CURRENT = "current"
PREVIOUS = "previous"

# Heads this process signed or checked lately: checking a signature costs ~70 µs, and an append
# usually finds the head the same process signed a moment ago.
# Keyed with the server's secret too, so that a change of key is never answered from memory.
_KNOWN_GOOD: dict[tuple[str, int, str, str], str] = {}


def head_message(seq: int, entry_hash: str) -> bytes:
    """The bytes signed for a head: its seq and the hash of its last entry, in a fixed form."""
    return f"haven-audit-head/v1 {int(seq)}:{entry_hash}".encode("ascii")


def head_sign(seq: int, entry_hash: str) -> str:
    signature = audit_sign(head_message(seq, entry_hash))
    _remember((settings.SECRET_KEY, seq, entry_hash, signature), CURRENT)
    return signature


def _remember(key: tuple[str, int, str, str], signer: str) -> None:
    if len(_KNOWN_GOOD) >= 64:
        _KNOWN_GOOD.clear()
    _KNOWN_GOOD[key] = signer


def head_signer(seq: int, entry_hash: str, signature: str) -> str | None:
    """Who signed this head: :data:`CURRENT` (this server's key), :data:`PREVIOUS` (a key in
    ``SECRET_KEY_FALLBACKS``), or None: unsigned, forged, or signed with another key.

    The empty chain (seq 0, nothing to vouch for) counts as signed by the current key.
    """
    if seq == 0 and entry_hash == GENESIS:
        return CURRENT
    if not signature:
        return None
    key = (settings.SECRET_KEY, seq, entry_hash, signature)
    known = _KNOWN_GOOD.get(key)
    if known is not None:
        return known
    signer = audit_signature_signer(head_message(seq, entry_hash), signature)
    if signer is not None:
        _remember(key, signer)
    return signer


def signature_valid(seq: int, entry_hash: str, signature: str) -> bool:
    """Whether ``signature`` is a valid signature of this head by the key it names (any key):
    for anchors kept before a change of ``HAVEN_SECRET_KEY``."""
    return audit_signature_valid(head_message(seq, entry_hash), signature)
