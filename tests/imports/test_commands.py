"""`haven import`: dry run, bad-rows file, commit with a progress bar, resume, undo, refusals."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.cases.models import Person
from haven.imports.models import ImportBatch, ImportStatus
from haven.imports.reading import read_table
from tests.factories import PASSWORD
from tests.imports import samples

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("importdata", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_dry_run_prints_the_report_and_loads_nothing(alice, tmp_path, password_file):
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(
        samples.csv_bytes(
            ["이름", "생년월일"], [["김선희", "1990-03-05"], ["박", "어제"]], encoding="cp949"
        )
    )
    out, _err = _run(str(sheet), "--supervisor", "alice", "--password-file", str(password_file))
    assert "1 of 2 rows will load" in out
    assert "row 3, 생년월일:" in out
    assert "'이름'" in out and "-> name_hangul" in out
    assert "Dry run only" in out
    assert Person.objects.count() == 0
    assert ImportBatch.objects.get().status == ImportStatus.STAGED


def test_commit_loads_with_a_progress_bar_and_writes_the_bad_rows_file(
    alice, tmp_path, password_file
):
    sheet = tmp_path / "people.xlsx"
    sheet.write_bytes(
        samples.xlsx_bytes(
            ["Name", "Born"], [["Kim Sun-hui", "1990"], ["=1+1", "1991"], ["Pak", "1990-13-01"]]
        )
    )
    bad = tmp_path / "bad.csv"
    out, err = _run(
        str(sheet),
        "--supervisor",
        "alice",
        "--password-file",
        str(password_file),
        "--commit",
        "--bad-rows",
        str(bad),
    )
    assert "Loaded 1 people in 1 requests" in out
    assert "loading chunks" in err
    assert Person.objects.count() == 1
    assert stat.S_IMODE(bad.stat().st_mode) == 0o600
    table = read_table(bad.read_bytes())
    assert [row[0] for _n, row in table.rows] == ["3", "4"]
    assert "formula" in table.rows[0][1][-1] and "no month 13" in table.rows[1][1][-1]


def test_resume_and_undo(alice, tmp_path, password_file):
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(samples.csv_bytes())
    _run(str(sheet), "--supervisor", "alice", "--password-file", str(password_file))
    batch = ImportBatch.objects.get()
    out, _ = _run(
        "--resume", str(batch.pk), "--supervisor", "alice", "--password-file", str(password_file)
    )
    assert "Loaded 4 people" in out
    out, _ = _run(
        "--undo", str(batch.pk), "--supervisor", "alice", "--password-file", str(password_file)
    )
    assert "4 requests destroyed" in out
    assert Person.objects.count() == 0
    out, _ = _run("--list")
    assert str(batch.pk) in out


def test_explicit_columns_and_a_saved_mapping(alice, tmp_path, password_file):
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(samples.csv_bytes(["Who", "When"], [["Kim", "12/25/1990"]]))
    out, _ = _run(
        str(sheet),
        "--supervisor",
        "alice",
        "--password-file",
        str(password_file),
        "--map",
        "Who=name_romanized",
        "--map",
        "When=birth",
        "--date-order",
        "mdy",
        "--save-mapping",
        "old list",
    )
    assert "1 of 1 rows will load" in out and "Mapping saved" in out
    out, _ = _run(
        str(sheet),
        "--supervisor",
        "alice",
        "--password-file",
        str(password_file),
        "--mapping",
        "old list",
        "--commit",
    )
    assert "Loaded 1 people" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (samples.xml_bomb, "document type declaration"),
        (lambda: samples.xlsx_bytes(merge="A2:A3"), "merged cells"),
        (lambda: b"", "empty"),
    ],
)
def test_hostile_files_get_a_clear_error_and_store_nothing(
    alice, tmp_path, password_file, content, message
):
    sheet = tmp_path / "x.xlsx"
    sheet.write_bytes(content())
    with pytest.raises(CommandError, match=message):
        _run(str(sheet), "--supervisor", "alice", "--password-file", str(password_file), "--commit")
    assert not ImportBatch.objects.exists() and not Person.objects.exists()


def test_refusals(alice, bob, tmp_path, password_file):
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(samples.csv_bytes())
    with pytest.raises(CommandError, match="not an active supervisor"):
        _run(str(sheet), "--supervisor", "bob", "--password-file", str(password_file))
    with pytest.raises(CommandError, match="Cannot read"):
        _run(
            str(tmp_path / "missing.csv"),
            "--supervisor",
            "alice",
            "--password-file",
            str(password_file),
        )
    with pytest.raises(CommandError, match="No import"):
        _run("--resume", "nope", "--supervisor", "alice", "--password-file", str(password_file))
    with pytest.raises(CommandError, match="HEADER=FIELD"):
        _run(
            str(sheet), "--supervisor", "alice", "--password-file", str(password_file), "--map", "x"
        )
    assert not ImportBatch.objects.exists()
