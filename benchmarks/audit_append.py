"""Audit append benchmark: how many entries the chain takes per second from concurrent writers.

    .venv/bin/python benchmarks/audit_append.py [--database sqlite|postgres|both] [--seconds 10]
        [--processes 1,2,4]

Every action of Haven appends one entry to the one hash chain, and every append locks the chain's
head until its transaction commits (haven.audit.services.audit_record). With the portal taking a
surge, its queued submissions and every staff page's audit entry all line up there, so how long
one append holds the head bounds the whole organisation's rate of actions.

For each database it makes a fresh one (`haven migrate`; SQLite in a temporary directory, or the
PostgreSQL database haven_bench_audit_append on 127.0.0.1, HAVEN_BENCH_DATABASE_URL to change it,
dropped and created by this script and dropped at the end) and, for each number of processes,
runs two phases of --seconds each, the processes started together and each writing without
pause, one transaction after another:

1. the baseline: a transaction that writes one small row of its own (a used form token, as the
   portal writes one per submission) and no audit entry;
2. the append: a transaction that writes the same row and then an audit entry, as a queued
   portal submission does.

It reports transactions per second for both, their ratio (append / baseline), and the append's
p50/p95 latency; then walks the chain with `audit_verify()`: every entry must link and the head
must carry this server's signature.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench_audit_append"


# --------------------------------------------------------------------------- child processes


def child(args: argparse.Namespace) -> int:
    """Write transactions of one kind until --until (a wall-clock time); print count and
    latencies as JSON."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from haven.audit.services import audit_record
    from haven.portal.models import UsedFormToken

    connection.ensure_connection()
    while time.time() < args.start:
        time.sleep(0.001)
    latencies: list[float] = []
    while time.time() < args.until:
        began = time.perf_counter()
        with transaction.atomic():
            UsedFormToken.objects.create(digest=secrets.token_bytes(32), used_at=timezone.now())
            if args.kind == "append":
                audit_record(actor=None, action="bench.append", detail={"people": 1})
        latencies.append(time.perf_counter() - began)
    print(json.dumps({"count": len(latencies), "latencies": latencies}))
    return 0


def _phase(env: dict[str, str], kind: str, processes: int, seconds: float) -> dict[str, Any]:
    start = time.time() + 3.0  # time for every child to start and connect
    until = start + seconds
    children = [
        subprocess.Popen(  # noqa: S603 - this script, our interpreter
            [sys.executable, __file__, "--child", kind, "--start", str(start)]
            + ["--until", str(until)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [json.loads(c.communicate()[0]) for c in children]
    if any(c.returncode for c in children):
        raise SystemExit(f"a {kind} child failed")
    latencies = sorted(x for out in outputs for x in out["latencies"])
    count = sum(out["count"] for out in outputs)
    return {
        "per_second": count / seconds,
        "p50": 1000 * statistics.median(latencies),
        "p95": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


def _haven(env: dict[str, str], *argv: str) -> str:
    return subprocess.run(  # noqa: S603 - our interpreter and CLI
        [sys.executable, "-m", "haven.cli", *argv],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


VERIFY = """
from haven.audit.selectors import audit_verify
r = audit_verify()
print(r.ok, r.entries, r.head_signer, r.problem_count)
"""


def run_database(database: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="haven-audit-append-"))
    pg_url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
    url = f"sqlite:///{folder / 'haven.sqlite3'}" if database == "sqlite" else pg_url
    if database == "postgres":
        pg_recreate(pg_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "haven.settings.base",
        "HAVEN_DATA_DIR": str(folder),
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": url,
        "HAVEN_DEBUG": "false",
        "HAVEN_ALLOWED_HOSTS": "127.0.0.1",
    }
    rows = []
    try:
        _haven(env, "migrate", "--no-input")
        for processes in args.processes:
            base = _phase(env, "baseline", processes, args.seconds)
            append = _phase(env, "append", processes, args.seconds)
            rows.append(
                {"database": database, "processes": processes, "baseline": base, "append": append}
            )
            print(
                f"  {database} {processes} process(es): baseline {base['per_second']:.0f}/s, "
                f"append {append['per_second']:.0f}/s",
                file=sys.stderr,
                flush=True,
            )
        verified = _haven(env, "shell", "-c", VERIFY).strip().splitlines()[-1].split()
        for row in rows:
            row["verified"] = " ".join(verified)
    finally:
        if database == "postgres":
            pg_drop(pg_url)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--child", choices=["baseline", "append"])
    parser.add_argument("--start", type=float)
    parser.add_argument("--until", type=float)
    args = parser.parse_args()
    if args.child:
        args.kind = args.child
        return child(args)
    args.processes = [int(p) for p in args.processes.split(",") if p.strip()]
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    rows = [row for database in databases for row in run_database(database, args)]
    load = os.getloadavg()
    print(
        f"Audit appends, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {args.seconds:.0f} s a phase,"
        f" load average {load[0]:.2f} at the end"
    )
    print(
        "| database | processes | baseline tx/s | append tx/s | append / baseline "
        "| append p50 / p95 ms | chain verified (ok, entries, head signer, problems) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        b, a = row["baseline"], row["append"]
        print(
            f"| {row['database']} | {row['processes']} | {b['per_second']:.0f} "
            f"| {a['per_second']:.0f} | {a['per_second'] / b['per_second']:.2f} "
            f"| {a['p50']:.1f} / {a['p95']:.1f} | {row['verified']} |"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
