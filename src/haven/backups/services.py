"""Backups: making an archive, checking one on a scratch copy, restoring one.

``backup_create`` (`haven backup`) writes one signed, encrypted archive (haven.backups.archive):

1. a canary is written (its own data key, sealed to the supervisors' key and the recovery key)
   with an audit entry, so that the archive holds both;
2. the database is dumped (SQLite's backup API; PostgreSQL's pg_dump from an exported snapshot);
3. then the erasure store is copied: the store only grows, so every slot the dump names is in
   the copy; a key destroyed between the two has a zeroed slot there;
4. then the shred ledger is read: it lists every key destroyed up to the store's copy, those
   included, so the archive's ledger is complete for its store;
5. the configuration without secrets and a manifest (row counts, migrations, audit head, the
   canary's token) close it, and the archive is signed.

``backup_verify`` (`haven backup verify`) restores an archive into a scratch database and store
and checks it (haven.backups.checks), changing nothing else. ``backup_restore`` (`haven restore`)
puts an archive in place of the database and the store, with every shred ledger it can find
applied to the store before anything can open (docs/security.md, "Backups").
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

import haven
from haven.audit.services import audit_record
from haven.backups import checks
from haven.backups import database as db
from haven.backups.archive import (
    SUFFIX,
    ArchiveError,
    ArchiveReader,
    ArchiveWriter,
    archive_name,
)
from haven.backups.checks import Check
from haven.backups.keyblock import Credentials, Opened, Opener, OpenError, key_block
from haven.backups.models import BackupCanary
from haven.crypto import (
    ArchiveKey,
    CryptoError,
    ErasureStoreError,
    KeyContext,
    backup_fingerprint,
    backup_organisation_id,
    backup_signer_of,
    erasure_store,
    erasure_store_copy,
    erasure_store_forget,
    erasure_store_write,
)
from haven.vault import holders as h
from haven.vault import integrity
from haven.vault.models import ErasedKey, OrgKeys, TeamKeyKind
from haven.vault.sealed import data_key_create, payload_set, recovery_public_key_forget


class BackupError(Exception):
    """A backup, verify or restore could not be done; the message says why and what to do.
    Whatever raised it changed nothing (a backup leaves no archive)."""


# --- Where things are -----------------------------------------------------------------------------


def backup_dir() -> Path:
    return Path(settings.HAVEN_BACKUP_DIR)


def _store_path() -> Path:
    return Path(os.fspath(settings.HAVEN_ERASURE_STORE))


def _now() -> dt.datetime:
    return timezone.now().astimezone(dt.UTC)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One backup or restore at a time on this host (overlapping cron runs, a restore meanwhile)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(
                "Another backup or restore is running on this host; try again when it is done."
            ) from exc
        yield
    finally:
        os.close(fd)


def _lock_path() -> Path:
    return Path(settings.DATA_DIR) / "backup.lock"


def _shred_file(path: Path) -> None:
    """Overwrite a file that held erasure secrets with zeros, then delete it (as the store's own
    slots are erased: in place, flushed)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        size = os.fstat(fd).st_size
        for offset in range(0, size, 1 << 20):
            os.pwrite(fd, bytes(min(1 << 20, size - offset)), offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)


# --- The configuration, without secrets -------------------------------------------------------------

_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSPHRASE|CREDENTIAL|PRIVATE|SIGNING", re.IGNORECASE)
_DJANGO_SETTINGS = (
    "TIME_ZONE",
    "LANGUAGE_CODE",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_COOKIE_AGE",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_TIME",
    "DATA_DIR",
    "STATIC_ROOT",
    "DEBUG",
)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


def configuration_snapshot() -> dict[str, Any]:
    """Haven's settings as this process has them, without any secret: every ``HAVEN_*`` setting
    whose name does not say it is one, a few of Django's, and where the database is (never its
    password). ``HAVEN_SECRET_KEY`` is not in it: keep it apart (it keys the audit pseudonyms)."""
    secret = str(settings.SECRET_KEY)
    names = sorted(n for n in dir(settings) if n.startswith("HAVEN_")) + list(_DJANGO_SETTINGS)
    config: dict[str, Any] = {}
    for name in names:
        if _SECRET_NAME.search(name) or not hasattr(settings, name):
            continue
        value = _plain(getattr(settings, name))
        if secret and secret in json.dumps(value):
            continue
        config[name] = value
    database = connections["default"].settings_dict
    config["DATABASE"] = {
        "ENGINE": database.get("ENGINE"),
        "NAME": str(database.get("NAME")),
        "HOST": database.get("HOST") or "",
        "PORT": str(database.get("PORT") or ""),
        "USER": database.get("USER") or "",
    }
    return config


