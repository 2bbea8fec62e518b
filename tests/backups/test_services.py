"""Backups end to end, committing for real on SQLite and PostgreSQL: a backup survives the loss of
the database and the erasure store, a tampered or foreign archive restores nothing, and a case
destroyed after a backup stays destroyed when that backup is restored."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from haven.accounts.models import User
from haven.audit.models import AuditEntry
from haven.audit.selectors import audit_verify
from haven.backups import checks
from haven.backups.archive import ArchiveReader
from haven.backups.keyblock import Credentials, Opener
from haven.backups.models import BackupCanary
from haven.backups.services import BackupError, backup_create, backup_restore, backup_verify
from haven.cases.models import Case, Note, Person
from haven.cases.services import case_delete, note_add
from haven.crypto import (
    CryptoError,
    KeyContext,
    erasure_store,
    erasure_store_forget,
    recovery_key_create,
    recovery_key_from_words,
)
from haven.vault.models import DataKey, ErasedKey, Grant, OrgKeys
from haven.vault.sealed import _aad, payload_read
from haven.vault.services import org_keys_setup
from tests.backups.conftest import destroy_database
from tests.factories import PASSWORD, ctx_for, make_case

pytestmark = pytest.mark.django_db(transaction=True)


def _words(org) -> Credentials:
    return Credentials(recovery=recovery_key_from_words(org.recovery_words))


def _alice() -> Credentials:
    return Credentials(supervisor="alice", password=PASSWORD)


def _lose_store(path: Path) -> None:
    erasure_store_forget(os.fspath(path))
    path.unlink()


def _chain() -> list[tuple[int, str]]:
    return list(AuditEntry.objects.order_by("seq").values_list("seq", "entry_hash"))


def _stored(case: Case) -> dict:
    """Everything stored for a case that would open it: its key's recovery copy and slot, every
    grant, every payload (as someone copying the database files would find them)."""
    key = DataKey.objects.get(pk=case.data_key_id)
    return {
        "key_id": str(key.pk),
        "slot": key.erasure_slot,
        "recovery_sealed": bytes(key.recovery_sealed),
        "records": [
            (bytes(r.payload), _aad(r))
            for r in (case, Person.objects.get(pk=case.person_id), *Note.objects.filter(case=case))
        ],
    }


def _opens_with_words(stored: dict, org) -> bool:
    ctx = KeyContext(actor_id=None)
    try:
        ctx.data_key_unlock_recovery(
            stored["key_id"],
            recovery=recovery_key_from_words(org.recovery_words),
            sealed=stored["recovery_sealed"],
            slot=stored["slot"],
        )
        for payload, aad in stored["records"]:
            ctx.open(key_id=stored["key_id"], blob=payload, aad=aad)
    except CryptoError:
        return False
    return True


def test_a_backup_restored_after_losing_the_database_and_the_store_is_whole(
    org, ctx, alice, bob, store_path
) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="hiding near the river")
    chain, grants, keys = _chain(), Grant.objects.count(), DataKey.objects.count()
    result = backup_create()

    destroy_database()
    _lose_store(store_path)
    report = backup_restore(path=result.path, credentials=_words(org), signer=result.signer)

    assert report.ok, [str(c) for c in report.checks]
    # The data: Bob opens his case with his password, as before.
    restored = Case.objects.get(pk=case.pk)
    bob_ctx = ctx_for(User.objects.get(username="bob"))
    assert payload_read(ctx=bob_ctx, record=Note.objects.get(case=restored))["text"] == (
        "hiding near the river"
    )
    payload_read(ctx=bob_ctx, record=restored.person)
    # The keys: every grant and key is back, and Alice's team keys open the case too.
    # (+1: the canary, its key and its grant to the supervisors' key)
    assert Grant.objects.count() == grants + 1 and DataKey.objects.count() == keys + 1
    payload_read(ctx=ctx_for(User.objects.get(username="alice")), record=restored)
    # The integrity tags hold under the restored store's key.
    assert checks.key_rows_check()[0]
    # The audit chain is whole: every entry as it was, then the backup's and the restore's.
    after = _chain()
    assert after[: len(chain)] == chain
    assert list(
        AuditEntry.objects.filter(seq__gt=len(chain))
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["backup.create", "backup.restore"]
    assert audit_verify().ok
    assert erasure_store().store_id() == OrgKeys.objects.get().erasure_store_id


def test_a_supervisor_restores_with_their_password_and_the_database_is_replaced(
    org, ctx, alice, bob
) -> None:
    kept = make_case(ctx=ctx, actor=alice, owner=bob)
    result = backup_create()
    later = make_case(ctx=ctx, actor=alice, owner=bob)  # after the backup: lost by the restore

    report = backup_restore(path=result.path, credentials=_alice(), replace=True)

    assert report.ok
    assert Case.objects.filter(pk=kept.pk).exists()
    assert not Case.objects.filter(pk=later.pk).exists()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "backup.restore" and entry.actor.username == "alice"


def test_a_case_deleted_after_the_backup_stays_deleted_when_the_database_is_restored_over(
    org, ctx, alice, bob
) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="hiding near the river")
    case.refresh_from_db()
    result = backup_create()
    stored = _stored(case)
    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    report = backup_restore(path=result.path, credentials=_alice(), replace=True)

    assert report.ok and report.newer_ledger
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not DataKey.objects.filter(pk=stored["key_id"]).exists()
    assert ErasedKey.objects.filter(slot=stored["slot"]).exists()  # carried into later backups
    assert not erasure_store().live(stored["slot"])
    # The rows as the archive held them (the backup's copy of the key included) open nothing.
    assert not _opens_with_words(stored, org)


def test_a_case_deleted_after_the_backup_stays_deleted_through_a_newer_backups_ledger(
    org, ctx, alice, bob, store_path
) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case.refresh_from_db()
    old = backup_create()
    stored = _stored(case)
    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)
    newer = backup_create()
    assert newer.path.parent == old.path.parent

    destroy_database()
    _lose_store(store_path)
    report = backup_restore(path=old.path, credentials=_words(org), signer=old.signer)

    assert report.ok and report.newer_ledger
    assert any(newer.path.name in source for source in report.ledgers)
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not _opens_with_words(stored, org)
    assert ErasedKey.objects.filter(slot=stored["slot"]).exists()


def test_if_only_an_old_backup_survives_a_case_deleted_since_comes_back_and_it_says_so(
    org, ctx, alice, bob, store_path
) -> None:
    """What docs/security.md says still holds when every later ledger is lost."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case.refresh_from_db()
    old = backup_create()
    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    destroy_database()
    _lose_store(store_path)
    report = backup_restore(path=old.path, credentials=_words(org), signer=old.signer)

    assert report.ok and not report.newer_ledger
    assert Case.objects.filter(pk=case.pk).exists()


