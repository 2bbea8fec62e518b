"""`haven check` and the local development keys: clear messages, exit 1 when unsafe."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys

import pytest

from haven.cli import SetupError, ensure_local_keys, main

GOOD_SECRET = secrets.token_urlsafe(50)


def haven(*args: str, cwd, umask: int = 0o022, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real `haven` command in a fresh process with only the given environment (and the
    umask most shells start with)."""
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "LANG": "C.UTF-8"}
    clean.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "haven.cli", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        umask=umask,
    )


def test_check_reports_missing_keys_clearly(tmp_path):
    result = haven("check", cwd=tmp_path, HAVEN_DATA_DIR=str(tmp_path / "data"))

    assert result.returncode == 1
    assert "HAVEN_SECRET_KEY is not set" in result.stdout
    assert "unsafe" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()  # check changes nothing


def test_check_reports_weak_secret_and_unreadable_key_file(tmp_path):
    result = haven(
        "check",
        cwd=tmp_path,
        HAVEN_DATA_DIR=str(tmp_path),
        HAVEN_SECRET_KEY="short",
    )
    unreadable = haven(
        "check",
        cwd=tmp_path,
        HAVEN_DATA_DIR=str(tmp_path),
        HAVEN_SECRET_KEY_FILE=str(tmp_path / "missing.key"),
    )

    assert result.returncode == 1 and unreadable.returncode == 1
    assert "too weak" in result.stdout
    assert "missing.key, which cannot be read" in unreadable.stdout


def test_check_passes_on_a_migrated_local_setup_and_fails_unsafe_production(tmp_path):
    env = {
        "HAVEN_DATA_DIR": str(tmp_path),
        "HAVEN_SECRET_KEY": GOOD_SECRET,
    }
    unmigrated = haven("check", cwd=tmp_path, **env)
    assert unmigrated.returncode == 1
    assert "not applied; run `haven migrate`" in unmigrated.stdout

    assert haven("migrate", "-v", "0", cwd=tmp_path, **env).returncode == 0
    no_keys = haven("check", cwd=tmp_path, **env)
    assert no_keys.returncode == 1 and "run `haven setup`" in no_keys.stdout

    (tmp_path / "pw").write_text("a long and unusual passphrase 7\n")
    setup = haven(
        "setup",
        "--supervisor",
        "alice",
        "--password-file",
        str(tmp_path / "pw"),
        cwd=tmp_path,
        HAVEN_KDF_MEMLIMIT=str(64 * 1024 * 1024),
        HAVEN_KDF_OPSLIMIT="1",
        **env,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "RECOVERY WORDS" in setup.stdout
    ok = haven("check", cwd=tmp_path, **env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Configuration OK" in ok.stdout
    assert "only 1 active supervisor holds the supervisors' key" in ok.stdout
    again = haven(
        "setup", "--supervisor", "bob", "--password-file", str(tmp_path / "pw"), cwd=tmp_path, **env
    )
    assert again.returncode != 0 and "already set up" in again.stderr

    unsafe = haven(
        "check",
        cwd=tmp_path,
        HAVEN_ENV="production",
        HAVEN_DEBUG="true",
        HAVEN_ALLOWED_HOSTS="*",
        HAVEN_REQUIRE_2FA="false",
        **env,
    )
    assert unsafe.returncode == 1
    assert "DEBUG is on in production" in unsafe.stdout
    assert "HTTPS is off in production" in unsafe.stdout
    assert "contains '*'" in unsafe.stdout
    assert "two-factor login is off in production" in unsafe.stdout


def test_production_never_generates_keys(tmp_path):
    result = haven("migrate", cwd=tmp_path, HAVEN_ENV="production")

    assert result.returncode == 2
    assert "HAVEN_SECRET_KEY must be set" in result.stderr
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
    assert created == ["secret_key"]
    assert env["HAVEN_SECRET_KEY_FILE"] == str(data / "secret_key")
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert "local development secret key" in capsys.readouterr().err

    secret = (data / "secret_key").read_text()
    again: dict[str, str] = {}
    assert ensure_local_keys(again, "run") == []
    assert (data / "secret_key").read_text() == secret


def test_check_reuses_local_keys_but_never_creates_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}
    assert ensure_local_keys(env, "check") == []
    assert env == {} and not (tmp_path / ".haven-data").exists()

    ensure_local_keys({}, "demo")
    assert ensure_local_keys(env, "check") == []
    assert "HAVEN_SECRET_KEY_FILE" in env


def test_configured_keys_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"HAVEN_SECRET_KEY_FILE": "/run/secrets/secret"}
    assert ensure_local_keys(env, "run") == []
    assert env == {"HAVEN_SECRET_KEY_FILE": "/run/secrets/secret"}
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
    assert served == {"host": "127.0.0.1", "port": 8123, "workers": 3, "name": "haven"}
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


@pytest.mark.django_db
def test_portal_serves_only_the_portal_under_its_own_process_name(monkeypatch, capsys, settings):
    served = {}
    monkeypatch.setattr(
        "haven.demo.management.commands.run.serve", lambda **kwargs: served.update(kwargs)
    )
    monkeypatch.setenv("HAVEN_SERVE", "all")  # restored (unset) after the test
    # Settings are loaded once per test run; what `haven portal` sets before loading them:
    settings.HAVEN_SERVE = "portal"

    assert main(["portal", "--no-migrate", "--port", "8124"]) == 0
    assert os.environ["HAVEN_SERVE"] == "portal"
    assert served["name"] == "haven-portal"
    assert "portal is serving on http://127.0.0.1:8124/portal/" in capsys.readouterr().out


