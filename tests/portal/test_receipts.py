"""Receipts: format, normalisation on entry, and the stored digest."""

from __future__ import annotations

import pytest

from haven.crypto import CryptoError, receipt_digest, receipt_keys, receipt_salt_new
from haven.portal.receipts import digest_of, receipt_display, receipt_new, receipt_normalise


def test_a_receipt_is_twenty_random_digits_shown_in_groups_of_four() -> None:
    receipts = {receipt_new() for _ in range(200)}
    assert len(receipts) == 200
    for receipt in receipts:
        assert len(receipt) == 20 and receipt.isdigit()
    assert receipt_display("38170264991544027731") == "3817-0264-9915-4402-7731"


@pytest.mark.parametrize(
    "typed",
    [
        "3817-0264-9915-4402-7731",
        "3817 0264 9915 4402 7731",
        " 38170264991544027731 ",
        "３８１７－０２６４－９９１５－４４０２－７７３１",  # full-width digits and dash
        "3817\u2013 0264\u2014 9915\u2212 4402\u2010 7731",  # en dash, em dash, minus, hyphen
        "3817.0264.9915.4402.7731",
        "3817\u30000264\u00a09915\t4402 7731",  # ideographic and no-break spaces, a tab
    ],
)
def test_receipts_are_normalised_on_entry(typed: str) -> None:
    assert receipt_normalise(typed) == "38170264991544027731"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "3817-0264-9915-4402",  # 16 digits: the old length
        "3817-0264-9915-4402-773",  # 19 digits
        "3817-0264-9915-4402-77311",  # 21 digits
        "3817-0264-9915-4402-773A",
        "٣٨١٧٠٢٦٤٩٩١٥٤٤٠٢٧٧٣١",  # Arabic-Indic digits are not ours
        "3817-0264-9915-4402-7731\x00",
        "1" * 1_000,
        None,
        12345,
    ],
)
def test_what_cannot_be_a_receipt_is_refused_before_any_lookup(typed: object) -> None:
    assert receipt_normalise(typed) is None


def test_the_digest_depends_on_the_salt_and_refuses_absurd_costs() -> None:
    salt = receipt_salt_new()
    one = receipt_digest("38170264991544027731", salt, opslimit=1, memlimit=8 * 1024 * 1024)
    assert len(one) == 32
    assert one == receipt_digest("38170264991544027731", salt, opslimit=1, memlimit=8 * 1024 * 1024)
    assert one != receipt_digest(
        "38170264991544027731", receipt_salt_new(), opslimit=1, memlimit=8 * 1024 * 1024
    )
    with pytest.raises(CryptoError):
        receipt_digest("38170264991544027731", salt, opslimit=10_000, memlimit=8 * 1024 * 1024)
    with pytest.raises(CryptoError):
        receipt_digest("38170264991544027731", b"short", opslimit=1, memlimit=8 * 1024 * 1024)


def test_production_cost_cannot_be_lowered_outside_tests(settings) -> None:
    settings.HAVEN_KDF_INSECURE_FOR_TESTS = False
    with pytest.raises(CryptoError):
        receipt_digest(
            "38170264991544027731", receipt_salt_new(), opslimit=1, memlimit=4 * 1024 * 1024
        )


def test_one_argon2id_run_gives_a_lookup_digest_and_a_separate_wrapping_key() -> None:
    salt = receipt_salt_new()
    keys = receipt_keys("38170264991544027731", salt, opslimit=1, memlimit=8 * 1024 * 1024)
    assert keys.lookup == receipt_digest(
        "38170264991544027731", salt, opslimit=1, memlimit=8 * 1024 * 1024
    )
    key, wrapped = keys.party_key_new()
    assert keys.lookup not in wrapped
    assert keys.party_key_open(wrapped).public_key == key.public_key
    other = receipt_keys("38170264991544027732", salt, opslimit=1, memlimit=8 * 1024 * 1024)
    with pytest.raises(CryptoError):
        other.party_key_open(wrapped)
    with pytest.raises(CryptoError):
        keys.party_key_open(wrapped[:1] + bytes(len(wrapped) - 1))
    assert "3817" not in repr(keys)


@pytest.mark.django_db
def test_the_salt_and_cost_are_stored_once_and_reused(settings) -> None:
    from haven.portal.models import ReceiptSalt

    first = digest_of("38170264991544027731")
    settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT = 3  # a later change does not orphan old receipts
    assert digest_of("38170264991544027731") == first
    assert ReceiptSalt.objects.count() == 1


@pytest.mark.parametrize("memlimit", [8 * 1024 * 1024, 12 * 1024 * 1024 + 1024])
def test_the_receipt_hash_is_libsodiums_argon2id_so_digests_stored_before_still_match(memlimit):
    import hashlib

    import nacl.pwhash

    salt = receipt_salt_new()
    receipt = "38170264991544027731"
    by_libsodium = nacl.pwhash.argon2id.kdf(
        64, receipt.encode(), salt, opslimit=2, memlimit=memlimit
    )
    expected = hashlib.blake2b(by_libsodium, digest_size=32, person=b"haven-rcpt-look").digest()
    assert receipt_digest(receipt, salt, opslimit=2, memlimit=memlimit) == expected
    # The memory reused from one run to the next carries nothing over.
    assert receipt_digest(receipt, salt, opslimit=2, memlimit=memlimit) == expected


def test_a_receipt_cost_that_is_not_whole_kibibytes_is_rounded_down_as_libsodium_does():
    import hashlib

    import nacl.pwhash

    salt = receipt_salt_new()
    by_libsodium = nacl.pwhash.argon2id.kdf(
        64, b"38170264991544027731", salt, opslimit=1, memlimit=10_000_000
    )
    expected = hashlib.blake2b(by_libsodium, digest_size=32, person=b"haven-rcpt-look").digest()
    digest = receipt_digest("38170264991544027731", salt, opslimit=1, memlimit=10_000_000)
    assert digest == expected
