"""Running the decoder process (:mod:`haven.attachments.decoder`) for one request's files.

Decoding is where a hostile file costs: a few kilobytes can declare an image that takes
seconds of processor time and gigabytes of memory to decode, and image libraries are where
remote-code-execution bugs are found (libwebp's in 2023). So the web worker never decodes. It
passes the files' bytes over a pipe to a fresh process that holds no secret (empty
environment, no database connection, no open file), is bounded in memory and processor time,
may write no file, and is killed at a wall-clock deadline. Nothing decoded touches the disk.

How many decoder processes run at once is bounded on the host (``HAVEN_ATTACHMENT_DECODERS``)
with lock files (``flock``: a killed worker's slot frees itself), and so is how many requests
may wait for one (``HAVEN_ATTACHMENT_DECODE_QUEUE``, for ``HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS``).
Every other request is refused at once with :class:`DecoderBusyError` (the form comes back
with what the person typed): so however many heavy files arrive, at most decoders + queue of
the server's workers are busy with files, and the rest answer everyone else. A server that
knows its worker count (``haven run``/``haven portal`` set ``HAVEN_SERVER_WORKERS``) also
keeps at least one worker out of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import selectors
import signal
import subprocess  # nosec B404  # to start our own decoder module, never a shell
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from haven.attachments.decoder import HEADER

logger = logging.getLogger(__name__)

# Reported when a decoder is stopped: its own limits, our deadline, or it died.
MEMORY = "memory"
TIME = "time"
CRASH = "crash"
_POLL_SECONDS = 0.05


class DecoderBusyError(Exception):
    """Every decoder is busy and no place to wait for one is free (or the wait ran out)."""


@dataclass(frozen=True)
class Job:
    kind: str  # a Pillow format name or "PDF"
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Result:
    """One file's outcome: ``code`` None and the cleaned copy, or why it was refused."""

    code: str | None
    data: bytes = field(default=b"", repr=False)
    format: str = ""
    removed: dict[str, int] = field(default_factory=dict)


# --- Places: decoders and waiting ----------------------------------------------------------------


