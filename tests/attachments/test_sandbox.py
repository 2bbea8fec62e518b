"""The decoder process: a fresh process with no secret, bounded in memory and time, that writes
no file; a bounded number at once, with a bounded number of requests waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from haven.attachments import sandbox
from haven.attachments.decoder import HEADER
from tests.attachments import samples


@pytest.fixture(autouse=True)
def _own_decoder_dir(settings, tmp_path, monkeypatch):
    settings.HAVEN_ATTACHMENT_DECODE_DIR = str(tmp_path / "decoders")
    monkeypatch.delenv("HAVEN_SERVER_WORKERS", raising=False)  # no server's worker count


def test_a_file_is_cleaned_in_another_process_and_comes_back_over_a_pipe(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with sandbox.decoder_place():
        [result] = sandbox.decode([sandbox.Job(kind="JPEG", data=samples.jpeg_with_gps())])
    assert result.code is None and result.format == "JPEG"
    assert b"MarkerCam" not in result.data and {"exif", "gps"} <= set(result.removed)
    assert list((tmp_path / "tmp").iterdir()) == []
    # The only files the decoders leave are their empty lock files.
    folder = tmp_path / "decoders"
    assert all(p.name.endswith(".lock") and p.stat().st_size == 0 for p in folder.iterdir())


def test_the_decoder_starts_without_secrets_and_may_write_no_file(tmp_path):
    """Run the decoder's own limits in a process started as the sandbox starts it, and try what
    a decoder taken over by a hostile file would try."""
    probe = (
        "import os, json, resource\n"
        "from haven.attachments.decoder import limit\n"
        "limit(memory=64 * 1024 * 1024, cpu_seconds=5)\n"
        "out = {'env': sorted(os.environ)}\n"
        "try:\n"
        f"    open({str(tmp_path / 'leak')!r}, 'wb', buffering=0).write(b'x')\n"
        "    out['wrote'] = True\n"
        "except OSError:\n"
        "    out['wrote'] = False\n"
        "try:\n"
        "    if os.fork() == 0:\n"
        "        os._exit(0)\n"
        "    out['forked'] = True\n"
        "except OSError:\n"
        "    out['forked'] = False\n"
        "try:\n"
        "    bytearray(256 * 1024 * 1024)\n"
        "    out['memory'] = True\n"
        "except MemoryError:\n"
        "    out['memory'] = False\n"
        "out['core'] = resource.getrlimit(resource.RLIMIT_CORE)\n"
        "print(json.dumps(out))\n"
    )
    command = sandbox._command()[:2] + ["-c", probe]
    done = subprocess.run(  # noqa: S603 - our interpreter
        command,
        env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
        capture_output=True,
        check=True,
        cwd="/",
    )
    found = json.loads(done.stdout)
    assert not any("SECRET" in name or "DATABASE" in name for name in found["env"])
    assert found == {**found, "wrote": False, "memory": False, "core": [0, 0]}
    assert not (tmp_path / "leak").exists() or (tmp_path / "leak").stat().st_size == 0
    # RLIMIT_NPROC binds every user but root (as Haven is deployed: never as root).
    assert found["forked"] is (os.geteuid() == 0)


def test_the_sandbox_passes_no_environment_to_the_decoder(monkeypatch):
    seen = {}
    real = subprocess.Popen

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setenv("HAVEN_SECRET_KEY", "must-not-reach-the-decoder")
    monkeypatch.setattr(subprocess, "Popen", spy)
    with sandbox.decoder_place():
        sandbox.decode([sandbox.Job(kind="PNG", data=samples.png())])
    assert set(seen["env"]) == {"PATH", "LC_ALL"} and seen["close_fds"] is True


def test_a_decoder_that_dies_is_reported_for_the_files_it_did_not_answer(monkeypatch, caplog):
    monkeypatch.setattr(
        sandbox, "_command", lambda: [sys.executable, "-I", "-c", "import os; os.abort()"]
    )
    with sandbox.decoder_place():
        results = sandbox.decode([sandbox.Job(kind="PNG", data=samples.png())] * 2)
    assert [r.code for r in results] == [sandbox.CRASH, sandbox.CRASH]
    assert "attachment decoder stopped (crash)" in caplog.text


def test_a_decoder_past_its_wall_clock_deadline_is_killed(monkeypatch, settings):
    settings.HAVEN_ATTACHMENT_DECODE_SECONDS = 1  # 4 s by the clock
    monkeypatch.setattr(
        sandbox, "_command", lambda: [sys.executable, "-I", "-c", "import time; time.sleep(60)"]
    )
    started = time.monotonic()
    with sandbox.decoder_place():
        [result] = sandbox.decode([sandbox.Job(kind="PNG", data=samples.png())])
    assert result.code == sandbox.TIME
    assert time.monotonic() - started < 10


def test_an_answer_that_is_not_ours_is_a_crash_not_an_error(monkeypatch):
    header = json.dumps({"ok": True, "format": "PNG", "size": 10**9}).encode()
    script = (
        "import sys; sys.stdin.buffer.read(); "
        f"sys.stdout.buffer.write({HEADER.pack(len(header)) + header!r})"
    )
    monkeypatch.setattr(sandbox, "_command", lambda: [sys.executable, "-I", "-c", script])
    with sandbox.decoder_place():
        [result] = sandbox.decode([sandbox.Job(kind="PNG", data=samples.png())])
    assert result.code == sandbox.CRASH


def test_a_request_waits_for_a_busy_decoder_in_a_waiting_place(settings):
    settings.HAVEN_ATTACHMENT_DECODERS = 1
    settings.HAVEN_ATTACHMENT_DECODE_QUEUE = 1
    settings.HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS = 5
    held = sandbox._try_place("decoder", 1)
    threading.Timer(0.5, sandbox._release, args=[held]).start()
    started = time.monotonic()
    with sandbox.decoder_place():
        waited = time.monotonic() - started
    assert 0.4 < waited < 4


def test_past_the_waiting_places_a_request_is_turned_away_at_once(settings):
    settings.HAVEN_ATTACHMENT_DECODERS = 1
    settings.HAVEN_ATTACHMENT_DECODE_QUEUE = 1
    settings.HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS = 30
    held = [sandbox._try_place("decoder", 1), sandbox._try_place("waiting", 1)]
    started = time.monotonic()
    with pytest.raises(sandbox.DecoderBusyError), sandbox.decoder_place():
        pass
    assert time.monotonic() - started < 1
    for fd in held:
        sandbox._release(fd)


def test_a_wait_that_runs_out_is_turned_away(settings):
    settings.HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS = 1
    held = sandbox._try_place("decoder", 1)
    with pytest.raises(sandbox.DecoderBusyError), sandbox.decoder_place():
        pass
    sandbox._release(held)


def test_a_place_held_by_a_killed_process_frees_itself(settings, tmp_path):
    (tmp_path / "decoders").mkdir(exist_ok=True)
    holder = subprocess.Popen(  # noqa: S603 - our interpreter
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(tmp_path / 'decoders' / 'decoder-0.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    assert sandbox._try_place("decoder", 1) is None
    holder.kill()
    holder.wait()
    fd = sandbox._try_place("decoder", 1)
    assert fd is not None
    sandbox._release(fd)


@pytest.mark.parametrize(
    ("workers", "decoders", "queue", "expected"),
    [
        ("", 2, 3, (2, 3)),  # no worker count known: as configured
        ("2", 1, 1, (1, 0)),  # two workers: one may be busy with files, never both
        ("4", 1, 1, (1, 1)),
        ("4", 4, 4, (3, 0)),
        ("1", 1, 1, (1, 0)),  # one worker cannot keep one free
    ],
)
def test_files_never_busy_every_worker_of_a_server(
    settings, monkeypatch, workers, decoders, queue, expected
):
    monkeypatch.setenv("HAVEN_SERVER_WORKERS", workers)
    settings.HAVEN_ATTACHMENT_DECODERS = decoders
    settings.HAVEN_ATTACHMENT_DECODE_QUEUE = queue
    assert sandbox.places() == expected


def test_the_server_tells_its_workers_how_many_they_are(monkeypatch):
    from haven.demo import server

    monkeypatch.setenv("HAVEN_SERVER_WORKERS", "")  # restored after the test
    monkeypatch.setattr(server.HavenServer, "run", lambda self: None)
    server.serve(host="127.0.0.1", port=8299, workers=3)
    assert os.environ["HAVEN_SERVER_WORKERS"] == "3"
