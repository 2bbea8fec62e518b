"""`haven check` and the local development keys: clear messages, exit 1 when unsafe."""

from __future__ import annotations

import base64
import os
import secrets
import stat
import subprocess
import sys

import pytest

from haven.cli import SetupError, ensure_local_keys, main

GOOD_SECRET = secrets.token_urlsafe(50)
GOOD_ORG = base64.b64encode(secrets.token_bytes(32)).decode()


def haven(*args: str, cwd, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real `haven` command in a fresh process with only the given environment."""
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "LANG": "C.UTF-8"}
    clean.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "haven.cli", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_reports_missing_keys_clearly(tmp_path):
    result = haven("check", cwd=tmp_path, HAVEN_DATA_DIR=str(tmp_path / "data"))

    assert result.returncode == 1
    assert "HAVEN_SECRET_KEY is not set" in result.stdout
    assert "HAVEN_ORG_KEY is not set" in result.stdout
    assert "unsafe" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()  # check changes nothing


@pytest.mark.parametrize(
    ("org_key", "expected"),
    [
        ("not base64 at all!", "HAVEN_ORG_KEY must be base64"),
        (base64.b64encode(b"x" * 16).decode(), "must decode to 32 bytes, not 16"),
    ],
)
def test_check_reports_malformed_org_key(tmp_path, org_key, expected):
    result = haven(
        "check",
        cwd=tmp_path,
        HAVEN_DATA_DIR=str(tmp_path),
        HAVEN_SECRET_KEY=GOOD_SECRET,
        HAVEN_ORG_KEY=org_key,
    )

    assert result.returncode == 1
    assert expected in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_reports_weak_secret_and_unreadable_key_file(tmp_path):
    result = haven(
        "check",
        cwd=tmp_path,
        HAVEN_DATA_DIR=str(tmp_path),
        HAVEN_SECRET_KEY="short",
        HAVEN_ORG_KEY_FILE=str(tmp_path / "missing.key"),
    )

    assert result.returncode == 1
    assert "too weak" in result.stdout
    assert "missing.key, which cannot be read" in result.stdout


def test_check_passes_on_a_migrated_local_setup_and_fails_unsafe_production(tmp_path):
    env = {
        "HAVEN_DATA_DIR": str(tmp_path),
        "HAVEN_SECRET_KEY": GOOD_SECRET,
        "HAVEN_ORG_KEY": GOOD_ORG,
    }
    unmigrated = haven("check", cwd=tmp_path, **env)
    assert unmigrated.returncode == 1
    assert "not applied; run `haven migrate`" in unmigrated.stdout

    assert haven("migrate", "-v", "0", cwd=tmp_path, **env).returncode == 0
    ok = haven("check", cwd=tmp_path, **env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Configuration OK" in ok.stdout
    assert "fingerprint" in ok.stdout and GOOD_ORG not in ok.stdout

    unsafe = haven(
        "check",
        cwd=tmp_path,
        HAVEN_ENV="production",
        HAVEN_DEBUG="true",
        HAVEN_ALLOWED_HOSTS="*",
        **env,
    )
    assert unsafe.returncode == 1
    assert "DEBUG is on in production" in unsafe.stdout
    assert "HTTPS is off in production" in unsafe.stdout
    assert "contains '*'" in unsafe.stdout


def test_production_never_generates_keys(tmp_path):
    result = haven("migrate", cwd=tmp_path, HAVEN_ENV="production")

    assert result.returncode == 2
    assert "HAVEN_SECRET_KEY and HAVEN_ORG_KEY must be set" in result.stderr
    assert "never generates" in result.stderr
    assert not (tmp_path / ".haven-data").exists()


def test_explicit_data_dir_without_keys_is_a_clear_configuration_error(tmp_path):
    result = haven("migrate", cwd=tmp_path, HAVEN_DATA_DIR=str(tmp_path / "d"))

    assert result.returncode == 2
    assert "HAVEN_SECRET_KEY (or HAVEN_SECRET_KEY_FILE) must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_keys_are_created_once_with_mode_0600(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}

    created = ensure_local_keys(env, "demo")

    data = tmp_path / ".haven-data"
    assert sorted(created) == ["org.key", "secret_key"]
    assert env["HAVEN_SECRET_KEY_FILE"] == str(data / "secret_key")
    assert env["HAVEN_ORG_KEY_FILE"] == str(data / "org.key")
    for name in ("secret_key", "org.key"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert len(base64.b64decode((data / "org.key").read_text())) == 32
    assert "local development keys" in capsys.readouterr().err

    org = (data / "org.key").read_text()
    again: dict[str, str] = {}
    assert ensure_local_keys(again, "run") == []
    assert (data / "org.key").read_text() == org


def test_check_reuses_local_keys_but_never_creates_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}
    assert ensure_local_keys(env, "check") == []
    assert env == {} and not (tmp_path / ".haven-data").exists()

    ensure_local_keys({}, "demo")
    assert ensure_local_keys(env, "check") == []
    assert "HAVEN_ORG_KEY_FILE" in env


def test_configured_keys_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"HAVEN_SECRET_KEY": GOOD_SECRET, "HAVEN_ORG_KEY_FILE": "/run/secrets/org"}
    assert ensure_local_keys(env, "run") == []
    assert env == {"HAVEN_SECRET_KEY": GOOD_SECRET, "HAVEN_ORG_KEY_FILE": "/run/secrets/org"}
    with pytest.raises(SetupError):
        ensure_local_keys({"HAVEN_ENV": "production"}, "run")


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "demo", "createuser", "check"):
        assert command in out


@pytest.mark.django_db
def test_run_validates_arguments_then_serves(monkeypatch, capsys):
    served = {}
    monkeypatch.setattr(
        "haven.demo.management.commands.run.serve", lambda **kwargs: served.update(kwargs)
    )

    assert main(["run", "--port", "70000"]) == 2
    assert "between 1 and 65535" in capsys.readouterr().err
    assert main(["run", "--workers", "0"]) == 2
    assert served == {}

    assert main(["run", "--no-migrate", "--port", "8123", "--workers", "3"]) == 0
    assert served == {"host": "127.0.0.1", "port": 8123, "workers": 3}
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out
