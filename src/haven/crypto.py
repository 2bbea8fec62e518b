"""The one module that owns cryptography. Nothing else imports PyNaCl or sees a key.

Every sensitive payload is encrypted with its record's own random *data key* using
XChaCha20-Poly1305 (libsodium's AEAD), with the record's identity and version as associated data,
so a payload copied onto another record or carried to another version fails to open.

Data keys are stored only *sealed*: to the public key of each person or team granted access and to
the organisation recovery key (X25519 sealed boxes). A person's private key is stored wrapped by a
key derived with Argon2id from their password; while they are logged in it is held only encrypted
under a random secret that lives in their session cookie. See docs/security.md for the hierarchy.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import os
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import argon2.exceptions
import argon2.low_level
import nacl.bindings as sodium
import nacl.exceptions
import nacl.public
import nacl.pwhash
import nacl.signing
import nacl.utils
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_PUBLIC_BYTES = nacl.public.PublicKey.SIZE
_FORMAT_V1 = b"\x01"
_CACHE_LIMIT = 2048


class CryptoError(Exception):
    """A payload or key could not be opened: wrong key, wrong record, or tampering."""


# --- Pass-through mode: benchmarks only --------------------------------------------------------
# benchmarks/caseload.py times each page twice in one run: with real cryptography, and with the
# payload AEAD and the sealed boxes replaced by identity transforms, so that the difference is what
# the cryptography costs. Everything else (queries, grant lookups, JSON, the password-wrapped and
# session-protected personal keys) stays as it is. Pass-through output carries its own format
# byte: real mode refuses it, and pass-through mode refuses real ciphertext, so the two can never
# be confused. It cannot be switched on by configuration in a deployment: only a settings module
# written for tests or benchmarks sets either flag (production settings read neither from the
# environment), and each pass-through operation checks again.

_FORMAT_PASSTHROUGH = b"\xb0"
_passthrough: ContextVar[bool] = ContextVar("haven_crypto_passthrough", default=False)


class PassthroughRefusedError(ImproperlyConfigured):
    """Pass-through mode was asked for outside test or benchmark settings."""


def _passthrough_allowed() -> bool:
    return (
        getattr(settings, "HAVEN_KDF_INSECURE_FOR_TESTS", False) is True
        or getattr(settings, "HAVEN_CRYPTO_PASSTHROUGH_FOR_BENCHMARKS", False) is True
    )


def _passthrough_on() -> bool:
    if not _passthrough.get():
        return False
    if not _passthrough_allowed():
        raise PassthroughRefusedError("Crypto pass-through mode is for tests and benchmarks only.")
    return True


@contextmanager
def passthrough_for_benchmarks() -> Iterator[None]:
    """Within this block, payloads and sealed boxes are *not* encrypted (benchmarks only).

    Refused (:class:`PassthroughRefusedError`) unless the settings are test settings
    (``HAVEN_KDF_INSECURE_FOR_TESTS = True``) or a benchmark's
    (``HAVEN_CRYPTO_PASSTHROUGH_FOR_BENCHMARKS = True``). Scoped to the current thread or task.
    """
    if not _passthrough_allowed():
        raise PassthroughRefusedError("Crypto pass-through mode is for tests and benchmarks only.")
    token = _passthrough.set(True)
    try:
        yield
    finally:
        _passthrough.reset(token)


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = nacl.utils.random(NONCE_BYTES)
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    return _FORMAT_V1 + nonce + ciphertext


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if blob[:1] == _FORMAT_PASSTHROUGH:
        raise CryptoError("a benchmark's pass-through payload is refused outside pass-through mode")
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != _FORMAT_V1:
        raise CryptoError("not a Haven ciphertext")
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[1 + NONCE_BYTES :], aad, nonce, key
        )
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError("ciphertext does not open with this key and record") from exc


def record_aad(
    label: str, record_id: object, version: int, bound: list[Any] | None = None
) -> bytes:
    """Associated data binding a payload to one record at one version (and to plain columns)."""
    aad = f"haven:{label}:{record_id}:{version}"
    if bound:
        aad += ":" + json.dumps(bound, ensure_ascii=False, separators=(",", ":"))
    return aad.encode()


class MissingKeyError(CryptoError):
    """The acting person holds no key that opens this record."""


# --- Erasure secrets: what makes destroying a data key real on the live disk ---------------------
# A data key's sealed copies (its grants, its recovery copy, a conversation's copy to its party)
# live in the database, and a database does not forget on demand: SQLite keeps old pages in its
# WAL until a checkpoint, PostgreSQL keeps dead rows in its heap until VACUUM (which does not
# promise to overwrite them) and every insert in its WAL, and both copy pages into backups. So
# the key a payload is encrypted with is never what is sealed there: it is derived from the
# sealed material *and* a 32-byte erasure secret kept in a slot of the erasure store, a file
# outside the database. Destroying the key overwrites its slot in place and flushes it; the
# sealed copies left anywhere in the database's files then open nothing, whoever holds the
# recovery words and every password (docs/security.md, "Destroying a case").

_ERASURE_MAGIC = b"HAVEN-ERASURE-1\n"
_ERASURE_HEADER = 64  # magic, the store's random id, the integrity key
ERASURE_SECRET_BYTES = 32
_ZERO_SECRET = bytes(ERASURE_SECRET_BYTES)


class ErasureStoreError(CryptoError):
    """The erasure store is missing, belongs to another database, or lacks a key's slot."""


class ErasureStore:
    """A file of fixed-size slots, one random secret per data key, appended under an exclusive
    lock (every process on the host shares it) and flushed before the key is used; erasing a slot
    overwrites it with zeros in place and flushes again."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._integrity: bytes | None = None

    def _file(self) -> int:
        # One descriptor per process: flock() locks belong to the open file, which a forked
        # worker would otherwise share with its parent.
        if self._fd is None or self._pid != os.getpid():
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size == 0:
                    # The store's id, then the integrity key (see integrity_tag).
                    header = _ERASURE_MAGIC + nacl.utils.random(16) + nacl.utils.random(32)
                    os.pwrite(fd, header, 0)
                    os.fsync(fd)
                elif os.pread(fd, len(_ERASURE_MAGIC), 0) != _ERASURE_MAGIC:
                    raise ErasureStoreError(f"{self.path} is not a Haven erasure store")
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._fd, self._pid, self._integrity = fd, os.getpid(), None
        return self._fd

    def store_id(self) -> str:
        """The store's random id (not secret): a database records which store its keys use."""
        return os.pread(self._file(), 16, len(_ERASURE_MAGIC)).hex()

    def _integrity_key(self) -> bytes:
        fd = self._file()
        if self._integrity is None:
            key = os.pread(fd, 32, len(_ERASURE_MAGIC) + 16)
            if len(key) != 32 or key == _ZERO_SECRET:
                raise ErasureStoreError("the erasure store has no integrity key")
            self._integrity = key
        return self._integrity

    def allocate(self, count: int) -> list[int]:
        """``count`` new slots, each holding a fresh random secret, on disk before this returns."""
        if count <= 0:
            return []
        fd = self._file()
        secrets = nacl.utils.random(ERASURE_SECRET_BYTES * count)
        with self._lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                end = os.fstat(fd).st_size
                first = (end - _ERASURE_HEADER) // ERASURE_SECRET_BYTES
                os.pwrite(fd, secrets, _ERASURE_HEADER + first * ERASURE_SECRET_BYTES)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        os.fdatasync(fd)
        return list(range(first, first + count))

    def _secret(self, slot: int) -> bytes:
        if not isinstance(slot, int) or slot < 0:
            raise ErasureStoreError("not an erasure slot")
        secret = os.pread(
            self._file(), ERASURE_SECRET_BYTES, _ERASURE_HEADER + slot * ERASURE_SECRET_BYTES
        )
        if len(secret) != ERASURE_SECRET_BYTES:
            raise ErasureStoreError(
                "the erasure store has no slot for this key: is HAVEN_ERASURE_STORE the store "
                "this database was written with?"
            )
        if secret == _ZERO_SECRET:
            raise CryptoError("this key was destroyed")
        return secret

    def erase(self, slots: Iterable[int]) -> int:
        """Overwrite each slot with zeros and flush; returns how many were live before."""
        fd = self._file()
        erased = 0
        for slot in sorted(set(slots)):
            offset = _ERASURE_HEADER + slot * ERASURE_SECRET_BYTES
            current = os.pread(fd, ERASURE_SECRET_BYTES, offset)
            if len(current) != ERASURE_SECRET_BYTES:
                continue
            if current != _ZERO_SECRET:
                erased += 1
            os.pwrite(fd, _ZERO_SECRET, offset)
        os.fsync(fd)
        return erased

    def live(self, slot: int) -> bool:
        """Whether a slot still holds a secret (``haven check``, tests)."""
        try:
            self._secret(slot)
        except CryptoError:
            return False
        return True

    def slot_count(self) -> int:
        return (os.fstat(self._file()).st_size - _ERASURE_HEADER) // ERASURE_SECRET_BYTES

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = self._integrity = None


