"""Receipt guessing: what an attacker gets against what a real requester waits (issue 17, 4).

    .venv/bin/python benchmarks/receipt_guessing.py [--before REF] [--seconds 30]

Runs `haven portal` as deployed (gunicorn workers, production settings and receipt cost, SQLite)
and, for each code version — the working tree, and with ``--before REF`` the ``src/`` of that
git commit, extracted to a temporary folder and put first on PYTHONPATH — plays two scenarios,
each on a freshly started server (the limits live in its memory):

* **spray**: an attacker (wrk, ``--attackers`` connections, benchmarks/receipt_guessing_wrk.lua)
  posts random receipts to the status form without pause;
* **prefix**: the same attacker knows the real receipt's first five digits (a photo of part of
  the paper) and guesses only the rest; a second attacker, in Python, also pays the
  proof-of-work when asked (hashlib, one core), as a determined one would.

Meanwhile a real requester with the right receipt checks their request once a second, without
JavaScript (``no-JS``), and, in the prefix scenario, also as a browser that solves the
proof-of-work when asked (``JS``; solved here with hashlib, much faster than a phone), and a
broker tries a (wrong) access code every two seconds: 400 means the code was checked, 429 that
broker logins were shut. Reported: the attacker's checked guesses per second (answers 400: one
Argon2id run each) and refused ones (429); the requester's share of answered checks and their
median and longest wait until the status page showed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

from intake import SHELL_SETUP, Server, get, haven

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECEIPT = re.compile(r'id="receipt">([\d-]+)<')
TOKEN = re.compile(r'name="token" value="([^"]*)"')
PEOPLE = re.compile(r'name="people" value="([^"]*)"')
POW_BITS = re.compile(r'data-pow-bits="(\d+)"')


def post(port: int, path: str, fields: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body=urllib.parse.urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def token_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no token"
    return unescape(found.group(1))


def file_request(port: int) -> str:
    _status, html = get(port, "/portal/en/request/?people=1")
    people = PEOPLE.search(html)
    assert people
    fields = {"token": token_of(html), "people": unescape(people.group(1)), "name_0": "Ri"}
    fields |= {"country": "CN", "region": "", "urgency": "3", "account": "x", "contact": ""}
    status, html = post(port, "/portal/en/request/", fields)
    found = RECEIPT.search(html)
    assert status == 200 and found, "no receipt"
    return found.group(1).replace("-", "")


def solve(token: str, bits: int) -> tuple[str, int]:
    """A nonce for the portal's proof-of-work (what pow.js does), and how many hashes it took."""
    nonce = 0
    while True:
        digest = hashlib.sha256(f"haven-pow:{token}:{nonce}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - bits) == 0:
            return str(nonce), nonce + 1
        nonce += 1


@dataclass
class Requester:
    """Checks the right receipt once a second; ``js`` pays a proof-of-work when asked."""

    port: int
    receipt: str
    js: bool
    answered: int = 0
    tries: int = 0
    waits: list[float] = field(default_factory=list)  # from first try to the status page
    pow_seconds: list[float] = field(default_factory=list)
    pending_since: float | None = None

    def once(self) -> None:
        self.tries += 1
        if self.pending_since is None:
            self.pending_since = time.monotonic()
        _status, html = get(self.port, "/portal/en/status/")
        fields = {"token": token_of(html), "receipt": self.receipt}
        status, html = post(self.port, "/portal/en/status/", fields)
        bits = POW_BITS.search(html)
        if status == 429 and self.js and bits:
            started = time.monotonic()
            token = token_of(html)
            nonce, _hashes = solve(token, int(bits.group(1)))
            self.pow_seconds.append(time.monotonic() - started)
            status, html = post(
                self.port, "/portal/en/status/", {**fields, "token": token, "pow": nonce}
            )
        if status == 200 and 'id="status-' in html:
            self.answered += 1
            self.waits.append(time.monotonic() - self.pending_since)
            self.pending_since = None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            with contextlib.suppress(OSError, http.client.HTTPException, AssertionError):
                self.once()
            stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    def summary(self, seconds: float) -> dict[str, Any]:
        waiting = time.monotonic() - self.pending_since if self.pending_since else 0.0
        return {
            "answered": self.answered,
            "tries": self.tries,
            "median_wait": statistics.median(self.waits) if self.waits else None,
            "longest_wait": max([*self.waits, waiting]) if self.waits or waiting else 0.0,
            "still_waiting": self.pending_since is not None,
            "pow_median": statistics.median(self.pow_seconds) if self.pow_seconds else None,
        }


@dataclass
class Broker:
    """A broker's login (a wrong code): 400 checked, 429 shut."""

    port: int
    statuses: list[int] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
        while not stop.is_set():
            try:
                _s, html = get(self.port, "/portal/en/broker/")
                code = "".join(random.choice(alphabet) for _ in range(25))
                status, _html = post(
                    self.port, "/portal/en/broker/", {"token": token_of(html), "credential": code}
                )
                self.statuses.append(status)
            except (OSError, http.client.HTTPException, AssertionError):
                pass
            stop.wait(2.0)


@dataclass
class PayingAttacker:
    """Guesses under a known prefix and pays every proof-of-work asked (one core, hashlib)."""

    port: int
    prefix: str
    checked: int = 0
    refused: int = 0
    hashes: int = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                _s, html = get(self.port, "/portal/en/status/")
                guess = self.prefix + "".join(random.choice("0123456789") for _ in range(15))
                fields = {"token": token_of(html), "receipt": guess}
                status, html = post(self.port, "/portal/en/status/", fields)
                bits = POW_BITS.search(html)
                if status == 429 and bits:
                    token = token_of(html)
                    nonce, hashes = solve(token, int(bits.group(1)))
                    self.hashes += hashes
                    status, html = post(
                        self.port, "/portal/en/status/", {**fields, "token": token, "pow": nonce}
                    )
                if status == 400:
                    self.checked += 1
                elif status == 429:
                    self.refused += 1
                    stop.wait(1.0)  # closed: nothing to pay for
            except (OSError, http.client.HTTPException, AssertionError):
                pass


def wrk_attack(port: int, *, prefix: str, users: int, seconds: int) -> dict[str, Any]:
    process = subprocess.run(  # noqa: S603 - Debian's wrk with our own script
        ["wrk", "-t", str(users), "-c", str(users), "-d", f"{seconds}s", "--timeout", "30s"]
        + ["-s", str(HERE / "receipt_guessing_wrk.lua"), f"http://127.0.0.1:{port}"]
        + ["--", prefix],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed:\n{process.stdout[-2000:]}\n{process.stderr[-2000:]}")
    return json.loads(lines[-1])


def scenario(env: dict[str, str], args: argparse.Namespace, name: str) -> dict[str, Any]:
    with Server(env, args.workers) as server:
        receipt = file_request(server.port)
        stop = threading.Event()
        plain = Requester(server.port, receipt, js=False)
        helpers: list[Any] = [plain, Broker(server.port)]
        paying = None
        with_js = None
        if name == "prefix":
            with_js = Requester(server.port, receipt, js=True)
            paying = PayingAttacker(server.port, receipt[:5])
            helpers += [with_js, paying]
        threads = [threading.Thread(target=h.run, args=(stop,)) for h in helpers]
        for thread in threads:
            thread.start()
        attack = wrk_attack(
            server.port,
            prefix=receipt[:5] if name == "prefix" else "",
            users=args.attackers,
            seconds=args.seconds,
        )
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        broker_statuses = helpers[1].statuses
        result: dict[str, Any] = {
            "scenario": name,
            "checked_per_s": attack["checked"] / attack["duration_s"],
            "refused_per_s": attack["refused"] / attack["duration_s"],
            "other": attack["other"] + attack["errors"],
            "no_js": plain.summary(args.seconds),
            "broker_checked": sum(1 for s in broker_statuses if s == 400),
            "broker_shut": sum(1 for s in broker_statuses if s == 429),
        }
        if with_js is not None and paying is not None:
            result["js"] = with_js.summary(args.seconds)
            result["paying_checked_per_s"] = paying.checked / args.seconds
            result["paying_hashes"] = paying.hashes
        return result


def version_env(folder: Path, src: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "haven.settings.base",
        "HAVEN_DATA_DIR": str(folder),
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{folder / 'haven.sqlite3'}",
        "HAVEN_DEBUG": "false",
        "HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE": "10000",
    }
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def run_version(label: str, src: Path | None, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for name in ("spray", "prefix"):
        # A fresh database and server for each scenario: nothing carries over between them.
        folder = Path(tempfile.mkdtemp(prefix="haven-guessing-"))
        try:
            env = version_env(folder, src)
            print(f"== {label}: {name}: preparing", file=sys.stderr, flush=True)
            haven(env, "migrate", "--verbosity", "0")
            haven(env, "shell", "-c", SHELL_SETUP)
            print(f"== {label}: {name} ({args.seconds} s)", file=sys.stderr, flush=True)
            results.append({"version": label, **scenario(env, args, name)})
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def extract(ref: str) -> Path:
    """``src/`` of git commit ``ref`` in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="haven-src-"))
    archive = subprocess.run(  # noqa: S603 - git from PATH on our own repository
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src"],  # noqa: S607
        capture_output=True,
        check=True,
    )
    tar = folder / "src.tar"
    tar.write_bytes(archive.stdout)
    with tarfile.open(tar) as opened:
        opened.extractall(folder, filter="data")
    return folder / "src"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Haven receipt-guessing benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"`haven portal` with {args.workers} workers on SQLite, production receipt cost; "
        f"wrk attacker with {args.attackers} connections for {args.seconds} s per scenario; "
        f"{os.cpu_count()} cores.",
        "",
        "```",
        f"{'version':8} {'scenario':8} {'attacker checked/s':>18} {'refused/s':>9} "
        f"{'paying checked/s':>16} {'requester':9} {'answered':>9} {'median wait s':>13} "
        f"{'longest wait s':>14} {'broker logins checked/shut':>26}",
    ]
    for r in results:
        for who in ("no_js", "js"):
            if who not in r:
                continue
            s = r[who]
            longest = _seconds(s["longest_wait"]) + ("+" if s["still_waiting"] else "")
            paying = f"{r['paying_checked_per_s']:.2f}" if "paying_checked_per_s" in r else "-"
            lines.append(
                f"{r['version']:8} {r['scenario']:8} {r['checked_per_s']:18.1f} "
                f"{r['refused_per_s']:9.1f} {paying:>16} "
                f"{who:9} {s['answered']:>4}/{s['tries']:<4} {_seconds(s['median_wait']):>13} "
                f"{longest:>14} {r['broker_checked']:>13}/{r['broker_shut']:<12}"
            )
    lines += [
        "```",
        "checked/s: the attacker's guesses the server looked up and found wrong (one Argon2id run "
        "each); refused/s: answered 429 without a look-up. paying: a second attacker under the "
        "same prefix that pays every proof-of-work asked (hashlib on one core). answered: the "
        "requester's checks that showed the status page, of those tried (one a second); wait: "
        "from a first try to the status page ('+': still waiting when the run ended). "
        "JS: the requester's browser solves the proof-of-work when asked "
        + (
            f"(median {min(medians):.2f} s with hashlib here; pow.js on a phone is far slower). "
            if (
                medians := [
                    r["js"]["pow_median"] for r in results if r.get("js", {}).get("pow_median")
                ]
            )
            else ""
        )
        + "broker logins: wrong access codes tried every 2 s, checked (400) or shut (429).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--before", help="a git commit whose src/ to measure first")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    results: list[dict[str, Any]] = []
    extracted: Path | None = None
    try:
        if args.before:
            extracted = extract(args.before)
            results += run_version("before", extracted, args)
        results += run_version("after", None, args)
    finally:
        if extracted is not None:
            shutil.rmtree(extracted.parent, ignore_errors=True)
    text = report(results, args)
    print(text)
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(exist_ok=True)
        path = folder / f"receipt-guessing-{dt.datetime.now().astimezone().date().isoformat()}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        print(f"(saved to {path})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
