"""Proof of the boundary: marker strings put in every sensitive field appear nowhere at rest.

The scenario writes through the real services and reads through the real pages, then scans the
database file (SQLite and its write-ahead log) or a pg_dump, the session table and every log
record. Plain columns may hold ids, states, timestamps, urgency, coarse countries and counts only.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse

from haven.brokers.services import broker_create
from haven.cases.journey import State
from haven.cases.models import Case
from haven.cases.services import (
    PersonInput,
    case_update,
    journey_advance,
    note_add,
    person_update,
    request_create,
)
from haven.referrals.services import consent_record, referral_create
from haven.vault.context import COOKIE_NAME
from tests.factories import PASSWORD, ctx_for, login_with_pages


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _markers() -> dict[str, str]:
    tag = secrets.token_hex(6)
    fields = [
        "account",
        "contact",
        "group",
        "hangul",
        "romanized",
        "alias",
        "origin",
        "own_words",
        "summary",
        "region",
        "place",
        "event_note",
        "note",
        "broker_alias",
        "broker_region",
        "broker_contact",
        "fees",
        "warnings",
        "consent_words",
        "cover_note",
        "family",
    ]
    # Hangul markers too, so that UTF-8 encodings are scanned for as well as ASCII.
    return {f: (f"마커{tag}{f}" if f in ("hangul", "account") else f"MARK{tag}{f}") for f in fields}


def _database_bytes() -> bytes:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        path = Path(settings["NAME"])
        data = path.read_bytes()
        wal = Path(f"{path}-wal")
        return data + (wal.read_bytes() if wal.exists() else b"")
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    dump = subprocess.run(  # noqa: S603 - fixed argument list
        [
            shutil.which("pg_dump") or "pg_dump",
            "--data-only",
            "--no-owner",
            "-h",
            settings.get("HOST") or "127.0.0.1",
            "-p",
            str(settings.get("PORT") or 5432),
            "-U",
            settings.get("USER") or "postgres",
            settings["NAME"],
        ],
        capture_output=True,
        check=True,
        env=env,
    )
    return dump.stdout


def _recent_files(since: float) -> dict[Path, bytes]:
    """Files written since ``since`` in the temp directory and Haven's data directory (not the
    database itself, scanned separately)."""
    found: dict[Path, bytes] = {}
    for root in {Path(tempfile.gettempdir()), Path(django_settings.DATA_DIR)}:
        for path in root.rglob("*"):
            try:
                if (
                    path.is_file()
                    and path.stat().st_mtime >= since
                    and path.stat().st_size < 50_000_000
                ):
                    found[path] = path.read_bytes()
            except OSError:
                continue  # another process's file that vanished or is unreadable
    return found


@pytest.mark.django_db(transaction=True)
def test_no_sensitive_value_is_readable_at_rest_or_in_logs(client, alice, partner):
    started = time.time() - 1
    m = _markers()
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        ctx = ctx_for(alice)
        broker = broker_create(
            ctx=ctx,
            actor=alice,
            alias=m["broker_alias"],
            region=m["broker_region"],
            contact=m["broker_contact"],
            fee_notes=m["fees"],
            warnings=m["warnings"],
        )
        person = PersonInput(
            name_hangul=m["hangul"],
            name_romanized=m["romanized"],
            aliases=[m["alias"]],
            origin_region=m["origin"],
            own_words=m["own_words"],
            sex="female",
            birth_value="1991",
            birth_precision="year",
            occupation="trader",
        )
        request = request_create(
            ctx=ctx,
            actor=alice,
            channel="broker",
            broker=broker,
            account=m["account"],
            contact=m["contact"],
            people=[person, PersonInput(name_hangul="둘째")],
            group_label=m["group"],
            country="CN",
        )
        case = (
            Case.objects.select_related("data_key", "person")
            .filter(request=request)
            .order_by("opened_at", "id")
            .first()
        )
        assert case is not None
        case = Case.objects.select_related("data_key", "person").get(pk=case.pk)
        case_update(
            ctx=ctx, actor=alice, case=case, expected_version=case.version, summary=m["summary"]
        )
        person_update(
            ctx=ctx,
            actor=alice,
            case=case,
            expected_version=case.person.version,
            person=person,
            family=[{"relation": "sister", "name": m["family"], "case_id": ""}],
        )
        for target in (State.VERIFYING, State.ACCEPTED):
            journey_advance(
                ctx=ctx,
                actor=alice,
                case=case,
                to_state=target,
                expected_version=case.version,
                country="CN",
                region=m["region"],
                place=m["place"],
                note=m["event_note"],
            )
        note_add(ctx=ctx, actor=alice, case=case, text=m["note"])
        consent = consent_record(
            ctx=ctx,
            actor=alice,
            case=case,
            partner=partner,
            purpose="relief",
            fields=["name_hangul"],
            method="own_words",
            words=m["consent_words"],
        )
        referral_create(
            ctx=ctx,
            actor=alice,
            case=case,
            partner=partner,
            purpose="relief",
            disclosed_fields=["name_hangul"],
            consent=consent,
            cover_note=m["cover_note"],
        )
        # Read everything back through the pages, as staff would (sessions, audit, logs).
        assert login_with_pages(client, alice).status_code == 302
        key_secret = client.cookies[COOKIE_NAME].value
        page = client.get(reverse("web:case", args=[case.pk])).content.decode()
        assert m["hangul"] in page and m["place"] in page  # the pages do show them
        client.get(reverse("web:request", args=[request.pk]))
        client.get(reverse("web:cases"))
        client.get(reverse("web:broker", args=[broker.pk]))
        client.get(f"/api/cases/{case.pk}/")
    finally:
        root.removeHandler(capture)
        root.setLevel(previous_level)

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    at_rest = _database_bytes()
    sessions = b"".join(s.session_data.encode() for s in Session.objects.all())
    logs = "\n".join(capture.lines)
    temp_files = _recent_files(started)
    for field, marker in m.items():
        encoded = marker.encode()
        assert encoded not in at_rest, f"{field} is readable in the database"
        assert encoded not in sessions, f"{field} is in a session"
        assert marker not in logs, f"{field} was logged"
        for path, content in temp_files.items():
            assert encoded not in content, f"{field} is in {path}"
    # The cookie half of alice's session key is nowhere on the server, nor is her password.
    for secret in (key_secret.encode(), PASSWORD.encode()):
        assert secret not in at_rest and secret not in sessions
        assert secret.decode() not in logs
    # The scan is real: an id we do store in a plain column is found in the same bytes.
    assert case.pk.hex.encode() in at_rest.replace(b"-", b"")