def test_a_key_destroyed_while_the_backup_runs_is_destroyed_in_the_archive(
    org, ctx, alice, bob, monkeypatch
) -> None:
    """Between the dump and the store's copy: the dump holds the case, the copy a zeroed slot,
    and the archive's ledger (read after the copy) names it; a restore removes the case."""
    import haven.backups.services as services

    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case.refresh_from_db()
    stored = _stored(case)
    copy = services.erasure_store_copy

    def delete_then_copy(*args, **kwargs):
        fresh = Case.objects.get(pk=case.pk)
        case_delete(ctx=ctx, actor=alice, case=fresh, expected_version=fresh.version)
        return copy(*args, **kwargs)

    monkeypatch.setattr(services, "erasure_store_copy", delete_then_copy)
    result = backup_create()
    monkeypatch.setattr(services, "erasure_store_copy", copy)

    verified = backup_verify(path=result.path, credentials=_alice())
    assert verified.ok, [str(c) for c in verified.checks]
    assert "destroyed while the backup was taken" in next(
        c.detail for c in verified.checks if c.name == "store"
    )

    destroy_database()
    report = backup_restore(path=result.path, credentials=_alice(), replace=True)
    assert report.ok
    assert report.finished >= 1
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not _opens_with_words(stored, org)


def _flip(path: Path, offset: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 1]))


