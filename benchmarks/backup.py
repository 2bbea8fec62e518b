"""Backup benchmark: `haven backup`, `haven backup verify` and `haven restore` of a 100,000-case
database, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/backup.py [--cases 100000] [--database sqlite|postgres|both]

For each database engine, a process of its own seeds one database exactly as
benchmarks/caseload.py seeds its real-cryptography database (`caseload.seed`: the organisation's
keys, teams, a supervisor, an intake officer and 20 caseworkers with password-wrapped keys, 50
brokers, then the cases in bulk, each request, group and case with its own data key sealed to its
holders and the recovery key), with production settings (the real Argon2id cost). Then it times,
through the services the commands call:

* a backup (`backup_create`): the canary, the dump (SQLite's backup API; pg_dump in custom format
  from an exported snapshot), the erasure store's copy, the ledger, encryption and signature;
* a verified restore (`backup_verify`, opened with the supervisor's password): the signature over
  the whole archive, restoring into a scratch database and store, row counts, migrations, the
  audit chain, every key row's integrity tag, the store beside the keys and the canary;
* a restore in place (`backup_restore --replace`, opened the same way), with the same checks.

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/h_backup_bench);
that database is dropped and created by this script, and dropped at the end (unless --keep); the
verify's scratch database is created and dropped beside it. The output is also saved to
benchmarks/results/backup-<date>.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchdb import pg_drop, pg_recreate, server_version

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/h_backup_bench"


def parent(args: argparse.Namespace) -> int:
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            out = Path(handle.name)
        command = [
            sys.executable,
            __file__,
            "--child",
            "--database",
            database,
            "--cases",
            str(args.cases),
            "--seed",
            str(args.seed),
            "--json",
            str(out),
        ]
        if args.keep:
            command.append("--keep")
        print(f"== {database}: seeding {args.cases:,} cases ...", file=sys.stderr, flush=True)
        code = subprocess.call(command)  # noqa: S603 - this script, our interpreter
        if code != 0:
            print(f"{database}: the benchmark failed (exit {code}).", file=sys.stderr)
            return code
        results.append(json.loads(out.read_text()))
        out.unlink()
    text = report(results, args)
    print(text)
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(exist_ok=True)
        path = folder / f"backup-{dt.datetime.now().astimezone().date().isoformat()}.txt"
        path.write_text(text, encoding="utf-8")
        print(f"(saved to {path})", file=sys.stderr)
    return 0


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Haven backup benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"{args.cases:,} cases seeded as benchmarks/caseload.py seeds them",
        f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}",
        "",
    ]
    for r in results:
        s = r["seed"]
        lines += [
            f"{r['database']} ({r['server']}): seeded {s['cases']:,} cases, {s['requests']:,} "
            f"requests, {s['events']:,} journey events, {s['data_keys']:,} data keys, "
            f"{s['grants']:,} grants in {s['seconds']:.0f} s; database {r['database_mb']:,.0f} MB, "
            f"erasure store {r['store_mb']:.1f} MB",
            f"{r['database']}: load average {r['load'][0]} at the start, {r['load'][1]} at the end "
            "(other work on this shared machine makes these figures noisy)",
            f"  backup           {r['backup']['seconds']:7.1f} s   archive "
            f"{r['backup']['mb']:,.0f} MB, {r['backup']['rows']:,} rows in "
            f"{r['backup']['tables']} tables ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in r["backup"]["timings"].items())
            + ")",
            f"  verify (scratch) {r['verify']['seconds']:7.1f} s   "
            + ("all checks passed" if r["verify"]["ok"] else "FAILED"),
        ]
        lines += [f"      {c}" for c in r["verify"]["checks"]]
        lines.append(
            f"  restore in place {r['restore']['seconds']:7.1f} s   "
            + ("all checks passed" if r["restore"]["ok"] else "FAILED")
            + " ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in r["restore"]["timings"].items())
            + ")"
        )
        lines += [f"      {c}" for c in r["restore"]["checks"]]
        lines.append("")
    return "\n".join(lines)


def child(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="haven-bench-backup-") as tmp:
        workdir = Path(tmp)
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
        os.environ["HAVEN_SECRET_KEY"] = secrets.token_urlsafe(50)
        os.environ["HAVEN_DATA_DIR"] = str(workdir)
        os.environ["HAVEN_BACKUP_DIR"] = str(workdir / "backups")
        (workdir / "static").mkdir()
        for name in ("HAVEN_DEBUG", "HAVEN_KDF_OPSLIMIT", "HAVEN_KDF_MEMLIMIT"):
            os.environ.pop(name, None)
        pg_url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
        if args.database == "postgres":
            pg_recreate(pg_url)
            os.environ["DATABASE_URL"] = pg_url
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'haven.sqlite3'}"
        sys.path.insert(0, str(HERE.parent / "src"))
        import django

        django.setup()
        from caseload import PASSWORD, seed
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from haven.backups.keyblock import Credentials
        from haven.backups.services import backup_create, backup_restore, backup_verify

        server = server_version(connection)
        load_before = os.getloadavg()
        call_command("migrate", interactive=False, verbosity=0)
        seeded = seed(n_cases=args.cases, rng=random.Random(args.seed), now=timezone.now())
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
                cursor.execute("SELECT pg_database_size(current_database())")
                database_bytes = cursor.fetchone()[0]
        else:
            database_bytes = Path(connection.settings_dict["NAME"]).stat().st_size
        store_bytes = Path(settings.HAVEN_ERASURE_STORE).stat().st_size
        credentials = Credentials(supervisor=seeded["users"]["supervisor"], password=PASSWORD)

        print("  backing up", file=sys.stderr, flush=True)
        started = time.perf_counter()
        made = backup_create()
        backup_seconds = time.perf_counter() - started

        print("  verifying", file=sys.stderr, flush=True)
        started = time.perf_counter()
        verified = backup_verify(path=made.path, credentials=credentials)
        verify_seconds = time.perf_counter() - started

        print("  restoring in place", file=sys.stderr, flush=True)
        started = time.perf_counter()
        restored = backup_restore(path=made.path, credentials=credentials, replace=True)
        restore_seconds = time.perf_counter() - started

        result = {
            "database": args.database,
            "server": server,
            "seed": {k: v for k, v in seeded.items() if k != "users"},
            "database_mb": database_bytes / 1e6,
            "store_mb": store_bytes / 1e6,
            "load": [
                "/".join(f"{x:.2f}" for x in load_before),
                "/".join(f"{x:.2f}" for x in os.getloadavg()),
            ],
            "backup": {
                "seconds": backup_seconds,
                "mb": made.size / 1e6,
                "rows": made.rows,
                "tables": made.tables,
                "timings": made.timings,
            },
            "verify": {
                "seconds": verify_seconds,
                "ok": verified.ok,
                "checks": [str(c) for c in verified.checks],
            },
            "restore": {
                "seconds": restore_seconds,
                "ok": restored.ok,
                "timings": restored.timings,
                "checks": [str(c) for c in restored.checks],
            },
        }
        Path(args.json).write_text(json.dumps(result), encoding="utf-8")
        connection.close()
        if args.database == "postgres" and not args.keep:
            pg_drop(pg_url)
        elif args.database == "postgres":
            print(f"  kept {urlunsplit(urlsplit(pg_url))}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