_erasure_stores: dict[str, ErasureStore] = {}
_erasure_lock = threading.Lock()


def erasure_store() -> ErasureStore:
    """This process's erasure store, at ``HAVEN_ERASURE_STORE``."""
    path = os.fspath(settings.HAVEN_ERASURE_STORE)
    store = _erasure_stores.get(path)
    if store is None:
        with _erasure_lock:
            store = _erasure_stores.setdefault(path, ErasureStore(path))
    return store


# --- Integrity tags: key rows a database writer cannot forge ---------------------------------------
# Sealed boxes are anonymous: someone who can write to the database but holds no key could make a
# data key of their own, seal it to staff like any other, and re-point a record to it; or put their
# own public key in place of a team's, a person's or the recovery key, and read what is sealed to
# it from then on. Every row that carries a public key Haven seals to, or a sealed copy of a key
# Haven opens, is therefore tagged when Haven writes it and checked before it is used: a keyed
# BLAKE2b under the integrity key, which lives in the erasure store's header, outside the
# database (haven.vault.integrity names what each tag covers).


class IntegrityError(CryptoError):
    """A key row does not carry Haven's tag: it was written or changed outside Haven."""


def _integrity_message(purpose: str, parts: Iterable[object]) -> bytes:
    out = bytearray(purpose.encode() + b"\0")
    for part in parts:
        if part is None:
            out += b"\xff"
            continue
        raw = (
            bytes(part) if isinstance(part, bytes | bytearray | memoryview) else str(part).encode()
        )
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def integrity_tag(purpose: str, parts: Iterable[object]) -> bytes:
    """Haven's tag over a key row's ``parts`` (bytes, or values written as text; None apart)."""
    return hashlib.blake2b(
        _integrity_message(purpose, parts),
        key=erasure_store()._integrity_key(),
        digest_size=32,
        person=b"haven-integrity",
    ).digest()


def integrity_check(purpose: str, parts: Iterable[object], tag: bytes | None) -> None:
    """Raise :class:`IntegrityError` unless ``tag`` is Haven's tag over ``parts``."""
    if tag is None or not hmac.compare_digest(integrity_tag(purpose, parts), bytes(tag)):
        raise IntegrityError(f"a {purpose} row was changed outside Haven")


# --- Fingerprints of true values for the leak check --------------------------------------------
# A press officer renders statements without holding any case, yet the rendered text must still be
# checked for the true values of the people it speaks about. What makes that possible are keyed
# fingerprints of those values' normalised forms, sealed to the press office's key. They are keyed
# with a key derived from the integrity key, which the server holds outside the database: a press
# officer who opens them cannot test guesses against them at home (only through Haven's own check,
# which tells them "blocked" and nothing more), and a database thief cannot even open them.


def leak_fingerprinter() -> Callable[[str, str], bytes]:
    """A function (kind, normalised form) -> 12-byte keyed fingerprint (BLAKE2b). The key is a
    sub-key of the integrity key and never leaves this module."""
    sub_key = hashlib.blake2b(
        b"leak-check",
        key=erasure_store()._integrity_key(),
        digest_size=32,
        person=b"haven-leak-fp",
    ).digest()

    def fingerprint(kind: str, value: str) -> bytes:
        label = kind.encode()
        if not 1 <= len(label) <= 16:
            raise ValueError("a fingerprint kind is 1 to 16 bytes")
        return hashlib.blake2b(value.encode(), key=sub_key, digest_size=12, person=label).digest()

    return fingerprint


def _data_key_derive(material: bytes, slot: int | None) -> bytes:
    """The key payloads are encrypted with: the sealed material keyed by the slot's secret.
    ``slot`` None: a key made before erasure secrets existed, used as sealed."""
    if slot is None:
        return material
    secret = erasure_store()._secret(slot)
    return hashlib.blake2b(
        material, key=secret, digest_size=KEY_BYTES, person=b"haven-data-key"
    ).digest()


