"""Key custody costs: what a login costs (Argon2id) and how fast keys seal and open.

    .venv/bin/python benchmarks/keys.py

Prints the production Argon2id cost (unwrapping a person's private key at login), beside
GlobaLeaks' parameters measured in the same run, and the rates of sealing/opening data keys to
public keys, of payload encryption and of blind-index tokens.
"""

from __future__ import annotations

import base64
import statistics
import time
from collections.abc import Callable

import django
from django.conf import settings

# A throwaway organisation key: this script stores nothing.
settings.configure(HAVEN_ORG_KEY=base64.b64encode(bytes(32)).decode())
django.setup()

from haven import crypto  # noqa: E402


def per_second(fn: Callable[[], object], seconds: float = 1.0) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    password = "correct horse battery staple"  # noqa: S105 - a benchmark input
    person = crypto.PersonalKey.generate()
    wrapped = person.wrap_with_password(password)
    unlock = timed(lambda: crypto.PersonalKey.unwrap_with_password(wrapped, password), 7)
    ops, mem = crypto.DEFAULT_KDF_OPSLIMIT, crypto.DEFAULT_KDF_MEMLIMIT
    salt = bytes(16)
    globaleaks = timed(lambda: crypto._password_key(password, salt, 17, 128 * 1024 * 1024), 3)
    print(
        f"login (Argon2id, {ops} passes, {mem // 2**20} MiB): p50 {statistics.median(unlock):.3f} s"
        f"  (min {min(unlock):.3f}, max {max(unlock):.3f})"
    )
    print(
        f"same run, GlobaLeaks' parameters (17 passes, 128 MiB): p50 {statistics.median(globaleaks):.3f} s"
        f"  -> Haven/GlobaLeaks {statistics.median(unlock) / statistics.median(globaleaks):.2f}"
    )

    ctx = crypto.key_context_for(None)
    sealed = ctx.new_sealed_data_key("bench")
    grantee = crypto.PersonalKey.generate()
    granted = ctx.seal_data_key_to(key_id="bench", sealed_key=sealed, public_key=grantee.public_key)
    print(
        f"grant (seal a data key to a public key): {per_second(lambda: ctx.seal_data_key_to(key_id='bench', sealed_key=sealed, public_key=grantee.public_key)):,.0f}/s"
    )
    print(
        f"open a granted data key (X25519 sealed box): {per_second(lambda: grantee.open_sealed(granted)):,.0f}/s"
    )
    payload = {"name_hangul": "김선희", "name_romanized": "Kim Sun-hui", "own_words": "x" * 400}
    aad = crypto.record_aad("cases.case", "id", 1)
    blob = ctx.seal(key_id="bench", sealed_key=sealed, data=payload, aad=aad)
    print(
        f"seal a 0.5 KB payload (XChaCha20-Poly1305): {per_second(lambda: ctx.seal(key_id='bench', sealed_key=sealed, data=payload, aad=aad)):,.0f}/s"
    )
    print(
        f"open a 0.5 KB payload: {per_second(lambda: ctx.open(key_id='bench', sealed_key=sealed, blob=blob, aad=aad)):,.0f}/s"
    )
    index = crypto.IndexKey.generate()
    print(
        f"blind-index token (keyed BLAKE2b): {per_second(lambda: index.token('name', 'kim sunhui')):,.0f}/s"
    )


if __name__ == "__main__":
    main()
