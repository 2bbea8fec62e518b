"""An optional proof-of-work for portal clients that run JavaScript.

In a flood, the per-process submission limit turns people away with a kind "try again in a few
minutes" page; and a receipt check under first digits that have seen many wrong receipts is
asked to wait (:mod:`haven.portal.limits`). A browser with JavaScript can instead pay for its
place: ``pow.js`` finds a nonce such that SHA-256("haven-pow:" + form token + ":" + nonce)
starts with ``HAVEN_PORTAL_POW_BITS`` zero bits (about 2**bits hashes; a second or two on a
phone at the default; a few more bits for a much-guessed receipt prefix), and such a submission
is accepted past the limit, up to a hard ceiling, or such a check is made. Without JavaScript
nothing changes. The challenge is the form's one-time token, so a solved nonce cannot be reused;
checking costs one hash. No client address or other identifier is involved.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

MAX_NONCE_CHARS = 20


def pow_bits() -> int:
    """The difficulty asked of clients; 0 turns the proof-of-work off."""
    return int(settings.HAVEN_PORTAL_POW_BITS)


def _leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def pow_valid(*, token: str, nonce: object, bits: int | None = None) -> bool:
    """Whether ``nonce`` (as posted) solves the challenge of ``token`` at ``bits``."""
    bits = pow_bits() if bits is None else bits
    if bits <= 0 or not isinstance(nonce, str) or not token:
        return False
    if not nonce.isascii() or not nonce.isdigit() or len(nonce) > MAX_NONCE_CHARS:
        return False
    digest = hashlib.sha256(f"haven-pow:{token}:{nonce}".encode()).digest()
    return _leading_zero_bits(digest) >= bits


def pow_solve(*, token: str, bits: int) -> str:
    """Find a nonce (what pow.js does in the browser); for tests and load generators."""
    nonce = 0
    while not pow_valid(token=token, nonce=str(nonce), bits=bits):
        nonce += 1
    return str(nonce)