# --- The canary -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanaryRef:
    id: str
    token: str


@transaction.atomic
def backup_canary_create(*, vendor: str) -> CanaryRef:
    """A new canary for the backup about to be made, and the backup's audit entry, in one
    transaction (both are in the archive). Needs no one's key: a new key is only sealed to public
    keys (the supervisors' key and the recovery key)."""
    supervisors = h.system_key(TeamKeyKind.SUPERVISORS)
    ctx = KeyContext(actor_id=None)
    try:
        key = data_key_create(
            ctx=ctx, holders=[supervisors] if supervisors is not None else [], granted_by=None
        )
        token = secrets.token_hex(16)
        canary = BackupCanary(data_key=key, created_at=timezone.now())
        payload_set(ctx=ctx, record=canary, data={"token": token})
        canary.save(force_insert=True)
    finally:
        ctx.forget()
    audit_record(actor=None, action="backup.create", target=canary, detail={"database": vendor})
    return CanaryRef(str(canary.pk), token)


# --- Making a backup --------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    size: int
    signer: str
    supervisors: int
    tables: int
    rows: int
    ledger: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def _org() -> OrgKeys:
    org = OrgKeys.objects.filter(pk=1).first()
    if org is None:
        raise BackupError("Haven's organisation keys are not set up: nothing to back up yet.")
    try:
        integrity.org_keys_check(org)
    except CryptoError as exc:
        raise BackupError(
            "The organisation keys in the database do not carry Haven's tag under this erasure "
            "store's key: the store is not this database's. Nothing was backed up."
        ) from exc
    return org


def backup_create(*, output_dir: Path | None = None) -> BackupResult:
    """Write one backup archive of the database, the erasure store, the shred ledger and the
    configuration into ``output_dir`` (``HAVEN_BACKUP_DIR`` by default). Safe while Haven runs.
    A failure leaves no archive behind."""
    timings: dict[str, float] = {}
    out = Path(output_dir) if output_dir is not None else backup_dir()
    vendor = db.vendor()
    with _exclusive(_lock_path()):
        started = time.perf_counter()
        if not _store_path().is_file():
            raise BackupError(
                f"There is no erasure store at {_store_path()} (HAVEN_ERASURE_STORE): without it "
                "a backup would open nothing. Nothing was backed up."
            )
        org = _org()
        store = erasure_store()
        if org.erasure_store_id and org.erasure_store_id != store.store_id():
            raise BackupError(
                f"The erasure store at {_store_path()} is not this database's (its id is "
                f"{store.store_id()}, the database's {org.erasure_store_id}). Nothing was backed up."
            )
        recovery_public = bytes(org.recovery_public_key)
        organisation = backup_organisation_id(recovery_public)
        signer = backup_signer_of(os.fspath(settings.HAVEN_ERASURE_STORE))
        archive_key = ArchiveKey.generate()
        block, supervisors = key_block(key=archive_key, recovery_public=recovery_public)
        canary = backup_canary_create(vendor=vendor)
        created = _now()
        header = {
            "format": 1,
            "created": created.isoformat(),
            "organisation": organisation,
            "signer": signer.public_key.hex(),
            "keys": block,
        }
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = out / archive_name(created, organisation)
        if path.exists():
            raise BackupError(f"{path} exists already; wait a second and run it again.")
        writer = ArchiveWriter(path, header, archive_key)
        timings["prepare"] = time.perf_counter() - started
        try:
            started = time.perf_counter()
            section = writer.section("database")
            compression = ""
            if vendor == "sqlite":
                # A SQLite file is pages as stored (pg_dump compresses its own output).
                compressor = zlib.compressobj(1)
                compression = "zlib"

                def write(block: bytes) -> None:
                    section.write(compressor.compress(block))

                snapshot = db.sqlite_dump(write, workdir=db.sqlite_path().parent)
                section.write(compressor.flush())
            elif vendor == "postgresql":
                snapshot = db.pg_dump(section.write)
            else:
                raise BackupError(f"Haven does not back up {vendor} databases.")
            section.close()
            timings["database"] = time.perf_counter() - started
            started = time.perf_counter()
            # After the dump: every slot the dump names is in this copy.
            copy = erasure_store_copy(os.fspath(settings.HAVEN_ERASURE_STORE), archive_key)
            writer.section_encrypted("store", copy.header, copy.chunks)
            # After the copy: every key destroyed up to the copy is listed, those destroyed
            # while the dump ran included.
            ledger = [
                [slot, destroyed.isoformat()]
                for slot, destroyed in ErasedKey.objects.order_by("slot").values_list(
                    "slot", "destroyed_at"
                )
            ]
            writer.section_json("ledger", ledger)
            writer.section_json("configuration", configuration_snapshot())
            manifest = {
                "format": 1,
                "haven": haven.__version__,
                "created": created.isoformat(),
                "organisation": organisation,
                "database": {
                    "vendor": snapshot.vendor,
                    "server": snapshot.server,
                    "tool": snapshot.tool,
                    "compression": compression,
                },
                "tables": snapshot.tables,
                "migrations": snapshot.migrations,
                "audit_head": snapshot.audit_head,
                "canary": {"id": canary.id, "token": canary.token},
                "store": {"id": copy.store_id, "slots": copy.slots},
                "ledger": {"entries": len(ledger)},
            }
            writer.section_json("manifest", manifest)
            size = writer.finish(signer)
            timings["store, ledger, sign"] = time.perf_counter() - started
        except BaseException:
            writer.abort()
            raise
    return BackupResult(
        path=path,
        size=size,
        signer=backup_fingerprint(signer.public_key),
        supervisors=supervisors,
        tables=len(snapshot.tables),
        rows=sum(snapshot.tables.values()),
        ledger=len(ledger),
        timings=timings,
    )