@dataclass
class KeyContext:
    """The keys one acting person may use, for the length of one request or command.

    It holds the person's private key (and, lazily, the team keys shared with them). Services
    receive it and call :meth:`seal` / :meth:`open`; they never see a key. A data key must first
    be unlocked from one of the person's grants (:meth:`data_key_unlock`, called by the vault).
    Unsealed keys are kept in memory only, bounded, and dropped with the context.
    """

    actor_id: object | None
    _holders: dict[str, PersonalKey] = field(default_factory=dict, repr=False)
    # Team keys shared with this person and not opened yet: ref -> (ref of the opening key, box).
    _locked: dict[str, tuple[str, bytes]] = field(default_factory=dict, repr=False)
    # key id -> (the key payloads are encrypted with, the material its grants seal)
    _cache: OrderedDict[str, tuple[bytes, bytes]] = field(default_factory=OrderedDict, repr=False)
    _index: IndexKey | None = field(default=None, repr=False)
    # The index key sealed to a key this context holds, not opened yet: (holder ref, box).
    _index_locked: tuple[str, bytes] | None = field(default=None, repr=False)

    # --- Holder keys: the person's own key pair and the team keys shared with them --------------

    def add_holder(self, ref: str, key: PersonalKey) -> None:
        self._holders[ref] = key

    def add_share(self, ref: str, *, via: str, sealed: bytes) -> None:
        """A team key sealed to a key this context holds (or will hold); opened on first use."""
        if ref not in self._holders:
            self._locked[ref] = (via, bytes(sealed))

    def holder_refs(self) -> set[str]:
        return set(self._holders) | set(self._locked)

    def _holder(self, ref: str, _depth: int = 0) -> PersonalKey:
        key = self._holders.get(ref)
        if key is not None:
            return key
        if ref not in self._locked or _depth > 8:
            raise MissingKeyError("this person holds no such key")
        via, sealed = self._locked.pop(ref)
        key = PersonalKey.open_shared(self._holder(via, _depth + 1), sealed)
        self._holders[ref] = key
        return key

    def holder_public_key(self, ref: str) -> bytes:
        return self._holder(ref).public_key

    def holder_seal_to(self, ref: str, public_key: bytes) -> bytes:
        """Share a team key this context holds with one more member (their public key)."""
        return self._holder(ref).seal_private_to(public_key)

    # --- Data keys -------------------------------------------------------------------------------

    def data_key_new(
        self, key_id: str, recipients: dict[str, bytes], *, slot: int | None
    ) -> dict[str, bytes]:
        """A new random data key for ``key_id``, sealed to each recipient's public key; the key
        payloads use is derived with the erasure secret in ``slot`` (see :class:`ErasureStore`)."""
        material = nacl.utils.random(KEY_BYTES)
        self._remember(key_id, material, slot)
        return {ref: seal_to_public_key(public, material) for ref, public in recipients.items()}

    def data_key_unlock(self, key_id: str, *, holder: str, sealed: bytes, slot: int | None) -> None:
        """Open a data key from a grant addressed to ``holder`` (a key this context holds)."""
        if key_id in self._cache:
            self._cache.move_to_end(key_id)
            return
        self._remember(key_id, self._holder(holder).open_sealed(sealed), slot)

    def data_key_unlock_recovery(
        self, key_id: str, *, recovery: PersonalKey, sealed: bytes, slot: int | None
    ) -> None:
        """Open a data key from its recovery copy (``haven recover`` only)."""
        self._remember(key_id, recovery.open_sealed(sealed), slot)

    def has_data_key(self, key_id: str) -> bool:
        return key_id in self._cache

    def data_key_seal_to(self, key_id: str, public_key: bytes) -> bytes:
        """Grant: an unlocked data key sealed to another person's (or team's) public key."""
        return seal_to_public_key(public_key, self._data_key(key_id, material=True))

    def _data_key(self, key_id: str, *, material: bool = False) -> bytes:
        held = self._cache.get(key_id)
        if held is None:
            raise MissingKeyError("no key that opens this record is held")
        self._cache.move_to_end(key_id)
        return held[1] if material else held[0]

    def _remember(self, key_id: str, material: bytes, slot: int | None) -> None:
        self._cache[key_id] = (_data_key_derive(material, slot), material)
        self._cache.move_to_end(key_id)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.popitem(last=False)

    def seal(self, *, key_id: str, data: dict[str, Any], aad: bytes) -> bytes:
        """Encrypt a JSON-serialisable payload under the record's (unlocked) data key."""
        plaintext = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        data_key = self._data_key(key_id)
        if _passthrough_on():
            return _FORMAT_PASSTHROUGH + plaintext.encode()
        return _encrypt(data_key, plaintext.encode(), aad)

    def open(self, *, key_id: str, blob: bytes, aad: bytes) -> dict[str, Any]:
        """Decrypt a payload sealed by :meth:`seal`; raises :class:`CryptoError` on any mismatch."""
        data_key = self._data_key(key_id)
        if _passthrough_on():
            blob = bytes(blob)
            if blob[:1] != _FORMAT_PASSTHROUGH:
                raise CryptoError("pass-through mode opens pass-through payloads only")
            plaintext = blob[1:]
        else:
            plaintext = _decrypt(data_key, bytes(blob), aad)
        result = json.loads(plaintext)
        if not isinstance(result, dict):
            raise CryptoError("payload is not an object")
        return result

    def seal_bytes(self, *, key_id: str, data: bytes, aad: bytes) -> bytes:
        """Encrypt raw bytes (a file) under the record's (unlocked) data key."""
        data_key = self._data_key(key_id)
        if _passthrough_on():
            return _FORMAT_PASSTHROUGH + bytes(data)
        return _encrypt(data_key, bytes(data), aad)

    def open_bytes(self, *, key_id: str, blob: bytes, aad: bytes) -> bytes:
        """Decrypt bytes sealed by :meth:`seal_bytes`; raises :class:`CryptoError` on mismatch."""
        data_key = self._data_key(key_id)
        blob = bytes(blob)
        if _passthrough_on():
            if blob[:1] != _FORMAT_PASSTHROUGH:
                raise CryptoError("pass-through mode opens pass-through payloads only")
            return blob[1:]
        return _decrypt(data_key, blob, aad)

    # --- The organisation index key (blind indexes) -----------------------------------------------

    def index_key_unlock(self, *, holder: str, sealed: bytes) -> None:
        if self._index is None:
            self._index = IndexKey(self._holder(holder).open_sealed(sealed))

    def add_index_share(self, holder: str, sealed: bytes) -> None:
        """The index key sealed to ``holder`` (a key this context holds); opened on first use."""
        if self._index is None:
            self._index_locked = (holder, bytes(sealed))

    def holds_index_key(self) -> bool:
        """Whether this context can compute blind-index tokens (without opening anything)."""
        return self._index is not None or self._index_locked is not None

    def index_token(self, purpose: str, normalised_value: str) -> bytes:
        if self._index is None and self._index_locked is not None:
            holder, sealed = self._index_locked
            self._index_locked = None
            self.index_key_unlock(holder=holder, sealed=sealed)
        if self._index is None:
            raise MissingKeyError("the search index key is not held")
        return self._index.token(purpose, normalised_value)

    def index_hasher(self, purpose: str) -> Callable[[bytes], bytes]:
        """A keyed hash under the index key for matching encodings (``IndexKey.keyed_hasher``):
        a closure over a purpose sub-key, so the index key itself never leaves this module."""
        if self._index is None and self._index_locked is not None:
            holder, sealed = self._index_locked
            self._index_locked = None
            self.index_key_unlock(holder=holder, sealed=sealed)
        if self._index is None:
            raise MissingKeyError("the search index key is not held")
        return self._index.keyed_hasher(purpose)

    # --- Statistical facts sealed to a team key (haven.stats) ------------------------------------

    def facts_open(self, holder: str, sealed: bytes) -> dict[str, Any]:
        """Open coarse facts sealed by :func:`facts_seal` to ``holder`` (a team key this context
        holds). Only such boxes open here: a sealed data key or team key never carries the
        facts' prefix, so this cannot be used to read a key out of the module."""
        return _prefixed_open(self._holder(holder).open_sealed(sealed), _FACTS_PREFIX)

    # --- Portal requests queued in a surge, sealed to the intake key (haven.portal.queue) -------

    def queued_open(self, holder: str, sealed: bytes) -> dict[str, Any]:
        """Open a queued portal request sealed by :func:`queued_seal` to ``holder`` (a team key
        this context holds). As with :meth:`facts_open`, only boxes with the queue's prefix
        open here, never a sealed key."""
        return _prefixed_open(self._holder(holder).open_sealed(sealed), _QUEUED_PREFIX)

    def forget(self) -> None:
        """Drop every unsealed key held in memory."""
        self._cache.clear()
        self._holders.clear()
        self._locked.clear()
        self._index = None
        self._index_locked = None


def fingerprint(value: bytes) -> str:
    """A short non-secret fingerprint (for logs and `haven check`), never the key itself."""
    return hashlib.blake2b(value, digest_size=6).hexdigest()


# --- Key custody primitives -------------------------------------------------------------------
# The per-person key hierarchy of docs/security.md is built from these. Private keys live only in
# PersonalKey objects, which expose the public half and nothing else.

_WRAP_FORMAT_V1 = b"\x01"
_SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES
# Argon2id at 256 MiB and 3 passes costs about 0.33 s on this project's 2-core reference machine
# (benchmarks/keys.py prints it); tests lower it through settings, never production.
DEFAULT_KDF_OPSLIMIT = 3
DEFAULT_KDF_MEMLIMIT = 256 * 1024 * 1024
MIN_KDF_MEMLIMIT = 64 * 1024 * 1024


def _kdf_limits() -> tuple[int, int]:
    ops = int(getattr(settings, "HAVEN_KDF_OPSLIMIT", DEFAULT_KDF_OPSLIMIT))
    mem = int(getattr(settings, "HAVEN_KDF_MEMLIMIT", DEFAULT_KDF_MEMLIMIT))
    if mem < MIN_KDF_MEMLIMIT and not getattr(settings, "HAVEN_KDF_INSECURE_FOR_TESTS", False):
        raise ImproperlyConfigured("HAVEN_KDF_MEMLIMIT below 64 MiB is allowed in tests only.")
    return ops, mem


