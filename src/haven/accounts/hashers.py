"""Django's password hash at the cost of the key wrap, so that it is not the cheaper oracle.

A copy of the database holds two things to guess a password against: Django's password hash
(``accounts_user.password``) and the private key wrapped under Argon2id of the same password
(``vault_userkey.wrapped_private``). An attacker takes the cheaper; with argon2-cffi's defaults
(2 passes over 100 MiB) that was the hash. Both now cost ``HAVEN_KDF_OPSLIMIT`` passes over
``HAVEN_KDF_MEMLIMIT`` (3 and 256 MiB by default), with one lane as libsodium's Argon2id uses.
Existing hashes are re-made at the next login (Django's ``must_update``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class HavenArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with the key wrap's cost; a stored cost far above it is refused, not run."""

    parallelism = 1

    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return int(settings.HAVEN_KDF_OPSLIMIT)

    @property
    def memory_cost(self) -> int:  # type: ignore[override]  # KiB, as argon2-cffi counts
        return int(settings.HAVEN_KDF_MEMLIMIT) // 1024

    def verify(self, password: str, encoded: str) -> bool:
        # The cost travels with the hash: someone able to write to the database could otherwise
        # make every login run for hours or ask for terabytes of memory (as crypto.py refuses for
        # the wrapped key).
        try:
            params: Any = self.decode(encoded)["params"]
        except (AssertionError, ValueError, TypeError):
            return False
        if (
            params.time_cost > 4 * self.time_cost
            or params.memory_cost > 4 * self.memory_cost
            or params.parallelism > 8
        ):
            return False
        return bool(super().verify(password, encoded))
