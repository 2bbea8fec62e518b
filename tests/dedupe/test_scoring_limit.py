"""score_pairs(limit=): the best pairs are the ones kept without a limit, and only they are
explained (a large import's dry run explained every pair above the threshold to show 2,000)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from haven.dedupe import scoring
from haven.dedupe.scoring import default_model, record_from_payload, score_pairs
from haven.matching.blocking import dedupe_candidates
from haven.matching.encodings import encode_records

pytestmark = pytest.mark.django_db

NAMES = ["김선희", "김선히", "박영철", "박영찰", "리순옥"]


def _table(ctx):
    records = [
        record_from_payload(
            record_id=str(n),
            data={
                "name_hangul": NAMES[n % len(NAMES)],
                "sex": "female" if n % 2 else "male",
                "birth": {"value": str(1960 + n % 4), "precision": "year", "calendar": "solar"},
                "origin_region": "청진" if n % 3 else "혜산",
            },
        )
        for n in range(80)
    ]
    return encode_records(records=records, hasher_for=ctx.index_hasher)


def _scored(ctx, limit):
    table = _table(ctx)
    cands = dedupe_candidates(table=table)
    return score_pairs(
        left=table,
        right=table,
        i=np.asarray(cands.left),
        j=np.asarray(cands.right),
        model=default_model(),
        limit=limit,
    )


def test_a_limit_keeps_the_best_pairs_in_the_same_order_and_explains_only_those(ctx) -> None:
    every = _scored(ctx, None)
    assert len(every) > 100
    with mock.patch.object(scoring, "explain", wraps=scoring.explain) as explained:
        best = _scored(ctx, 25)
    assert best == every[: len(best)]
    assert len(best) >= 25 and explained.call_count == len(best) < len(every)
    # Whatever is left out is less likely than the last pair kept (ties at the cut are kept).
    assert all(p.probability < best[-1].probability for p in every[len(best) :])


def test_no_limit_or_a_large_one_keeps_every_pair(ctx) -> None:
    every = _scored(ctx, None)
    assert _scored(ctx, len(every) + 1) == every
    assert _scored(ctx, 0) == [p for p in every if p.probability >= 2.0]  # none
