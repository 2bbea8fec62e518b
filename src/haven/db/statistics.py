"""Refreshing the query planner's statistics after a bulk rewrite of a table.

`haven keys rotate-index` replaces every search token and `haven dedupe` writes everyone's
encodings. Until the planner's statistics say so it plans from the old table: on PostgreSQL,
statistics taken when the new generation had no tokens made it read two million tokens through
the generation's index for every search, 0.3-1 s a query at 100,000 people, until autovacuum's
next analyze (never, where autovacuum is off). Analyzing the rewritten tables at the end of
the command costs a second or two.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Model


def statistics_refresh(*, models: Iterable[type[Model]]) -> None:
    """Analyze these models' tables (``ANALYZE``, on PostgreSQL and SQLite alike)."""
    # SQLite reads whole indexes (2.5 s for the tokens, 5 s for the block tokens at 100,000
    # people, holding the write lock). Its sampling (PRAGMA analysis_limit) was tried: it
    # recorded about 1,000 tokens per index generation where there were 870,000, the very
    # estimate that made PostgreSQL walk the generation's index.
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
