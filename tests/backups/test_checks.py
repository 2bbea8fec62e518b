"""The checks a verify and a restore run, on what an archive's manifest says."""

from __future__ import annotations

import pytest
from django.db.migrations.loader import MigrationLoader

from haven.backups import checks
from haven.backups.services import BackupError, _migrations_known


def _applied() -> list[list[str]]:
    return [
        [app, name]
        for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    ]


def test_an_archive_from_this_haven_has_its_migrations_current() -> None:
    state = checks.migration_state(_applied())
    assert state.unknown == [] and state.pending == []


def test_an_archive_from_an_older_haven_has_migrations_to_apply() -> None:
    applied = [m for m in _applied() if m != ["backups", "0001_initial"]]
    state = checks.migration_state(applied)
    assert state.pending == ["backups.0001_initial"] and state.unknown == []
    assert _migrations_known({"migrations": applied}).pending == ["backups.0001_initial"]


def test_an_archive_from_a_newer_haven_is_refused_before_anything_changes() -> None:
    applied = [*_applied(), ["cases", "9999_from_the_future"], ["gone_app", "0001_initial"]]
    assert checks.migration_state(applied).unknown == ["cases.9999_from_the_future"]
    with pytest.raises(BackupError, match="newer Haven.*cases.9999_from_the_future"):
        _migrations_known({"migrations": applied})


def test_row_counts_name_every_table_that_differs() -> None:
    ok, detail = checks.counts_compare({"a": 1, "b": 2}, {"a": 1, "b": 2})
    assert ok and "2 tables, 3 rows" in detail
    ok, detail = checks.counts_compare({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0})
    assert (
        not ok and "b: 3 rows, the manifest says 2" in detail and "c: not in the manifest" in detail
    )
    ok, detail = checks.counts_compare({"a": 1}, {})
    assert not ok and "a: missing rows" in detail
