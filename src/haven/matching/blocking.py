"""Blocking: the candidate pairs worth comparing, as the union of several blocking passes.

Each record carries blocking tokens (see :func:`haven.matching.encodings.block_keys`); two
records become a candidate pair when they share any token. A token shared by more than
``max_block`` records (a very common name, everyone born in 1990) says little and would cost
quadratically, so its block is skipped: the narrower passes still pair the true duplicates.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.matching.encodings import EncodedTable
from haven.matching.parallel import threads

# Row numbers: int64, or int32 for candidate pairs (see row_dtype).
Rows = npt.NDArray[np.signedinteger[Any]]
MAX_BLOCK = 100  # linking two files: records of both sides together may number twice this
# Within one population every extra record in a block costs a pair with each other: blocks of
# common names are capped lower (measured: same F1 at 100,000 records, a quarter of the pairs).
DEDUPE_MAX_BLOCK = 40
PARALLEL_SORT = 1 << 22  # keys from which sorting slices in threads pays
SPLIT_CHUNK = 1 << 22  # pair keys turned back into rows at once


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidate pairs (row ``left[k]`` with row ``right[k]``) and what blocking skipped."""

    left: Rows
    right: Rows
    skipped_blocks: int  # blocks over the size limit
    largest_block: int

    def __len__(self) -> int:
        return len(self.left)


def _blocks(
    rows: Rows, tokens: npt.NDArray[np.uint64], max_block: int
) -> tuple[list[Rows], int, int]:
    """The blocks of 2..max_block rows sharing a token, one (blocks, size) array per size, each
    block's rows ascending; and how many blocks were over the limit, and the largest."""
    return _blocks_taken([rows, tokens], max_block)


def _blocks_taken(arrays: list[npt.NDArray[Any]], max_block: int) -> tuple[list[Rows], int, int]:
    """:func:`_blocks` of ``[rows, tokens]``, emptying the list: once sorted, the unsorted
    arrays are freed when the caller holds no other reference (at a million records they are
    half a gigabyte, and the sort makes a copy of each)."""
    tokens = arrays.pop()
    rows = arrays.pop()
    order = np.lexsort((rows, tokens))
    tokens = tokens[order]
    rows = rows[order]
    del order
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = (tokens[1:] != tokens[:-1]) | (rows[1:] != rows[:-1])  # one entry per (token, row)
    rows, tokens = rows[keep], tokens[keep]
    if not len(rows):
        return [], 0, 0
    starts = np.flatnonzero(np.concatenate([[True], tokens[1:] != tokens[:-1]]))
    sizes = np.diff(np.concatenate([starts, [len(rows)]]))
    skipped = int((sizes > max_block).sum())
    found = [
        rows[starts[sizes == s][:, None] + np.arange(s)[None, :]]
        for s in np.unique(sizes[(sizes >= 2) & (sizes <= max_block)]).tolist()
    ]
    return found, skipped, int(sizes.max())


def _pairs_within_blocks(
    rows: Rows, tokens: npt.NDArray[np.uint64], max_block: int
) -> tuple[Rows, Rows, int, int]:
    """All pairs of rows sharing a token, for blocks of 2..max_block rows (vectorised by size);
    the first row of each pair is the smaller."""
    blocks, skipped, largest = _blocks(rows, tokens, max_block)
    out_i: list[Rows] = []
    out_j: list[Rows] = []
    for members in blocks:
        a, b = np.triu_indices(members.shape[1], k=1)
        out_i.append(members[:, a].ravel())
        out_j.append(members[:, b].ravel())
    if not out_i:
        empty = np.zeros(0, np.int64)
        return empty, empty, skipped, largest
    return np.concatenate(out_i), np.concatenate(out_j), skipped, largest


def _unique_pairs(i: Rows, j: Rows, n: int) -> tuple[Rows, Rows]:
    keys = i * np.int64(n) + j  # j < n
    return _split_keys(keys, n)


def _split_keys(keys: Rows, n: int) -> tuple[Rows, Rows]:
    _sort(keys)  # a plain sort: much faster than np.unique's hashing on tens of millions
    keep = np.ones(len(keys), dtype=bool)
    keep[1:] = keys[1:] != keys[:-1]
    keys = keys[keep]
    i, j = np.divmod(keys, n)
    return i, j


