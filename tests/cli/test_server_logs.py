"""`haven run` and `haven portal` log no client address, Host header or request line.

docs/security.md: "no request bodies, IP addresses or user agents are logged". A real gunicorn is
started in a subprocess, sent a malformed request, an invalid header and a Host header not in
HAVEN_ALLOWED_HOSTS, and everything it wrote is scanned.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

MARKER = "zq7marker"  # in every request line, so that a logged request line is found
BAD_HOST = "evil-host-zq7.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _send(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    parts = answer.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _serve(command: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path, Path]:
    port = _free_port()
    out, err = tmp_path / f"{command}.out", tmp_path / f"{command}.err"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "haven.settings.base",
        "HAVEN_DATA_DIR": str(tmp_path / f"data-{command}"),
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(50),
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "haven.cli", command, "--host", "127.0.0.1", "--port", str(port)]
        + ["--workers", "1"],
        env=env,
        cwd=tmp_path,
        stdout=out.open("wb"),
        stderr=err.open("wb"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`haven {command}` exited: {err.read_text(errors='replace')}")
        try:
            answer = _send(port, b"GET /portal/en/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            if _status(answer) == 200:
                return process, port, out, err
        except OSError:
            pass
        time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"`haven {command}` did not answer within 120 s")


@pytest.mark.parametrize("command", ["run", "portal"])
def test_no_client_address_host_header_or_request_line_is_logged(command, tmp_path):
    process, port, out, err = _serve(command, tmp_path)
    try:
        answers = [
            _send(port, f"NOT HTTP AT ALL /{MARKER}\r\n\r\n".encode()),
            _send(port, f"GET /{MARKER} HTTP/1.1\r\nBad Header {MARKER}\r\n\r\n".encode()),
            _send(port, f"GET /{MARKER} HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n".encode()),
            _send(port, f"GET /portal/?{MARKER} HTTP/1.0\r\nHost: {BAD_HOST}\r\n\r\n".encode()),
        ]
        time.sleep(1)  # let the worker flush its log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    assert [_status(answer) for answer in answers] == [400, 400, 400, 400], answers
    logs = err.read_text(errors="replace")
    printed = out.read_text(errors="replace").splitlines()[1:]  # after "serving on ..."
    logged = logs + "\n".join(printed)
    # Something is logged for the bad requests...
    assert "Refused a malformed request (Invalid HTTP request line)" in logged
    assert "Refused a request (DisallowedHost)" in logged
    assert "127.0.0.1" not in logged  # ...but not who sent them
    assert MARKER not in logged and BAD_HOST not in logged


# -- the scrubbing itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "args", "expected"),
    [
        (
            "Invalid request from ip={ip}: Invalid HTTP request line: 'GET /x'",
            (),
            "Refused a malformed request (Invalid HTTP request line); its sender and content "
            "are not logged",
        ),
        ("Error handling request %s %s", ("GET", "/portal/secret"), "Error handling a request"),
        ("Worker from %s at 10.1.2.3:443 and [fe80::1%%eth0]", ("2001:db8::7",), "[address]"),
        ("WORKER TIMEOUT (pid:%s) at 12:30:45", (42,), "WORKER TIMEOUT (pid:42) at 12:30:45"),
    ],
)
def test_gunicorn_messages_lose_addresses_and_request_lines(message, args, expected):
    from haven.logs import gunicorn_message

    text = gunicorn_message(message, args)

    assert expected in text
    for secret in ("10.1.2.3", "2001:db8::7", "fe80::1", "/portal/secret", "GET /x"):
        assert secret not in text


def test_django_security_records_keep_only_which_check_refused(caplog):
    import logging

    from haven.logs import SuspiciousRequestFilter

    record = logging.LogRecord(
        "django.security.DisallowedHost",
        logging.ERROR,
        __file__,
        1,
        "Invalid HTTP_HOST header: %r.",
        (BAD_HOST,),
        (ValueError, ValueError(BAD_HOST), None),
    )
    assert SuspiciousRequestFilter().filter(record)
    assert record.getMessage() == (
        "Refused a request (DisallowedHost); its sender and content are not logged"
    )
    assert record.exc_info is None
