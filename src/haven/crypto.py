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
