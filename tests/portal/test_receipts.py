"""Receipts: format, normalisation on entry, and the stored digest."""

from __future__ import annotations

import pytest

from haven.crypto import CryptoError, receipt_digest, receipt_salt_new
from haven.portal.receipts import digest_of, receipt_display, receipt_new, receipt_normalise


def test_a_receipt_is_sixteen_random_digits_shown_in_groups_of_four() -> None:
    receipts = {receipt_new() for _ in range(200)}
    assert len(receipts) == 200
    for receipt in receipts:
        assert len(receipt) == 16 and receipt.isdigit()
    assert receipt_display("3817026499154402") == "3817-0264-9915-4402"


@pytest.mark.parametrize(
    "typed",
    [
        "3817-0264-9915-4402",
        "3817 0264 9915 4402",
        " 3817026499154402 ",
        "３８１７－０２６４－９９１５－４４０２",  # full-width digits and dash
        "3817\u2013 0264\u2014 9915\u2212 4402",  # en dash, em dash, minus
        "3817.0264.9915.4402",
        "3817\u30000264\u00a09915\t4402",  # ideographic and no-break spaces, a tab
    ],
)
def test_receipts_are_normalised_on_entry(typed: str) -> None:
    assert receipt_normalise(typed) == "3817026499154402"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "3817-0264-9915-440",  # 15 digits
        "3817-0264-9915-44021",  # 17 digits
        "3817-0264-9915-440A",
        "٣٨١٧٠٢٦٤٩٩١٥٤٤٠٢",  # Arabic-Indic digits are not ours
        "3817-0264-9915-4402\x00",
        "1" * 1_000,
        None,
        12345,
    ],
)
def test_what_cannot_be_a_receipt_is_refused_before_any_lookup(typed: object) -> None:
    assert receipt_normalise(typed) is None


def test_the_digest_depends_on_the_salt_and_refuses_absurd_costs() -> None:
    salt = receipt_salt_new()
    one = receipt_digest("3817026499154402", salt, opslimit=1, memlimit=8 * 1024 * 1024)
    assert len(one) == 32
    assert one == receipt_digest("3817026499154402", salt, opslimit=1, memlimit=8 * 1024 * 1024)
    assert one != receipt_digest(
        "3817026499154402", receipt_salt_new(), opslimit=1, memlimit=8 * 1024 * 1024
    )
    with pytest.raises(CryptoError):
        receipt_digest("3817026499154402", salt, opslimit=10_000, memlimit=8 * 1024 * 1024)
    with pytest.raises(CryptoError):
        receipt_digest("3817026499154402", b"short", opslimit=1, memlimit=8 * 1024 * 1024)


def test_production_cost_cannot_be_lowered_outside_tests(settings) -> None:
    settings.HAVEN_KDF_INSECURE_FOR_TESTS = False
    with pytest.raises(CryptoError):
        receipt_digest("3817026499154402", receipt_salt_new(), opslimit=2, memlimit=8 * 1024 * 1024)


@pytest.mark.django_db
def test_the_salt_and_cost_are_stored_once_and_reused(settings) -> None:
    from haven.portal.models import ReceiptSalt

    first = digest_of("3817026499154402")
    settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT = 3  # a later change does not orphan old receipts
    assert digest_of("3817026499154402") == first
    assert ReceiptSalt.objects.count() == 1
