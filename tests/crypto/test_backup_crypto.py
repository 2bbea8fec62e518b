"""The backup primitives of haven.crypto: archive keys, sections, the store's copy, signatures."""

from __future__ import annotations

import os

import pytest

from haven.crypto import (
    ArchiveKey,
    CryptoError,
    ErasureStore,
    ErasureStoreError,
    PersonalKey,
    backup_fingerprint,
    backup_signature_check,
    backup_signer_of,
    erasure_store_copy,
    erasure_store_erased_slots,
    erasure_store_write,
    passthrough_for_benchmarks,
)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "erasure.keys"
    store = ErasureStore(str(path))
    store.allocate(40)
    yield store
    store.close()


def test_an_archive_key_opens_only_for_the_keys_it_was_sealed_to() -> None:
    key = ArchiveKey.generate()
    recovery, stranger = PersonalKey.generate(), PersonalKey.generate()
    sealed = key.seal_to(recovery.public_key)

    opened = ArchiveKey.open(recovery, sealed)

    encryptor = key.encryptor("manifest")
    blob = encryptor.push(b"hello", final=True)
    assert opened.decryptor("manifest", encryptor.header).pull(blob) == b"hello"
    with pytest.raises(CryptoError):
        ArchiveKey.open(stranger, sealed)


def test_an_archive_key_is_really_sealed_even_in_pass_through_mode() -> None:
    key = ArchiveKey.generate()
    recovery = PersonalKey.generate()
    with passthrough_for_benchmarks():
        sealed = key.seal_to(recovery.public_key)
    assert recovery.public_key not in sealed  # a pass-through box starts with the recipient
    ArchiveKey.open(recovery, sealed)


def _section(key: ArchiveKey, name: str, parts: list[bytes]) -> tuple[bytes, list[bytes]]:
    encryptor = key.encryptor(name)
    return encryptor.header, [
        encryptor.push(p, final=i == len(parts) - 1) for i, p in enumerate(parts)
    ]


def test_a_section_cut_short_reordered_or_renamed_does_not_open() -> None:
    key = ArchiveKey.generate()
    header, chunks = _section(key, "database", [b"one", b"two", b"three"])

    cut = key.decryptor("database", header)
    for chunk in chunks[:2]:
        cut.pull(chunk)
    assert not cut.finished  # the caller refuses a section without its final chunk

    swapped = key.decryptor("database", header)
    with pytest.raises(CryptoError):
        swapped.pull(chunks[1])

    with pytest.raises(CryptoError):
        key.decryptor("ledger", header).pull(chunks[0])

    with pytest.raises(CryptoError):
        ArchiveKey.generate().decryptor("database", header).pull(chunks[0])

    whole = key.decryptor("database", header)
    assert b"".join(whole.pull(c) for c in chunks) == b"onetwothree" and whole.finished


def test_the_store_comes_back_with_the_ledger_erased_and_extended(store, tmp_path) -> None:
    store.erase([3])
    key = ArchiveKey.generate()
    copy = erasure_store_copy(store.path, key)
    target = tmp_path / "restored.keys"

    written = erasure_store_write(
        str(target),
        key,
        header=copy.header,
        chunks=copy.chunks,
        erase={5, 7, 99},
        slots_at_least=60,
    )

    assert written.store_id == store.store_id() == copy.store_id
    assert written.slots == 60 and written.erased == 2  # 5 and 7 were live; 3 was erased already
    restored = ErasureStore(str(target))
    try:
        assert restored.store_id() == store.store_id()
        assert erasure_store_erased_slots(str(target)) == {3, 5, 7, *range(40, 60)}
        for slot in (0, 1, 39):
            assert restored._secret(slot) == store._secret(slot)
        assert restored._integrity_key() == store._integrity_key()
    finally:
        restored.close()
    assert os.stat(target).st_mode & 0o777 == 0o600


def test_a_store_section_that_does_not_open_leaves_no_file(store, tmp_path) -> None:
    key = ArchiveKey.generate()
    copy = erasure_store_copy(store.path, key)
    target = tmp_path / "restored.keys"

    with pytest.raises(CryptoError):
        erasure_store_write(
            str(target), key, header=copy.header, chunks=copy.chunks[:-1] + [b"x" * 40], erase=()
        )
    assert not target.exists()

    other = ArchiveKey.generate()
    header, chunks = _section(other, "store", [b"not a store at all, but long enough" * 3])
    with pytest.raises(ErasureStoreError):
        erasure_store_write(str(target), other, header=header, chunks=chunks, erase=())
    assert not target.exists()


def test_each_store_signs_with_its_own_key(store, tmp_path) -> None:
    other = ErasureStore(str(tmp_path / "other.keys"))
    other.allocate(1)
    try:
        mine, theirs = backup_signer_of(store.path), backup_signer_of(other.path)
        assert backup_signer_of(store.path).public_key == mine.public_key  # derived, stable
        signature = mine.sign(b"message")

        backup_signature_check(mine.public_key, b"message", signature)
        with pytest.raises(CryptoError):
            backup_signature_check(theirs.public_key, b"message", signature)
        with pytest.raises(CryptoError):
            backup_signature_check(mine.public_key, b"messagE", signature)
        assert backup_fingerprint(mine.public_key) != backup_fingerprint(theirs.public_key)
    finally:
        other.close()
    with pytest.raises(ErasureStoreError):
        backup_signer_of(str(tmp_path / "missing.keys"))
    assert not (tmp_path / "missing.keys").exists()  # looking did not create one
