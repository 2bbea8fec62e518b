"""Each backup test has an erasure store and a backup directory of its own, and commits for real
(a backup reads the database from another connection, or pg_dump, which only see what
committed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection, connections

from haven.crypto import erasure_store_forget


@pytest.fixture(autouse=True)
def _own_store(settings, tmp_path: Path):
    store = tmp_path / "store" / "erasure.keys"
    store.parent.mkdir()
    settings.HAVEN_ERASURE_STORE = store
    settings.HAVEN_BACKUP_DIR = tmp_path / "backups"
    yield store
    erasure_store_forget(os.fspath(store))


@pytest.fixture
def store_path(_own_store: Path) -> Path:
    return _own_store


def destroy_database() -> None:
    """What a disk failure leaves: no database at all (SQLite: no file; PostgreSQL: an empty
    database created afresh, as an operator would with `createdb`)."""
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        connections.close_all()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    settings_dict = connection.settings_dict
    connections.close_all()
    with psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        name = sql.Identifier(settings_dict["NAME"])
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