def _password_key(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    # NFC: the same Hangul password typed on two systems must give the same key.
    try:
        secret = unicodedata.normalize("NFC", password).encode()
        return nacl.pwhash.argon2id.kdf(
            KEY_BYTES, secret, salt, opslimit=opslimit, memlimit=memlimit
        )
    except (UnicodeEncodeError, ValueError, nacl.exceptions.CryptoError) as exc:
        raise CryptoError("the password or the key-derivation parameters are not usable") from exc


def _check_stored_limits(opslimit: int, memlimit: int) -> None:
    """Refuse a stored cost outside what this deployment would write (times four).

    The cost travels with the wrapped key, so someone able to write to the database could
    otherwise make every login run for hours, or try to take terabytes of memory.
    """
    ops, mem = _kdf_limits()
    floor = 1 if getattr(settings, "HAVEN_KDF_INSECURE_FOR_TESTS", False) else MIN_KDF_MEMLIMIT
    if not (1 <= opslimit <= 4 * ops and floor <= memlimit <= 4 * mem):
        raise CryptoError("the stored key-derivation cost is outside the allowed range")


def _session_aad(binding: str) -> bytes:
    if not binding:
        raise CryptoError("a session key blob must be bound to its login")
    return b"haven:session-key:" + binding.encode()


class PersonalKey:
    """An X25519 key pair held in memory for one person, team or the recovery key."""

    __slots__ = ("_private",)

    def __init__(self, private: nacl.public.PrivateKey):
        self._private = private

    def __repr__(self) -> str:
        return f"PersonalKey(public={fingerprint(self.public_key)})"

    @classmethod
    def generate(cls) -> PersonalKey:
        return cls(nacl.public.PrivateKey.generate())

    @classmethod
    def from_bytes(cls, raw: bytes) -> PersonalKey:
        """A key pair from 32 raw bytes (tests use it to try stored values as keys)."""
        if len(raw) != nacl.public.PrivateKey.SIZE:
            raise CryptoError("an X25519 private key is 32 bytes")
        return cls(nacl.public.PrivateKey(bytes(raw)))

    @property
    def public_key(self) -> bytes:
        return bytes(self._private.public_key)

    def wrap_with_password(self, password: str) -> bytes:
        """The private key encrypted under an Argon2id key derived from ``password``.

        The KDF's cost and salt are stored with it, so a later change of cost still opens it.
        """
        opslimit, memlimit = _kdf_limits()
        salt = nacl.utils.random(_SALT_BYTES)
        header = _WRAP_FORMAT_V1 + opslimit.to_bytes(4, "big") + memlimit.to_bytes(8, "big") + salt
        key = _password_key(password, salt, opslimit, memlimit)
        return header + _encrypt(key, bytes(self._private), b"haven:personal-key:" + header)

    @classmethod
    def unwrap_with_password(cls, wrapped: bytes, password: str) -> PersonalKey:
        """Open a key made by :meth:`wrap_with_password`; a wrong password raises CryptoError."""
        wrapped = bytes(wrapped)
        head_len = 1 + 4 + 8 + _SALT_BYTES
        if len(wrapped) <= head_len or wrapped[:1] != _WRAP_FORMAT_V1:
            raise CryptoError("not a wrapped Haven key")
        header = wrapped[:head_len]
        opslimit = int.from_bytes(header[1:5], "big")
        memlimit = int.from_bytes(header[5:13], "big")
        _check_stored_limits(opslimit, memlimit)
        key = _password_key(password, header[13:], opslimit, memlimit)
        private = _decrypt(key, wrapped[head_len:], b"haven:personal-key:" + header)
        return cls(nacl.public.PrivateKey(private))

    def protect_for_session(self, *, binding: str) -> tuple[bytes, str]:
        """Encrypt this key under a fresh random secret for the length of one login.

        Returns the blob (kept server-side) and the secret (sent only in an HttpOnly cookie):
        neither alone opens the key. ``binding`` names whose login and which row the blob belongs
        to (``session:<user>``, ``api-token:<user>:<digest>``…): a blob moved to another person's
        session or another token's row does not open.
        """
        secret = nacl.utils.random(KEY_BYTES)
        blob = _encrypt(secret, bytes(self._private), _session_aad(binding))
        return blob, base64.urlsafe_b64encode(secret).decode().rstrip("=")

    @classmethod
    def from_session(cls, blob: bytes, secret: str, *, binding: str) -> PersonalKey:
        """Reopen a key protected by :meth:`protect_for_session` with the same ``binding``;
        anything else is CryptoError."""
        try:
            raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("malformed session secret") from exc
        if len(raw) != KEY_BYTES:
            raise CryptoError("malformed session secret")
        return cls(nacl.public.PrivateKey(_decrypt(raw, bytes(blob), _session_aad(binding))))

    def seal_private_to(self, public_key: bytes) -> bytes:
        """This (team) key's private half sealed to a member's public key."""
        return seal_to_public_key(public_key, bytes(self._private))

    @classmethod
    def open_shared(cls, holder: PersonalKey, sealed: bytes) -> PersonalKey:
        """A team key opened from the copy sealed to ``holder`` (see :meth:`seal_private_to`)."""
        return cls(nacl.public.PrivateKey(holder.open_sealed(sealed)))

    def open_sealed(self, sealed: bytes) -> bytes:
        """Open a sealed box addressed to this key (used for data keys and team keys only)."""
        sealed = bytes(sealed)
        passthrough = (
            sealed[:1] == _FORMAT_PASSTHROUGH and sealed[1 : 1 + _PUBLIC_BYTES] == self.public_key
        )
        if _passthrough_on():
            if not passthrough:
                raise CryptoError("not a pass-through sealed box addressed to this key")
            return sealed[1 + _PUBLIC_BYTES :]
        if passthrough:
            # (A real box starts with a fresh ephemeral public key, never the recipient's own.)
            raise CryptoError("a benchmark's pass-through sealed box is refused outside that mode")
        try:
            return nacl.public.SealedBox(self._private).decrypt(sealed)
        except nacl.exceptions.CryptoError as exc:
            raise CryptoError("sealed box is not addressed to this key") from exc


def audit_pseudonym(value: str) -> str:
    """A stable keyed pseudonym (32 hex) for a record id in the audit trail.

    The trail must outlive the records it mentions: once a case is destroyed, its entries keep
    only this, which links to nothing left. Keyed by the server secret, so that someone holding a
    backup with the old id cannot find its entries without the server's configuration.
    """
    key = hashlib.blake2b(
        settings.SECRET_KEY.encode(), digest_size=32, person=b"haven-audit-key"
    ).digest()
    return hashlib.blake2b(value.encode(), key=key, digest_size=16).hexdigest()


def secret_digest(secret: str) -> bytes:
    """A stored fingerprint of a high-entropy secret (an API token's), to look it up by."""
    return hashlib.blake2b(secret.encode(), digest_size=32, person=b"haven-secret").digest()


def seal_to_public_key(public_key: bytes, secret: bytes) -> bytes:
    """An anonymous sealed box (X25519 + XSalsa20-Poly1305) that only ``public_key`` opens."""
    if len(public_key) != _PUBLIC_BYTES:
        raise CryptoError("not an X25519 public key")
    if _passthrough_on():
        return _FORMAT_PASSTHROUGH + bytes(public_key) + bytes(secret)
    return nacl.public.SealedBox(nacl.public.PublicKey(bytes(public_key))).encrypt(secret)


_FACTS_PREFIX = b"haven:facts:v1:"


def facts_seal(public_key: bytes, facts: dict[str, Any]) -> bytes:
    """Coarse statistical facts sealed to a team key's public half (the statistics key): whoever
    writes a case seals them, and only holders of that key open them again
    (:meth:`KeyContext.facts_open`). Anonymous, like every sealed box: it proves nothing about
    who wrote it."""
    body = json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return seal_to_public_key(public_key, _FACTS_PREFIX + body.encode())


_QUEUED_PREFIX = b"haven:queued:v1:"


def queued_seal(public_key: bytes, data: dict[str, Any]) -> bytes:
    """A portal request taken in a surge, sealed whole to the intake key's public half until a
    holder of that key opens it (:meth:`KeyContext.queued_open`; haven.portal.queue)."""
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return seal_to_public_key(public_key, _QUEUED_PREFIX + body.encode())


def _prefixed_open(plaintext: bytes, prefix: bytes) -> dict[str, Any]:
    """The JSON object after ``prefix`` in an opened box; CryptoError for any other box."""
    if not plaintext.startswith(prefix):
        raise CryptoError("not a box of this kind")
    try:
        result = json.loads(plaintext[len(prefix) :])
    except ValueError as exc:
        raise CryptoError("the box does not hold an object") from exc
    if not isinstance(result, dict):
        raise CryptoError("the box does not hold an object")
    return result


# --- The organisation recovery key: 24 words, printed once, never stored -----------------------

RECOVERY_WORDS = 24


class RecoveryWordsError(ValueError):
    """The recovery words are not 24 valid words with a correct checksum."""


def _mnemonic() -> Any:
    from mnemonic import Mnemonic

    return Mnemonic("english")


def recovery_key_create() -> tuple[PersonalKey, list[str]]:
    """A new recovery key pair and the 24 words (BIP-39 wordlist, with checksum) that rebuild it."""
    entropy = nacl.utils.random(KEY_BYTES)
    words = _mnemonic().to_mnemonic(entropy).split()
    return _recovery_key_from_entropy(entropy), words


def _recovery_key_from_entropy(entropy: bytes) -> PersonalKey:
    seed = hashlib.blake2b(entropy, digest_size=KEY_BYTES, person=b"haven-recovery").digest()
    return PersonalKey(nacl.public.PrivateKey(seed))


def recovery_key_from_words(words: str | list[str]) -> PersonalKey:
    """Rebuild the recovery key from its words; case, spacing and line breaks do not matter."""
    text = words if isinstance(words, str) else " ".join(words)
    normalised = " ".join(text.lower().replace(",", " ").split())
    count = len(normalised.split())
    if count != RECOVERY_WORDS:
        raise RecoveryWordsError(f"Expected {RECOVERY_WORDS} words, got {count}.")
    mnemonic = _mnemonic()
    # Positions only: the words themselves must not reach logs or form errors.
    unknown = [str(i + 1) for i, w in enumerate(normalised.split()) if w not in mnemonic.wordlist]
    if unknown:
        raise RecoveryWordsError(f"Not recovery words at position {', '.join(unknown[:5])}.")
    if not mnemonic.check(normalised):
        raise RecoveryWordsError(
            "The words do not add up (checksum): check their order and spelling."
        )
    return _recovery_key_from_entropy(bytes(mnemonic.to_entropy(normalised)))


# --- Blind indexes: keyed hashes that let staff find a name without a plaintext column ----------


class IndexKey:
    """The organisation's index key, held in memory only."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise CryptoError("an index key is 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "IndexKey(…)"

    @classmethod
    def generate(cls) -> IndexKey:
        return cls(nacl.utils.random(KEY_BYTES))

    def seal_to(self, public_key: bytes) -> bytes:
        """The index key sealed to one staff member (or team) so that they can search."""
        return seal_to_public_key(public_key, self._key)

    @classmethod
    def open(cls, holder: PersonalKey, sealed: bytes) -> IndexKey:
        return cls(holder.open_sealed(sealed))

    def token(self, purpose: str, normalised_value: str) -> bytes:
        """A 16-byte keyed BLAKE2b token of one normalised value for one purpose (e.g. "name").

        The same value gives the same token under the same key; without the key the tokens say
        nothing but how often a value repeats.
        """
        person = purpose.encode()
        if not 1 <= len(person) <= 16:
            # BLAKE2b would silently cut a longer purpose, making two purposes share tokens.
            raise ValueError("a blind-index purpose is 1 to 16 bytes")
        return hashlib.blake2b(
            normalised_value.encode(), key=self._key, digest_size=16, person=person
        ).digest()

    def keyed_hasher(self, purpose: str) -> Callable[[bytes], bytes]:
        """A keyed hash (BLAKE2b-256) for matching encodings, sub-keyed by ``purpose``.

        The returned function maps bytes to 32 bytes; the key stays inside this module (the
        closure holds a purpose-specific sub-key, never the index key itself).
        """
        return _keyed_hasher(self._key, purpose)


# --- Record matching: keyed hashes for Bloom-filter encodings and private linkage --------------
# haven.matching builds blocking tokens and Bloom-filter encodings from these closures, so that it
# never holds key bytes. Each purpose gets its own sub-key: a token made for one purpose (say
# "name") is useless for another ("birth").

LINKAGE_MIN_PASSPHRASE = 16
# Fixed so that both partners derive the same key from the passphrase: Argon2id at 3 passes
# over 64 MiB (about 0.1 s here) makes each guess at a weak passphrase cost as much.
_LINKAGE_OPSLIMIT = 3
_LINKAGE_MEMLIMIT = 64 * 1024 * 1024


def _keyed_hasher(key: bytes, purpose: str) -> Callable[[bytes], bytes]:
    label = purpose.encode()
    if not 1 <= len(label) <= 64:
        raise ValueError("a matching purpose is 1 to 64 bytes")
    sub_key = hashlib.blake2b(label, key=key, digest_size=32, person=b"haven-match-sub").digest()

    def hasher(value: bytes) -> bytes:
        return hashlib.blake2b(value, key=sub_key, digest_size=32).digest()

    return hasher


class LinkageSecretError(ValueError):
    """A linkage passphrase is too short to protect the encodings made with it."""


class LinkageSecret:
    """A secret shared by two organisations for one private linkage, held in memory only.

    Derived with Argon2id from a passphrase exchanged out of band and the linkage's name (so
    that each linkage has its own key even if a passphrase were reused). ``check_value`` is a
    public fingerprint written into every encodings file: files made under different secrets
    are refused instead of silently matching nothing.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise CryptoError("a linkage key is 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "LinkageSecret(…)"

    @classmethod
    def from_passphrase(cls, passphrase: str, *, linkage: str = "") -> LinkageSecret:
        """The linkage key for ``passphrase`` (at least 16 characters) and a linkage name."""
        text = unicodedata.normalize("NFC", passphrase).strip()
        if len(text) < LINKAGE_MIN_PASSPHRASE:
            raise LinkageSecretError(
                f"A linkage passphrase needs at least {LINKAGE_MIN_PASSPHRASE} characters."
            )
        salt = hashlib.blake2b(
            unicodedata.normalize("NFC", linkage).encode(),
            digest_size=nacl.pwhash.argon2id.SALTBYTES,
            person=b"haven-linkage",
        ).digest()
        key = nacl.pwhash.argon2id.kdf(
            KEY_BYTES,
            text.encode(),
            salt,
            opslimit=_LINKAGE_OPSLIMIT,
            memlimit=_LINKAGE_MEMLIMIT,
        )
        return cls(key)

    @classmethod
    def generate(cls) -> LinkageSecret:
        """A random linkage key (tests, or a secret exchanged as bytes rather than words)."""
        return cls(nacl.utils.random(KEY_BYTES))

    @property
    def check_value(self) -> str:
        """A 16-hex public fingerprint: equal for equal secrets, revealing nothing of the key."""
        return _keyed_hasher(self._key, "key-check")(b"haven-linkage-check")[:8].hex()

    def keyed_hasher(self, purpose: str) -> Callable[[bytes], bytes]:
        """A keyed hash (BLAKE2b-256) under this secret, sub-keyed by ``purpose``."""
        return _keyed_hasher(self._key, purpose)


# --- Requester receipts (the portal) -----------------------------------------------------------

RECEIPT_SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES
RECEIPT_DIGEST_BYTES = 32


def receipt_salt_new() -> bytes:
    """The organisation-wide random salt receipts are hashed with (stored once, in the DB)."""
    return nacl.utils.random(RECEIPT_SALT_BYTES)


RECEIPT_MIN_MEMLIMIT = 8 * 1024 * 1024
_RECEIPT_FORMAT_KEYED = b"\x02"


class ReceiptKeys:
    """What one Argon2id run over a receipt gives: the digest the portal stores and looks the
    receipt up by (:attr:`lookup`), and a wrapping key, never stored, for the requester's key
    pair (their side of the conversation). The two are independent hashes of the Argon2id
    output, so the stored digest gives nothing towards the wrapping key; the wrapping key stays
    inside this object."""

    __slots__ = ("_wrap", "lookup")

    def __init__(self, lookup: bytes, wrap: bytes):
        self.lookup = lookup
        self._wrap = wrap

    def __repr__(self) -> str:
        return "ReceiptKeys(…)"

    def party_key_new(self) -> tuple[PersonalKey, bytes]:
        """A new requester key pair and its private half wrapped under this receipt."""
        key = PersonalKey.generate()
        header = _RECEIPT_FORMAT_KEYED
        sealed = _encrypt(self._wrap, bytes(key._private), b"haven:receipt-party-key:" + header)
        return key, header + sealed

    def party_key_open(self, wrapped: bytes) -> PersonalKey:
        """Open a key wrapped by :meth:`party_key_new`; another receipt raises CryptoError."""
        wrapped = bytes(wrapped)
        header = wrapped[:1]
        if header != _RECEIPT_FORMAT_KEYED or len(wrapped) < 2:
            raise CryptoError("not a key wrapped under a receipt")
        private = _decrypt(self._wrap, wrapped[1:], b"haven:receipt-party-key:" + header)
        return PersonalKey(nacl.public.PrivateKey(private))


def _argon2id_reusing_memory(secret: bytes, salt: bytes, *, opslimit: int, memlimit: int) -> bytes:
    """Argon2id v1.3, one lane, 64 bytes: the very output of libsodium's ``crypto_pwhash`` for the
    same cost (a test holds them equal), from the reference implementation (argon2-cffi).

    Why not libsodium here: it maps fresh memory for every run, and on this machine faulting in
    8 MiB of new pages cost more than the hashing (3.1 of 5 ms, all in the kernel). The reference
    implementation allocates with ``malloc``, whose heap keeps a freed block of this size for the
    next run: about 3.4 ms, none in the kernel. Receipts pay this on every submission and every
    visit; the large, rare derivations (staff keys, 256 MiB) stay with libsodium."""
    return argon2.low_level.hash_secret_raw(
        secret,
        salt,
        time_cost=opslimit,
        memory_cost=memlimit // 1024,  # KiB, rounded down as libsodium does
        parallelism=1,
        hash_len=64,
        type=argon2.low_level.Type.ID,
        version=19,
    )


def receipt_keys(receipt: str, salt: bytes, *, opslimit: int, memlimit: int) -> ReceiptKeys:
    """Argon2id(receipt, salt), split into the stored lookup digest and the wrapping key.

    The salt is one per organisation, not per receipt, so that a receipt can be found by its
    digest; the price is that an attacker holding the database tests each guess against every
    stored digest at once, so the receipt carries the entropy: 20 random decimal digits,
    log2(10^20) ≈ 66.4 bits. With N = 100,000 receipts stored, a guess hits one with probability
    N / 10^20, so about 10^20 / (2N) = 5 × 10^14 guesses are needed on average. At the default
    cost (1 pass over 8 MiB, and 8 MiB of memory per guess in flight; about 2 ms of one core
    here in libsodium's vectorised code, the fastest an attacker would have) that is
    10^12 core-seconds ≈ 32,000 core-years per receipt found; a GPU doing
    a few thousand such guesses a second still needs thousands of GPU-years. The cost is kept
    this low because each submission runs it once, as does each visit with the receipt, and the
    portal must take floods of at least 100 requests a second on two cores
    (benchmarks/intake.py): at 11 ms (16 MiB) the KDF alone took more than half of that
    machine. Online guessing is throttled far below it (see haven.portal.limits).
    """
    floor = 1 if getattr(settings, "HAVEN_KDF_INSECURE_FOR_TESTS", False) else RECEIPT_MIN_MEMLIMIT
    if len(salt) != RECEIPT_SALT_BYTES or not (1 <= opslimit <= 16 and floor <= memlimit <= 2**30):
        raise CryptoError("the receipt salt or key-derivation cost is not usable")
    try:
        out = _argon2id_reusing_memory(
            receipt.encode("ascii"), salt, opslimit=opslimit, memlimit=memlimit
        )
    except (UnicodeEncodeError, ValueError, argon2.exceptions.HashingError) as exc:
        raise CryptoError("the receipt cannot be hashed") from exc
    lookup = hashlib.blake2b(
        out, digest_size=RECEIPT_DIGEST_BYTES, person=b"haven-rcpt-look"
    ).digest()
    wrap = hashlib.blake2b(out, digest_size=KEY_BYTES, person=b"haven-rcpt-wrap").digest()
    return ReceiptKeys(lookup, wrap)


def receipt_digest(receipt: str, salt: bytes, *, opslimit: int, memlimit: int) -> bytes:
    """The stored lookup digest of a receipt (see :func:`receipt_keys` for the arithmetic)."""
    return receipt_keys(receipt, salt, opslimit=opslimit, memlimit=memlimit).lookup


# --- Conversation party keys: a requester's (from their receipt) or a broker's (credential) ------
# Staff seal a conversation's key to the party's public key; the private half is stored only
# wrapped under Argon2id(secret, random salt), so the server opens it only while the person
# types their receipt or credential (docs/security.md, "Messages").

_PARTY_FORMAT_V1 = b"\x01"
_PARTY_HEAD = 1 + 4 + 8 + _SALT_BYTES


# A party's secret is random (a broker's credential carries about 124 bits), so Argon2id's memory
# cost adds nothing against guessing it: the floor only keeps a tampered stored cost from being
# absurd. It is the portal receipt's floor, not the 64 MiB a human password needs, so that the
# receipt's cost settings (HAVEN_PORTAL_RECEIPT_*) serve both.
MIN_PARTY_MEMLIMIT = 8 * 1024 * 1024


def _party_limits_ok(opslimit: int, memlimit: int) -> bool:
    floor = 1 if getattr(settings, "HAVEN_KDF_INSECURE_FOR_TESTS", False) else MIN_PARTY_MEMLIMIT
    return 1 <= opslimit <= 16 and floor <= memlimit <= 2**30


def _party_wrapping_key(secret: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    try:
        return nacl.pwhash.argon2id.kdf(
            KEY_BYTES, secret.encode("utf-8"), salt, opslimit=opslimit, memlimit=memlimit
        )
    except (UnicodeEncodeError, ValueError, nacl.exceptions.CryptoError) as exc:
        raise CryptoError("the secret or the key-derivation cost is not usable") from exc


def party_key_create(secret: str, *, opslimit: int, memlimit: int) -> tuple[PersonalKey, bytes]:
    """A new key pair for a requester or broker, and its private half wrapped under
    Argon2id(``secret``, a random salt). Cost and salt are stored in (and authenticated with) the
    wrapping. The salt is per key, so guesses cannot be shared between requests."""
    if not _party_limits_ok(opslimit, memlimit):
        raise CryptoError("the key-derivation cost is not usable")
    key = PersonalKey.generate()
    salt = nacl.utils.random(_SALT_BYTES)
    header = _PARTY_FORMAT_V1 + opslimit.to_bytes(4, "big") + memlimit.to_bytes(8, "big") + salt
    wrapping = _party_wrapping_key(secret, salt, opslimit, memlimit)
    return key, header + _encrypt(wrapping, bytes(key._private), b"haven:party-key:" + header)


def party_key_open(wrapped: bytes, secret: str) -> PersonalKey:
    """Open a key wrapped by :func:`party_key_create`; a wrong secret raises CryptoError."""
    wrapped = bytes(wrapped)
    if len(wrapped) <= _PARTY_HEAD or wrapped[:1] != _PARTY_FORMAT_V1:
        raise CryptoError("not a wrapped party key")
    header = wrapped[:_PARTY_HEAD]
    opslimit = int.from_bytes(header[1:5], "big")
    memlimit = int.from_bytes(header[5:13], "big")
    if not _party_limits_ok(opslimit, memlimit):
        raise CryptoError("the stored key-derivation cost is outside the allowed range")
    wrapping = _party_wrapping_key(secret, header[13:], opslimit, memlimit)
    private = _decrypt(wrapping, wrapped[_PARTY_HEAD:], b"haven:party-key:" + header)
    return PersonalKey(nacl.public.PrivateKey(private))


def broker_credential_new() -> str:
    """A broker's credential: 25 random characters of an unambiguous alphabet in groups of five
    (about 124 bits), typed or pasted by the broker; stored only as :func:`secret_digest`."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"  # 31 symbols: no 0/o, 1/l/i
    raw = "".join(alphabet[b % len(alphabet)] for b in _unbiased_bytes(25, len(alphabet)))
    return "-".join(raw[i : i + 5] for i in range(0, 25, 5))


def _unbiased_bytes(count: int, modulus: int) -> list[int]:
    limit = 256 - (256 % modulus)
    out: list[int] = []
    while len(out) < count:
        out += [b for b in nacl.utils.random(count) if b < limit]
    return out[:count]


# --- Backups: archive keys, encrypted sections, the erasure store's copy, signatures -------------
# `haven backup` writes one archive (haven.backups.archive lays it out): the database, the erasure
# store, the shred ledger, the configuration and a manifest, each an encrypted *section* (libsodium's
# secretstream: XChaCha20-Poly1305 in chunks, the last one marked, so that a cut or reordered
# section does not open) under a key derived from a fresh random *archive key*. The archive key is
# stored in the archive only sealed: to the organisation recovery key and to the supervisors' team
# key (docs/security.md, "Backups"). The archive is signed with an Ed25519 key derived from the
# erasure store's integrity key, which already vouches that a key row was written by Haven and
# lives outside the database: neither a database writer nor someone holding only archives can
# make an archive that restores. The store's secrets leave this module only encrypted: they are
# read into a section here, and written back from one here. Nothing here has a pass-through mode:
# an archive is always encrypted.

ARCHIVE_CHUNK_BYTES = 1 << 20
ARCHIVE_SECTION_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_SECTION_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_SECTION_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE


class ArchiveKey:
    """The random key of one backup archive, held in memory only."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise CryptoError("an archive key is 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "ArchiveKey(…)"

    @classmethod
    def generate(cls) -> ArchiveKey:
        return cls(nacl.utils.random(KEY_BYTES))

    def seal_to(self, public_key: bytes) -> bytes:
        """This key in a sealed box that only ``public_key`` opens (never passed through)."""
        if len(public_key) != _PUBLIC_BYTES:
            raise CryptoError("not an X25519 public key")
        return nacl.public.SealedBox(nacl.public.PublicKey(bytes(public_key))).encrypt(self._key)

    @classmethod
    def open(cls, holder: PersonalKey, sealed: bytes) -> ArchiveKey:
        """The archive key from its copy sealed to ``holder`` (the recovery or supervisors' key)."""
        try:
            return cls(nacl.public.SealedBox(holder._private).decrypt(bytes(sealed)))
        except (nacl.exceptions.CryptoError, TypeError) as exc:
            raise CryptoError("this key does not open the archive") from exc

    def _section_key(self, section: str) -> bytes:
        return hashlib.blake2b(
            section.encode(), key=self._key, digest_size=KEY_BYTES, person=b"haven-bk-section"
        ).digest()

    def encryptor(self, section: str) -> SectionEncryptor:
        return SectionEncryptor(self._section_key(section), section)

    def decryptor(self, section: str, header: bytes) -> SectionDecryptor:
        return SectionDecryptor(self._section_key(section), section, header)


def _section_ad(section: str) -> bytes:
    return b"haven-backup:" + section.encode()


class SectionEncryptor:
    """One section of an archive, encrypted chunk by chunk; :attr:`header` opens the stream."""

    __slots__ = ("_ad", "_state", "header")

    def __init__(self, key: bytes, section: str):
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self.header = sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)
        self._ad = _section_ad(section)

    def push(self, data: bytes, *, final: bool = False) -> bytes:
        tag = _SECTION_FINAL if final else _SECTION_MESSAGE
        return sodium.crypto_secretstream_xchacha20poly1305_push(self._state, data, self._ad, tag)


class SectionDecryptor:
    """Opens a section's chunks in order; :attr:`finished` once the final chunk has opened."""

    __slots__ = ("_ad", "_state", "finished")

    def __init__(self, key: bytes, section: str, header: bytes):
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self._ad = _section_ad(section)
        self.finished = False
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(self._state, bytes(header), key)
        except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, TypeError) as exc:
            raise CryptoError("the section does not open with this archive key") from exc

    def pull(self, chunk: bytes) -> bytes:
        if self.finished:
            raise CryptoError("data after the end of an archive section")
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                self._state, bytes(chunk), self._ad
            )
        except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, TypeError) as exc:
            raise CryptoError("an archive section was altered, cut or reordered") from exc
        self.finished = tag == _SECTION_FINAL
        return bytes(plain)