# -- file modes ---------------------------------------------------------------------------------


def _modes(directory) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in sorted(directory.rglob("*"))
    }


def test_haven_creates_its_data_directory_and_database_for_its_account_only(tmp_path):
    data = tmp_path / "data"
    result = haven("migrate", "-v", "0", cwd=tmp_path, HAVEN_DATA_DIR=str(data), **_KEY)

    assert result.returncode == 0, result.stderr
    assert oct(stat.S_IMODE(data.stat().st_mode)) == "0o700"
    modes = _modes(data)
    assert modes["haven.sqlite3"] == "0o600"
    assert all(int(mode, 8) & 0o077 == 0 for mode in modes.values()), modes


def test_check_reports_database_files_and_a_data_directory_others_can_read(tmp_path):
    data = tmp_path / "data"
    env = {"HAVEN_DATA_DIR": str(data), **_KEY}
    assert haven("migrate", "-v", "0", cwd=tmp_path, **env).returncode == 0
    (data / "haven.sqlite3").chmod(0o644)
    data.chmod(0o755)

    development = haven("check", cwd=tmp_path, **env)
    production = haven("check", cwd=tmp_path, HAVEN_ENV="production", **env)

    assert "WARN  database" in development.stdout
    assert "haven.sqlite3 is mode 0644: other users of this machine can read it; run " in (
        development.stdout
    )
    assert "FAIL  database" in production.stdout and production.returncode == 1
    assert f"{data} is mode 0755" in production.stdout
    assert "FAIL  data dir" in production.stdout


_KEY = {"HAVEN_SECRET_KEY": GOOD_SECRET}


# -- bounds of the security settings --------------------------------------------------------


def test_check_fails_on_a_cheap_kdf_a_lax_lockout_and_an_endless_idle_timeout_in_production(
    tmp_path,
):
    env = {"HAVEN_DATA_DIR": str(tmp_path / "data"), "HAVEN_ENV": "production", **_KEY}

    lax = haven(
        "check",
        cwd=tmp_path,
        HAVEN_KDF_MEMLIMIT=str(64 * 1024 * 1024),
        HAVEN_KDF_OPSLIMIT="1",
        HAVEN_LOGIN_FAILURE_LIMIT="1000",
        HAVEN_IDLE_TIMEOUT_MINUTES="100000",
        **env,
    )
    sane = haven("check", cwd=tmp_path, **env)

    assert lax.returncode == 1
    for line in (
        "FAIL  HAVEN_KDF_OPSLIMIT",
        "1 passes (Argon2id passes over the password) is outside 2..16 passes.",
        "FAIL  HAVEN_KDF_MEMLIMIT",
        "64 MiB (Argon2id memory per password guess) is outside 128..4096 MiB.",
        "FAIL  HAVEN_KDF_*",
        "FAIL  HAVEN_LOGIN_FAILURE_LIMIT",
        "1000 failures (wrong passwords before a lockout) is outside 1..10 failures.",
        "FAIL  HAVEN_IDLE_TIMEOUT_MINUTES",
        "100000 minutes (logged out after this long idle) is outside 1..60 minutes.",
    ):
        assert line in lax.stdout, lax.stdout
    assert "OK    security settings" in sane.stdout, sane.stdout
    assert "HAVEN_KDF" not in sane.stdout


def test_outside_production_loose_settings_are_warnings(tmp_path):
    result = haven(
        "check",
        cwd=tmp_path,
        HAVEN_DATA_DIR=str(tmp_path / "data"),
        HAVEN_LOGIN_FAILURE_LIMIT="1000",
        **_KEY,
    )

    assert "WARN  HAVEN_LOGIN_FAILURE_LIMIT" in result.stdout


# -- the audit anchor file ------------------------------------------------------------------


def test_check_wants_an_anchor_file_outside_the_data_directory(tmp_path):
    data = tmp_path / "data"
    env = {"HAVEN_DATA_DIR": str(data), **_KEY}

    unset = haven("check", cwd=tmp_path, HAVEN_ENV="production", **env)
    inside = haven("check", cwd=tmp_path, HAVEN_AUDIT_ANCHOR_FILE=str(data / "anchors"), **env)
    outside = haven("check", cwd=tmp_path, HAVEN_AUDIT_ANCHOR_FILE=str(tmp_path / "a"), **env)

    assert "WARN  HAVEN_AUDIT_ANCHOR_FILE  not set" in unset.stdout
    assert "FAIL  HAVEN_AUDIT_ANCHOR_FILE" in inside.stdout and "beside the database" in (
        inside.stdout
    )
    assert "OK    HAVEN_AUDIT_ANCHOR_FILE" in outside.stdout


def test_check_warns_in_production_when_no_recent_anchor_is_kept(tmp_path):
    data = tmp_path / "data"
    anchors = tmp_path / "anchors"
    env = {"HAVEN_DATA_DIR": str(data), "HAVEN_AUDIT_ANCHOR_FILE": str(anchors), **_KEY}
    stale = "1:" + "a" * 64 + " 2020-01-01T00:00:00.000000Z kept 2020-01-01T00:00:00.000000Z\n"

    none_yet = haven("check", cwd=tmp_path, HAVEN_ENV="production", **env)
    anchors.write_text(stale)
    anchors.chmod(0o600)
    old = haven("check", cwd=tmp_path, HAVEN_ENV="production", **env)

    assert "WARN  HAVEN_AUDIT_ANCHOR_FILE" in none_yet.stdout and "no anchor kept yet" in (
        none_yet.stdout
    )
    assert "the last anchor was kept" in old.stdout and "hours ago" in old.stdout
