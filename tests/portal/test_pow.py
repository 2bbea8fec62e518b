"""The optional proof-of-work: cheap to check, bound to one form token, refused when malformed."""

from __future__ import annotations

import hashlib

import pytest

from haven.portal.pow import pow_solve, pow_valid

TOKEN = "form-token-1"


def test_a_solved_nonce_is_valid_and_has_the_leading_zero_bits():
    nonce = pow_solve(token=TOKEN, bits=10)
    assert pow_valid(token=TOKEN, nonce=nonce, bits=10)
    digest = hashlib.sha256(f"haven-pow:{TOKEN}:{nonce}".encode()).digest()
    assert int.from_bytes(digest[:2], "big") >> 6 == 0


def test_a_nonce_solves_only_its_own_form_token():
    nonce = pow_solve(token=TOKEN, bits=12)
    others = [f"form-token-{i}" for i in range(2, 40)]
    # At 12 bits a random token accepts a given nonce once in 4,096 tries.
    assert sum(pow_valid(token=other, nonce=nonce, bits=12) for other in others) <= 1


def test_an_unsolved_nonce_is_refused():
    nonce = pow_solve(token=TOKEN, bits=12)
    wrong = [str(n) for n in range(int(nonce)) if not pow_valid(token=TOKEN, nonce=str(n), bits=12)]
    assert wrong and not any(pow_valid(token=TOKEN, nonce=n, bits=12) for n in wrong[:200])


@pytest.mark.parametrize(
    "nonce", [None, "", "-1", "1e3", "１２", "0x10", "9" * 21, ["1"], "1 ", "\x00"]
)
def test_malformed_nonces_are_refused_without_error(nonce):
    assert pow_valid(token=TOKEN, nonce=nonce, bits=1) is False


def test_zero_bits_means_the_proof_of_work_is_off():
    assert pow_valid(token=TOKEN, nonce="0", bits=0) is False


def test_an_empty_token_is_never_solved():
    assert pow_valid(token="", nonce="0", bits=1) is False