def _state(store_path: Path) -> tuple:
    return (
        sorted(str(pk) for pk in Case.objects.values_list("pk", flat=True)),
        _chain(),
        store_path.read_bytes(),
    )


@pytest.mark.parametrize("where", ["database", "store", "manifest", "header", "signature"])
def test_a_tampered_archive_is_refused_and_restores_nothing(
    org, ctx, alice, bob, store_path, where
) -> None:
    make_case(ctx=ctx, actor=alice, owner=bob)
    result = backup_create()
    make_case(ctx=ctx, actor=alice, owner=bob)  # so that a restore would show
    with ArchiveReader(result.path) as reader:
        sections = reader.sections
        offsets = {
            "header": 40,
            "signature": reader.size - 12 - 10,
            **{name: s.offset + s.length // 2 for name, s in sections.items()},
        }
    _flip(result.path, offsets[where])
    before = _state(store_path)

    with pytest.raises(BackupError, match="altered|damaged|does not parse|signature"):
        backup_restore(path=result.path, credentials=_alice(), replace=True)

    assert _state(store_path) == before
    assert not list(store_path.parent.glob("*.restoring"))
    report = backup_verify(path=result.path, credentials=_alice())
    assert not report.ok and report.checks[0].name == "signature"


def test_a_truncated_archive_is_refused_clearly(org, ctx, alice, bob, store_path) -> None:
    make_case(ctx=ctx, actor=alice, owner=bob)
    result = backup_create()
    raw = result.path.read_bytes()
    before = _state(store_path)
    for size in (len(raw) // 2, len(raw) - 1, 10, 0):
        result.path.write_bytes(raw[:size])
        with pytest.raises(BackupError, match="cut short|not a Haven backup"):
            backup_restore(path=result.path, credentials=_alice(), replace=True)
        assert _state(store_path) == before


def test_a_missing_archive_is_refused_clearly(org, alice, tmp_path) -> None:
    with pytest.raises(BackupError, match="There is no file"):
        backup_restore(path=tmp_path / "nothing.havenbackup", credentials=_alice())
    with pytest.raises(BackupError, match="There is no file"):
        backup_verify(path=tmp_path / "nothing.havenbackup", credentials=_alice())
    with pytest.raises(BackupError, match="not a Haven backup"):
        backup_restore(path=Path(settings.HAVEN_ERASURE_STORE), credentials=_alice())


def test_a_database_with_tables_is_replaced_only_when_asked(
    org, ctx, alice, bob, store_path
) -> None:
    make_case(ctx=ctx, actor=alice, owner=bob)
    result = backup_create()
    before = _state(store_path)

    with pytest.raises(BackupError, match="not empty.*--replace"):
        backup_restore(path=result.path, credentials=_alice())

    assert _state(store_path) == before


def test_wrong_credentials_are_refused_clearly(org, ctx, alice, bob, store_path) -> None:
    result = backup_create()
    before = _state(store_path)

    with pytest.raises(BackupError, match="password does not unlock alice"):
        backup_restore(
            path=result.path,
            credentials=Credentials(supervisor="alice", password="wrong"),
            replace=True,
        )
    with pytest.raises(BackupError, match="bob did not hold the supervisors' key"):
        backup_restore(
            path=result.path,
            credentials=Credentials(supervisor="bob", password=PASSWORD),
            replace=True,
        )
    other_words = recovery_key_create()[1]
    with pytest.raises(BackupError, match="recovery words do not open"):
        backup_restore(
            path=result.path,
            credentials=Credentials(recovery=recovery_key_from_words(other_words)),
            replace=True,
        )
    assert _state(store_path) == before


def test_the_wrong_kind_of_database_is_refused(org, alice, store_path, monkeypatch) -> None:
    import haven.backups.database as database

    result = backup_create()
    before = _state(store_path)
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    monkeypatch.setattr(database, "vendor", lambda: other)

    with pytest.raises(BackupError, match="This backup is of a .* database, and DATABASE_URL"):
        backup_restore(path=result.path, credentials=_alice(), replace=True)

    monkeypatch.undo()
    assert _state(store_path) == before


def test_an_archive_of_another_organisation_is_refused(
    org, ctx, alice, bob, tmp_path, settings
) -> None:
    make_case(ctx=ctx, actor=alice, owner=bob)
    theirs = backup_create()
    their_words = org.recovery_words

    # This host now runs another organisation: a fresh database, store and keys.
    destroy_database()
    ours = tmp_path / "ours" / "erasure.keys"
    ours.parent.mkdir()
    settings.HAVEN_ERASURE_STORE = ours
    call_command("migrate", verbosity=0)
    org_keys_setup()
    before = (_state(ours), bytes(OrgKeys.objects.get().recovery_public_key))

    with pytest.raises(BackupError, match="another organisation"):
        backup_restore(
            path=theirs.path,
            credentials=Credentials(recovery=recovery_key_from_words(their_words)),
            replace=True,
        )
    with pytest.raises(BackupError, match="not made by this installation"):
        backup_verify(
            path=theirs.path, credentials=Credentials(recovery=recovery_key_from_words(their_words))
        )
    assert (_state(ours), bytes(OrgKeys.objects.get().recovery_public_key)) == before
    erasure_store_forget(os.fspath(ours))


def test_verify_checks_everything_and_changes_nothing(org, ctx, alice, bob, store_path) -> None:
    make_case(ctx=ctx, actor=alice, owner=bob)
    result = backup_create()
    before = _state(store_path)
    leftovers = set(Path(settings.DATA_DIR).iterdir())

    report = backup_verify(path=result.path, credentials=_alice())

    assert report.ok, [str(c) for c in report.checks]
    assert [c.name for c in report.checks] == [
        "signature",
        "opened",
        "restored",
        "row counts",
        "signer",
        "migrations",
        "audit chain",
        "key tags",
        "store",
        "canary",
    ]
    assert all(c.seconds >= 0 for c in report.checks) and report.seconds > 0
    assert _state(store_path) == before
    assert set(Path(settings.DATA_DIR).iterdir()) == leftovers
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                [connection.settings_dict["NAME"] + "_verify_%"],
            )
            assert cursor.fetchone()[0] == 0


def test_verify_fails_when_the_canary_does_not_open(org, ctx, alice, bob, monkeypatch) -> None:
    """The canary is what proves the keys and the store came back together."""
    result = backup_create()
    import haven.backups.checks as checks_module

    real = checks_module.canary_check

    def wrong_token(**kwargs):
        return real(**{**kwargs, "token": "0" * 32})

    monkeypatch.setattr(checks_module, "canary_check", wrong_token)
    report = backup_verify(path=result.path, credentials=_alice())

    assert not report.ok
    assert next(c for c in report.checks if c.name == "canary").detail.startswith(
        "the canary opens, but"
    )


def test_nothing_in_the_archive_is_readable(org, ctx, alice, bob, store_path) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    result = backup_create()
    raw = result.path.read_bytes()
    store = store_path.read_bytes()
    secret = store[64 + 32 * DataKey.objects.get(pk=case.data_key_id).erasure_slot :][:32]

    for plain in (
        b"SQLite format 3",
        b"PGDMP",
        b"HAVEN-ERASURE-1",
        b"cases_case",
        b"vault_grant",
        b"alice",
        # Not b"bob": three bytes turn up by chance in an archive's ciphertext (a PostgreSQL
        # run of the suite failed so). Bob's password hash is in any readable users' table.
        bob.password.encode(),
        store[16:64],  # the store's id and integrity key
        secret,
        bytes(OrgKeys.objects.get().recovery_public_key),
    ):
        assert plain not in raw
    assert oct(result.path.stat().st_mode & 0o777) == "0o600"


def test_the_archive_holds_the_configuration_without_secrets(org, alice) -> None:
    result = backup_create()
    with ArchiveReader(result.path) as reader:
        key = Opener(_words(org)).open(reader.header).key
        config = reader.json(key, "configuration")
        text = json.dumps(config)

    assert config["HAVEN_RETENTION_DAYS"] == settings.HAVEN_RETENTION_DAYS
    assert config["TIME_ZONE"] == settings.TIME_ZONE
    assert settings.SECRET_KEY not in text
    assert "PASSWORD" not in config["DATABASE"]
    assert not [name for name in config if "SECRET" in name or "PASSWORD" in name]


def test_a_backup_taken_while_haven_writes_is_consistent(org, ctx, alice, bob) -> None:
    """Notes are added from another thread (its own connection) all through the backup: the
    manifest's counts, the dump and the store still describe one instant."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        writer = User.objects.get(username="alice")
        writer_ctx = ctx_for(writer)
        fresh = Case.objects.get(pk=case.pk)
        try:
            while not stop.is_set():
                note_add(ctx=writer_ctx, actor=writer, case=fresh, text="still here")
                written.append(1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        result = backup_create()
        backup_create()  # a second one, with the writer well under way
    finally:
        stop.set()
        thread.join()

    assert written
    report = backup_verify(path=result.path, credentials=_alice())
    assert report.ok, [str(c) for c in report.checks]


def test_two_backups_do_not_run_at_once(org, alice, settings) -> None:
    import fcntl

    lock = Path(settings.DATA_DIR) / "backup.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(BackupError, match="Another backup or restore is running"):
            backup_create()
    finally:
        os.close(fd)
    backups = Path(settings.HAVEN_BACKUP_DIR)
    assert not backups.exists() or not list(backups.iterdir())


def test_a_backup_without_its_erasure_store_is_refused(org, alice, store_path) -> None:
    _lose_store(store_path)
    with pytest.raises(BackupError, match="There is no erasure store"):
        backup_create()
    assert not store_path.exists()


def test_each_backup_leaves_a_canary_and_keeps_the_earlier_ones(org, alice) -> None:
    first = backup_create()
    backup_create()
    assert BackupCanary.objects.count() == 2
    # The earlier canary is not destroyed: restoring the first archive with the newer ledger
    # leaves its canary whole.
    report = backup_restore(path=first.path, credentials=_alice(), replace=True)
    assert report.ok
    shutil.rmtree(first.path.parent)


def test_prune_destroys_old_archives_but_always_keeps_the_newest(
    org, alice, settings, monkeypatch
) -> None:
    import datetime as dt

    import haven.backups.services as services
    from haven.backups.services import backup_prune

    real_now = services._now
    monkeypatch.setattr(services, "_now", lambda: real_now() - dt.timedelta(days=40))
    old = [backup_create().path for _ in range(2)]
    monkeypatch.setattr(services, "_now", real_now)
    stranger = Path(settings.HAVEN_BACKUP_DIR) / "notes.havenbackup"
    stranger.write_text("not an archive")

    dry = backup_prune(keep_days=30, dry_run=True)
    assert sorted(dry.removed) == sorted(old[:1]) and all(p.exists() for p in old)

    # The newest of all is still the second old one: it is kept, whatever its age.
    result = backup_prune(keep_days=30)
    assert result.removed == old[:1] and not old[0].exists() and old[1].exists()
    assert stranger.exists() and any("notes.havenbackup" in s for s in result.skipped)

    fresh = backup_create().path
    result = backup_prune(keep_days=30)
    assert result.removed == [old[1]] and fresh.exists()
    with pytest.raises(BackupError, match="at least one day"):
        backup_prune(keep_days=0)


def test_a_restore_ends_every_session_and_token_of_the_backups_time(org, alice, client) -> None:
    from django.contrib.sessions.models import Session

    from haven.api.models import ApiToken
    from haven.api.services import api_token_create
    from tests.factories import login

    login(client, User.objects.get(username="alice"))
    api_token_create(user=alice, password=PASSWORD)
    result = backup_create()
    client.logout()  # after the backup: the restore must not bring this session back

    report = backup_restore(path=result.path, credentials=_alice(), replace=True)

    assert report.ok
    assert not Session.objects.exists() and not ApiToken.objects.exists()
    detail = AuditEntry.objects.order_by("-seq").first().detail
    assert detail["sessions_ended"] >= 2