@dataclass(frozen=True)
class StoreCopy:
    """The erasure store, encrypted into an archive section (its secrets never leave crypto)."""

    header: bytes
    chunks: list[bytes]
    store_id: str
    slots: int


@dataclass(frozen=True)
class StoreWritten:
    """What a restored erasure store holds: its id, its slots and how many were erased now."""

    store_id: str
    slots: int
    erased: int


def erasure_store_copy(path: str, key: ArchiveKey, *, section: str = "store") -> StoreCopy:
    """The store at ``path`` encrypted under ``key``, read whole under a shared lock (an append
    holds the exclusive one, so the copy never ends in a half-written slot). Take it *after* the
    database dump: the store only grows, so every slot the dump names is in the copy."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            size = os.fstat(fd).st_size
            raw = os.pread(fd, size, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    if len(raw) < _ERASURE_HEADER or raw[: len(_ERASURE_MAGIC)] != _ERASURE_MAGIC:
        raise ErasureStoreError(f"{path} is not a Haven erasure store")
    usable = _ERASURE_HEADER + (len(raw) - _ERASURE_HEADER) // ERASURE_SECRET_BYTES * 32
    raw = raw[:usable]
    encryptor = key.encryptor(section)
    chunks: list[bytes] = []
    for start in range(0, len(raw), ARCHIVE_CHUNK_BYTES):
        end = start + ARCHIVE_CHUNK_BYTES
        chunks.append(encryptor.push(raw[start:end], final=end >= len(raw)))
    store_id = raw[len(_ERASURE_MAGIC) : len(_ERASURE_MAGIC) + 16].hex()
    slots = (len(raw) - _ERASURE_HEADER) // ERASURE_SECRET_BYTES
    return StoreCopy(encryptor.header, chunks, store_id, slots)


def erasure_store_write(
    path: str,
    key: ArchiveKey,
    *,
    header: bytes,
    chunks: Iterable[bytes],
    erase: Iterable[int],
    slots_at_least: int = 0,
    section: str = "store",
) -> StoreWritten:
    """Write the store held in an archive section to a new file at ``path`` (mode 0600), with
    every slot in ``erase`` (the shred ledgers) overwritten with zeros and the file extended with
    erased slots to ``slots_at_least``, so that the numbers of keys made after the backup are never
    given out again; flushed before this returns. A section that does not open, or is not a
    store, leaves no file."""
    decryptor = key.decryptor(section, header)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    written = 0
    try:
        for chunk in chunks:
            plain = decryptor.pull(chunk)
            if written == 0 and plain[: len(_ERASURE_MAGIC)] != _ERASURE_MAGIC:
                raise ErasureStoreError("the archive's store section is not an erasure store")
            os.pwrite(fd, plain, written)
            written += len(plain)
        if not decryptor.finished:
            raise CryptoError("the archive's store section is cut short")
        if written < _ERASURE_HEADER:
            raise ErasureStoreError("the archive's store section is not an erasure store")
        slots = (written - _ERASURE_HEADER) // ERASURE_SECRET_BYTES
        if slots_at_least > slots:
            os.pwrite(fd, bytes(ERASURE_SECRET_BYTES * (slots_at_least - slots)), written)
            slots = slots_at_least
        erased = 0
        for slot in sorted(set(erase)):
            if 0 <= slot < slots:
                offset = _ERASURE_HEADER + slot * ERASURE_SECRET_BYTES
                if os.pread(fd, ERASURE_SECRET_BYTES, offset) != _ZERO_SECRET:
                    erased += 1
                    os.pwrite(fd, _ZERO_SECRET, offset)
        os.fsync(fd)
        store_id = os.pread(fd, 16, len(_ERASURE_MAGIC)).hex()
    except BaseException:
        # What was written holds secrets: overwrite it before it goes.
        os.pwrite(fd, bytes(written), 0)
        os.fsync(fd)
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return StoreWritten(store_id, slots, erased)


def erasure_store_erased_slots(path: str) -> set[int]:
    """The slots of the store at ``path`` that hold zeros (tests, ``haven backup verify``)."""
    with open(path, "rb") as handle:
        raw = handle.read()
    return {
        slot
        for slot in range((len(raw) - _ERASURE_HEADER) // ERASURE_SECRET_BYTES)
        if raw[_ERASURE_HEADER + slot * 32 : _ERASURE_HEADER + slot * 32 + 32] == _ZERO_SECRET
    }


class BackupSigner:
    """The Ed25519 key that signs backup archives, derived from an erasure store's integrity key
    (:func:`backup_signer_of`); its private half stays in this object."""

    __slots__ = ("_key",)

    def __init__(self, seed: bytes):
        self._key = nacl.signing.SigningKey(seed)

    def __repr__(self) -> str:
        return f"BackupSigner({backup_fingerprint(self.public_key)})"

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)


def _store_backup_signer(store: ErasureStore) -> BackupSigner:
    seed = hashlib.blake2b(
        store._integrity_key(), digest_size=32, person=b"haven-bk-signer"
    ).digest()
    return BackupSigner(seed)


def backup_signer_of(path: str) -> BackupSigner:
    """The signing key of the erasure store at ``path`` (which must exist)."""
    if not os.path.isfile(path) or os.path.getsize(path) < _ERASURE_HEADER:
        raise ErasureStoreError(f"there is no erasure store at {path}")
    if os.path.abspath(path) == os.path.abspath(os.fspath(settings.HAVEN_ERASURE_STORE)):
        return _store_backup_signer(erasure_store())
    store = ErasureStore(path)
    try:
        return _store_backup_signer(store)
    finally:
        store.close()


def backup_signature_check(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise :class:`CryptoError` unless ``signature`` is ``public_key``'s over ``message``."""
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError) as exc:
        raise CryptoError("the archive's signature does not match") from exc