def backup_signer_fingerprint() -> str:
    """The fingerprint of the key this installation signs backups with (keep it off the server,
    with the audit anchors: a restore on a new host checks archives against it)."""
    _org()
    return backup_fingerprint(backup_signer_of(os.fspath(settings.HAVEN_ERASURE_STORE)).public_key)


# --- Retention ---------------------------------------------------------------------------------------


@dataclass
class PruneResult:
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def backup_prune(
    *, keep_days: int, directory: Path | None = None, dry_run: bool = False
) -> PruneResult:
    """Destroy this organisation's archives in ``directory`` (``HAVEN_BACKUP_DIR``) made more
    than ``keep_days`` days ago, overwriting each before it is deleted. The newest archive is
    always kept: its shred ledger is what keeps deletions deleted when an older one is restored.
    Files that are not this organisation's archives are left alone."""
    if keep_days < 1:
        raise BackupError("Keep backups for at least one day.")
    folder = Path(directory) if directory is not None else backup_dir()
    result = PruneResult()
    if not folder.is_dir():
        return result
    organisation = backup_organisation_id(bytes(_org().recovery_public_key))
    cutoff = _now() - dt.timedelta(days=keep_days)
    archives: list[tuple[dt.datetime, Path]] = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            with ArchiveReader(path) as reader:
                if reader.header.get("organisation") != organisation:
                    result.skipped.append(f"{path.name}: another organisation's")
                    continue
                created = dt.datetime.fromisoformat(str(reader.header.get("created")))
        except (ArchiveError, ValueError) as exc:
            result.skipped.append(f"{path.name}: {exc}")
            continue
        archives.append((created, path))
    archives.sort()
    with _exclusive(_lock_path()):
        for index, (created, path) in enumerate(archives):
            if created >= cutoff or index == len(archives) - 1:
                result.kept.append(path)
                continue
            if not dry_run:
                _shred_file(path)
            result.removed.append(path)
    return result


# --- Opening an archive -------------------------------------------------------------------------------


def _normal_fingerprint(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text.lower())


def _archive_signer(reader: ArchiveReader) -> bytes:
    try:
        raw = bytes.fromhex(str(reader.header.get("signer", "")))
    except ValueError as exc:
        raise BackupError(f"{reader.path} is damaged: its signer is not a key.") from exc
    if len(raw) != 32:
        raise BackupError(f"{reader.path} is damaged: its signer is not a key.")
    return raw


def _trusted_signer(reader: ArchiveReader, given: str | None) -> bytes:
    """The key the archive must be signed with: this host's erasure store's, or the fingerprint
    the person restoring gives (kept from `haven backup`'s output) when the store is gone too."""
    claimed = _archive_signer(reader)
    fingerprint = backup_fingerprint(claimed)
    if given:
        if _normal_fingerprint(given) != _normal_fingerprint(fingerprint):
            raise BackupError(
                f"{reader.path} is signed by key {fingerprint}, not {given}: it is not one of "
                "your organisation's backups, or it was altered. Nothing was changed."
            )
        return claimed
    store = _store_path()
    if not store.is_file() or store.stat().st_size < 64:
        raise BackupError(
            f"There is no erasure store at {store} to check the archive's signature against. "
            "Give the fingerprint `haven backup` printed (kept off the server) with "
            "--signer XXXX-XXXX-…. Nothing was changed."
        )
    local = backup_signer_of(os.fspath(store)).public_key
    if local != claimed:
        raise BackupError(
            f"{reader.path} was not made by this installation: it is signed by key "
            f"{fingerprint}, this host's erasure store signs with {backup_fingerprint(local)}. "
            "It is another organisation's archive, or it was altered. If it is yours and this "
            "host has a new store, check that fingerprint against the one you kept and give it "
            "with --signer. Nothing was changed."
        )
    return local


