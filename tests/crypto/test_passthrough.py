"""The benchmarks' crypto pass-through mode: refused outside test and benchmark settings, and its
output never accepted by the real cryptography (nor real ciphertext by it)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from haven import crypto
from haven.crypto import (
    CryptoError,
    IndexKey,
    KeyContext,
    PassthroughRefusedError,
    PersonalKey,
    passthrough_for_benchmarks,
    record_aad,
    seal_to_public_key,
)

PRODUCTION = {
    "HAVEN_KDF_INSECURE_FOR_TESTS": False,
    "HAVEN_CRYPTO_PASSTHROUGH_FOR_BENCHMARKS": False,
}
AAD = record_aad("cases.case", "id", 1)
DATA = {"name_hangul": "김선희"}


def _context() -> tuple[KeyContext, PersonalKey]:
    person = PersonalKey.generate()
    ctx = KeyContext(actor_id=1)
    ctx.add_holder("u:1", person)
    return ctx, person


def test_it_is_refused_with_production_settings():
    with override_settings(**PRODUCTION), pytest.raises(PassthroughRefusedError):  # noqa: SIM117
        with passthrough_for_benchmarks():
            pytest.fail("pass-through mode was entered with production settings")


@pytest.mark.parametrize("truthy", ["1", "true", 1])
def test_only_a_true_setting_allows_it(truthy):
    settings = {**PRODUCTION, "HAVEN_CRYPTO_PASSTHROUGH_FOR_BENCHMARKS": truthy}
    with override_settings(**settings), pytest.raises(PassthroughRefusedError):  # noqa: SIM117
        with passthrough_for_benchmarks():
            pytest.fail("a string from the environment switched pass-through mode on")


def test_the_benchmark_setting_allows_it():
    settings = {**PRODUCTION, "HAVEN_CRYPTO_PASSTHROUGH_FOR_BENCHMARKS": True}
    ctx, _ = _context()
    with override_settings(**settings), passthrough_for_benchmarks():
        ctx.data_key_new("k", {}, slot=None)
        assert ctx.seal(key_id="k", data=DATA, aad=AAD).startswith(b"\xb0")


def test_it_stops_working_if_the_settings_change_underneath():
    ctx, _ = _context()
    ctx.data_key_new("k", {}, slot=None)
    with passthrough_for_benchmarks(), override_settings(**PRODUCTION):  # noqa: SIM117
        with pytest.raises(PassthroughRefusedError):
            ctx.seal(key_id="k", data=DATA, aad=AAD)


def test_it_ends_with_its_block():
    ctx, person = _context()
    with passthrough_for_benchmarks():
        pass
    ctx.data_key_new("k", {}, slot=None)
    blob = ctx.seal(key_id="k", data=DATA, aad=AAD)
    assert blob[:1] == b"\x01" and "김선희".encode() not in blob
    assert crypto._passthrough.get() is False


def test_pass_through_payloads_and_boxes_are_identity_transforms():
    ctx, person = _context()
    with passthrough_for_benchmarks():
        sealed = ctx.data_key_new("k", {"u:1": person.public_key}, slot=None)["u:1"]
        blob = ctx.seal(key_id="k", data=DATA, aad=AAD)
        assert blob == b"\xb0" + '{"name_hangul":"김선희"}'.encode()
        assert ctx.open(key_id="k", blob=blob, aad=AAD) == DATA
        assert sealed[:1] == b"\xb0" and sealed[1:33] == person.public_key
        assert person.open_sealed(sealed) == sealed[33:]
        with pytest.raises(CryptoError):  # still addressed: another key does not open it
            PersonalKey.generate().open_sealed(sealed)


def test_real_mode_refuses_pass_through_payloads():
    ctx, person = _context()
    with passthrough_for_benchmarks():
        ctx.data_key_new("k", {"u:1": person.public_key}, slot=None)
        blob = ctx.seal(key_id="k", data=DATA, aad=AAD)
    with pytest.raises(CryptoError, match="pass-through"):
        ctx.open(key_id="k", blob=blob, aad=AAD)
    with override_settings(**PRODUCTION), pytest.raises(CryptoError, match="pass-through"):
        ctx.open(key_id="k", blob=blob, aad=AAD)


def test_real_mode_refuses_pass_through_sealed_boxes():
    _, person = _context()
    with passthrough_for_benchmarks():
        sealed = seal_to_public_key(person.public_key, bytes(32))
        index_box = IndexKey(bytes(32)).seal_to(person.public_key)
    for box in (sealed, index_box):
        with override_settings(**PRODUCTION), pytest.raises(CryptoError, match="pass-through"):
            person.open_sealed(box)
        with pytest.raises(CryptoError):
            IndexKey.open(person, box)
    ctx = KeyContext(actor_id=1)
    ctx.add_holder("u:1", person)
    with pytest.raises(CryptoError):
        ctx.data_key_unlock("k", holder="u:1", sealed=sealed, slot=None)
    assert not ctx.has_data_key("k")


def test_pass_through_mode_refuses_real_ciphertext():
    ctx, person = _context()
    sealed = ctx.data_key_new("k", {"u:1": person.public_key}, slot=None)["u:1"]
    blob = ctx.seal(key_id="k", data=DATA, aad=AAD)
    with passthrough_for_benchmarks():
        with pytest.raises(CryptoError, match="pass-through"):
            ctx.open(key_id="k", blob=blob, aad=AAD)
        with pytest.raises(CryptoError, match="pass-through"):
            person.open_sealed(sealed)


def test_keys_wrapped_by_a_password_or_a_session_stay_real():
    person = PersonalKey.generate()
    with passthrough_for_benchmarks():
        wrapped = person.wrap_with_password("pw")
        blob, secret = person.protect_for_session(binding="session:1")
    assert bytes(person._private) not in wrapped and bytes(person._private) not in blob
    assert (
        PersonalKey.from_session(blob, secret, binding="session:1").public_key == person.public_key
    )
    assert PersonalKey.unwrap_with_password(wrapped, "pw").public_key == person.public_key
