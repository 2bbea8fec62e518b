"""Key custody costs: what a login costs (Argon2id) and how fast keys seal and open.

    .venv/bin/python benchmarks/keys.py

Prints the production Argon2id cost (unwrapping a person's private key at login), beside
GlobaLeaks' parameters measured in the same run, what every request pays to reopen the session's
key, and the rates of sealing data keys to public keys (a grant; a new record's key sealed to its
five holders and the recovery key), of opening them, of opening a team key shared with a person,
of payload encryption and of blind-index tokens. Nothing is stored.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable

import django
from django.conf import settings

# Production KDF cost (haven.crypto's defaults); no database. The erasure store in a temporary
# directory (each new data key appends its secret there and flushes it).
_store_dir = tempfile.mkdtemp(prefix="haven-bench-keys-")
settings.configure(HAVEN_ERASURE_STORE=f"{_store_dir}/erasure.keys")
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
        f"same run, GlobaLeaks' parameters (17 passes, 128 MiB): p50 "
        f"{statistics.median(globaleaks):.3f} s  -> Haven/GlobaLeaks "
        f"{statistics.median(unlock) / statistics.median(globaleaks):.2f}"
    )
    blob, secret = person.protect_for_session(binding="session:1")
    print(
        "every request: reopen the session's key (cookie secret + server blob): "
        f"{per_second(lambda: crypto.PersonalKey.from_session(blob, secret, binding='session:1')):,.0f}/s"
    )

    ctx = crypto.KeyContext(actor_id=1)
    ctx.add_holder("u:1", person)
    holders = {f"u:{i}": crypto.PersonalKey.generate().public_key for i in range(5)}
    holders["recovery"] = crypto.PersonalKey.generate().public_key
    store = crypto.erasure_store()
    print(
        "new record key sealed to 5 holders + the recovery key, its erasure secret appended "
        "and flushed (data_key_new): "
        f"{per_second(lambda: ctx.data_key_new('new', holders, slot=store.allocate(1)[0])):,.0f}/s"
    )
    slot = store.allocate(1)[0]
    sealed = ctx.data_key_new("bench", {"u:1": person.public_key}, slot=slot)["u:1"]
    grantee = crypto.PersonalKey.generate()
    print(
        "grant (seal a data key to a public key): "
        f"{per_second(lambda: ctx.data_key_seal_to('bench', grantee.public_key)):,.0f}/s"
    )
    granted = ctx.data_key_seal_to("bench", grantee.public_key)
    print(
        "open a granted data key (X25519 sealed box): "
        f"{per_second(lambda: grantee.open_sealed(granted)):,.0f}/s"
    )

    def unlock_fresh() -> None:
        fresh = crypto.KeyContext(actor_id=1)
        fresh.add_holder("u:1", person)
        fresh.data_key_unlock("bench", holder="u:1", sealed=sealed, slot=slot)

    print(f"unlock a data key in a new context (per request): {per_second(unlock_fresh):,.0f}/s")
    team = crypto.PersonalKey.generate()
    share = team.seal_private_to(person.public_key)
    print(
        "open a team key shared with a person (sealed box + key pair): "
        f"{per_second(lambda: crypto.PersonalKey.open_shared(person, share)):,.0f}/s"
    )
    payload = {"name_hangul": "김선희", "name_romanized": "Kim Sun-hui", "own_words": "x" * 400}
    aad = crypto.record_aad("cases.case", "id", 1)
    blob = ctx.seal(key_id="bench", data=payload, aad=aad)
    print(
        "seal a 0.5 KB payload (XChaCha20-Poly1305): "
        f"{per_second(lambda: ctx.seal(key_id='bench', data=payload, aad=aad)):,.0f}/s"
    )
    print(
        "open a 0.5 KB payload: "
        f"{per_second(lambda: ctx.open(key_id='bench', blob=blob, aad=aad)):,.0f}/s"
    )
    index = crypto.IndexKey.generate()
    print(
        "blind-index token (keyed BLAKE2b): "
        f"{per_second(lambda: index.token('name', 'kim sunhui')):,.0f}/s"
    )


if __name__ == "__main__":
    main()
