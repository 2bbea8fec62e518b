"""The decoder process: cleans the files of one request under hard limits, then exits.

Started by :mod:`haven.attachments.sandbox` as ``python -I -m haven.attachments.decoder`` with
an empty environment (no secret key, no database address) and no open file but its pipes. It
reads a job from standard input, sets its own limits before it reads a byte of any file, cleans
each file (:mod:`haven.attachments.clean`) and writes the results to standard output:

* job: a 4-byte big-endian length and a JSON header ``{"max_pixels", "memory", "cpu_seconds",
  "max_output", "files": [{"kind", "size"}, ...]}``, then the files' bytes one after another;
* answer, per file: a 4-byte length and a JSON result (``{"ok": true, "format", "removed",
  "size"}`` followed by ``size`` bytes of the cleaned copy, or ``{"ok": false, "code"}``;
  ``output`` when the cleaned copy would be larger than ``max_output``).

Limits: a lower priority than the web workers (nice 10), address space (what the process has
mapped after its imports, plus ``memory``),
processor time (``cpu_seconds``, then SIGXCPU and SIGKILL), no file may be written (so nothing
decoded can reach the disk, core dumps included), no process started, few descriptors. This
module imports no Django and holds nothing but the files it was given.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
MAX_HEADER_BYTES = 64_000


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("job cut short")
    return bytes(data)


def _write(stream: BinaryIO, result: dict[str, Any], data: bytes = b"") -> None:
    header = json.dumps(result).encode()
    stream.write(HEADER.pack(len(header)) + header + data)
    stream.flush()


def _mapped_bytes() -> int:
    """The address space this process has mapped now (Linux); 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def limit(*, memory: int, cpu_seconds: int) -> None:
    """Bound this process before it reads any file, and let every web worker go first: a
    decoder only gets the processor time that answering pages leaves over."""
    os.nice(10)
    mapped = _mapped_bytes()
    if mapped:
        resource.setrlimit(resource.RLIMIT_AS, (mapped + memory, mapped + memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def _prepare(kinds: set[str]) -> None:
    """Import every decoder the job needs before the limits are set (imports open files and
    map libraries)."""
    from PIL import Image, ImageOps  # noqa: F401

    Image.init()
    if "PDF" in kinds:
        import pikepdf  # noqa: F401


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    (size,) = HEADER.unpack(_read_exactly(stdin, HEADER.size))
    if size > MAX_HEADER_BYTES:
        return 2
    job = json.loads(_read_exactly(stdin, size))
    files = job["files"]
    _prepare({str(f["kind"]) for f in files})

    from haven.attachments.clean import CleanError, clean

    memory = int(job["memory"])
    limit(memory=memory, cpu_seconds=int(job["cpu_seconds"]))
    max_pixels = int(job["max_pixels"])
    max_output = int(job["max_output"])
    for entry in files:
        data = _read_exactly(stdin, int(entry["size"]))
        try:
            cleaned = clean(data, str(entry["kind"]), max_pixels=max_pixels, memory=memory)
        except CleanError as exc:
            _write(stdout, {"ok": False, "code": exc.code})
            continue
        except MemoryError:
            _write(stdout, {"ok": False, "code": "memory"})
            return 3  # the heap may be in pieces: stop here, the parent reports the rest
        except Exception:  # a decoder's own error on a hostile file: refuse that file only
            _write(stdout, {"ok": False, "code": "crash"})
            continue
        del data
        if len(cleaned.data) > max_output:
            _write(stdout, {"ok": False, "code": "output"})
            continue
        _write(
            stdout,
            {
                "ok": True,
                "format": cleaned.format,
                "removed": cleaned.removed,
                "size": len(cleaned.data),
            },
            cleaned.data,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
