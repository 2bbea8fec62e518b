"""The planner's statistics are refreshed after a bulk rewrite (rows committed for real)."""

from __future__ import annotations

import pytest
from django.db import connection

from haven.db.statistics import statistics_refresh
from haven.vault.models import SearchIndexPending

pytestmark = pytest.mark.django_db(transaction=True)


def _planner_rows(table: str) -> float | None:
    """What the planner believes the table holds: PostgreSQL's pg_class.reltuples (-1 before
    any analyze), SQLite's sqlite_stat1 row count (None without a row)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            return float(cursor.fetchone()[0])
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        row = cursor.fetchone()
        return None if row is None else float(row[0].split()[0])


def test_the_planner_learns_how_many_rows_a_rewritten_table_holds(alice, ctx):
    from tests.factories import make_case

    keys = [make_case(ctx=ctx, actor=alice).data_key_id for _ in range(3)]
    SearchIndexPending.objects.all().delete()
    from django.utils import timezone

    SearchIndexPending.objects.bulk_create(
        SearchIndexPending(data_key_id=key, since=timezone.now()) for key in keys
    )
    table = SearchIndexPending._meta.db_table
    assert _planner_rows(table) != 3

    statistics_refresh(models=[SearchIndexPending])

    assert _planner_rows(table) == 3
