"""The pass in threads: the same answer whatever the number of threads, errors not swallowed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from haven.matching import blocking, compare, model, parallel
from haven.matching.blocking import dedupe_candidates
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.engine import find_duplicates
from haven.matching.model import _patterns

from .population import with_duplicates


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks and the parallel-sort threshold small enough for a test population to use them."""
    monkeypatch.setattr(compare, "CHUNK", 257)
    monkeypatch.setattr(model, "SCORE_CHUNK", 509)
    monkeypatch.setattr(blocking, "PARALLEL_SORT", 64)


def _run(monkeypatch: pytest.MonkeyPatch, threads: int) -> tuple[object, ...]:
    monkeypatch.setattr(parallel, "MAX_THREADS", threads)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: set(range(threads)))
    records, _truth = with_duplicates(500)
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table)
    return (
        result.left.tolist(),
        result.right.tolist(),
        result.weight.tolist(),
        result.levels.tolist(),
        result.cluster.tolist() if result.cluster is not None else None,
        result.model,
    )


@pytest.mark.usefixtures("small_chunks")
def test_a_pass_in_threads_finds_exactly_what_one_thread_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = _run(monkeypatch, 1)
    several = _run(monkeypatch, 3)
    assert one[0], "the population has duplicates to find"
    assert several == one


@pytest.mark.usefixtures("small_chunks")
def test_candidates_sorted_in_slices_are_those_of_one_sort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records, _truth = with_duplicates(400)
    table = encode_records(records=records, hasher_for=clear_hasher)
    monkeypatch.setattr(parallel, "MAX_THREADS", 1)
    serial = dedupe_candidates(table=table)
    monkeypatch.setattr(parallel, "MAX_THREADS", 4)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: set(range(4)))
    sliced = dedupe_candidates(table=table)
    assert len(serial) > blocking.PARALLEL_SORT
    assert sliced.left.tolist() == serial.left.tolist()
    assert sliced.right.tolist() == serial.right.tolist()
    assert (np.diff(sliced.left * len(table) + sliced.right) > 0).all()


def test_every_chunk_is_worked_once_and_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: {0, 1})
    seen: list[tuple[int, int]] = []
    names: set[str] = set()
    lock = threading.Lock()

    def work(lo: int, hi: int) -> None:
        with lock:
            seen.append((lo, hi))
            names.add(threading.current_thread().name)

    parallel.over_chunks(total=10, size=3, work=work)
    assert sorted(seen) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert all(n.startswith("haven-match") for n in names)


def test_an_error_in_a_chunk_is_raised_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: {0, 1})

    def work(lo: int, hi: int) -> None:
        if lo == 4:
            raise ValueError("chunk 4 failed")

    with pytest.raises(ValueError, match="chunk 4 failed"):
        parallel.over_chunks(total=10, size=2, work=work)


def test_no_pairs_means_no_chunks() -> None:
    calls: list[tuple[int, int]] = []
    parallel.over_chunks(total=0, size=5, work=lambda lo, hi: calls.append((lo, hi)))
    assert calls == []


@pytest.mark.parametrize("width", [1, 3, 7])
def test_distinct_level_vectors_are_counted_as_numpy_unique_counts_them(width: int) -> None:
    rng = np.random.default_rng(width)
    levels = rng.integers(-1, 5, size=(5_000, width)).astype(np.int8)
    levels[:, 0] = np.where(levels[:, 0] > 2, -1, levels[:, 0])  # a column with few levels
    patterns, counts = _patterns(levels, width)
    expected, expected_counts = np.unique(levels, axis=0, return_counts=True)
    assert patterns.tolist() == expected.tolist()
    assert counts.tolist() == expected_counts.tolist()


def test_level_vectors_too_varied_to_count_densely_fall_back_to_sorting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model, "DENSE_PATTERNS", 4)
    levels = np.array([[2, 1], [0, -1], [2, 1], [1, 1]], dtype=np.int8)
    patterns, counts = _patterns(levels, 2)
    assert patterns.tolist() == [[0, -1], [1, 1], [2, 1]]
    assert counts.tolist() == [1, 1, 2]


@pytest.mark.parametrize(("width", "top"), [(15, 9), (16, 3), (4, 20)])
def test_sorted_level_vectors_are_those_numpy_unique_finds(width: int, top: int) -> None:
    # 15 fields of up to 14 levels pack into one number; more fields or levels are sorted as rows.
    rng = np.random.default_rng(width + top)
    levels = rng.integers(-1, top + 1, size=(3_000, width)).astype(np.int8)
    levels[: len(levels) // 2] = levels[0]  # repeated vectors
    patterns, counts = model._sorted_patterns(levels, width)
    expected, expected_counts = np.unique(levels, axis=0, return_counts=True)
    assert patterns.tolist() == expected.tolist()
    assert counts.tolist() == expected_counts.tolist()


def test_without_an_affinity_call_every_core_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(parallel.os, "sched_getaffinity")
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    assert parallel.threads() == 2
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: None)
    assert parallel.threads() == 1
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 64)
    assert parallel.threads() == parallel.MAX_THREADS
