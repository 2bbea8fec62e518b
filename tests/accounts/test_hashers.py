"""Django's password hash costs what the key wrap costs: a copy of the database offers no cheaper
oracle for guessing a password (issue 17)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.hashers import check_password, get_hasher, identify_hasher, make_password
from django.test import override_settings

from haven.settings import base

MIB = 1024 * 1024
PRODUCTION_HASHERS = base.PASSWORD_HASHERS


@pytest.fixture
def production_hashers():
    # The key wrap's cost, lowered for speed: what matters is that the two are equal.
    with override_settings(
        PASSWORD_HASHERS=PRODUCTION_HASHERS, HAVEN_KDF_OPSLIMIT=2, HAVEN_KDF_MEMLIMIT=32 * MIB
    ):
        yield


def test_production_hashes_passwords_with_havens_hasher_first():
    assert PRODUCTION_HASHERS[0] == "haven.accounts.hashers.HavenArgon2PasswordHasher"


def test_the_password_hash_has_the_key_wraps_passes_memory_and_one_lane(production_hashers):
    encoded = make_password("a long and unusual passphrase 7")

    assert encoded.startswith("argon2$argon2id$v=19$m=32768,t=2,p=1$")
    assert check_password("a long and unusual passphrase 7", encoded)
    assert not check_password("a long and unusual passphrase 8", encoded)


def test_with_production_defaults_it_is_three_passes_over_256_mib():
    with override_settings(
        PASSWORD_HASHERS=PRODUCTION_HASHERS,
        HAVEN_KDF_OPSLIMIT=base.HAVEN_KDF_OPSLIMIT,
        HAVEN_KDF_MEMLIMIT=base.HAVEN_KDF_MEMLIMIT,
    ):
        hasher = get_hasher()
        assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 256 * 1024, 1)


def test_a_hash_made_with_djangos_defaults_still_works_and_is_remade(production_hashers):
    from django.contrib.auth.hashers import Argon2PasswordHasher

    old = Argon2PasswordHasher().encode("passphrase", Argon2PasswordHasher().salt())

    assert type(identify_hasher(old)).__name__ == "HavenArgon2PasswordHasher"
    assert check_password("passphrase", old)
    assert identify_hasher(old).must_update(old)
    assert not identify_hasher(make_password("passphrase")).must_update(make_password("x"))


def test_a_stored_cost_far_above_the_configured_one_is_refused_without_running(
    production_hashers,
):
    encoded = make_password("passphrase")
    inflated = encoded.replace("m=32768,t=2,p=1", "m=4194304,t=2,p=1")  # 4 GiB

    started = time.perf_counter()
    assert not check_password("passphrase", inflated)
    assert time.perf_counter() - started < 1
