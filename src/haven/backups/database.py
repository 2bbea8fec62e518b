"""Dumping and restoring the database, one engine at a time.

SQLite is copied with its online backup API (``sqlite3.Connection.backup``: one step, under a read
transaction, so the copy is consistent while Haven keeps writing). PostgreSQL is dumped by the real
``pg_dump`` in its custom format, from a snapshot exported by a repeatable-read transaction in which
the manifest's row counts, migrations and audit head are read too, so that all of them describe the
same instant; it is restored by the real ``pg_restore``, whose SQL ``psql`` runs in one transaction
after dropping the old schema: a restore that fails half-way changes nothing.

Nothing here sees a key: what passes through is the database as stored (sealed keys and encrypted
payloads), which the caller encrypts into the archive as it streams.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump, pg_restore and psql, with argument lists
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connections

# libpq connection parameters Haven passes on from the database settings' OPTIONS (others, such
# as psycopg's server_side_binding, mean nothing to pg_dump).
_LIBPQ_OPTIONS = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
    "service",
    "passfile",
}
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")
PIPE_BYTES = 1 << 20


class DatabaseError(Exception):
    """The database could not be dumped or restored; the message says why."""


@dataclass
class Snapshot:
    """What the manifest records about the database, read at the dump's instant."""

    vendor: str
    server: str
    tool: str = ""
    tables: dict[str, int] = field(default_factory=dict)
    migrations: list[list[str]] = field(default_factory=list)
    audit_head: dict[str, Any] = field(default_factory=dict)


def vendor() -> str:
    return str(connections["default"].vendor)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_state(cursor: Any, tables: list[str]) -> tuple[dict[str, int], list[list[str]], dict]:
    counts: dict[str, int] = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608  # nosec B608  # names from the catalogue
        counts[table] = int(cursor.fetchone()[0])
    migrations: list[list[str]] = []
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        migrations = [[str(app), str(name)] for app, name in cursor.fetchall()]
    head: dict[str, Any] = {}
    if "audit_audithead" in tables:
        cursor.execute("SELECT seq, entry_hash FROM audit_audithead WHERE id = 1")
        row = cursor.fetchone()
        if row is not None:
            head = {"seq": int(row[0]), "hash": str(row[1])}
    return counts, migrations, head


# --- SQLite -----------------------------------------------------------------------------------------


def sqlite_path() -> Path:
    return Path(str(connections["default"].settings_dict["NAME"]))


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [str(name) for (name,) in rows]


def sqlite_dump(write: Callable[[bytes], None], *, workdir: Path) -> Snapshot:
    """Copy the live database with the online backup API into a private file in ``workdir`` (it
    holds what the database holds, no more), read the manifest's facts from the copy, stream the
    copy to ``write`` and delete it."""
    source = sqlite3.connect(sqlite_path(), timeout=60)
    copy_path = workdir / f".backup-{os.getpid()}-{threading.get_ident()}.sqlite3"
    fd = os.open(copy_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        copy = sqlite3.connect(copy_path)
        try:
            source.backup(copy)  # all pages in one step: one consistent read transaction
            copy.execute("PRAGMA journal_mode=DELETE")
            cursor = copy.cursor()
            counts, migrations, head = _read_state(cursor, _sqlite_tables(copy))
            server = "SQLite " + str(copy.execute("SELECT sqlite_version()").fetchone()[0])
        finally:
            copy.close()
            source.close()
        with open(copy_path, "rb") as handle:
            while block := handle.read(PIPE_BYTES):
                write(block)
    finally:
        copy_path.unlink(missing_ok=True)
    return Snapshot("sqlite", server, "sqlite3 backup API", counts, migrations, head)


def sqlite_write(path: Path, blocks: Iterable[bytes]) -> None:
    """Write a database held in an archive to a new file at ``path`` (0600) and check that SQLite
    reads it whole; a failure leaves no file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            for block in blocks:
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        conn = sqlite3.connect(path)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"The archive's database does not open: {exc}.") from exc
        finally:
            conn.close()
        if result is None or result[0] != "ok":
            raise DatabaseError("The archive's database is damaged (SQLite's quick_check).")
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def sqlite_state(path: Path) -> Snapshot:
    """The manifest's facts as a SQLite file holds them (a restored or scratch database)."""
    conn = sqlite3.connect(path)
    try:
        counts, migrations, head = _read_state(conn.cursor(), _sqlite_tables(conn))
        server = "SQLite " + str(conn.execute("SELECT sqlite_version()").fetchone()[0])
    finally:
        conn.close()
    return Snapshot("sqlite", server, "", counts, migrations, head)


def sqlite_replace(staged: Path, target: Path) -> None:
    """Put a staged database in place of ``target``. The old database's write-ahead log is
    checkpointed and removed first: left beside the new file, SQLite would replay it into it."""
    connections.close_all()
    if target.exists():
        try:
            old = sqlite3.connect(target, timeout=60)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
        except sqlite3.DatabaseError:
            pass  # a damaged database is what is being replaced
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)
    _fsync_dir(target.parent)