def _open(reader: ArchiveReader, opener: Opener) -> Opened:
    try:
        return opener.open(reader.header)
    except OpenError as exc:
        raise BackupError(f"{exc} Nothing was changed.") from exc


def _manifest(reader: ArchiveReader, key: ArchiveKey) -> dict[str, Any]:
    manifest = reader.json(key, "manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise BackupError(f"{reader.path}'s manifest is not one this Haven reads.")
    if manifest.get("organisation") != reader.header.get("organisation"):
        raise BackupError(f"{reader.path}'s manifest and header disagree: it was altered.")
    return manifest


def _ledger(reader: ArchiveReader, key: ArchiveKey) -> dict[int, str]:
    rows = reader.json(key, "ledger")
    try:
        return {int(slot): str(at) for slot, at in rows}
    except (TypeError, ValueError) as exc:
        raise BackupError(f"{reader.path}'s shred ledger does not parse.") from exc


def _database_blocks(
    reader: ArchiveReader, key: ArchiveKey, manifest: dict[str, Any]
) -> Iterator[bytes]:
    """The database section as the engine's tools take it (decompressed where it was)."""
    compression = manifest.get("database", {}).get("compression", "")
    if not compression:
        yield from reader.plain(key, "database")
        return
    if compression != "zlib":
        raise BackupError(f"{reader.path}'s database is compressed in a way Haven does not read.")
    inflater = zlib.decompressobj()
    try:
        for block in reader.plain(key, "database"):
            yield inflater.decompress(block)
        yield inflater.flush()
    except zlib.error as exc:
        raise ArchiveError(f"The database section of {reader.path} does not decompress.") from exc
    if not inflater.eof:
        raise ArchiveError(f"The database section of {reader.path} is cut short.")


def _vendor_matches(manifest: dict[str, Any]) -> str:
    archived = str(manifest.get("database", {}).get("vendor", ""))
    here = db.vendor()
    if archived != here:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"This backup is of a {names.get(archived, archived)} database, and DATABASE_URL "
            f"points at {names.get(here, here)}: restore it into a {names.get(archived, archived)} "
            "database. Nothing was changed."
        )
    return here


def _migrations_known(manifest: dict[str, Any]) -> checks.MigrationState:
    state = checks.migration_state(manifest.get("migrations") or [])
    if state.unknown:
        raise BackupError(
            "This backup comes from a newer Haven (its database has migrations this one does not "
            f"know: {', '.join(state.unknown[:5])}). Restore it with that version. Nothing was "
            "changed."
        )
    return state


# --- Verifying an archive on a scratch copy -------------------------------------------------------------


@dataclass
class VerifyReport:
    path: Path
    created: str = ""
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@contextmanager
def _store_setting(path: Path) -> Iterator[None]:
    """Within this block the configured erasure store is ``path`` (a scratch or restored one)."""
    saved = settings.HAVEN_ERASURE_STORE
    settings.HAVEN_ERASURE_STORE = path
    try:
        yield
    finally:
        erasure_store_forget(os.fspath(path))
        settings.HAVEN_ERASURE_STORE = saved
        recovery_public_key_forget()


def _migrate(manifest: dict[str, Any]) -> Check:
    """Bring a restored copy from an older Haven up to this one (the services, and the checks,
    read it with this Haven's models)."""
    started = time.perf_counter()
    pending = checks.migration_state(manifest.get("migrations") or []).pending
    if not pending:
        return Check("migrations", True, "current", time.perf_counter() - started)
    call_command("migrate", interactive=False, verbosity=0)
    return Check(
        "migrations",
        True,
        f"the archive is from an older Haven: {len(pending)} migrations applied without error",
        time.perf_counter() - started,
        note=True,
    )


