"""Key custody primitives: password-wrapped personal keys, session protection, sealing,
recovery words and blind-index tokens."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from haven.crypto import (
    CryptoError,
    IndexKey,
    KeyContext,
    MissingKeyError,
    PersonalKey,
    RecoveryWordsError,
    recovery_key_create,
    recovery_key_from_words,
    seal_to_public_key,
)


def test_a_personal_key_opens_with_its_password_only():
    key = PersonalKey.generate()
    wrapped = key.wrap_with_password("correct horse battery staple")

    assert (
        PersonalKey.unwrap_with_password(wrapped, "correct horse battery staple").public_key
        == key.public_key
    )
    with pytest.raises(CryptoError):
        PersonalKey.unwrap_with_password(wrapped, "correct horse battery stapler")


def test_the_wrapped_key_holds_no_copy_of_the_private_key():
    key = PersonalKey.generate()
    wrapped = key.wrap_with_password("pw")
    assert bytes(key._private) not in wrapped
    assert "PersonalKey(public=" in repr(key) and bytes(key._private).hex() not in repr(key)


def test_a_tampered_wrapping_is_refused():
    wrapped = bytearray(PersonalKey.generate().wrap_with_password("pw"))
    wrapped[3] ^= 1  # the stored cost is authenticated too
    with pytest.raises(CryptoError):
        PersonalKey.unwrap_with_password(bytes(wrapped), "pw")
    with pytest.raises(CryptoError, match="not a wrapped"):
        PersonalKey.unwrap_with_password(b"\x02garbage", "pw")


def test_production_refuses_a_cheap_password_kdf():
    with override_settings(HAVEN_KDF_INSECURE_FOR_TESTS=False), pytest.raises(ImproperlyConfigured):
        PersonalKey.generate().wrap_with_password("pw")


def test_a_session_needs_both_the_server_blob_and_the_cookie_secret():
    key = PersonalKey.generate()
    blob, secret = key.protect_for_session(binding="session:1")
    other_blob, other_secret = key.protect_for_session(binding="session:1")

    assert PersonalKey.from_session(blob, secret, binding="session:1").public_key == key.public_key
    assert secret != other_secret
    with pytest.raises(CryptoError):
        PersonalKey.from_session(blob, other_secret, binding="session:1")
    with pytest.raises(CryptoError):
        PersonalKey.from_session(blob, "not base64 at all!", binding="session:1")


def test_a_session_blob_opens_only_under_the_login_it_was_bound_to():
    """A blob copied to another person's session, or another token's row, does not open even
    with its own secret."""
    key = PersonalKey.generate()
    blob, secret = key.protect_for_session(binding="api-token:7:1b7c")

    assert PersonalKey.from_session(blob, secret, binding="api-token:7:1b7c")
    for elsewhere in ("api-token:8:1b7c", "api-token:7:2c8d", "session:7"):
        with pytest.raises(CryptoError):
            PersonalKey.from_session(blob, secret, binding=elsewhere)
    with pytest.raises(CryptoError):
        key.protect_for_session(binding="")


def test_a_sealed_secret_opens_only_for_its_addressee():
    alice, bob = PersonalKey.generate(), PersonalKey.generate()
    sealed = seal_to_public_key(alice.public_key, b"x" * 32)

    assert alice.open_sealed(sealed) == b"x" * 32
    with pytest.raises(CryptoError):
        bob.open_sealed(sealed)
    with pytest.raises(CryptoError):
        seal_to_public_key(b"short", b"x")


def test_a_data_key_can_be_granted_to_another_person():
    holder = PersonalKey.generate()
    ctx = KeyContext(actor_id=None)
    ctx.add_holder("u:1", holder)
    sealed = ctx.data_key_new("k1", {"u:1": holder.public_key}, slot=None)["u:1"]
    grantee = PersonalKey.generate()

    granted = ctx.data_key_seal_to("k1", grantee.public_key)

    other = KeyContext(actor_id=None)
    other.add_holder("u:2", grantee)
    other.data_key_unlock("k1", holder="u:2", sealed=granted, slot=None)
    blob = ctx.seal(key_id="k1", data={"x": 1}, aad=b"a")
    assert other.open(key_id="k1", blob=blob, aad=b"a") == {"x": 1}
    assert holder.open_sealed(sealed) == grantee.open_sealed(granted)


def test_a_team_key_shared_with_a_member_opens_through_their_context():
    member, team = PersonalKey.generate(), PersonalKey.generate()
    ctx = KeyContext(actor_id=None)
    ctx.add_holder("u:1", member)
    ctx.add_share("t:1", via="u:1", sealed=team.seal_private_to(member.public_key))
    sealed = seal_to_public_key(team.public_key, b"k" * 32)

    ctx.data_key_unlock("k", holder="t:1", sealed=sealed, slot=None)

    assert ctx.has_data_key("k")
    with pytest.raises(MissingKeyError):
        ctx.data_key_unlock("other", holder="t:2", sealed=sealed, slot=None)


def test_recovery_words_rebuild_the_recovery_key_however_they_are_typed():
    key, words = recovery_key_create()
    assert len(words) == 24

    typed = "  " + "\n".join(w.upper() for w in words) + " "
    assert recovery_key_from_words(typed).public_key == key.public_key
    assert recovery_key_from_words(words).public_key == key.public_key


# The words of 32 zero bytes: 23 × "abandon", then "art", whose bits hold the checksum.
ZERO_WORDS = ["abandon"] * 23 + ["art"]


def test_the_words_of_a_known_key_are_accepted():
    assert recovery_key_from_words(ZERO_WORDS).public_key


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (ZERO_WORDS[:-1], "Expected 24 words"),
        ([*ZERO_WORDS[:-1], "haven"], "Not recovery words at position 24"),
        ([*ZERO_WORDS[:-1], "abandon"], "checksum"),
    ],
)
def test_wrong_recovery_words_get_a_clear_error(words, message):
    with pytest.raises(RecoveryWordsError, match=message):
        recovery_key_from_words(words)


def test_blind_index_tokens_are_keyed_and_separated_by_purpose():
    key, other = IndexKey.generate(), IndexKey.generate()

    assert key.token("name", "kim sunhui") == key.token("name", "kim sunhui")
    assert key.token("name", "kim sunhui") != other.token("name", "kim sunhui")
    assert key.token("name", "kim sunhui") != key.token("phone", "kim sunhui")
    assert len(key.token("name", "x")) == 16


def test_the_index_key_travels_only_sealed():
    holder = PersonalKey.generate()
    key = IndexKey.generate()

    reopened = IndexKey.open(holder, key.seal_to(holder.public_key))

    assert reopened.token("name", "ri") == key.token("name", "ri")
    assert "…" in repr(key)


def test_a_stored_cost_outside_the_allowed_range_is_refused_before_deriving():
    wrapped = bytearray(PersonalKey.generate().wrap_with_password("pw"))
    wrapped[1:5] = (2**32 - 1).to_bytes(4, "big")  # hours of Argon2 per login
    with pytest.raises(CryptoError, match="outside the allowed range"):
        PersonalKey.unwrap_with_password(bytes(wrapped), "pw")


def test_a_hangul_password_opens_however_it_is_composed():
    import unicodedata

    key = PersonalKey.generate()
    wrapped = key.wrap_with_password(unicodedata.normalize("NFD", "비밀번호"))
    assert PersonalKey.unwrap_with_password(wrapped, "비밀번호").public_key == key.public_key
    with pytest.raises(CryptoError):
        PersonalKey.unwrap_with_password(wrapped, "half \ud800")


def test_blind_index_purposes_must_fit_without_truncation():
    key = IndexKey.generate()
    with pytest.raises(ValueError, match="1 to 16 bytes"):
        key.token("name_romanized_given", "x")
    with pytest.raises(ValueError, match="1 to 16 bytes"):
        key.token("", "x")
