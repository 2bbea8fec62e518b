"""Destroying a case is real on the live disk (issue 17, finding 1).

The attacker of these tests is stronger than a raid: they hold a copy of *every row the database
ever stored* for the case (what PostgreSQL's heap and WAL and SQLite's WAL may keep: every grant,
the recovery copy, every payload), the live files as they are just after the deletion, the
recovery words and every staff password. Each test commits for real (``transaction=True``): the
erasure runs when the destroying transaction commits, as in production."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from haven.cases.models import Case, Note, Person
from haven.cases.services import case_delete, case_grant, case_revoke, note_add
from haven.crypto import CryptoError, KeyContext, erasure_store, recovery_key_from_words
from haven.vault.models import DataKey, ErasedKey, Grant
from haven.vault.sealed import _aad
from haven.vault.services import data_key_shred, erasure_ledger_apply
from tests.factories import PASSWORD, ctx_for, make_case

pytestmark = pytest.mark.django_db(transaction=True)


def _everything_stored(case: Case) -> dict:
    """Every row of the case's key and records, as an attacker copying the files would find them
    (a superset of what survives in dead tuples, WAL frames and unvacuumed pages)."""
    key = DataKey.objects.get(pk=case.data_key_id)
    return {
        "key_id": str(key.pk),
        "slot": key.erasure_slot,
        "recovery_sealed": bytes(key.recovery_sealed),
        "grants": [
            (g.user_id, g.team_key_id, bytes(g.sealed))
            for g in Grant.objects.filter(data_key_id=key.pk)
        ],
        "records": [
            (bytes(record.payload), _aad(record))
            for record in (
                case,
                Person.objects.get(pk=case.person_id),
                *Note.objects.filter(case=case),
            )
        ],
    }


def _opens(stored: dict, org, users) -> list[str]:
    """What opens: try the recovery copy with the recovery words and every grant with every
    password (and every team key those people hold), then every record's payload."""
    opened = []
    recovery = recovery_key_from_words(org.recovery_words)
    attempts = []
    attempt = KeyContext(actor_id=None)
    try:
        attempt.data_key_unlock_recovery(
            stored["key_id"],
            recovery=recovery,
            sealed=stored["recovery_sealed"],
            slot=stored["slot"],
        )
        attempts.append(("recovery words", attempt))
    except CryptoError:
        pass
    for user in users:
        person = ctx_for(user, PASSWORD)
        for user_id, team_key_id, sealed in stored["grants"]:
            holder = f"u:{user_id}" if user_id is not None else f"t:{team_key_id}"
            if holder not in person.holder_refs():
                continue
            try:
                person.data_key_unlock(
                    stored["key_id"], holder=holder, sealed=sealed, slot=stored["slot"]
                )
                attempts.append((f"{user.username}'s {holder}", person))
                break
            except CryptoError:
                continue
    for who, ctx in attempts:
        for payload, aad in stored["records"]:
            try:
                ctx.open(key_id=stored["key_id"], blob=payload, aad=aad)
                opened.append(who)
            except CryptoError:
                pass
    return opened


def test_everything_stored_opens_before_the_deletion(org, ctx, alice, bob) -> None:
    """The attack is real: the same material opens the case while it exists."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="hiding near the river")
    case.refresh_from_db()

    opened = _opens(_everything_stored(case), org, [alice, bob])

    assert "recovery words" in opened and any("bob" in who for who in opened)


def test_a_deleted_case_opens_for_nobody_from_any_copy_of_the_database(
    org, ctx, alice, bob, client
) -> None:
    from rest_framework.test import APIClient

    from haven.api.services import api_token_create

    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="hiding near the river")
    case.refresh_from_db()
    stored = _everything_stored(case)
    assert erasure_store().live(stored["slot"])

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=alice, password=PASSWORD)}")
    response = api.post(
        f"/api/cases/{case.pk}/delete/",
        {"version": case.version, "confirm": "DELETE"},
        format="json",
    )

    assert response.status_code == 204
    # At once: the slot is erased when the deletion commits, not at the next purge.
    assert not erasure_store().live(stored["slot"])
    assert ErasedKey.objects.get(slot=stored["slot"]).erased_at is not None
    assert _opens(stored, org, [alice, bob]) == []


def test_a_copy_of_the_live_files_taken_at_once_opens_nothing(
    org, ctx, alice, bob, tmp_path: Path
) -> None:
    """The files themselves (SQLite: the database, its WAL and the erasure store), copied the
    moment the deletion returns: every sealed copy of the key found in them opens nothing."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case.refresh_from_db()
    stored = _everything_stored(case)

    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    copied_store = tmp_path / "erasure.keys"
    shutil.copyfile(settings.HAVEN_ERASURE_STORE, copied_store)
    raw = copied_store.read_bytes()
    offset = 64 + 32 * stored["slot"]
    assert raw[offset : offset + 32] == bytes(32)
    if connection.vendor == "sqlite":
        name = connection.settings_dict["NAME"]
        for suffix in ("", "-wal"):
            if Path(f"{name}{suffix}").exists():
                shutil.copyfile(f"{name}{suffix}", tmp_path / f"db{suffix}")
        copy = sqlite3.connect(tmp_path / "db")
        remaining = copy.execute(
            "SELECT recovery_sealed FROM vault_datakey WHERE erasure_slot = ?", (stored["slot"],)
        ).fetchall()
        copy.close()
        assert remaining == []  # and the bytes stored before are tried below all the same
    assert _opens(stored, org, [alice, bob]) == []