def _post_restore_checks(
    *, manifest: dict[str, Any], opened: Opened, ledger: set[int]
) -> list[Check]:
    """The audit chain, the key rows' tags, the store beside the keys, the canary."""
    found: list[Check] = []
    found.append(
        checks.timed("audit chain", lambda: checks.audit_check(manifest.get("audit_head") or {}))
    )
    found.append(checks.timed("key tags", checks.key_rows_check))
    started = time.perf_counter()
    ok, detail, destroyed = checks.store_check(ledger)
    if ok and destroyed:
        detail += (
            f"; {len(destroyed)} keys were destroyed while the backup was taken (their records "
            "are removed on restore)"
        )
    found.append(Check("store", ok, detail, time.perf_counter() - started))
    canary = manifest.get("canary") or {}
    found.append(
        checks.timed(
            "canary",
            lambda: checks.canary_check(
                canary_id=str(canary.get("id")),
                token=str(canary.get("token")),
                holder=opened.holder,
                by_recovery=opened.by_recovery,
            ),
        )
    )
    return found


def backup_verify(
    *,
    path: Path,
    credentials: Credentials,
    signer: str | None = None,
    scratch_database: str | None = None,
) -> VerifyReport:
    """Check an archive by restoring it into a scratch database and store: its signature, that it
    opens, its row counts against the manifest, migrations, the audit chain, every key row's tag,
    the store beside the keys and the canary; each timed. Changes nothing but the scratch copy,
    which is removed afterwards (on PostgreSQL a scratch database is created and dropped: the
    role needs CREATEDB, or ``scratch_database`` names an empty one to overwrite)."""
    began = time.perf_counter()
    report = VerifyReport(path=Path(path))
    try:
        reader = ArchiveReader(Path(path))
    except ArchiveError as exc:
        raise BackupError(str(exc)) from exc
    with reader:
        report.created = str(reader.header.get("created", ""))
        report.checks.append(checks.timed("signature", lambda: _signature(reader, signer)))
        if not report.ok:
            report.seconds = time.perf_counter() - began
            return report
        started = time.perf_counter()
        opened = _open(reader, Opener(credentials))
        manifest = _manifest(reader, opened.key)
        vendor = _vendor_matches(manifest)
        _migrations_known(manifest)
        ledger = _ledger(reader, opened.key)
        report.checks.append(
            Check(
                "opened",
                True,
                f"with {credentials.describe()}; made {manifest.get('created')} on "
                f"{manifest.get('database', {}).get('server')}",
                time.perf_counter() - started,
            )
        )
        scratch = Path(tempfile.mkdtemp(prefix=".backup-verify-", dir=settings.DATA_DIR))
        store_path = scratch / "erasure.keys"
        pg_scratch: db.PgTarget | None = None
        created_database = False
        try:
            started = time.perf_counter()
            if vendor == "sqlite":
                database_name = str(scratch / "haven.sqlite3")
                db.sqlite_write(Path(database_name), _database_blocks(reader, opened.key, manifest))
                state = db.sqlite_state(Path(database_name))
            else:
                live = db.pg_target()
                database_name = scratch_database or f"{live.dbname}_verify_{secrets.token_hex(4)}"
                pg_scratch = live.named(database_name)
                if scratch_database is None:
                    db.pg_create(pg_scratch)
                    created_database = True
                db.pg_restore(_database_blocks(reader, opened.key, manifest), pg_scratch)
                state = db.pg_state(pg_scratch)
            header, chunks = reader.encrypted("store")
            written = erasure_store_write(
                os.fspath(store_path), opened.key, header=header, chunks=chunks, erase=set(ledger)
            )
            report.checks.append(
                Check(
                    "restored",
                    written.store_id == manifest.get("store", {}).get("id"),
                    f"into a scratch {'file' if vendor == 'sqlite' else 'database ' + database_name}"
                    f"; store {written.store_id}, {written.slots:,} slots",
                    time.perf_counter() - started,
                )
            )
            report.checks.append(
                checks.timed(
                    "row counts",
                    lambda: checks.counts_compare(manifest.get("tables") or {}, state.tables),
                )
            )
            signed_by_store = backup_signer_of(os.fspath(store_path)).public_key
            report.checks.append(
                Check(
                    "signer",
                    signed_by_store == _archive_signer(reader),
                    "the archive's own store is the one that signed it"
                    if signed_by_store == _archive_signer(reader)
                    else "the archive's store is not the one that signed it",
                )
            )
            with db.default_database(database_name), _store_setting(store_path):
                report.checks.append(_migrate(manifest))
                report.checks += _post_restore_checks(
                    manifest=manifest, opened=opened, ledger=set(ledger)
                )
        except (ArchiveError, db.DatabaseError, CryptoError, ErasureStoreError) as exc:
            report.checks.append(Check("restore", False, str(exc)))
        finally:
            _shred_file(store_path)
            shutil.rmtree(scratch, ignore_errors=True)
            if pg_scratch is not None and created_database:
                with suppress(Exception):
                    db.pg_drop(pg_scratch, via=db.pg_target())
            connections["default"].close()
    report.seconds = time.perf_counter() - began
    return report


