"""What a verify (on a scratch copy) and a restore (on the restored database) check.

Each check reads through Django's default connection and the configured erasure store, which the
caller has pointed at the restored copy: row counts against the manifest, migrations, the audit
chain (the selector behind `haven audit verify`), every key row's integrity tag, that the store
holds every key's slot, and the canary.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.migrations.loader import MigrationLoader
from django.db.models import Max

from haven.crypto import CryptoError, KeyContext, erasure_store, erasure_store_erased_slots


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    # A finding that is not a failure (an archive from an older Haven, keys destroyed meanwhile).
    note: bool = False

    def __str__(self) -> str:
        mark = "FAIL" if not self.ok else ("note" if self.note else "ok  ")
        return f"{mark} {self.name:<12} {self.detail} ({self.seconds:.2f} s)"


def timed(name: str, run: Callable[[], tuple[bool, str]]) -> Check:
    started = time.perf_counter()
    ok, detail = run()
    return Check(name, ok, detail, time.perf_counter() - started)


# --- Row counts -----------------------------------------------------------------------------------


def counts_compare(expected: dict[str, int], found: dict[str, int]) -> tuple[bool, str]:
    wrong = [
        f"{table}: {found.get(table, 'missing')} rows, the manifest says {count}"
        for table, count in sorted(expected.items())
        if found.get(table) != count
    ]
    extra = sorted(set(found) - set(expected))
    if wrong or extra:
        parts = wrong[:10] + [f"{table}: not in the manifest" for table in extra[:5]]
        return False, "; ".join(parts)
    return True, f"{len(expected)} tables, {sum(expected.values()):,} rows, as in the manifest"


# --- Migrations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationState:
    unknown: list[str]
    pending: list[str]


def migration_state(applied: list[list[str]]) -> MigrationState:
    """Compare the migrations an archive's database had applied with this Haven's: ``unknown``
    ones mean the archive comes from a newer Haven (it cannot be restored here), ``pending`` ones
    that it comes from an older Haven (`haven migrate` brings it up to date)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    on_disk = set(loader.disk_migrations)
    done = {(app, name) for app, name in applied}
    apps = {app for app, _ in on_disk}
    unknown = sorted(f"{a}.{n}" for a, n in done - on_disk if a in apps)
    pending = sorted(f"{a}.{n}" for a, n in on_disk - done)
    return MigrationState(unknown, pending)


# --- The audit chain ------------------------------------------------------------------------------


def audit_check(head: dict[str, Any]) -> tuple[bool, str]:
    """The whole chain verifies, and the entry the manifest named as the head is in it."""
    from haven.audit.models import AuditEntry
    from haven.audit.selectors import audit_verify

    result = audit_verify(max_problems=5)
    if not result.ok:
        return False, "; ".join(str(p) for p in result.problems) or "broken"
    if head.get("seq"):
        entry = AuditEntry.objects.filter(seq=head["seq"]).values_list("entry_hash", flat=True)
        if list(entry) != [head.get("hash")]:
            return False, f"the entry at seq {head['seq']} is not the head the manifest recorded"
    return True, (
        f"{result.entries:,} entries intact, head at seq {result.head_seq or 0} "
        f"(the backup's head was seq {head.get('seq', 0)})"
    )


# --- Key rows -------------------------------------------------------------------------------------


