"""The keyed hashes behind matching encodings and private linkage (haven.crypto)."""

from __future__ import annotations

import pytest

from haven.crypto import IndexKey, LinkageSecret


def test_a_keyed_hasher_is_stable_for_one_key_and_purpose() -> None:
    key = IndexKey.generate()
    assert key.keyed_hasher("name")(b"kim") == key.keyed_hasher("name")(b"kim")
    assert len(key.keyed_hasher("name")(b"kim")) == 32


def test_purposes_and_keys_do_not_share_hashes() -> None:
    key = IndexKey.generate()
    assert key.keyed_hasher("name")(b"kim") != key.keyed_hasher("birth")(b"kim")
    assert key.keyed_hasher("name")(b"kim") != IndexKey.generate().keyed_hasher("name")(b"kim")


def test_a_keyed_hasher_differs_from_the_blind_index_token() -> None:
    key = IndexKey.generate()
    assert key.keyed_hasher("name")(b"kim")[:16] != key.token("name", "kim")


@pytest.mark.parametrize("purpose", ["", "x" * 65])
def test_a_purpose_must_be_1_to_64_bytes(purpose: str) -> None:
    with pytest.raises(ValueError, match="1 to 64"):
        IndexKey.generate().keyed_hasher(purpose)


def test_a_linkage_secret_never_shows_its_key() -> None:
    secret = LinkageSecret.generate()
    assert repr(secret) == "LinkageSecret(…)"
    assert len(secret.check_value) == 16
    assert secret.check_value != LinkageSecret.generate().check_value
    assert not hasattr(secret, "__dict__")
