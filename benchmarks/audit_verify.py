"""Audit chain benchmark: write N chained entries, then time `audit_verify()` over them.

    .venv/bin/python benchmarks/audit_verify.py [--entries 1000000] [--database sqlite|postgres|both]

The entries are made like real ones (actions, targets, id lists in the detail, some with a session
reference), hashed in Python with haven.audit.chain and written in bulk (executemany on SQLite,
COPY on PostgreSQL) to a throwaway database: SQLite in a temporary directory, or the PostgreSQL
database haven_audit_bench on 127.0.0.1 (HAVEN_BENCH_AUDIT_DATABASE_URL to change it), dropped and
created by this script and dropped at the end. Each database runs in its own process.

It reports, in the same run: the baseline (reading every entry in seq order with the same query,
no hashing), the full `audit_verify()`, and a second verify after one entry in the middle was
edited (it must name that entry). Times are wall-clock seconds; memory is the process's peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate, server_version

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_audit_bench"
BATCH = 20_000

ACTIONS = [
    ("case.view", "cases.case"),
    ("case.view", "cases.case"),
    ("case.view", "cases.case"),
    ("case.update", "cases.case"),
    ("journey.advance", "cases.case"),
    ("case.list", ""),
    ("request.view", "cases.request"),
    ("broker.view", "brokers.broker"),
    ("referral.view", "referrals.referral"),
    ("case.note", "cases.case"),
]
FIELDS = ["summary", "urgency", "name_romanized", "origin", "occupation", "birth_year"]


# --------------------------------------------------------------------------- parent process


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
            "--entries",
            str(args.entries),
            "--seed",
            str(args.seed),
            "--json",
            str(out),
        ]
        print(f"== {database}: writing {args.entries:,} entries ...", file=sys.stderr, flush=True)
        code = subprocess.call(command)  # noqa: S603 - this script, our interpreter
        if code != 0:
            print(f"{database}: the benchmark failed (exit {code}).", file=sys.stderr)
            return code
        results.append(json.loads(out.read_text()))
        out.unlink()
    print(report(results))
    return 0


def line(label: str, seconds: float, n: int) -> str:
    return f"  {label:<58} {seconds:7.2f} s {n / seconds:>10,.0f} entries/s"


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        f"Haven audit chain benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"Python {sys.version.split()[0]}",
        "",
    ]
    for r in results:
        n = r["entries"]
        lines += [
            f"{r['server']}: {n:,} chained entries (written in {r['write_s']:.1f} s, "
            f"{n / r['write_s']:,.0f} entries/s, hashing included)",
            line("baseline: ORM iterator over every entry, no hashing", r["baseline_s"], n),
            line("baseline: the raw cursor verify reads with, no hashing", r["raw_s"], n),
            line(
                f"audit_verify(): intact chain ({r['verify_problems']} problems)", r["verify_s"], n
            ),
            line(f"audit_verify(): seq {r['tamper_seq']:,} edited", r["tamper_s"], n),
            f"    -> {r['tamper_report']}",
            f"  verify / ORM baseline: {r['verify_s'] / r['baseline_s']:.1f}x; verify / raw read: "
            f"{r['verify_s'] / r['raw_s']:.1f}x; peak RSS of the process: "
            f"{r['peak_rss_mb']:.0f} MB",
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- child process


def setup_django(database: str, workdir: Path) -> tuple[str, str | None]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "haven.settings.base"
    os.environ["HAVEN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["HAVEN_DATA_DIR"] = str(workdir)
    os.environ.pop("HAVEN_DEBUG", None)
    url: str | None = None
    if database == "postgres":
        url = os.environ.get("HAVEN_BENCH_AUDIT_DATABASE_URL", DEFAULT_PG)
        pg_recreate(url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    from django.db import connection

    server = server_version(connection)
    return server, url


def generate(n: int, actors: list[int], rng: random.Random) -> Any:
    """Yield (seq, at, actor_id, action, target_type, target_id, detail, session, prev, hash)."""
    from haven.audit.chain import GENESIS, entry_hash

    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    targets = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5_000)]
    sessions = [secrets.token_hex(8) for _ in range(200)]
    prev = GENESIS
    for seq in range(1, n + 1):
        at += dt.timedelta(microseconds=rng.randrange(1, 60_000_000))
        action, target_type = rng.choice(ACTIONS)
        target_id = rng.choice(targets) if target_type else ""
        if action == "case.list":
            detail: dict[str, Any] = {"cases": rng.sample(targets, rng.randrange(1, 20))}
        elif action == "case.update":
            detail = {"fields": rng.sample(FIELDS, rng.randrange(1, 4))}
        elif action == "journey.advance":
            detail = {"from": "verifying", "to": "accepted"}
        else:
            detail = {}
        actor = rng.choice(actors)
        session = rng.choice(sessions) if rng.random() < 0.7 else ""
        h = entry_hash(
            seq=seq,
            at=at,
            actor_id=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            session=session,
            prev_hash=prev,
        )
        yield (seq, at, actor, action, target_type, target_id, detail, session, prev, h)
        prev = h


def write_entries(n: int, rng: random.Random) -> tuple[int, str, dt.datetime]:
    from django.db import connection, transaction

    from haven.accounts.models import User
    from haven.audit.chain import ENTRY_FIELDS as COLUMNS
    from haven.audit.models import AuditEntry, AuditHead
    from haven.audit.signing import head_sign

    actors = [User.objects.create(username=f"staff{i}").pk for i in range(25)]
    table = AuditEntry._meta.db_table
    last: tuple[Any, ...] = ()
    rows = generate(n, actors, rng)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        copy_sql = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row((*row[:6], json.dumps(row[6]), *row[7:]))
                last = row
        raw.commit()
    else:
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
        ops = connection.ops
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(
                (*row[:1], ops.adapt_datetimefield_value(row[1]), *row[2:6], json.dumps(row[6]))
                + row[7:]
            )
            last = row
            if len(batch) >= BATCH:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.executemany(sql, batch)
                batch = []
        if batch:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, batch)
    AuditHead.objects.update_or_create(
        pk=AuditHead.SINGLETON,
        defaults={
            "seq": last[0],
            "entry_hash": last[9],
            "at": last[1],
            "signature": head_sign(last[0], last[9]),
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return int(last[0]), str(last[9]), last[1]


def child(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="haven-audit-bench-") as tmp:
        server, url = setup_django(args.database, Path(tmp))
        try:
            result = run(args, server)
        finally:
            from django.db import connections

            connections.close_all()
            if url is not None:
                pg_drop(url)
    Path(args.json).write_text(json.dumps(result), encoding="utf-8")
    return 0


def run(args: argparse.Namespace, server: str) -> dict[str, Any]:
    from django.core.management import call_command

    from haven.audit.models import AuditEntry
    from haven.audit.selectors import _FIELDS, _raw_rows, audit_verify

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    n = args.entries

    started = time.perf_counter()
    write_entries(n, rng)
    write_s = time.perf_counter() - started
    print(f"   written in {write_s:.1f} s; timing ...", file=sys.stderr, flush=True)

    started = time.perf_counter()
    count = 0
    query = AuditEntry.objects.filter(seq__gt=-1).order_by("seq").values_list(*_FIELDS)
    for _row in query.iterator(chunk_size=2000):
        count += 1
    baseline_s = time.perf_counter() - started
    assert count == n, count

    started = time.perf_counter()
    count = sum(1 for _row in _raw_rows(2000, seq__gt=-1))
    raw_s = time.perf_counter() - started
    assert count == n, count

    started = time.perf_counter()
    intact = audit_verify()
    verify_s = time.perf_counter() - started
    assert intact.entries == n, intact.entries

    tamper_seq = n // 2
    AuditEntry.objects.filter(seq=tamper_seq).update(action="case.list")
    started = time.perf_counter()
    tampered = audit_verify()
    tamper_s = time.perf_counter() - started

    return {
        "server": server,
        "entries": n,
        "write_s": write_s,
        "baseline_s": baseline_s,
        "raw_s": raw_s,
        "verify_s": verify_s,
        "verify_problems": intact.problem_count,
        "tamper_seq": tamper_seq,
        "tamper_s": tamper_s,
        "tamper_report": "; ".join(str(p) for p in tampered.problems[:3]) or "NOTHING FOUND",
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