def _signature(reader: ArchiveReader, signer: str | None) -> tuple[bool, str]:
    trusted = _trusted_signer(reader, signer)
    try:
        reader.check_signature(trusted)
    except ArchiveError as exc:
        return False, str(exc)
    return True, f"signed by {backup_fingerprint(trusted)}, every section as signed"


# --- Restoring ----------------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    path: Path
    created: str = ""
    ledgers: list[str] = field(default_factory=list)
    erased: int = 0
    finished: int = 0
    left: int = 0
    # Whether a ledger newer than the archive was applied (the replaced database's, or a newer
    # archive's): without one, cases deleted after the backup come back.
    newer_ledger: bool = False
    checks: list[Check] = field(default_factory=list)
    configuration: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def _live_state() -> tuple[bool, str | None, dict[int, str]]:
    """Whether the target database holds tables, which organisation, and its shred ledger (when
    it can still be read)."""
    if connections["default"].vendor == "sqlite":
        has_tables = db.sqlite_has_tables(db.sqlite_path())
    else:
        has_tables = db.pg_has_tables(db.pg_target())
    if not has_tables:
        return False, None, {}
    organisation: str | None = None
    ledger: dict[int, str] = {}
    try:
        org = OrgKeys.objects.filter(pk=1).first()
        if org is not None:
            organisation = backup_organisation_id(bytes(org.recovery_public_key))
        ledger = {
            int(slot): at.isoformat()
            for slot, at in ErasedKey.objects.values_list("slot", "destroyed_at")
        }
    except Exception:  # noqa: BLE001 - a damaged database is a reason to restore, not to stop
        organisation = None
    finally:
        connections["default"].close()
    return True, organisation, ledger


def _newer_ledgers(
    reader: ArchiveReader,
    opener: Opener,
    trusted: bytes,
    explicit: list[Path],
) -> tuple[dict[int, str], list[str], bool]:
    """The shred ledger of the newest other archive of this organisation that this restore can
    check and open: those given, and those beside the archive being restored. Every later
    backup's ledger holds every earlier erasure, so the newest is enough."""
    created = str(reader.header.get("created", ""))
    organisation = reader.header.get("organisation")
    candidates: list[tuple[str, Path, bool]] = []
    for path in explicit:
        candidates.append(("", Path(path), True))
    for path in reader.path.parent.glob("*.havenbackup"):
        if path.resolve() != reader.path.resolve():
            candidates.append(("", path, False))
    notes: list[str] = []
    found: list[tuple[str, ArchiveReader, bool]] = []
    for _, path, given in candidates:
        try:
            other = ArchiveReader(path)
        except ArchiveError as exc:
            if given:
                raise BackupError(f"{path}: {exc}") from exc
            continue
        if other.header.get("organisation") != organisation:
            other.close()
            if given:
                raise BackupError(f"{path} is another organisation's archive.")
            continue
        stamp = str(other.header.get("created", ""))
        if stamp <= created and not given:
            other.close()
            continue
        found.append((stamp, other, given))
    found.sort(key=lambda item: item[0], reverse=True)
    merged: dict[int, str] = {}
    applied = False
    try:
        for stamp, other, given in found:
            try:
                other.check_signature(trusted, sections=["ledger"])
                opened = opener.open(other.header)
                merged.update(_ledger(other, opened.key))
                notes.append(f"{other.path.name} (made {stamp})")
                applied = applied or stamp > created
                if not given:
                    break
            except (ArchiveError, OpenError, BackupError) as exc:
                if given:
                    raise BackupError(f"{other.path}: {exc}") from exc
                notes.append(f"{other.path.name} skipped: {exc}")
    finally:
        for _, other, _ in found:
            other.close()
    return merged, notes, applied