def key_rows_check() -> tuple[bool, str]:
    """Every key row's integrity tag, under the restored store's integrity key: the database and
    the store came back as a pair, and nothing was forged in the archive."""
    from haven.brokers.models import BrokerCredential
    from haven.messaging.models import Conversation, RequesterKey
    from haven.vault import integrity
    from haven.vault.models import DataKey, Grant, IndexKeyCopy, KeyShare, OrgKeys, TeamKey, UserKey

    checked = 0
    bad: list[str] = []

    def run(label: str, check: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        nonlocal checked
        checked += 1
        try:
            check(*args, **kwargs)
        except CryptoError:
            if len(bad) < 5:
                bad.append(label)

    for org in OrgKeys.objects.all():
        run("organisation keys", integrity.org_keys_check, org)
    for team_key in TeamKey.objects.all():
        run(f"team key {team_key.pk}", integrity.team_key_check, team_key)
    for user_key in UserKey.objects.all():
        run(f"key of user {user_key.user_id}", integrity.user_key_check, user_key)
    for share in KeyShare.objects.all():
        run(
            f"key share {share.pk}",
            integrity.key_share_check,
            share,
            sealed=share.sealed,
            stored=share.tag,
        )
        if share.sealed_next is not None:
            run(
                f"key share {share.pk} (next)",
                integrity.key_share_check,
                share,
                sealed=share.sealed_next,
                stored=share.tag_next,
            )
    for copy in IndexKeyCopy.objects.all():
        run(f"index key copy {copy.pk}", integrity.index_key_copy_check, copy)
    for conversation in Conversation.objects.all().iterator(chunk_size=2000):
        run(f"conversation {conversation.pk}", integrity.conversation_check, conversation)
    for requester_key in RequesterKey.objects.all().iterator(chunk_size=2000):
        run(f"requester key {requester_key.pk}", integrity.requester_key_check, requester_key)
    for credential in BrokerCredential.objects.all():
        run(f"broker credential {credential.pk}", integrity.broker_credential_check, credential)
    keys = DataKey.objects.only("id", "erasure_slot", "recovery_sealed", "tag")
    for key in keys.iterator(chunk_size=5000):
        run(f"data key {key.pk}", integrity.data_key_check, key)
    grants = Grant.objects.values_list(
        "pk", "data_key_id", "data_key__erasure_slot", "user_id", "team_key_id", "sealed", "tag"
    )
    for pk, key_id, slot, user_id, team_key_id, sealed, tag in grants.iterator(chunk_size=5000):
        run(
            f"grant {pk}",
            integrity.grant_check,
            data_key_id=key_id,
            slot=slot,
            user_id=user_id,
            team_key_id=team_key_id,
            sealed=sealed,
            stored=tag,
        )
    if bad:
        return False, f"{len(bad)}+ of {checked:,} key rows fail their tag: " + ", ".join(bad)
    return True, f"{checked:,} key rows carry Haven's tag under the restored store's key"


# --- The erasure store beside the database ----------------------------------------------------------


def store_check(ledger: set[int]) -> tuple[bool, str, set[int]]:
    """The store holds a slot for every key, and a live secret for every key not in the shred
    ledger. Returns (ok, detail, the slots of keys destroyed meanwhile)."""
    from haven.vault.models import DataKey

    store = erasure_store()
    slots = store.slot_count()
    highest = DataKey.objects.aggregate(top=Max("erasure_slot"))["top"]
    if highest is not None and highest >= slots:
        return False, f"the store has {slots} slots but a key uses slot {highest}", set()
    erased = erasure_store_erased_slots(str(settings.HAVEN_ERASURE_STORE))
    used: set[int] = {
        int(slot)
        for slot in DataKey.objects.filter(erasure_slot__isnull=False).values_list(
            "erasure_slot", flat=True
        )
        if slot is not None
    }
    lost = (used & erased) - ledger
    if lost:
        return (
            False,
            f"{len(lost)} keys have no secret in the store and are in no shred ledger "
            f"(slots {sorted(lost)[:5]}…): the store is damaged",
            set(),
        )
    destroyed = used & erased
    return True, f"{len(used):,} keys, {slots:,} slots, {len(erased):,} erased", destroyed


# --- The canary -----------------------------------------------------------------------------------


def canary_check(*, canary_id: str, token: str, holder: Any, by_recovery: bool) -> tuple[bool, str]:
    """Open the canary written when the backup was made, with the key that opened the archive
    (the recovery key, or the supervisors' key through the canary's grant), and compare its token
    with the manifest's."""
    from haven.backups.models import BackupCanary
    from haven.vault import integrity
    from haven.vault.models import TeamKey, TeamKeyKind
    from haven.vault.sealed import data_keys_unlock, payload_read

    canary = BackupCanary.objects.select_related("data_key").filter(pk=canary_id).first()
    if canary is None:
        return False, "the canary written at backup time is not in the restored database"
    ctx = KeyContext(actor_id=None)
    try:
        if by_recovery:
            key = canary.data_key
            integrity.data_key_check(key)
            ctx.data_key_unlock_recovery(
                str(key.pk),
                recovery=holder,
                sealed=bytes(key.recovery_sealed),
                slot=key.erasure_slot,
            )
        else:
            public = holder.public_key
            team = next(
                (
                    t
                    for t in TeamKey.objects.filter(kind=TeamKeyKind.SUPERVISORS)
                    if bytes(t.public_key) == public
                ),
                None,
            )
            if team is None:
                return False, "the supervisors' key that opened the archive is not in the database"
            integrity.team_key_check(team)
            ctx.add_holder(team.ref, holder)
            data_keys_unlock(ctx=ctx, key_ids=[canary.data_key_id])
        data = payload_read(ctx=ctx, record=canary)
    except CryptoError as exc:
        return False, f"the canary does not open: {exc}"
    finally:
        ctx.forget()
    if not hmac.compare_digest(str(data.get("token", "")), token):
        return False, "the canary opens, but holds another token than the manifest's"
    return True, "written at backup time, opens with the restored keys and store"
