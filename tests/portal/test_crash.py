"""The portal run as in production (`haven portal`, gunicorn workers) is killed with SIGKILL while
requests are being submitted: every acknowledged request is stored whole, nothing is stored half,
and the portal works again after a restart on the same database.

The server runs in its own process on the test database (a file on SQLite, the test database on
PostgreSQL), so these tests commit for real (``transaction=True``).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import pytest
from django.db import connection

from haven.audit.models import AuditEntry
from haven.audit.selectors import audit_verify
from haven.cases.models import Case, Group, JourneyEvent, Person, Request
from haven.portal.models import Receipt, UsedFormToken
from haven.portal.receipts import digest_of, receipt_normalise
from haven.vault.models import DataKey, Grant, SearchIndexPending, SearchToken

RECEIPT = re.compile(r'id="receipt">(\d{4}-\d{4}-\d{4}-\d{4}-\d{4})<')
TOKEN = re.compile(r'name="token" value="([^"]*)"')
PEOPLE = re.compile(r'name="people" value="([^"]*)"')

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = urllib.parse.quote(settings["USER"] or "")
    password = urllib.parse.quote(settings["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql://{auth}{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


class Portal:
    """`haven portal` in a process group of its own, so that one signal kills master and workers."""

    def __init__(self, port: int, log: Path, env: dict[str, str] | None = None):
        self.port = port
        self.log = log
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "haven.settings.test",
            "DATABASE_URL": _database_url(),
            "HAVEN_PORTAL_RECEIPT_OPSLIMIT": "1",
            "HAVEN_PORTAL_RECEIPT_MEMLIMIT": str(64 * 1024 * 1024),
            "HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE": "100000",
            **self.env,
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "haven.cli", "portal", "--no-migrate"]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"`haven portal` exited with {self.process.returncode}: "
                    + self.log.read_text(errors="replace")[-2000:]
                )
            try:
                status, _ = _get(self.port, "/portal/en/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("`haven portal` did not answer within 60 s")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _post(port: int, path: str, fields: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
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


def _form(port: int, names: list[str]) -> dict[str, str]:
    """A fresh request form for ``names``, filled in as a browser without JavaScript sends it."""
    status, html = _get(port, f"/portal/en/request/?people={len(names)}")
    token = TOKEN.search(html)
    people = PEOPLE.search(html)
    assert status == 200 and token and people, "the request form has no token"
    fields = {"token": unescape(token.group(1)), "people": unescape(people.group(1))}
    fields.update({f"name_{i}": name for i, name in enumerate(names)})
    fields.update(
        {"country": "CN", "region": "", "urgency": "3", "account": "We hide.", "contact": ""}
    )
    return fields


def _send(port: int, fields: dict[str, str]) -> str | None:
    """POST the form; the receipt if the request was acknowledged."""
    status, html = _post(port, "/portal/en/request/", fields)
    found = RECEIPT.search(html)
    return found.group(1) if status == 200 and found else None


def _submit(port: int, names: list[str]) -> str | None:
    return _send(port, _form(port, names))


@dataclass
class Load:
    """Requesters submitting without pause, each noting what was acknowledged."""

    port: int
    acknowledged: list[str] = field(default_factory=list)
    refused: int = 0  # answered, but not with a receipt
    unanswered: int = 0  # sent, and the connection died before an answer
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, worker: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            names = [f"Kim {worker}-{n}"] if n % 2 else [f"Pak {worker}-{n}", f"Ri {worker}-{n}"]
            try:
                fields = _form(self.port, names)
            except (OSError, http.client.HTTPException):
                continue  # the server is gone before anything was sent
            try:
                receipt = _send(self.port, fields)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.unanswered += 1
                continue
            with self.lock:
                if receipt:
                    self.acknowledged.append(receipt)
                else:
                    self.refused += 1


@pytest.fixture
def portal(org, tmp_path) -> Iterator[Portal]:
    server = Portal(_free_port(), tmp_path / "portal.log")
    try:
        yield server
    finally:
        server.stop()


def _kill_under_load(portal: Portal, *, threads: int = 6) -> Load:
    load = Load(portal.port)
    workers = [threading.Thread(target=load.run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 30
    while len(load.acknowledged) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    load.stop.set()  # no new form after this; the requests on the wire meet the kill
    portal.kill()
    for worker in workers:
        worker.join(timeout=30)
    return load


# Rows that hold a data key rather than being sealed under one.
_KEY_BOOKKEEPING = {Grant, SearchToken, SearchIndexPending}


def _assert_whole() -> None:
    """Every stored portal request has all its parts; no part exists without its request."""
    requests = list(Request.objects.all())
    assert Receipt.objects.count() == len(requests)
    for request in requests:
        cases = list(Case.objects.filter(request=request))
        assert len(cases) == request.people_count >= 1
        assert all(JourneyEvent.objects.filter(case=case).count() == 1 for case in cases)
        assert (Group.objects.filter(request=request).count() == 1) == (len(cases) > 1)
    assert Person.objects.count() == Case.objects.count()
    assert Case.objects.filter(request__isnull=True).count() == 0
    # No data key left over from a half-done submission: each one seals some stored record.
    sealing = [
        rel
        for rel in DataKey._meta.get_fields(include_hidden=True)
        if rel.auto_created
        and not rel.concrete
        and rel.remote_field.name == "data_key"
        and rel.related_model not in _KEY_BOOKKEEPING
    ]
    assert Request in {rel.related_model for rel in sealing}
    used: set[object] = set()
    for rel in sealing:
        used |= set(rel.related_model.objects.values_list("data_key_id", flat=True))
    assert set(DataKey.objects.values_list("pk", flat=True)) == used
    assert UsedFormToken.objects.count() == len(requests)
    assert AuditEntry.objects.filter(action="portal.request").count() == len(requests)
    assert audit_verify().ok


def test_a_killed_portal_stores_every_acknowledged_request_whole_and_nothing_half(portal):
    for _round in range(2):
        before = Request.objects.count()
        portal.start()
        load = _kill_under_load(portal)
        stored = Request.objects.count() - before

        assert load.acknowledged, "nothing was acknowledged before the kill"
        assert load.refused == 0
        for receipt in load.acknowledged:
            normalised = receipt_normalise(receipt)
            assert normalised is not None
            assert Receipt.objects.filter(digest=digest_of(normalised)).exists()
        # A request committed just before the kill may not have reached its requester (the
        # answer was lost with the process); it is stored whole, and staff see it. No more than
        # one per requester that was waiting.
        assert len(load.acknowledged) <= stored <= len(load.acknowledged) + load.unanswered
        _assert_whole()


def test_the_portal_answers_again_after_a_kill_and_finds_an_earlier_receipt(portal):
    portal.start()
    load = _kill_under_load(portal, threads=3)
    assert load.acknowledged

    portal.start()
    receipt = _submit(portal.port, ["Choe Un-hui"])
    assert receipt is not None
    status, html = _get(portal.port, "/portal/en/status/")
    token = TOKEN.search(html)
    assert status == 200 and token
    status, html = _post(
        portal.port,
        "/portal/en/status/",
        {"token": unescape(token.group(1)), "receipt": load.acknowledged[0]},
    )
    assert status == 200
    assert "could not find" not in html.lower()
    _assert_whole()


def test_the_portal_process_routes_no_staff_page(portal):
    portal.start()
    for path in ("/login/", "/api/cases/", "/admin/", "/cases/"):
        status, html = _get(portal.port, path)
        assert status == 404, path
        assert "/login/" not in html and "dashboard" not in html.lower()
    status, _html = _get(portal.port, "/portal/")
    assert status == 200
