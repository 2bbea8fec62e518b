"""Settings helpers fail loudly, secrets can come from files, and SQLite runs in WAL mode."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from haven.conf import env_bool, env_choice, env_int, env_list, env_str


def test_a_required_setting_that_is_missing_names_itself(monkeypatch):
    monkeypatch.delenv("HAVEN_EXAMPLE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="HAVEN_EXAMPLE"):
        env_str("HAVEN_EXAMPLE")


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("HAVEN_EXAMPLE_FILE", str(secret))
    assert env_str("HAVEN_EXAMPLE") == "from-a-file"


def test_an_unreadable_secret_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HAVEN_EXAMPLE_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_str("HAVEN_EXAMPLE")


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("0", False), ("YES", True), ("off", False)]
)
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("HAVEN_FLAG", raw)
    assert env_bool("HAVEN_FLAG", not expected) is expected


def test_a_misspelt_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("HAVEN_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="HAVEN_FLAG"):
        env_bool("HAVEN_FLAG", False)


def test_numbers_are_checked(monkeypatch):
    monkeypatch.setenv("HAVEN_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("HAVEN_N", 1)
    monkeypatch.setenv("HAVEN_N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env_int("HAVEN_N", 10, minimum=5)


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("HAVEN_HOSTS", "a.example, b.example,,")
    assert env_list("HAVEN_HOSTS", []) == ["a.example", "b.example"]


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    if connection.vendor != "sqlite":
        assert connection.vendor == "postgresql"
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@pytest.mark.parametrize(
    ("raw", "expected"), [("portal", "portal"), (" Staff ", "staff"), ("", "all")]
)
def test_a_choice_accepts_its_words_in_any_case(monkeypatch, raw, expected):
    monkeypatch.setenv("HAVEN_SERVE", raw)
    assert env_choice("HAVEN_SERVE", "all", choices=("all", "staff", "portal")) == expected


def test_a_choice_outside_its_words_is_refused_with_the_words(monkeypatch):
    monkeypatch.setenv("HAVEN_SERVE", "portals")
    with pytest.raises(ImproperlyConfigured, match="one of all, staff, portal"):
        env_choice("HAVEN_SERVE", "all", choices=("all", "staff", "portal"))
