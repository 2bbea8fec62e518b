"""`haven backup`, `haven backup verify` and `haven restore` as an operator runs them: each in a
process of its own against the test database (which therefore commits for real)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from haven.accounts.models import User
from haven.cases.models import Case, Note
from haven.cases.services import note_add
from haven.vault.sealed import payload_read
from tests.backups.conftest import destroy_database
from tests.factories import PASSWORD, ctx_for, make_case

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    user = urllib.parse.quote(config["USER"] or "")
    password = urllib.parse.quote(config["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = config["HOST"] or "127.0.0.1"
    return f"postgresql://{auth}{host}:{config['PORT'] or 5432}/{config['NAME']}"


def haven(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "haven.settings.test",
        "DATABASE_URL": _database_url(),
        "HAVEN_SECRET_KEY": settings.SECRET_KEY,
        "HAVEN_DATA_DIR": str(settings.DATA_DIR),
        "HAVEN_ERASURE_STORE": str(settings.HAVEN_ERASURE_STORE),
        "HAVEN_BACKUP_DIR": str(settings.HAVEN_BACKUP_DIR),
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "haven.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def words_file(org, tmp_path: Path) -> Path:
    path = tmp_path / "words.txt"
    path.write_text(" ".join(org.recovery_words))
    return path


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


def _archive_from(output: str) -> Path:
    line = next(line for line in output.splitlines() if line.startswith("Backup written: "))
    return Path(line.split(": ", 1)[1].split(" (", 1)[0])


def _signer_from(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Signed by key "))
    return line.split("Signed by key ", 1)[1].split(":", 1)[0]


def test_backup_destroy_everything_restore_and_verify_from_the_command_line(
    org, ctx, alice, bob, store_path, words_file, password_file
) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="hiding near the river")

    made = haven("backup")
    assert made.returncode == 0, made.stderr
    archive, signer = _archive_from(made.stdout), _signer_from(made.stdout)
    assert archive.exists()
    assert "opens with the recovery words or the password of any of the 1 supervisors" in (
        made.stdout
    )

    verified = haven("backup", "verify", str(archive), "--words-file", str(words_file))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Backup OK" in verified.stdout and "canary" in verified.stdout

    destroy_database()
    store_path.unlink()

    no_signer = haven("restore", str(archive), "--words-file", str(words_file))
    assert no_signer.returncode == 1
    assert "--signer" in no_signer.stderr and "Nothing was changed" in no_signer.stderr
    assert not store_path.exists()

    restored = haven(
        "restore",
        str(archive),
        "--supervisor",
        "alice",
        "--password-file",
        str(password_file),
        "--signer",
        signer,
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restart every Haven process" in restored.stdout
    assert "Traceback" not in restored.stderr

    audit = haven("audit", "verify")
    assert audit.returncode == 0 and "intact" in audit.stdout
    check = haven("check")
    assert "erasure store" in check.stdout and "this database's" in check.stdout

    bob_ctx = ctx_for(User.objects.get(username="bob"))
    note = Note.objects.get(case=Case.objects.get(pk=case.pk))
    assert payload_read(ctx=bob_ctx, record=note)["text"] == "hiding near the river"

    again = haven("backup", "verify", str(archive), "--words-file", str(words_file))
    assert again.returncode == 0, again.stdout + again.stderr


def test_bad_input_gets_a_clear_error_and_an_exit_status(
    org, alice, store_path, words_file, tmp_path
) -> None:
    missing = haven(
        "backup", "verify", str(tmp_path / "missing.havenbackup"), "--words-file", str(words_file)
    )
    assert missing.returncode == 2
    assert "There is no file" in missing.stderr and "Traceback" not in missing.stderr

    made = haven("backup")
    archive = _archive_from(made.stdout)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    cut = haven("restore", str(archive), "--words-file", str(words_file), "--replace")
    assert cut.returncode == 1
    assert "cut short" in cut.stderr and "Nothing was changed" in cut.stderr

    archive.write_bytes(raw[:-100] + bytes([raw[-100] ^ 1]) + raw[-99:])
    tampered = haven("backup", "verify", str(archive), "--words-file", str(words_file))
    assert tampered.returncode == 1
    assert "FAIL signature" in tampered.stdout and "Backup NOT OK" in tampered.stderr

    nobody = haven("restore", str(archive))
    assert nobody.returncode == 1 and "Say who opens the archive" in nobody.stderr

    wrong = tmp_path / "wrong.txt"
    wrong.write_text("abandon " * 24)
    bad_words = haven("restore", str(archive), "--words-file", str(wrong))
    assert bad_words.returncode == 1 and "checksum" in bad_words.stderr