def backup_fingerprint(public_key: bytes) -> str:
    """A signing key's fingerprint as people copy it (128 bits, in groups of four)."""
    raw = hashlib.blake2b(bytes(public_key), digest_size=16, person=b"haven-bk-fpr").hexdigest()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def backup_organisation_id(recovery_public_key: bytes) -> str:
    """Which organisation an archive belongs to: a digest of its recovery public key."""
    return hashlib.blake2b(
        bytes(recovery_public_key), digest_size=16, person=b"haven-bk-org"
    ).hexdigest()


def backup_holder_hint(username: str, salt: bytes) -> str:
    """Which key-block entry is a supervisor's, without naming them: a hash keyed per archive."""
    return hashlib.blake2b(
        unicodedata.normalize("NFC", username).encode(), key=bytes(salt), digest_size=8
    ).hexdigest()


def backup_salt_new() -> bytes:
    return nacl.utils.random(16)


def erasure_store_forget(path: str) -> None:
    """Close this process's handle on the store at ``path`` and open it afresh next time: a
    restore has put another file there, or a verify's scratch store is gone."""
    with _erasure_lock:
        store = _erasure_stores.pop(os.fspath(path), None)
    if store is not None:
        store.close()


# --- The audit chain's signed head ---------------------------------------------------------------
# The head of the audit chain (haven.audit) is signed with an Ed25519 key derived from the server's
# SECRET_KEY, which someone who can only write to the database does not have: a chain rewritten
# there, or a head moved, no longer carries a signature this server made. Whoever holds SECRET_KEY
# (the running server, its configuration) can sign anything; kept anchors cover that case
# (docs/security.md, "The audit trail"). SECRET_KEY_FALLBACKS keep heads signed before a change
# of key acceptable until the next entry is signed with the new one.