def _folder() -> Path:
    folder = Path(settings.HAVEN_ATTACHMENT_DECODE_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _try_place(kind: str, count: int) -> int | None:
    """Lock one of ``count`` place files without waiting; its descriptor, or None."""
    folder = _folder()
    for index in range(count):
        fd = os.open(folder / f"{kind}-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None


def _release(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def places() -> tuple[int, int]:
    """(decoders, waiting places) on this host, as configured and as this server allows: a
    server that knows its worker count keeps one worker free of files."""
    decoders = max(1, int(settings.HAVEN_ATTACHMENT_DECODERS))
    queue = max(0, int(settings.HAVEN_ATTACHMENT_DECODE_QUEUE))
    workers = os.environ.get("HAVEN_SERVER_WORKERS", "")
    if workers.isdigit() and int(workers) > 0:
        spare = max(1, int(workers) - 1)  # files may busy all workers but one
        decoders = min(decoders, spare)
        queue = min(queue, spare - decoders)
    return decoders, queue


@contextlib.contextmanager
def decoder_place() -> Iterator[None]:
    """Hold a decoder place for the block: at once, or after waiting in one of the waiting
    places; :class:`DecoderBusyError` when neither is to be had."""
    decoders, queue = places()
    fd = _try_place("decoder", decoders)
    if fd is None:
        waiting = _try_place("waiting", queue)
        if waiting is None:
            raise DecoderBusyError
        try:
            deadline = time.monotonic() + float(settings.HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS)
            while fd is None and time.monotonic() < deadline:
                time.sleep(_POLL_SECONDS)
                fd = _try_place("decoder", decoders)
        finally:
            _release(waiting)
        if fd is None:
            raise DecoderBusyError
    try:
        yield
    finally:
        _release(fd)


# --- The process ---------------------------------------------------------------------------------


def _command() -> list[str]:
    # -I: no PYTHON* variables, no user site, not the working directory on the path.
    return [sys.executable, "-I", "-m", "haven.attachments.decoder"]


def max_output() -> int:
    """The largest cleaned copy kept: re-encoding never needs more than a few times the
    largest file taken (a larger one says the decoder went wrong)."""
    return 4 * int(settings.HAVEN_ATTACHMENT_MAX_BYTES)


def wall_seconds() -> float:
    """How long a decoder may run by the clock: twice its processor time (it shares the
    machine), and a little to start."""
    return 2.0 * int(settings.HAVEN_ATTACHMENT_DECODE_SECONDS) + 2.0


def _job_bytes(jobs: list[Job]) -> bytes:
    header = json.dumps(
        {
            "max_pixels": int(settings.HAVEN_ATTACHMENT_MAX_PIXELS),
            "memory": int(settings.HAVEN_ATTACHMENT_DECODE_MEMORY_MB) * 1024 * 1024,
            "cpu_seconds": int(settings.HAVEN_ATTACHMENT_DECODE_SECONDS),
            "max_output": max_output(),
            "files": [{"kind": job.kind, "size": len(job.data)} for job in jobs],
        }
    ).encode()
    return HEADER.pack(len(header)) + header + b"".join(job.data for job in jobs)


def _exchange(process: subprocess.Popen[bytes], job: bytes, *, deadline: float, cap: int) -> bytes:
    """Write the job and read the answer, both without blocking, until the process closes its
    output, the deadline passes (TimeoutError) or the answer outgrows ``cap`` (OverflowError)."""
    stdin, stdout = process.stdin, process.stdout
    if stdin is None or stdout is None:
        raise TimeoutError  # not started with pipes: cannot happen with _command's Popen
    os.set_blocking(stdin.fileno(), False)
    os.set_blocking(stdout.fileno(), False)
    answer = bytearray()
    sent = 0
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        selector.register(stdin, selectors.EVENT_WRITE)
        writing: IO[bytes] | None = stdin
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            for key, _events in selector.select(timeout=left):
                if key.fileobj is stdout:
                    try:
                        chunk = os.read(stdout.fileno(), 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        if writing is not None:
                            selector.unregister(writing)
                            writing.close()
                        return bytes(answer)
                    answer += chunk
                    if len(answer) > cap:
                        raise OverflowError
                elif writing is not None:
                    try:
                        sent += os.write(stdin.fileno(), job[sent : sent + (1 << 20)])
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:  # it stopped reading: its answer says why
                        sent = len(job)
                    if sent >= len(job):
                        selector.unregister(writing)
                        writing.close()
                        writing = None


def _parse(answer: bytes, count: int) -> list[Result]:
    """The decoder's answer, read as data only (a decoder taken over by a hostile file may
    write anything: it is never unpickled or trusted beyond these fields)."""
    results: list[Result] = []
    at = 0
    while len(results) < count and at + HEADER.size <= len(answer):
        (size,) = HEADER.unpack(answer[at : at + HEADER.size])
        at += HEADER.size
        head: Any = json.loads(answer[at : at + size])
        at += size
        if not isinstance(head, dict):
            raise ValueError("not an object")
        if head.get("ok") is True:
            length = int(head["size"])
            if length < 0 or at + length > len(answer):
                raise ValueError("cut short")
            removed = head.get("removed") or {}
            results.append(
                Result(
                    code=None,
                    data=answer[at : at + length],
                    format=str(head["format"]),
                    removed={str(k): int(v) for k, v in dict(removed).items()},
                )
            )
            at += length
        else:
            results.append(Result(code=str(head.get("code", CRASH))[:20]))
    return results


def _stopped(returncode: int | None) -> str:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return TIME  # SIGXCPU at the processor-time limit, SIGKILL one second after it
    if returncode == 3:
        return MEMORY  # the decoder ran out of memory and said so
    return CRASH


def decode(jobs: list[Job]) -> list[Result]:
    """Clean ``jobs`` in one decoder process; one result per job, in order.

    Must be called inside :func:`decoder_place`. A file the decoder did not answer for (it
    was killed at a limit, or crashed) gets the code of what stopped it: ``memory``, ``time``
    or ``crash``; the files after it get the same, since none of them was cleaned.
    """
    if not jobs:
        return []
    job = _job_bytes(jobs)
    cap = len(jobs) * (max_output() + 64_000)
    deadline = time.monotonic() + wall_seconds()
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603  # nosec B603  # our interpreter and module, no shell
        _command(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
        cwd="/",
        close_fds=True,
        start_new_session=True,
    )
    stopped: str | None = None
    answer = b""
    try:
        answer = _exchange(process, job, deadline=deadline, cap=cap)
    except TimeoutError:
        stopped = TIME
    except OverflowError:
        stopped = CRASH
    finally:
        if process.poll() is None:
            if stopped is None:  # it closed its output: give it a moment to exit
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
            if process.poll() is None:
                process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
    try:
        results = _parse(answer, len(jobs))
    except (ValueError, KeyError, TypeError):
        results = []
        stopped = stopped or CRASH
    if len(results) < len(jobs):
        reason = stopped or _stopped(process.returncode)
        # Only the reason and the time: nothing about the files or who sent them.
        logger.warning(
            "attachment decoder stopped (%s) after %.1f s; %d of %d files refused",
            reason,
            time.monotonic() - started,
            len(jobs) - len(results),
            len(jobs),
        )
        results += [Result(code=reason)] * (len(jobs) - len(results))
    elif any(r.code == MEMORY for r in results):
        logger.warning("attachment decoder refused a file that needed too much memory")
    return results
