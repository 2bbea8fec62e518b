"""Database set-up shared by the benchmark scripts: a throwaway PostgreSQL database and the
server's version for the report."""

from __future__ import annotations

from typing import Any


def _pg_admin(url: str, statements: list[str]) -> None:
    import psycopg
    from psycopg import sql

    name = str(psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "haven_bench")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))  # type: ignore[arg-type]


def pg_recreate(url: str) -> None:
    """Drop (forcing connections off) and create the benchmark database named in ``url``."""
    _pg_admin(url, ["DROP DATABASE IF EXISTS {} WITH (FORCE)", "CREATE DATABASE {}"])


def pg_drop(url: str) -> None:
    _pg_admin(url, ["DROP DATABASE IF EXISTS {} WITH (FORCE)"])


def server_version(connection: Any) -> str:
    """ "PostgreSQL 15.20" or "SQLite 3.40.1", for the report's header."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"
