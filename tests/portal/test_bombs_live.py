"""The portal as deployed (`haven portal`, two gunicorn workers) under the attack of issue 17,
finding 2: requests carrying decompression bombs (five 49-megapixel WebPs of a few bytes each,
as found) and PDFs that cost a parser seconds and hundreds of MB, sent in parallel without
pause, while the start page is probed and requesters file ordinary requests. The start page
must keep answering, every bomb must get a kind refusal (never a 500 or a dropped
connection), nothing of a bomb may be stored, and every acknowledged request must be.

The server is a process of its own on the test database, so this test commits for real.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

import pytest

from haven.attachments.models import Attachment
from haven.cases.models import Request
from haven.portal.models import Receipt
from tests.attachments import samples
from tests.portal.test_crash import RECEIPT, Portal, _form, _free_port, _get, _submit

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "HavenLiveBoundary1x2y3z"
SECONDS = 20


def _post_files(port: int, fields: dict[str, str], files: list[tuple[str, bytes]]) -> int:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for name, content in files:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
    try:
        conn.request(
            "POST",
            "/portal/en/request/",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        response = conn.getresponse()
        html = response.read().decode()
        assert not RECEIPT.search(html), "a bomb was acknowledged"
        return response.status
    finally:
        conn.close()


@dataclass
class Attack:
    port: int
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bombs(self, files: list[tuple[str, bytes]]) -> None:
        while not self.stop.is_set():
            try:
                status = _post_files(self.port, _form(self.port, ["Kim"]), files)
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(repr(exc))
                continue
            with self.lock:
                self.statuses.append(status)

    def requester(self) -> None:
        while not self.stop.is_set():
            try:
                receipt = _submit(self.port, ["Ri"])
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(repr(exc))
                continue
            if receipt:
                with self.lock:
                    self.acknowledged.append(receipt)
            time.sleep(0.5)


def test_the_start_page_answers_while_bombs_are_being_decoded(org, tmp_path):
    portal = Portal(
        _free_port(),
        tmp_path / "portal.log",
        env={
            "HAVEN_ATTACHMENT_DECODE_SECONDS": "1",
            "HAVEN_ATTACHMENT_DECODE_DIR": str(tmp_path / "decoders"),
        },
    )
    webp = [(f"photo{i}.webp", samples.webp_bomb(7000, 7000)) for i in range(5)]
    pdf = [("letter.pdf", samples.pdf_object_bomb(150_000))]
    portal.start()
    attack = Attack(portal.port)
    threads = [threading.Thread(target=attack.bombs, args=(webp,)) for _ in range(4)]
    threads += [threading.Thread(target=attack.bombs, args=(pdf,)) for _ in range(2)]
    threads.append(threading.Thread(target=attack.requester))
    probes: list[float | str] = []
    try:
        for thread in threads:
            thread.start()
        time.sleep(1)
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status, _html = _get(portal.port, "/portal/en/")
                probes.append(time.monotonic() - started if status == 200 else f"HTTP {status}")
            except (OSError, http.client.HTTPException) as exc:
                probes.append(repr(exc))
            time.sleep(0.25)
    finally:
        attack.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        portal.stop()

    log = (tmp_path / "portal.log").read_text(errors="replace")
    answered = [p for p in probes if isinstance(p, float)]
    assert len(answered) == len(probes), ([p for p in probes if not isinstance(p, float)], log)
    assert max(answered) < 5, sorted(answered)[-5:]
    assert attack.failures == [], (attack.failures[:5], log[-3000:])
    assert attack.statuses and set(attack.statuses) == {400}, set(attack.statuses)
    # The PDFs reached the decoder and were stopped there; no worker was killed.
    assert "attachment decoder stopped (time)" in log
    assert "WORKER TIMEOUT" not in log
    # Nothing of a bomb is stored; every acknowledged request is.
    assert Attachment.objects.count() == 0
    assert attack.acknowledged
    assert Request.objects.count() == Receipt.objects.count() == len(attack.acknowledged)