_AUDIT_SIGN_PERSON = b"haven-audit-sign"  # 16 bytes, BLAKE2b's limit
_AUDIT_KEYS: dict[str, tuple[bytes, bytes]] = {}  # secret -> (public key, signing key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _audit_keypair(secret: str) -> tuple[bytes, bytes]:
    pair = _AUDIT_KEYS.get(secret)
    if pair is None:
        seed = hashlib.blake2b(secret.encode(), digest_size=32, person=_AUDIT_SIGN_PERSON).digest()
        pair = sodium.crypto_sign_seed_keypair(seed)
        if len(_AUDIT_KEYS) >= 8:
            _AUDIT_KEYS.clear()
        _AUDIT_KEYS[secret] = pair
    return pair


def audit_public_key() -> str:
    """This server's audit verify key (Ed25519, 43 characters of base64url), to print and keep."""
    return _b64(_audit_keypair(settings.SECRET_KEY)[0])


def audit_sign(message: bytes) -> str:
    """``<public key>.<signature>`` (base64url) over ``message`` with this server's audit key."""
    public, secret = _audit_keypair(settings.SECRET_KEY)
    signature = sodium.crypto_sign(message, secret)[: sodium.crypto_sign_BYTES]
    return f"{_b64(public)}.{_b64(signature)}"


