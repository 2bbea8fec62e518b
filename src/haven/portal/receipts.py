"""Receipts: 20 random digits, shown once, stored only as an Argon2id digest.

A receipt looks like ``3817-0264-9915-4402-7731``: harmless if found on a phone or a scrap of
paper (an account number), easy to read out, and typed on any keyboard. It has
log2(10^20) ≈ 66.4 bits of entropy; :func:`haven.crypto.receipt_keys` gives the cost
arithmetic. On entry it is normalised (:func:`receipt_normalise`): full-width digits become
ASCII, and spaces, dashes and dots are dropped.
"""

from __future__ import annotations

import secrets
import unicodedata

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from haven.crypto import ReceiptKeys, receipt_keys, receipt_salt_new
from haven.portal.models import ReceiptSalt

RECEIPT_DIGITS = 20
GROUP = 4
# What people put between groups of digits: spaces, hyphens and every dash, dots, slashes.
_SEPARATORS = frozenset(" \t\u00a0\u3000-./\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d")


def receipt_new() -> str:
    """A fresh receipt: 20 uniformly random digits (leading zeros allowed), digits only."""
    return f"{secrets.randbelow(10**RECEIPT_DIGITS):0{RECEIPT_DIGITS}d}"


def receipt_display(receipt: str) -> str:
    """``38170264991544027731`` → ``3817-0264-9915-4402-7731``."""
    return "-".join(receipt[i : i + GROUP] for i in range(0, len(receipt), GROUP))


def receipt_normalise(value: object) -> str | None:
    """The 20 ASCII digits of what someone typed, or None if it cannot be a receipt."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    text = unicodedata.normalize("NFKC", value)
    digits = "".join(ch for ch in text if ch not in _SEPARATORS and not ch.isspace())
    if len(digits) != RECEIPT_DIGITS or not all("0" <= ch <= "9" for ch in digits):
        return None
    return digits


# The salt and cost are chosen once, with the first receipt, and never change (every stored
# digest depends on them): each process reads them once per database.
_salts: dict[str, ReceiptSalt] = {}


def receipt_salt_forget() -> None:
    """Read the salt again next time (tests, whose databases come and go)."""
    _salts.clear()


def _salt() -> ReceiptSalt:
    alias = router.db_for_read(ReceiptSalt)
    if alias in _salts:
        return _salts[alias]
    row = _salt_read()
    if not connections[alias].in_atomic_block:  # never remember a row a rollback may undo
        _salts[alias] = row
    return row


def _salt_read() -> ReceiptSalt:
    row = ReceiptSalt.objects.filter(pk=ReceiptSalt.SINGLETON).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return ReceiptSalt.objects.create(
                pk=ReceiptSalt.SINGLETON,
                salt=receipt_salt_new(),
                opslimit=int(settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT),
                memlimit=int(settings.HAVEN_PORTAL_RECEIPT_MEMLIMIT),
                created_at=timezone.now(),
            )
    except IntegrityError:  # another process created it first
        return ReceiptSalt.objects.get(pk=ReceiptSalt.SINGLETON)


def receipt_keys_of(receipt: str) -> ReceiptKeys:
    """The lookup digest and wrapping key of a (normalised) receipt. Costs one Argon2id run:
    call outside any transaction that holds a write lock."""
    row = _salt()
    return receipt_keys(
        receipt, bytes(row.salt), opslimit=int(row.opslimit), memlimit=int(row.memlimit)
    )


def digest_of(receipt: str) -> bytes:
    """The stored form of a (normalised) receipt (one Argon2id run)."""
    return receipt_keys_of(receipt).lookup
