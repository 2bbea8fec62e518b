"""Intake benchmark: requests submitted to the portal, run as in production, for a sustained minute.

    .venv/bin/python benchmarks/intake.py [--database sqlite|postgres|both] [--seconds 60]

For each database engine it makes a fresh database with the organisation's keys (`haven migrate`,
then `org_keys_setup` as `haven setup` runs it), starts the portal as its own process the way it
is deployed (`haven portal`: gunicorn, several worker processes, production settings, no debug),
and drives it from a load generator on loopback, users without pause: wrk (Debian's package,
`apt-get install wrk`; benchmarks/intake_wrk.lua), which leaves more of the two shared cores to
the server than locust does, or locust (`--generator locust`, the default when wrk is missing;
benchmarks/intake_locust.py). Each user is one connection making the same requests either way:

1. the ceiling: the portal's start page, a trivial page on the same server;
2. submissions for --seconds: each user opens the request form and sends it (GET, then POST with
   the form's one-time token), one or two people per request, as a browser without JavaScript
   does. A submission counts as acknowledged only when the answer shows a receipt.

Then it counts what the database holds: stored must equal acknowledged (no loss, nothing extra).

3. with hostile images (``--hostile-share``, default 0.1; issue 17, finding 2): the same
   submissions again for --seconds, while as many more requests again as a tenth of all carry
   decompression bombs and costly files, five to a request, made here: a 38-byte lossless WebP
   declaring 49 megapixels (as the attack found), a 1-bit PNG of 7000 x 7000 zeros, a JPEG whose
   header declares 7000 x 7000, and a PDF of 150,000 objects that takes a parser seconds (the
   only kind that reaches the decoder process; the others are refused from their headers). They
   are sent at a steady pace from Python threads, whatever becomes of them, and the start page is
   probed twice a second. Reported beside the plain run: the others' submissions/s and latency,
   the bombs' answers and latency, the start page's latency, and stored = acknowledged, with no
   file of a bomb stored.
It also reports the receipt-login cost: the Argon2id digest of a receipt at the configured cost
(in-process, median of 20) and a whole "come back with the receipt" page (median of 20 POSTs).

The portal's per-process submission limit is raised for the run (it is a setting, not capacity).
PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/haven_bench_intake),
dropped and created by this script and dropped at the end. Output is also saved to
benchmarks/results/intake-<date>.txt (unless --no-save).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from html import unescape
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench_intake"
TARGET_PER_SECOND = 100.0
RECEIPT = re.compile(r'id="receipt">([\d-]+)<')
TOKEN = re.compile(r'name="token" value="([^"]*)"')
PEOPLE = re.compile(r'name="people" value="([^"]*)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def haven(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our interpreter and our own command
        [sys.executable, "-m", "haven.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"haven {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


# The organisation with one supervisor, who opens the requests queued in a surge at the end.
SHELL_SETUP = """
import os
from haven.vault.services import org_setup
org_setup(username="bench", password=os.environ["HAVEN_BENCH_PASSWORD"])
"""
SHELL_COUNTS = """
import json
from haven.attachments.models import Attachment
from haven.cases.models import Case, Request
from haven.portal.models import QueuedRequest, Receipt
print(json.dumps({"requests": Request.objects.count(), "cases": Case.objects.count(),
                  "receipts": Receipt.objects.count(), "files": Attachment.objects.count(),
                  "queued": QueuedRequest.objects.count()}))
"""
# Requests queued in a surge, opened as the supervisor's pages open them (haven.portal.queue),
# until none is left: then every acknowledged receipt must be in the database.
SHELL_OPEN = """
import json, os, time
from haven.accounts.models import User
from haven.portal.models import QueuedRequest
from haven.portal.queue import portal_queue_open
from haven.vault.context import context_for
from haven.vault.services import user_key_open
user = User.objects.get(username="bench")
ctx = context_for(user, user_key_open(user=user, password=os.environ["HAVEN_BENCH_PASSWORD"]))
queued, opened, started = QueuedRequest.objects.count(), 0, time.perf_counter()
while True:
    done = portal_queue_open(ctx=ctx, actor=user, limit=100)
    if not done:
        break
    opened += done
