"""Who can open a backup: the key block in the archive's header, and opening it.

The archive key is sealed to two keys the organisation already has:

* the **recovery key** (its 24 words): the last resort, which opens any backup of the
  organisation, whatever happened to staff since;
* the **supervisors' team key** (the *backup key*): so that a restore needs a supervisor's
  password, not the words. The database that holds supervisors' keys may be gone when a backup
  is needed, so the key block carries, for each supervisor holding the supervisors' key when the
  backup was made, their password-wrapped private key and their share of the supervisors' key —
  the same ciphertexts the database holds — under a hint (a hash of their username keyed per
  archive) rather than their name.

A supervisor therefore opens a backup with the password they had when it was made; someone who
left keeps that ability for the backups made while they held the key, exactly as for a copy of
the database of that time.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from haven.crypto import (
    ArchiveKey,
    CryptoError,
    PersonalKey,
    backup_holder_hint,
    backup_salt_new,
)
from haven.vault import integrity
from haven.vault.models import KeyShare, TeamKey, TeamKeyKind, UserKey


class OpenError(Exception):
    """The archive key could not be opened with what was given; nothing was changed."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(bytes(raw)).decode()


def _unb64(text: Any) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpenError("The archive's key block is damaged.") from exc


def key_block(*, key: ArchiveKey, recovery_public: bytes) -> tuple[dict[str, Any], int]:
    """The header's key block for ``key``, and how many supervisors can open it by password.

    Only rows that carry Haven's integrity tag go in: a share or key pair planted by a database
    writer would open nothing anyway, and is left out rather than trusted."""
    block: dict[str, Any] = {"recovery": _b64(key.seal_to(recovery_public))}
    supervisors = TeamKey.objects.filter(kind=TeamKeyKind.SUPERVISORS, active=True).first()
    holders: list[dict[str, str]] = []
    if supervisors is not None:
        integrity.team_key_check(supervisors)
        salt = backup_salt_new()
        block["salt"] = salt.hex()
        block["supervisors"] = _b64(key.seal_to(bytes(supervisors.public_key)))
        shares = KeyShare.objects.filter(
            team_key=supervisors, user__isnull=False, user__is_active=True
        ).select_related("user")
        for share in shares:
            if share.user is None:
                continue
            user_key = UserKey.objects.filter(user=share.user).first()
            if user_key is None:
                continue
            try:
                integrity.key_share_check(share, sealed=share.sealed, stored=share.tag)
                integrity.user_key_check(user_key)
            except CryptoError:
                continue
            holders.append(
                {
                    "hint": backup_holder_hint(share.user.username, salt),
                    "wrapped": _b64(user_key.wrapped_private),
                    "share": _b64(share.sealed),
                }
            )
    block["holders"] = holders
    return block, len(holders)


@dataclass
class Credentials:
    """What the person restoring gave: a supervisor's name and password, or the recovery key."""

    supervisor: str | None = None
    password: str | None = None
    recovery: PersonalKey | None = None

    def describe(self) -> str:
        return "the recovery words" if self.recovery is not None else f"{self.supervisor}"


@dataclass
class Opened:
    """An archive's key, and the key that opened it (the recovery key or the supervisors' key),
    which also opens the canary in the restored database."""

    key: ArchiveKey
    holder: PersonalKey
    by_recovery: bool


@dataclass
class Opener:
    """Opens archive keys with the same credentials, unwrapping a supervisor's key only once per
    distinct wrapping (a restore may open a newer archive for its shred ledger too)."""

    credentials: Credentials
    _personal: dict[bytes, PersonalKey] = field(default_factory=dict)

    def open(self, header: dict[str, Any]) -> Opened:
        keys = header.get("keys")
        if not isinstance(keys, dict):
            raise OpenError("The archive's key block is missing.")
        recovery = self.credentials.recovery
        if recovery is not None:
            try:
                return Opened(
                    ArchiveKey.open(recovery, _unb64(keys.get("recovery"))), recovery, True
                )
            except CryptoError as exc:
                raise OpenError(
                    "These recovery words do not open this archive: they are another "
                    "organisation's, or the archive is not this organisation's."
                ) from exc
        return self._open_as_supervisor(keys)

    def _open_as_supervisor(self, keys: dict[str, Any]) -> Opened:
        name = (self.credentials.supervisor or "").strip()
        password = self.credentials.password or ""
        if not name or not password:
            raise OpenError("Give a supervisor's name and password, or the recovery words.")
        if "supervisors" not in keys or "salt" not in keys:
            raise OpenError(
                "No supervisor held the supervisors' key when this backup was made: only the "
                "recovery words open it."
            )
        try:
            salt = bytes.fromhex(str(keys["salt"]))
        except ValueError as exc:
            raise OpenError("The archive's key block is damaged.") from exc
        hint = backup_holder_hint(name, salt)
        entries = [
            e for e in keys.get("holders") or [] if isinstance(e, dict) and e.get("hint") == hint
        ]
        if not entries:
            raise OpenError(
                f"{name} did not hold the supervisors' key when this backup was made: another "
                "supervisor of that time, or the recovery words, can open it."
            )
        sealed = _unb64(keys["supervisors"])
        for entry in entries:
            wrapped = _unb64(entry.get("wrapped"))
            personal = self._personal.get(wrapped)
            if personal is None:
                try:
                    personal = PersonalKey.unwrap_with_password(wrapped, password)
                except CryptoError:
                    continue
                self._personal[wrapped] = personal
            try:
                team = PersonalKey.open_shared(personal, _unb64(entry.get("share")))
                return Opened(ArchiveKey.open(team, sealed), team, False)
            except CryptoError:
                continue
        raise OpenError(
            f"The password does not unlock {name}'s key as it was when this backup was made "
            "(a backup opens with the password its supervisors had then)."
        )