def _audit_signature_parts(signature: str) -> tuple[bytes, bytes] | None:
    public, dot, sig = signature.partition(".")
    if not dot or len(public) != 43 or len(sig) != 86:
        return None
    try:
        parts = base64.urlsafe_b64decode(public + "="), base64.urlsafe_b64decode(sig + "==")
    except (binascii.Error, ValueError):
        return None
    if (
        len(parts[0]) != sodium.crypto_sign_PUBLICKEYBYTES
        or len(parts[1]) != sodium.crypto_sign_BYTES
    ):
        return None
    return parts


def audit_signature_valid(message: bytes, signature: str) -> bool:
    """Whether ``signature`` verifies under the public key it names, whoever's key that is."""
    parts = _audit_signature_parts(signature)
    if parts is None:
        return False
    public, sig = parts
    try:
        sodium.crypto_sign_open(sig + message, public)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError):
        return False
    return True


def audit_signature_signer(message: bytes, signature: str) -> str | None:
    """Which of this server's audit keys made ``signature`` over ``message``: ``"current"``
    (SECRET_KEY), ``"previous"`` (one of SECRET_KEY_FALLBACKS), or None (another key, or not a
    valid signature)."""
    parts = _audit_signature_parts(signature)
    if parts is None or not audit_signature_valid(message, signature):
        return None
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for index, secret in enumerate(secrets):
        if _audit_keypair(secret)[0] == parts[0]:
            return "current" if index == 0 else "previous"
    return None