def sqlite_has_tables(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return bool(_sqlite_tables(conn))
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True  # something is there, and it is not an empty database


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- PostgreSQL -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTarget:
    """Where a PostgreSQL database is, as libpq tools take it (the password apart, in the
    environment of the child process only, never on its command line)."""

    dbname: str
    params: dict[str, str]
    password: str

    def conninfo(self, dbname: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo("", dbname=dbname or self.dbname, **self.params)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, dbname: str | None = None, *, autocommit: bool = False) -> Any:
        import psycopg

        return psycopg.connect(
            self.conninfo(dbname),
            password=self.password or None,
            autocommit=autocommit,
        )

    def named(self, dbname: str) -> PgTarget:
        return PgTarget(dbname, self.params, self.password)


def pg_target() -> PgTarget:
    config = connections["default"].settings_dict
    params: dict[str, str] = {}
    if config.get("USER"):
        params["user"] = str(config["USER"])
    if config.get("HOST"):
        params["host"] = str(config["HOST"])
    if config.get("PORT"):
        params["port"] = str(config["PORT"])
    for key, value in (config.get("OPTIONS") or {}).items():
        if key in _LIBPQ_OPTIONS and value is not None:
            params[key] = str(value)
    return PgTarget(str(config["NAME"]), params, str(config.get("PASSWORD") or ""))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DatabaseError(
            f"{name} is not installed: install the PostgreSQL client tools matching the server "
            "(Debian: postgresql-client)."
        )
    return path


def _major(text: str) -> int:
    match = _VERSION.search(text)
    return int(match.group(1)) if match else 0


def _tool_major(version: str) -> int:
    """``pg_dump (PostgreSQL) 15.20 (Debian …)`` -> 15."""
    match = re.search(r"PostgreSQL\)\s+(\d+)", version)
    return int(match.group(1)) if match else 0


def pg_tool_version(name: str) -> str:
    out = subprocess.run(  # noqa: S603  # nosec B603  # a PostgreSQL client tool, no shell
        [_tool(name), "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    return out.stdout.strip()


def _pg_tables(cursor: Any) -> list[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return [str(name) for (name,) in cursor.fetchall()]


def _server_version(cursor: Any) -> tuple[str, int]:
    cursor.execute("SHOW server_version")
    text = str(cursor.fetchone()[0]).split()[0]
    return text, _major(text)


def _pump_stderr(stream: IO[bytes], sink: list[bytes]) -> threading.Thread:
    def run() -> None:
        sink.append(stream.read())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _tail(raw: list[bytes]) -> str:
    text = b"".join(raw).decode("utf-8", "replace").strip()
    return text[-1500:] if text else "(no message)"


def pg_dump(write: Callable[[bytes], None], target: PgTarget | None = None) -> Snapshot:
    """Dump the database with ``pg_dump --format=custom`` from an exported snapshot, streaming
    its output to ``write``; the manifest's facts are read in the exporting transaction."""
    target = target or pg_target()
    dump_tool = _tool("pg_dump")
    tool_version = pg_tool_version("pg_dump")
    with target.connect() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = str(cursor.fetchone()[0])
            server, major = _server_version(cursor)
            if _tool_major(tool_version) < major:
                raise DatabaseError(
                    f"{tool_version} is older than the server (PostgreSQL {server}): install the "
                    f"client tools of PostgreSQL {major} or newer."
                )
            counts, migrations, head = _read_state(cursor, _pg_tables(cursor))
        # The snapshot lives as long as this transaction: pg_dump reads exactly what was counted.
        process = subprocess.Popen(  # noqa: S603  # nosec B603  # pg_dump, argument list, no shell
            [
                dump_tool,
                "--format=custom",
                "--compress=1",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot_id}",
                f"--dbname={target.conninfo()}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=target.env(),
        )
        if process.stdout is None or process.stderr is None:  # (always set: PIPE)
            raise DatabaseError("pg_dump did not start with its pipes.")
        errors: list[bytes] = []
        reader = _pump_stderr(process.stderr, errors)
        try:
            while block := process.stdout.read(PIPE_BYTES):
                write(block)
        except BaseException:
            process.kill()
            process.wait()
            raise
        code = process.wait()
        reader.join()
        if code != 0:
            raise DatabaseError(f"pg_dump failed (exit {code}): {_tail(errors)}")
    return Snapshot("postgresql", f"PostgreSQL {server}", tool_version, counts, migrations, head)


def pg_restore(blocks: Iterable[bytes], target: PgTarget) -> None:
    """Restore a custom-format dump into ``target``, replacing whatever its public schema held,
    in one transaction: ``pg_restore`` turns the archive into SQL and ``psql`` runs it after
    dropping and recreating the schema, with ``ON_ERROR_STOP`` and ``--single-transaction``, so a
    failure at any point rolls everything back and the database is as it was."""
    restore_tool, psql_tool = _tool("pg_restore"), _tool("psql")
    env = target.env()
    restore = subprocess.Popen(  # noqa: S603  # nosec B603  # pg_restore, argument list, no shell
        [restore_tool, "--no-owner", "--no-privileges", "--exit-on-error", "--file=-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    if restore.stdin is None or restore.stdout is None or restore.stderr is None:
        raise DatabaseError("pg_restore did not start with its pipes.")
    psql = subprocess.Popen(  # noqa: S603  # nosec B603  # psql, argument list, no shell
        [
            psql_tool,
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            "--command=DROP SCHEMA IF EXISTS public CASCADE",
            "--command=CREATE SCHEMA public",
            "--file=-",
            f"--dbname={target.conninfo()}",
        ],
        stdin=restore.stdout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    restore.stdout.close()  # psql holds it now; pg_restore sees a broken pipe if psql stops
    if psql.stderr is None:
        raise DatabaseError("psql did not start with its pipes.")
    restore_errors: list[bytes] = []
    psql_errors: list[bytes] = []
    readers = [
        _pump_stderr(restore.stderr, restore_errors),
        _pump_stderr(psql.stderr, psql_errors),
    ]
    feed_error: BaseException | None = None
    try:
        for block in blocks:
            restore.stdin.write(block)
    except BrokenPipeError:
        pass  # pg_restore stopped: its exit status and message say why
    except BaseException as exc:  # the archive failed to open: make sure nothing commits
        feed_error = exc
        psql.kill()
        restore.kill()
    finally:
        with suppress(BrokenPipeError):
            restore.stdin.close()
    restore_code = restore.wait()
    psql_code = psql.wait()
    for reader in readers:
        reader.join()
    if feed_error is not None:
        raise feed_error
    if restore_code != 0:
        raise DatabaseError(f"pg_restore failed (exit {restore_code}): {_tail(restore_errors)}")
    if psql_code != 0:
        raise DatabaseError(
            f"Restoring into {target.dbname} failed and was rolled back: {_tail(psql_errors)}"
        )


def pg_state(target: PgTarget) -> Snapshot:
    with target.connect() as conn, conn.cursor() as cursor:
        server, _ = _server_version(cursor)
        counts, migrations, head = _read_state(cursor, _pg_tables(cursor))
    return Snapshot("postgresql", f"PostgreSQL {server}", "", counts, migrations, head)


def pg_has_tables(target: PgTarget) -> bool:
    """Whether the database holds tables; a database that does not exist, or cannot be reached,
    is an error that says what to do."""
    import psycopg

    try:
        with target.connect() as conn, conn.cursor() as cursor:
            return bool(_pg_tables(cursor))
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            raise DatabaseError(
                f"The database {target.dbname} does not exist: create it empty first "
                f"(createdb {target.dbname}), then restore into it."
            ) from exc
        raise DatabaseError(f"Cannot reach the database {target.dbname}: {exc}") from exc


def _admin(target: PgTarget) -> Any:
    """A connection that may create and drop databases: to the target's own database, or to
    the maintenance database when that one does not exist."""
    import psycopg

    try:
        return target.connect(autocommit=True)
    except psycopg.OperationalError:
        return target.connect("postgres", autocommit=True)


def pg_create(target: PgTarget) -> None:
    from psycopg import sql

    try:
        with _admin(target) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.dbname)))
    except Exception as exc:  # psycopg's errors: no privilege, exists, unreachable
        raise DatabaseError(
            f"Cannot create the scratch database {target.dbname}: {exc}. Give Haven's database "
            "role CREATEDB, or name an empty database to use with --scratch-database."
        ) from exc


def pg_drop(target: PgTarget, *, via: PgTarget) -> None:
    from psycopg import sql

    with _admin(via) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.dbname))
        )


# --- Pointing Django at another database for a while (verify) ---------------------------------------


@contextmanager
def default_database(name: str) -> Iterator[None]:
    """Within this block Django's default connection uses the database ``name`` (a scratch
    copy), then goes back to the configured one. For `haven backup verify`: its checks are the
    product's own reads (the audit selector, the vault's key checks), which use the default."""
    conn = connections["default"]
    saved = conn.settings_dict["NAME"]
    conn.close()
    conn.settings_dict["NAME"] = name
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict["NAME"] = saved


def data_dir() -> Path:
    return Path(settings.DATA_DIR)