def test_revoking_with_rotation_erases_the_old_key(org, ctx, alice, bob, carol) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)
    case.refresh_from_db()
    before = _everything_stored(case)

    case_revoke(ctx=ctx_for(alice), actor=alice, case=case, holder=carol, rotate=True)

    assert not erasure_store().live(before["slot"])
    # Carol's grant as it was stored, and everyone else's, open none of the old ciphertext.
    assert _opens(before, org, [alice, bob, carol]) == []
    # The case itself lives on under its new key.
    rotated = Case.objects.get(pk=case.pk)
    assert rotated.data_key_id != case.data_key_id
    assert _opens(_everything_stored(rotated), org, [alice])


def test_a_rolled_back_deletion_erases_nothing(org, ctx, alice, bob, monkeypatch) -> None:
    import haven.cases.services as services

    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case.refresh_from_db()
    slot = case.data_key.erasure_slot

    def fail(**kwargs):
        raise RuntimeError("the audit trail could not be written")

    monkeypatch.setattr(services, "audit_record", fail)
    with pytest.raises(RuntimeError):
        case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    assert erasure_store().live(slot)
    assert not ErasedKey.objects.filter(slot=slot).exists()
    assert Case.objects.filter(pk=case.pk).exists()
    assert _opens(_everything_stored(case), org, [alice])


def test_an_erasure_a_crash_interrupted_is_finished_by_the_next(org, ctx, alice, monkeypatch):
    """The destroying transaction committed, then the process died before erasing: the ledger
    row stays, and the next erasure (or `haven purge`) erases the slot."""
    import haven.vault.services as vault_services

    case = make_case(ctx=ctx, actor=alice)
    slot = DataKey.objects.get(pk=case.data_key_id).erasure_slot
    monkeypatch.setattr(vault_services.transaction, "on_commit", lambda *a, **k: None)
    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)
    assert erasure_store().live(slot)
    assert ErasedKey.objects.get(slot=slot).erased_at is None
    # Without the erasure, what the database kept still opens: the attack of this file is real.
    monkeypatch.undo()

    # The case's key and its request's (destroyed with its last case).
    assert erasure_ledger_apply() == 2

    assert not erasure_store().live(slot)
    assert ErasedKey.objects.get(slot=slot).erased_at is not None
    assert erasure_ledger_apply() == 0


def test_shredding_a_key_made_before_erasure_slots_still_deletes_it(org, ctx, alice) -> None:
    """Keys written before this change have no slot: deleting them removes every row as before
    (their copies in old files remain, as docs/security.md says)."""
    case = make_case(ctx=ctx, actor=alice)
    key = DataKey.objects.get(pk=case.data_key_id)
    DataKey.objects.filter(pk=key.pk).update(erasure_slot=None)

    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    assert not DataKey.objects.filter(pk=key.pk).exists()
    assert not ErasedKey.objects.filter(slot=key.erasure_slot).exists()
    assert erasure_store().live(key.erasure_slot)  # untouched: it was no longer the key's
    data_key_shred(key_id=key.pk)  # nothing left to destroy: harmless


def _check(settings, path: Path) -> list[tuple[str, str]]:
    from haven.demo.checks import _erasure_store_findings

    settings.HAVEN_ERASURE_STORE = path
    return [(f.level, f.message) for f in _erasure_store_findings()]


def test_haven_check_refuses_a_store_of_another_database(org, ctx, alice, settings, tmp_path):
    from haven.crypto import ErasureStore

    make_case(ctx=ctx, actor=alice)
    ErasureStore(str(tmp_path / "other.keys")).allocate(1000)

    findings = _check(settings, tmp_path / "other.keys")

    assert findings[0][0] == "FAIL" and "belongs to another database" in findings[0][1]


def test_haven_check_refuses_a_missing_store_and_warns_of_unerased_keys(
    org, ctx, alice, settings, tmp_path
):
    make_case(ctx=ctx, actor=alice)
    own = settings.HAVEN_ERASURE_STORE
    missing = _check(settings, tmp_path / "nowhere.keys")
    assert missing[0][0] == "FAIL" and "is missing" in missing[0][1]

    ErasedKey.objects.create(slot=DataKey.objects.first().erasure_slot, destroyed_at=timezone.now())
    findings = _check(settings, own)
    assert findings[0][0] == "OK"
    assert any(level == "WARN" and "haven purge" in message for level, message in findings)
