"""Where a portal submission's time goes: the request form's GET and its POST, in-process, by phase.

    .venv/bin/python benchmarks/intake_phases.py [--submissions 400] [--database sqlite|postgres]
        [--queue off|on]

``--queue on`` measures the path a surge takes (haven.portal.queue: the request stored as one
row sealed to the intake key, opened later by staff); ``off``, the default, each request
written whole.

`benchmarks/intake.py` says how many submissions a second the portal takes; this says what each
one costs and where, to know what a faster portal must cut. It makes a fresh database with the
organisation's keys (production settings, the portal's own routes and middleware, the
configured receipt cost), then sends ``--submissions`` requests (one or two people, as the
intake benchmark's users do) through Django's test client in this one process, after a warm-up,
with nothing else running. It prints per submission:

* the processor time of the whole GET and POST (what bounds submissions per second per core),
  and their wall time;
* the wall time of each named step of the POST (the receipt's Argon2id, choosing the holders,
  building and sealing the rows, running the inserts, the audit entry, the commit...);
* how long each submission holds what every writer queues on, whatever the cores: on SQLite the
  database's one write lock, from the transaction's first insert to the end of its commit; on
  PostgreSQL the audit chain head's row lock, from the audit entry to the end of the commit. One
  database takes at most 1000 / that many milliseconds submissions a second.

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/haven_bench_phases),
dropped and created by this script and dropped at the end.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from html import unescape
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench_phases"
TOKEN = re.compile(r'name="token" value="([^"]*)"')
PEOPLE = re.compile(r'name="people" value="([^"]*)"')
RECEIPT = re.compile(r'id="receipt">([\d-]+)<')
WARM_UP = 30

# (module, function): each timed where the portal calls it, by the name it is imported under.
STEPS = {
    "haven.portal.services": [
        "submission_clean",
        "_holders",
        "_token_used",
        "receipt_keys_of",
        "requester_key_new",
        "data_keys_build",
        "request_people_build",
        "index_key_active",
        "tallies_of_new",
        "audit_record",
        "_store",
    ],
    "haven.portal.views": ["portal_request_create", "_fresh_receipt_page", "_blank_ask_page"],
}
# --queue on: the request stored as one row sealed to the intake key (haven.portal.queue).
STEPS_QUEUED = {
    "haven.portal.queue": [
        "submission_clean",
        "intake_key",
        "_token_used",
        "receipt_new",
        "queued_seal",
        "used_tokens_forget",
        "audit_record",
    ],
    "haven.vault.integrity": ["team_key_check"],
    "haven.portal.views": [
        "portal_queue_wanted",
        "portal_request_queue",
        "_fresh_receipt_page",
        "_blank_ask_page",
    ],
}


def prepare(folder: Path, url: str, queue: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "haven.settings.base",
        "HAVEN_DATA_DIR": str(folder),
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": url,
        "HAVEN_DEBUG": "false",
        "HAVEN_SERVE": "portal",
        "HAVEN_ALLOWED_HOSTS": "127.0.0.1",
        "HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE": "10000000",
        "HAVEN_PORTAL_QUEUE": queue,
    }
    for args in (
        ["migrate", "--verbosity", "0"],
        ["shell", "-c", "from haven.vault.services import org_keys_setup; org_keys_setup()"],
    ):
        subprocess.run(  # noqa: S603 - our interpreter and our own command
            [sys.executable, "-m", "haven.cli", *args], env=env, check=True, capture_output=True
        )
    os.environ.update(env)


class Timer:
    """Wall time per named step, summed over the measured submissions."""

    def __init__(self) -> None:
        self.spent: collections.Counter[str] = collections.Counter()
        self.held: list[float] = []
        self._locked: float | None = None
        self.lock_taken_by = "inserts (run)"

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            if label == self.lock_taken_by and self._locked is None:
                self._locked = started
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - started

        setattr(owner, name, timed)

    def watch_transactions(self) -> None:
        """Time the inserts and the commit, and the lock held until the commit's end."""
        from django.db.backends.base.base import BaseDatabaseWrapper

        from haven.db.rows import Inserts

        run, commit = Inserts.run, BaseDatabaseWrapper.commit

        def timed_run(inserts: Any) -> None:
            started = time.perf_counter()
            if self.lock_taken_by == "inserts (run)":
                self._locked = started
            try:
                run(inserts)
            finally:
                self.spent["inserts (run)"] += time.perf_counter() - started

        def timed_commit(connection: Any) -> None:
            started = time.perf_counter()
            try:
                commit(connection)
            finally:
                ended = time.perf_counter()
                self.spent["commit"] += ended - started
                if self._locked is not None:
                    self.held.append(ended - self._locked)
                    self._locked = None

        Inserts.run = timed_run  # type: ignore[method-assign]
        BaseDatabaseWrapper.commit = timed_commit  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--queue",
        choices=["off", "on"],
        default="off",
        help="off: each request written whole; on: queued sealed, as in a surge",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="haven-phases-"))
    pg_url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
    url = f"sqlite:///{folder / 'haven.sqlite3'}" if args.database == "sqlite" else pg_url
    if args.database == "postgres":
        pg_recreate(pg_url)
    try:
        prepare(folder, url, args.queue)
        return measure(args)
    finally:
        if args.database == "postgres":
            from django.db import connections

            connections.close_all()
            pg_drop(pg_url)
        shutil.rmtree(folder, ignore_errors=True)


