"""`haven stats`: prepare, approve and audit releases from the server's terminal."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.stats.models import Release, ReleaseStatus
from tests.factories import PASSWORD
from tests.stats.conftest import seed_story, story_years

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def test_prepare_approve_and_audit_from_the_command(ctx, alice, heidi, ivan, password_file, capsys):
    seed_story(ctx=ctx, actor=alice)
    last, this = story_years()
    call_command(
        "stats",
        "release",
        "prepare",
        "--user",
        "heidi",
        "--password-file",
        str(password_file),
        "--start",
        f"{last}-01",
        "--end",
        f"{this}-06",
        "--grain",
        "year",
        "--table",
        "requests:period:channel",
        "--table",
        "people:occupation",
    )
    release = Release.objects.get()
    call_command(
        "stats",
        "release",
        "approve",
        str(release.pk),
        "--user",
        "ivan",
        "--password-file",
        str(password_file),
    )
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PUBLISHED
    call_command("stats", "audit", "--user", "heidi", "--password-file", str(password_file))
    out = capsys.readouterr().out
    assert "passes" in out and "1 published releases audited, 0 failing." in out
    call_command("stats", "release", "list")
    assert "published" in capsys.readouterr().out


def test_the_command_refuses_bad_input_with_a_clear_error(heidi, password_file):
    with pytest.raises(CommandError, match="At most 10 years"):
        call_command(
            "stats",
            "release",
            "prepare",
            "--user",
            "heidi",
            "--password-file",
            str(password_file),
            "--start",
            "2000-01",
            "--end",
            "2024-12",
            "--table",
            "requests:period",
        )
    with pytest.raises(CommandError, match="between 2 and 1000"):
        call_command(
            "stats",
            "release",
            "prepare",
            "--user",
            "heidi",
            "--password-file",
            str(password_file),
            "--start",
            "2024-01",
            "--end",
            "2024-12",
            "--table",
            "requests:period",
            "--k",
            "1",
        )
    assert not Release.objects.exists()


def test_a_wrong_password_opens_nothing(heidi, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n")
    with pytest.raises(CommandError, match="does not unlock"):
        call_command("stats", "audit", "--user", "heidi", "--password-file", str(wrong))