def _sort(keys: Rows) -> None:
    """Sort in place. Many keys: each of a few slices sorted in a thread (numpy's sort releases
    the GIL), then the sorted runs merged by the stable sort, which finds and merges runs."""
    parts = threads()
    if parts < 2 or len(keys) < PARALLEL_SORT:
        keys.sort()
        return
    cuts = [len(keys) * k // parts for k in range(parts + 1)]
    with ThreadPoolExecutor(max_workers=parts) as pool:
        list(pool.map(np.ndarray.sort, [keys[a:b] for a, b in itertools.pairwise(cuts)]))
    keys.sort(kind="stable")


def row_dtype(n: int) -> type[np.signedinteger[Any]]:
    """The integer type of row numbers in a table of ``n`` rows: 32 bits while they fit (at a
    million records each candidate pair's two rows cost 8 bytes instead of 16)."""
    return np.int32 if n < 2**31 else np.int64


def dedupe_candidates(
    *, table: EncodedTable, max_block: int = DEDUPE_MAX_BLOCK, release_blocks: bool = False
) -> Candidates:
    """Candidate pairs (i < j) within one table, as rows of :func:`row_dtype`.

    With ``release_blocks`` the table's blocking tokens are dropped as soon as they are sorted
    (a table built for one pass: it cannot be blocked again).
    """
    arrays: list[npt.NDArray[Any]] = [table.block_rows, table.block_tokens]
    if release_blocks:
        table.block_rows = np.zeros(0, np.int64)
        table.block_tokens = np.zeros(0, np.uint64)
    blocks, skipped, largest = _blocks_taken(arrays, max_block)
    n = np.int64(max(len(table), 1))
    # Each pair as one number (i * n + j) from the start: at a million records the passes give
    # tens of millions of pairs, and two arrays of rows would double the peak memory.
    # One array filled in place, and every step below rebinds or deletes what it no longer
    # needs, so that at most the keys, their distinct copy and the two row arrays coexist.
    flat = np.empty(sum(len(m) * (m.shape[1] * (m.shape[1] - 1) // 2) for m in blocks), np.int64)
    at = 0
    while blocks:
        members = blocks.pop()
        a, b = np.triu_indices(members.shape[1], k=1)
        part = members[:, a]
        part *= n
        part += members[:, b]
        flat[at : at + part.size] = part.ravel()
        at += part.size
        del members, part
    _sort(flat)
    keep = np.ones(len(flat), dtype=bool)
    keep[1:] = flat[1:] != flat[:-1]
    flat = flat[keep]
    del keep
    # Split the keys into rows slice by slice: whole-length int64 quotients and remainders
    # beside the keys were the candidates' peak.
    dtype = row_dtype(len(table))
    i = np.empty(len(flat), dtype)
    j = np.empty(len(flat), dtype)
    for lo in range(0, len(flat), SPLIT_CHUNK):
        q, r = np.divmod(flat[lo : lo + SPLIT_CHUNK], n)
        i[lo : lo + SPLIT_CHUNK] = q
        j[lo : lo + SPLIT_CHUNK] = r
    del flat
    return Candidates(i, j, skipped, largest)


def link_candidates(
    *, left: EncodedTable, right: EncodedTable, max_block: int = MAX_BLOCK
) -> Candidates:
    """Candidate pairs (left row, right row) between two tables.

    Both sides' tokens are blocked together so the size limit counts records of both files.
    """
    n = len(left)
    rows = np.concatenate([left.block_rows, right.block_rows + n])
    tokens = np.concatenate([left.block_tokens, right.block_tokens])
    i, j, skipped, largest = _pairs_within_blocks(rows, tokens, 2 * max_block)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    cross = (lo < n) & (hi >= n)
    a, b = _unique_pairs(lo[cross], hi[cross] - n, max(len(right), 1))
    return Candidates(a, b, skipped, largest)


def random_pairs(
    *, n_left: int, n_right: int | None = None, count: int, seed: int = 0
) -> tuple[Rows, Rows]:
    """Random pairs for estimating u (how often non-matches agree); excludes i == j in dedupe."""
    rng = np.random.default_rng(seed)
    if n_left == 0 or (n_right is not None and n_right == 0):
        empty = np.zeros(0, np.int64)
        return empty, empty
    i = rng.integers(0, n_left, size=count, dtype=np.int64)
    j = rng.integers(0, n_right if n_right is not None else n_left, size=count, dtype=np.int64)
    if n_right is None:
        keep = i != j
        i, j = i[keep], j[keep]
    return i, j


def birth_pairs(
    *, left: EncodedTable, right: EncodedTable | None = None, count: int = 200_000, seed: int = 0
) -> tuple[Rows, Rows]:
    """Up to ``count`` random pairs sharing an exact birth date, for training (not matching).

    Large blocks are cut to a random ``MAX_BLOCK`` of their members rather than skipped, so
    that a population where everyone shares a few dates still yields training pairs.
    """
    rng = np.random.default_rng(seed)
    n = len(left)
    tok = left.tokens["birth.ymd"]
    if right is not None:
        tok = np.concatenate([tok, right.tokens["birth.ymd"]])
    # Rows in 32 bits where they fit: a million records' birth dates give tens of millions of
    # pairs before the sample is drawn, the pass's transient peak.
    rows = np.flatnonzero(tok != 0).astype(row_dtype(len(tok)))
    rows = rows[rng.permutation(len(rows))]
    t = tok[rows]
    order = np.argsort(t, kind="stable")
    rows, t = rows[order], t[order]
    starts = np.flatnonzero(np.concatenate([[True], t[1:] != t[:-1]])) if len(t) else rows[:0]
    rank = np.arange(len(t)) - np.repeat(starts, np.diff(np.concatenate([starts, [len(t)]])))
    keep = rank < MAX_BLOCK
    i, j, _skipped, _largest = _pairs_within_blocks(rows[keep], t[keep], MAX_BLOCK)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    if right is not None:
        cross = (lo < n) & (hi >= n)
        lo, hi = lo[cross], hi[cross] - n
    if len(lo) > count:
        pick = rng.choice(len(lo), size=count, replace=False)
        lo, hi = lo[pick], hi[pick]
    return lo, hi