def measure(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    timer = Timer()
    if connection.vendor != "sqlite":
        timer.lock_taken_by = "audit_record"
    elif args.queue == "on":
        timer.lock_taken_by = "used_tokens_forget"  # the transaction's first statement
    for module, names in (STEPS_QUEUED if args.queue == "on" else STEPS).items():
        owner = importlib.import_module(module)
        for name in names:
            timer.wrap(owner, name, name)
    timer.watch_transactions()
    client = Client(HTTP_HOST="127.0.0.1")

    def submit(n: int) -> tuple[float, float]:
        people = 1 if n % 3 else 2
        started = time.perf_counter()
        page = client.get(f"/portal/en/request/?people={people}").content.decode()
        got = time.perf_counter()
        token, count = TOKEN.search(page), PEOPLE.search(page)
        assert token and count, "the request form has no token"
        fields = {
            "token": unescape(token.group(1)),
            "people": unescape(count.group(1)),
            "country": "CN",
            "region": "Shenyang",
            "urgency": "3",
            "account": "We left the restaurant and are hiding with a friend.",
            "contact": "",
        } | {f"name_{i}": f"김 {n}-{i}" for i in range(people)}
        answer = client.post("/portal/en/request/", fields)
        assert answer.status_code == 200 and RECEIPT.search(answer.content.decode())
        return got - started, time.perf_counter() - got

    for n in range(WARM_UP):
        submit(n)
    timer.spent.clear()
    timer.held.clear()
    gets = posts = 0.0
    cpu = time.process_time()
    for n in range(WARM_UP, WARM_UP + args.submissions):
        get, post = submit(n)
        gets, posts = gets + get, posts + post
    cpu = time.process_time() - cpu
    n = args.submissions
    print(
        f"Haven portal submission by phase, {args.database}, {n} submissions in-process "
        f"(production settings, portal routes, HAVEN_PORTAL_QUEUE={args.queue}), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print("```")
    print(f"processor time per submission (GET + POST)   {cpu / n * 1000:6.2f} ms")
    print(f"wall: GET {gets / n * 1000:.2f} ms, POST {posts / n * 1000:.2f} ms")
    print("POST steps (wall, ms per submission; nested steps are inside their callers):")
    for label, spent in sorted(timer.spent.items(), key=lambda item: -item[1]):
        print(f"  {label:32} {spent / n * 1000:6.2f}")
    lengths = sorted(timer.held)
    median = statistics.median(lengths) * 1000
    what = {
        "inserts (run)": "the write lock, first insert to commit's end",
        "used_tokens_forget": "the write lock, first statement to commit's end",
    }.get(timer.lock_taken_by, "the audit head's row lock, audit entry to commit's end")
    print(
        f"{what}: median {median:.2f} ms, p95 {lengths[int(0.95 * (len(lengths) - 1))] * 1000:.2f}"
        f" ms (at most {1000 / median:.0f} submissions/s, whatever the cores)"
    )
    print("```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
