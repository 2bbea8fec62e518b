"""From scored pairs to decisions: one-to-one links between two files, clusters within one.

Linking two files assumes each person appears at most once in each: pairs are taken best first
and a record already linked is not linked again. Deduplication groups records into clusters by
merging best pairs first, with a guard against *chaining* (A~B and B~C pulling in C although
A and C differ): two clusters merge only if enough of the pairs between them scored as matches,
and no cluster grows past ``max_size``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.signedinteger[Any]]  # int64, or int32 (blocking.row_dtype)
FloatArray = npt.NDArray[np.float64]
MAX_CLUSTER = 12
MIN_DENSITY = 0.5  # share of cross pairs that must be matches for two clusters to merge


def one_to_one(*, left: Rows, right: Rows, score: FloatArray) -> npt.NDArray[np.int64]:
    """Indexes of the pairs kept: best score first, each left and right row used at most once."""
    order = np.lexsort((right, left, -score))
    used_l: set[int] = set()
    used_r: set[int] = set()
    kept: list[int] = []
    for k, a, b in zip(order.tolist(), left[order].tolist(), right[order].tolist(), strict=True):
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        kept.append(k)
    return np.array(sorted(kept), dtype=np.int64)


def clusters(
    *,
    n: int,
    left: Rows,
    right: Rows,
    score: FloatArray,
    max_size: int = MAX_CLUSTER,
    min_density: float = MIN_DENSITY,
) -> npt.NDArray[np.int64]:
    """A cluster id per row (a row alone keeps its own index) from matching pairs.

    ``left``/``right``/``score`` are the pairs proposed as matches. Merging goes best pair
    first; two clusters merge only when at least ``min_density`` of the pairs between them are
    among the proposed ones and the result stays within ``max_size`` records.
    """
    parent = np.arange(n, dtype=np.int64)
    members: dict[int, list[int]] = {}
    linked: defaultdict[int, set[int]] = defaultdict(set)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        linked[a].add(b)
        linked[b].add(a)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    order = np.argsort(-score, kind="stable")
    for a, b in zip(left[order].tolist(), right[order].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ma, mb = members.get(ra, [ra]), members.get(rb, [rb])
        if len(ma) + len(mb) > max_size:
            continue
        if len(ma) > 1 or len(mb) > 1:
            small, large = (ma, mb) if len(ma) <= len(mb) else (mb, ma)
            large_set = set(large)
            cross = sum(len(linked[x] & large_set) for x in small)
            if cross < min_density * len(ma) * len(mb):
                continue
        parent[rb] = ra
        members[ra] = ma + mb
        members.pop(rb, None)
    return np.array([find(x) for x in range(n)], dtype=np.int64)