@transaction.atomic
def _finish_deletions(
    *, ledger: dict[int, str], actor_name: str | None, summary: dict[str, Any]
) -> tuple[int, int]:
    """In the restored database: record every shred-ledger entry it lacks, destroy what is
    still stored under a key the ledgers say was destroyed (a case deleted after the backup, or
    while it was taken), and write the restore's audit entry. Returns (records finished, keys
    left because something unknown still points at them)."""
    from django.contrib.sessions.models import Session

    from haven.accounts.models import User
    from haven.api.models import ApiToken
    from haven.brokers.models import BrokerSession
    from haven.cases.keyset import case_shred, request_shred_if_empty
    from haven.cases.models import Case, Request
    from haven.vault.models import DataKey
    from haven.vault.services import data_key_shred

    now = timezone.now()
    known = set(ErasedKey.objects.values_list("slot", flat=True))
    ErasedKey.objects.bulk_create(
        [
            ErasedKey(slot=slot, destroyed_at=dt.datetime.fromisoformat(at), erased_at=now)
            for slot, at in sorted(ledger.items())
            if slot not in known
        ],
        batch_size=1000,
    )
    dead = list(DataKey.objects.filter(erasure_slot__in=list(ledger)).values_list("pk", flat=True))
    finished = 0
    for case in Case.objects.filter(data_key_id__in=dead).select_related("group"):
        request_id = case.request_id
        case_shred(case=case)
        finished += 1
        if request_id is not None:
            request_shred_if_empty(request_id=request_id)
    for request_id in Request.objects.filter(data_key_id__in=dead).values_list("pk", flat=True):
        if request_shred_if_empty(request_id=request_id):
            finished += 1
    left = 0
    for key_id in DataKey.objects.filter(pk__in=dead).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                data_key_shred(key_id=key_id)
        except ProtectedError:
            left += 1
    # Sessions and tokens restored from the backup's time end: someone logged out since, or
    # whose token was revoked, must not find it working again.
    ended = Session.objects.all().delete()[0]
    ended += ApiToken.objects.all().delete()[0] + BrokerSession.objects.all().delete()[0]
    actor = User.objects.filter(username=actor_name).first() if actor_name else None
    audit_record(
        actor=actor,
        action="backup.restore",
        detail={**summary, "finished": finished, "left": left, "sessions_ended": ended},
    )
    return finished, left


def _configuration_changes(archived: Any) -> list[str]:
    if not isinstance(archived, dict):
        return []
    current = configuration_snapshot()
    changes = []
    for name in sorted(set(archived) | set(current)):
        if name in (
            "DATABASE",
            "DATA_DIR",
            "STATIC_ROOT",
            "HAVEN_ERASURE_STORE",
            "HAVEN_BACKUP_DIR",
        ):
            continue
        if archived.get(name) != current.get(name):
            changes.append(f"{name}: {archived.get(name)!r} then, {current.get(name)!r} now")
    return changes