seconds = time.perf_counter() - started
print(json.dumps({"opened": opened, "queued": queued, "ms_each": seconds * 1000 / max(opened, 1)}))
"""
SHELL_DIGEST = """
import json, time
from haven.portal.receipts import digest_of, receipt_new, receipt_normalise
samples = []
for _ in range(20):
    receipt = receipt_normalise(receipt_new())
    started = time.perf_counter()
    digest_of(receipt)
    samples.append((time.perf_counter() - started) * 1000)
samples.sort()
print(json.dumps({"digest_ms": samples[len(samples) // 2]}))
"""


class Server:
    def __init__(self, env: dict[str, str], workers: int):
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter and our own command
            [sys.executable, "-m", "haven.cli", "portal", "--no-migrate", "--host", "127.0.0.1"]
            + ["--port", str(self.port), "--workers", str(self.workers)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(self.port, "/portal/en/")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the portal did not start within 60 s")

    @property
    def pgid(self) -> int:
        """The server's process group (started in a session of its own)."""
        assert self.process is not None
        return self.process.pid

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def post(port: int, path: str, fields: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = urllib.parse.urlencode(fields)
        conn.request(
            "POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def locust(
    port: int, *, mode: str, users: int, seconds: int, folder: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run locust headless: the stats row of the timed request ("submission" or the page), and
    the submissions sent and acknowledged (counted by the users themselves)."""
    prefix = folder / mode
    tally_path = folder / f"{mode}-tally.json"
    env = {**os.environ, "INTAKE_MODE": mode, "INTAKE_TALLY": str(tally_path)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(  # noqa: S603 - locust from our own environment
        [sys.executable, "-m", "locust", "-f", str(HERE / "intake_locust.py"), "--headless"]
        + ["--host", f"http://127.0.0.1:{port}", "-u", str(users), "-r", str(users)]
        + ["-t", f"{seconds}s", "--csv", str(prefix), "--only-summary", "--stop-timeout", "30"]
        + ["--loglevel", "ERROR"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    name = "trivial page" if mode == "trivial" else "submission"
    tally = json.loads(tally_path.read_text()) if tally_path.exists() else {}
    # The load generator's own processor time (it shares the machine with the server).
    tally["generator_cpu_s"] = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == name:
                return row, tally
    raise SystemExit(f"locust reported no {name!r} requests (see {prefix}_stats.csv)")


DRAIN_SECONDS = 10


def wrk(
    port: int, *, mode: str, users: int, seconds: int, folder: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run wrk (benchmarks/intake_wrk.lua; one connection per thread): the same two results as
    :func:`locust`, and the machine's and wrk's processor use over the ``seconds`` of load.
    Submissions stop opening new forms after ``seconds``; wrk runs on for DRAIN_SECONDS so that
    every one already sent is answered and counted."""
    duration = seconds + (DRAIN_SECONDS if mode == "submit" else 0)
    process = subprocess.Popen(  # noqa: S603 - Debian's wrk with our own script
        ["wrk", "-t", str(users), "-c", str(users), "-d", f"{duration}s", "--timeout", "30s"]
        + ["-s", str(HERE / "intake_wrk.lua"), f"http://127.0.0.1:{port}"]
        + ["--", mode, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ticks, own = cpu_ticks(), process_cpu_s(process.pid)
    time.sleep(seconds)
    window = {
        "cpu": busy_share(ticks, cpu_ticks()),
        "generator_cores": (process_cpu_s(process.pid) - own) / seconds,
    }
    out, err = process.communicate(timeout=duration + 60)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed:\n{out[-2000:]}\n{err[-2000:]}")
    summary = json.loads(lines[-1])
    tally = {"sent": summary["sent"], "acknowledged": summary["acknowledged"], **window}
    if mode == "trivial":
        stats = {
            "Requests/s": summary["requests"] / summary["duration_s"],
            "50%": summary["p50"],
            "95%": summary["p95"],
        }
    else:
        stats = {"50%": summary["post_p50"], "95%": summary["post_p95"]}
    return stats, tally


def process_cpu_s(pid: int) -> float:
    """User and system processor seconds of a running process and its threads (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgid: int) -> float:
    """User and system processor seconds of every live process in a process group (the
    server: `haven portal`, gunicorn's master and its workers; Linux)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat (Linux; zeros elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else float("nan")


def come_back_ms(port: int, env: dict[str, str]) -> float:
    """Median time of the status page POSTed with a real receipt (the whole receipt login)."""
    status, html = get(port, "/portal/en/request/?people=1")
    token, people = TOKEN.search(html), PEOPLE.search(html)
    assert status == 200 and token and people
    fields = {"token": unescape(token.group(1)), "people": unescape(people.group(1))}
    fields |= {"name_0": "Ri", "country": "CN", "region": "", "urgency": "3", "account": "x"}
    status, html = post(port, "/portal/en/request/", fields | {"contact": ""})
    receipt = RECEIPT.search(html)
    assert status == 200 and receipt, "no receipt"
    haven(env, "shell", "-c", SHELL_OPEN)  # in case it was queued (--queue on)
    samples = []
    for _ in range(20):
        status, html = get(port, "/portal/en/status/")
        token = TOKEN.search(html)
        assert token
        started = time.perf_counter()
        status, html = post(
            port, "/portal/en/status/", {"token": unescape(token.group(1)), "receipt": receipt[1]}
        )
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200
    return statistics.median(samples)


# --- Hostile images (issue 17, finding 2) -------------------------------------------------------

# A lossless WebP of one colour: its pixels cost no bits, so its header's size can be anything.
_SOLID_WEBP = bytes.fromhex(
    "524946461e000000574542505650384c110000002f57dbd5060750852257a1ff8188e87f0000"
)


def webp_bomb(width: int = 7000, height: int = 7000) -> bytes:
    """A valid 38-byte lossless WebP of ``width`` x ``height`` (49 MP: ~2 s and ~850 MB)."""
    import struct

    (bits,) = struct.unpack("<I", _SOLID_WEBP[21:25])
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    return _SOLID_WEBP[:21] + struct.pack("<I", bits) + _SOLID_WEBP[25:]


def png_bomb(side: int = 7000) -> bytes:
    """A 1-bit PNG of ``side`` x ``side`` zeros (about 6 KB for 49 MP)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def jpeg_bomb(width: int = 7000, height: int = 7000) -> bytes:
    """A small JPEG whose frame header declares ``width`` x ``height``."""
    import io
    import struct

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (9, 9, 9)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def pdf_bomb(objects: int = 150_000) -> bytes:
    """A PDF of one page and ``objects`` tiny objects in object streams (~1.5 MB, seconds)."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    junk = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(V=i)) for i in range(objects)])
    pdf.Root.Junk = pdf.make_indirect(junk)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def hostile_kinds() -> list[tuple[str, bytes]]:
    return [
        ("photo.webp", webp_bomb()),
        ("scan.png", png_bomb()),
        ("photo.jpg", jpeg_bomb()),
        ("letter.pdf", pdf_bomb()),
    ]


BOUNDARY = "HavenBenchBoundary9f8e7d"


def post_files(port: int, fields: dict[str, str], name: str, content: bytes) -> tuple[int, str]:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for i in range(5):  # five to a request, as the attack sent them
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="{i}-{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/portal/en/request/",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class Hostile:
    """Requests with bombs at a steady pace (``rate`` a second, for ``seconds``: the window in
    which the ordinary users open new forms), from a pool of threads; and start-page probes
    twice a second until the end. With ``rate`` 0, the probes alone."""

    def __init__(
        self, port: int, rate: float, kinds: list[tuple[str, bytes]], seconds: float = 0.0
    ):
        import threading

        self.port = port
        self.rate = rate
        self.seconds = seconds
        self.kinds = kinds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses: dict[str, int] = {}
        self.latencies: list[float] = []
        self.acknowledged = 0
        self.skipped = 0  # due but every sender busy
        self.sent = 0
        self.probes: list[float] = []
        self.probe_failures = 0
        self.free = threading.Semaphore(32)
        self.threads: list[Any] = []

    def _one(self, n: int) -> None:
        name, content = self.kinds[n % len(self.kinds)]
        started = time.monotonic()
        try:
            status, html = get(self.port, "/portal/en/request/?people=1")
            token, people = TOKEN.search(html), PEOPLE.search(html)
            assert token and people
            fields = {"token": unescape(token.group(1)), "people": unescape(people.group(1))}
            fields |= {"name_0": "Ri", "country": "CN", "region": "", "urgency": "3"}
            fields |= {"account": "Photos of our papers.", "contact": ""}
            status, html = post_files(self.port, fields, name, content)
            key = str(status)
            if status == 200 and RECEIPT.search(html):
                with self.lock:
                    self.acknowledged += 1
        except (OSError, http.client.HTTPException, AssertionError) as exc:
            key = type(exc).__name__
        with self.lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1
            self.latencies.append((time.monotonic() - started) * 1000)
        self.free.release()

    def _pace(self) -> None:
        import threading

        n = 0
        next_at = time.monotonic()
        until = next_at + self.seconds
        while not self.stop.is_set() and time.monotonic() < until:
            next_at += 1.0 / self.rate
            self.stop.wait(max(0.0, next_at - time.monotonic()))
            if self.stop.is_set():
                break
            if not self.free.acquire(blocking=False):
                self.skipped += 1
                continue
            n += 1
            self.sent += 1
            thread = threading.Thread(target=self._one, args=(n,))
            thread.start()
            self.threads.append(thread)

    def _probe(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, _html = get(self.port, "/portal/en/")
                if status == 200:
                    self.probes.append((time.monotonic() - started) * 1000)
                else:
                    self.probe_failures += 1
            except (OSError, http.client.HTTPException):
                self.probe_failures += 1
            self.stop.wait(max(0.0, 0.5 - (time.monotonic() - started)))

    def __enter__(self) -> Hostile:
        import threading

        self.threads = [threading.Thread(target=self._probe)]
        if self.rate > 0:
            self.threads.append(threading.Thread(target=self._pace))
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in list(self.threads):
            thread.join(timeout=180)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * share + 0.999) - 1))]


def hostile_run(
    server: Server, env: dict[str, str], args: argparse.Namespace, plain_rate: float
) -> dict[str, Any]:
    """The submissions again, with a share of requests carrying bombs beside them."""
    generate = wrk if args.generator == "wrk" else locust
    before = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
    rate = max(0.2, plain_rate * args.hostile_share / (1 - args.hostile_share))
    folder = Path(tempfile.mkdtemp(prefix="haven-intake-hostile-"))
    try:
        with Hostile(server.port, rate, hostile_kinds(), args.seconds) as hostile:
            submit, tally = generate(
                server.port, mode="submit", users=args.users, seconds=args.seconds, folder=folder
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    stored = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
    haven(env, "shell", "-c", SHELL_OPEN)  # what was queued (never a request with files)
    after = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
    return {
        "sent": tally["sent"],
        "acknowledged": tally["acknowledged"],
        "stored": stored["requests"] + stored["queued"] - before["requests"] - hostile.acknowledged,
        "receipts": after["receipts"] - before["receipts"] - hostile.acknowledged,
        "files": after["files"] - before["files"],
        "per_second": tally["acknowledged"] / float(args.seconds),
        "p50": float(submit["50%"]),
        "p95": float(submit["95%"]),
        "cpu": tally.get("cpu", float("nan")),
        "hostile_rate": rate,
        "hostile_sent": hostile.sent,
        "hostile_skipped": hostile.skipped,
        "hostile_acknowledged": hostile.acknowledged,
        "hostile_statuses": dict(sorted(hostile.statuses.items())),
        "hostile_p50": percentile(hostile.latencies, 0.5),
        "hostile_p95": percentile(hostile.latencies, 0.95),
        "probe_p50": percentile(hostile.probes, 0.5),
        "probe_p95": percentile(hostile.probes, 0.95),
        "probe_max": max(hostile.probes, default=float("nan")),
        "probe_failures": hostile.probe_failures,
    }


def run_one(database: str, args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"haven-intake-{database}-"))
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
        "HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE": "10000000",
        "HAVEN_PORTAL_QUEUE": args.queue,
        "HAVEN_BENCH_PASSWORD": secrets.token_urlsafe(24),
    }
    try:
        print(f"== {database}: preparing", file=sys.stderr, flush=True)
        haven(env, "migrate", "--verbosity", "0")
        haven(env, "shell", "-c", SHELL_SETUP)
        digest = json.loads(haven(env, "shell", "-c", SHELL_DIGEST))
        with Server(env, args.workers) as server:
            print(f"== {database}: ceiling ({args.trivial_seconds} s)", file=sys.stderr, flush=True)
            generate = wrk if args.generator == "wrk" else locust
            trivial, _ = generate(
                server.port,
                mode="trivial",
                users=args.users,
                seconds=args.trivial_seconds,
                folder=folder,
            )
            print(f"== {database}: submissions ({args.seconds} s)", file=sys.stderr, flush=True)
            started, ticks = time.monotonic(), cpu_ticks()
            server_cpu = group_cpu_s(server.pgid)
            with Hostile(server.port, 0.0, []) as probes:  # the start page, probed alike
                submit, tally = generate(
                    server.port,
                    mode="submit",
                    users=args.users,
                    seconds=args.seconds,
                    folder=folder,
                )
            elapsed, cpu = time.monotonic() - started, busy_share(ticks, cpu_ticks())
            server_cpu = group_cpu_s(server.pgid) - server_cpu
            # wrk measures over the load's own seconds (not its drain); locust over its run.
            cpu = tally.get("cpu", cpu)
            generator_cores = tally.get(
                "generator_cores", tally.get("generator_cpu_s", 0.0) / elapsed
            )
            counts = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
            # Staff open what was queued (the server's work is over: timed apart).
            opening = json.loads(haven(env, "shell", "-c", SHELL_OPEN))
            after_open = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
            login_ms = come_back_ms(server.port, env)
            hostile = None
            if args.hostile_share > 0:
                print(
                    f"== {database}: submissions with {args.hostile_share:.0%} carrying "
                    f"hostile images ({args.seconds} s)",
                    file=sys.stderr,
                    flush=True,
                )
                hostile = hostile_run(
                    server, env, args, tally["acknowledged"] / float(args.seconds)
                )
        sent, acknowledged = tally["sent"], tally["acknowledged"]
        return {
            "database": database,
            "trivial_rps": float(trivial["Requests/s"]),
            "trivial_p50": float(trivial["50%"]),
            "trivial_p95": float(trivial["95%"]),
            "sent": sent,
            "acknowledged": acknowledged,
            # Stored when acknowledged: written whole, or queued sealed; after staff opened the
            # queue every one must be a request with its receipt.
            "stored": counts["requests"] + counts["queued"],
            "queued": counts["queued"],
            "opened": opening["opened"],
            "open_ms": opening["ms_each"],
            "requests_after": after_open["requests"],
            "receipts": after_open["receipts"],
            "per_second": acknowledged / float(args.seconds),
            "p50": float(submit["50%"]),
            "p95": float(submit["95%"]),
            "elapsed": elapsed,
            "cpu": cpu,
            "generator_cores": generator_cores,
            "server_ms": server_cpu * 1000 / max(tally["acknowledged"], 1),
            "digest_ms": digest["digest_ms"],
            "login_ms": login_ms,
            "probe_p50": percentile(probes.probes, 0.5),
            "probe_p95": percentile(probes.probes, 0.95),
            "probe_max": max(probes.probes, default=float("nan")),
            "probe_failures": probes.probe_failures,
            "hostile": hostile,
        }
    finally:
        if database == "postgres" and not args.keep:
            pg_drop(pg_url)
        shutil.rmtree(folder, ignore_errors=True)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Haven intake benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"`haven portal` with {args.workers} gunicorn workers, {args.generator} with {args.users} "
        f"users without pause on loopback, {os.cpu_count()} cores.",
        f"Target: at least {TARGET_PER_SECOND:.0f} submissions/s sustained for {args.seconds} s, "
        "stored = acknowledged.",
        "",
        "```",
        f"{'database':9} {'ceiling req/s':>13} {'subm/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'sent':>6} {'acked':>6} {'stored':>6} {'no loss':>7} {'target':>6} "
        f"{'receipt KDF ms':>14} {'come back ms':>12} {'CPU busy':>8} {'load gen cores':>14} "
        f"{'server CPU ms':>13}",
    ]
    for r in results:
        no_loss = r["stored"] == r["acknowledged"] == r["receipts"] == r["requests_after"]
        meets = r["per_second"] >= TARGET_PER_SECOND and no_loss
        lines.append(
            f"{r['database']:9} {r['trivial_rps']:13.1f} {r['per_second']:7.1f} {r['p50']:7.0f} "
            f"{r['p95']:7.0f} {r['sent']:6d} {r['acknowledged']:6d} {r['stored']:6d} "
            f"{'yes' if no_loss else 'NO':>7} {'yes' if meets else 'no':>6} "
            f"{r['digest_ms']:14.1f} {r['login_ms']:12.1f} {r['cpu']:8.0%} "
            f"{r['generator_cores']:14.2f} {r['server_ms']:13.1f}"
        )
    lines += [
        "```",
        "ceiling: the portal's start page on the same server (median and p95 "
        + ", ".join(
            f"{r['database']} {r['trivial_p50']:.0f}/{r['trivial_p95']:.0f} ms" for r in results
        )
        + "). A submission is the form's GET and its POST; subm/s counts acknowledged ones; "
        "p50/p95 are of the POST. stored: requests (and receipts) in the database after the "
        "run. receipt KDF: one Argon2id "
        "digest of a receipt at the configured cost; come back: the whole status page POST "
        "with a real receipt. CPU busy: the whole machine's (server, load generator and "
        "database) during the submissions; load gen cores: the load generator's share of it; "
        "server CPU: the portal's processes' processor time (user and system) per acknowledged "
        "submission, its form's GET included.",
        f"Portal queue (HAVEN_PORTAL_QUEUE): {args.queue}. "
        + "; ".join(
            f"{r['database']}: {r['queued']} of {r['stored']} stored requests queued sealed, "
            f"{r['opened']} opened afterwards by a supervisor's key context at "
            f"{r['open_ms']:.1f} ms each; then {r['requests_after']} requests and "
            f"{r['receipts']} receipts"
            for r in results
        )
        + ". no loss: stored (written or queued) = acknowledged = requests and receipts after "
        "opening.",
    ]
    hostile = [(r["database"], r["hostile"]) for r in results if r.get("hostile")]
    if hostile:
        lines += [
            "",
            f"The same submissions with {args.hostile_share:.0%} of all requests carrying hostile "
            "images (five files each: 49-MP lossless WebP of 38 bytes, 49-MP 1-bit PNG, JPEG "
            "declaring 49 MP, PDF of 150,000 objects), beside the plain run above:",
            "",
            "```",
            f"{'database':9} {'run':8} {'others subm/s':>13} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'acked':>6} {'stored':>6} {'no loss':>7} {'bombs sent':>10} {'answers':>24} "
            f"{'bomb p50/p95 ms':>16} {'bomb files stored':>17} {'start page p50/p95/max ms':>26}",
        ]
        for r in results:
            lines.append(
                f"{r['database']:9} {'plain':8} {r['per_second']:13.1f} {r['p50']:7.0f} "
                f"{r['p95']:7.0f} {r['acknowledged']:6d} {r['stored']:6d} "
                f"{'yes' if r['stored'] == r['acknowledged'] else 'NO':>7} {'-':>10} {'-':>24} "
                f"{'-':>16} {'-':>17} "
                f"{r['probe_p50']:8.0f}/{r['probe_p95']:.0f}/{r['probe_max']:.0f}"
                + (f" ({r['probe_failures']} failed)" if r["probe_failures"] else "")
            )
            h = r.get("hostile")
            if not h:
                continue
            answers = ", ".join(f"{k}: {v}" for k, v in h["hostile_statuses"].items())
            no_loss = h["stored"] == h["acknowledged"] == h["receipts"]
            lines.append(
                f"{r['database']:9} {'hostile':8} {h['per_second']:13.1f} {h['p50']:7.0f} "
                f"{h['p95']:7.0f} {h['acknowledged']:6d} {h['stored']:6d} "
                f"{'yes' if no_loss else 'NO':>7} {h['hostile_sent']:10d} {answers:>24} "
                f"{h['hostile_p50']:7.0f}/{h['hostile_p95']:<8.0f} {h['files']:17d} "
                f"{h['probe_p50']:8.0f}/{h['probe_p95']:.0f}/{h['probe_max']:.0f}"
                + (f" ({h['probe_failures']} failed)" if h["probe_failures"] else "")
            )
        shares = ", ".join(
            f"{db} {h['hostile_sent'] / max(1, h['hostile_sent'] + h['sent']):.1%} "
            f"({h['hostile_rate']:.1f}/s; {h['hostile_skipped']} due but not sent)"
            for db, h in hostile
        )
        lines += [
            "```",
            "others: the ordinary submissions (wrk, as above); stored: ordinary requests stored "
            "during the run (a bomb acknowledged would be counted apart, in answers as 200); "
            "answers: the bombs' HTTP statuses (400: refused kindly, the form back with what was "
            "typed); bomb files stored: attachments stored during the run; start page: probed "
            f"twice a second. Bombs' share of all submissions sent: {shares}.",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--trivial-seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--generator",
        choices=["wrk", "locust"],
        default="wrk" if shutil.which("wrk") else "locust",
        help="load generator (default: wrk when installed, `apt-get install wrk`; else locust)",
    )
    parser.add_argument(
        "--hostile-share",
        type=float,
        default=0.1,
        help="share of requests carrying hostile images in the second run (0: no such run)",
    )
    parser.add_argument(
        "--queue",
        choices=["off", "surge", "on"],
        default="surge",
        help="HAVEN_PORTAL_QUEUE for the portal (default: surge, as in production)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    args = parser.parse_args()
    if args.generator == "wrk" and not shutil.which("wrk"):
        parser.error(
            "wrk is not installed (Debian: apt-get install wrk); or use --generator locust"
        )
    if not 0 <= args.hostile_share < 1:
        parser.error("--hostile-share must be at least 0 and below 1")
    if args.seconds < 5 or args.trivial_seconds < 1:
        parser.error("--seconds must be at least 5 and --trivial-seconds at least 1")
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = [run_one(database, args) for database in databases]
    text = report(results, args)
    print(text)
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(exist_ok=True)
        path = folder / f"intake-{dt.datetime.now().astimezone().date().isoformat()}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        print(f"(saved to {path})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
