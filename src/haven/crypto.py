"""The one module that owns cryptography. Nothing else imports PyNaCl or sees a key.

Every sensitive payload is encrypted with its record's own random *data key* using
XChaCha20-Poly1305 (libsodium's AEAD), with the record's identity and version as associated data,
so a payload copied onto another record or carried to another version fails to open.

Data keys are stored only *sealed*. In this first stage they are sealed with a provisional
organisation key read from the environment; the key-custody stage seals them to each person's
public key instead, and only :class:`KeyContext` changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings as sodium
import nacl.utils
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_FORMAT_V1 = b"\x01"
_CACHE_LIMIT = 2048


class CryptoError(Exception):
    """A payload or key could not be opened: wrong key, wrong record, or tampering."""


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = nacl.utils.random(NONCE_BYTES)
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)
    return _FORMAT_V1 + nonce + ciphertext


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != _FORMAT_V1:
        raise CryptoError("not a Haven ciphertext")
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            blob[1 + NONCE_BYTES :], aad, nonce, key
        )
    except nacl.exceptions.CryptoError as exc:
        raise CryptoError("ciphertext does not open with this key and record") from exc


def parse_org_key(encoded: str) -> bytes:
    """Decode the provisional organisation key and check its length."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("HAVEN_ORG_KEY must be base64.") from exc
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"HAVEN_ORG_KEY must decode to {KEY_BYTES} bytes, not {len(raw)}."
        )
    return raw


def generate_org_key() -> str:
    """A fresh provisional organisation key, base64-encoded, for `haven` to write to a file."""
    return base64.b64encode(nacl.utils.random(KEY_BYTES)).decode()


def _key_aad(key_id: str) -> bytes:
    return b"haven:data-key:" + key_id.encode()


def record_aad(
    label: str, record_id: object, version: int, bound: list[Any] | None = None
) -> bytes:
    """Associated data binding a payload to one record at one version (and to plain columns)."""
    aad = f"haven:{label}:{record_id}:{version}"
    if bound:
        aad += ":" + json.dumps(bound, ensure_ascii=False, separators=(",", ":"))
    return aad.encode()


@dataclass
class KeyContext:
    """The keys one acting person may use, for the length of one request or command.

    Services receive it and call :meth:`seal` / :meth:`open`; they never see a key. Unsealed data
    keys are cached in memory only, bounded, and dropped with the context.
    """

    actor_id: object | None
    _org_key: bytes = field(repr=False)
    _cache: OrderedDict[str, bytes] = field(default_factory=OrderedDict, repr=False)

    def new_sealed_data_key(self, key_id: str) -> bytes:
        """Create a random data key for record ``key_id`` and return it sealed."""
        data_key = nacl.utils.random(KEY_BYTES)
        self._remember(key_id, data_key)
        return _encrypt(self._org_key, data_key, _key_aad(key_id))

    def _data_key(self, key_id: str, sealed: bytes) -> bytes:
        cached = self._cache.get(key_id)
        if cached is not None:
            self._cache.move_to_end(key_id)
            return cached
        data_key = _decrypt(self._org_key, bytes(sealed), _key_aad(key_id))
        self._remember(key_id, data_key)
        return data_key

    def _remember(self, key_id: str, data_key: bytes) -> None:
        self._cache[key_id] = data_key
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.popitem(last=False)

    def seal(self, *, key_id: str, sealed_key: bytes, data: dict[str, Any], aad: bytes) -> bytes:
        """Encrypt a JSON-serialisable payload under the record's data key."""
        plaintext = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return _encrypt(self._data_key(key_id, sealed_key), plaintext.encode(), aad)

    def open(self, *, key_id: str, sealed_key: bytes, blob: bytes, aad: bytes) -> dict[str, Any]:
        """Decrypt a payload sealed by :meth:`seal`; raises :class:`CryptoError` on any mismatch."""
        plaintext = _decrypt(self._data_key(key_id, sealed_key), bytes(blob), aad)
        result = json.loads(plaintext)
        if not isinstance(result, dict):
            raise CryptoError("payload is not an object")
        return result

    def forget(self) -> None:
        """Drop every unsealed data key held in memory."""
        self._cache.clear()


def key_context_for(actor_id: object | None) -> KeyContext:
    """The key context for an acting person (provisional: the organisation key)."""
    return KeyContext(actor_id=actor_id, _org_key=parse_org_key(settings.HAVEN_ORG_KEY))


def fingerprint(value: bytes) -> str:
    """A short non-secret fingerprint (for logs and `haven check`), never the key itself."""
    return hashlib.blake2b(value, digest_size=6).hexdigest()