def backup_restore(
    *,
    path: Path,
    credentials: Credentials,
    signer: str | None = None,
    replace: bool = False,
    ledgers: list[Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RestoreReport:
    """Put an archive in place of the configured database and erasure store.

    Before anything changes: the archive's signature is checked (this host's store's key, or
    ``signer``), it is opened (a supervisor's password of the time, or the recovery words), and
    it must be this organisation's, of this database engine, from this Haven or an older one; a
    database holding tables is replaced only with ``replace``. The store is written with the union
    of every shred ledger found — the archive's, the target database's if it can still be read,
    the newest other archive's — erased, then the database is restored (SQLite: a checked copy
    renamed into place; PostgreSQL: one transaction) and the store renamed into place. Then the
    ledger is recorded in the database, what it says was destroyed is destroyed, and the checks
    of a verify run on the result. Restart Haven's processes afterwards."""
    say = progress or (lambda _: None)
    report = RestoreReport(path=Path(path))
    started = time.perf_counter()
    try:
        reader = ArchiveReader(Path(path))
    except ArchiveError as exc:
        raise BackupError(f"{exc} Nothing was changed.") from exc
    with reader, _exclusive(_lock_path()):
        report.created = str(reader.header.get("created", ""))
        try:
            has_tables, live_org, live_ledger = _live_state()
        except db.DatabaseError as exc:
            raise BackupError(f"{exc} Nothing was changed.") from exc
        if live_org is not None and live_org != reader.header.get("organisation"):
            raise BackupError(
                "The database DATABASE_URL points at holds another organisation's keys, and this "
                "archive is not theirs. Nothing was changed."
            )
        if has_tables and not replace:
            raise BackupError(
                "The database DATABASE_URL points at is not empty. Restoring replaces everything "
                "in it (and the erasure store): run again with --replace, after a `haven backup` "
                "of it if it may still be needed. Nothing was changed."
            )
        say("checking the signature")
        trusted = _trusted_signer(reader, signer)
        try:
            reader.check_signature(trusted)
        except ArchiveError as exc:
            raise BackupError(f"{exc} Nothing was changed.") from exc
        opener = Opener(credentials)
        opened = _open(reader, opener)
        manifest = _manifest(reader, opened.key)
        vendor = _vendor_matches(manifest)
        _migrations_known(manifest)
        store = _store_path()
        archived_store = str(manifest.get("store", {}).get("id", ""))
        local_slots = 0
        if store.is_file() and store.stat().st_size >= 64:
            local = erasure_store()
            if local.store_id() != archived_store:
                if local.slot_count() > 0:
                    raise BackupError(
                        f"The erasure store at {store} belongs to another database (id "
                        f"{local.store_id()}, the archive's is {archived_store}). Move it away "
                        "first if it is no longer needed. Nothing was changed."
                    )
            else:
                local_slots = local.slot_count()
        ledger = _ledger(reader, opened.key)
        report.ledgers.append(f"the archive's own ({len(ledger)} entries)")
        if live_org is not None:
            ledger.update(live_ledger)
            report.newer_ledger = True
            report.ledgers.append(f"the database being replaced ({len(live_ledger)} entries)")
        newer, notes, applied = _newer_ledgers(reader, opener, trusted, list(ledgers or []))
        ledger.update(newer)
        report.newer_ledger = report.newer_ledger or applied
        report.ledgers += notes
        report.timings["check and open"] = time.perf_counter() - started

        say("writing the erasure store")
        started = time.perf_counter()
        staged_store = store.with_name(store.name + ".restoring")
        _shred_file(staged_store)  # a restore that died before may have left one
        store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        header, chunks = reader.encrypted("store")
        try:
            written = erasure_store_write(
                os.fspath(staged_store),
                opened.key,
                header=header,
                chunks=chunks,
                erase=set(ledger),
                slots_at_least=max([local_slots, *(s + 1 for s in ledger)]),
            )
        except (CryptoError, ArchiveError) as exc:
            raise BackupError(
                f"The archive's erasure store does not open: {exc} Nothing was changed."
            ) from exc
        signed_by_store = backup_signer_of(os.fspath(staged_store)).public_key
        if written.store_id != archived_store or signed_by_store != _archive_signer(reader):
            _shred_file(staged_store)
            raise BackupError(
                "The archive's erasure store is not the one that signed it, or not the one its "
                "manifest names. Nothing was changed."
            )
        report.erased = written.erased
        report.timings["store"] = time.perf_counter() - started

        say("restoring the database")
        started = time.perf_counter()
        try:
            if vendor == "sqlite":
                target = db.sqlite_path()
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                staged_db = target.with_name(target.name + ".restoring")
                staged_db.unlink(missing_ok=True)
                db.sqlite_write(staged_db, _database_blocks(reader, opened.key, manifest))
                found = db.sqlite_state(staged_db).tables
                ok, detail = checks.counts_compare(manifest.get("tables") or {}, found)
                if not ok:
                    staged_db.unlink(missing_ok=True)
                    raise BackupError(
                        f"The restored database's rows do not match the manifest: {detail}."
                    )
                connections.close_all()
                os.replace(staged_store, store)
                db.sqlite_replace(staged_db, target)
            else:
                connections.close_all()
                db.pg_restore(_database_blocks(reader, opened.key, manifest), db.pg_target())
                os.replace(staged_store, store)
                found = db.pg_state(db.pg_target()).tables
                ok, detail = checks.counts_compare(manifest.get("tables") or {}, found)
        except (ArchiveError, db.DatabaseError) as exc:
            _shred_file(staged_store)
            raise BackupError(f"{exc} Nothing was changed.") from exc
        except BaseException:
            _shred_file(staged_store)
            raise
        erasure_store_forget(os.fspath(settings.HAVEN_ERASURE_STORE))
        recovery_public_key_forget()
        report.checks.append(Check("row counts", ok, detail))
        report.timings["database"] = time.perf_counter() - started

        say("finishing deletions and checking")
        started = time.perf_counter()
        summary = {
            "made": report.created,
            "ledger_entries": len(ledger),
            "ledger_sources": len(report.ledgers),
            "opened_with": "recovery words" if opened.by_recovery else "supervisor",
        }
        migrated = _migrate(manifest)
        report.finished, report.left = _finish_deletions(
            ledger=ledger,
            actor_name=None if opened.by_recovery else credentials.supervisor,
            summary=summary,
        )
        report.checks.append(migrated)
        report.checks += _post_restore_checks(manifest=manifest, opened=opened, ledger=set(ledger))
        report.configuration = _configuration_changes(reader.json(opened.key, "configuration"))
        report.timings["finish and check"] = time.perf_counter() - started
    return report
