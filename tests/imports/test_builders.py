"""Chunks built in forked worker processes: the same rows, keys, tokens, ledger and audit as built
in the process itself; stopping, resuming and undoing as before; a failing builder leaves whole
chunks. Real processes and commits (transaction=True): a fork cannot share a test's transaction."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from typing import Any

import pytest

from haven.audit.models import AuditEntry
from haven.audit.pseudonyms import audit_target_id
from haven.audit.selectors import audit_verify
from haven.cases.models import Case, CaseTally, JourneyEvent, Person, Request
from haven.dedupe.models import BlockToken, PersonEncoding
from haven.imports import builders, services
from haven.imports.models import ImportChunk, ImportLedger, ImportStatus
from haven.vault.models import DataKey, Grant, SearchToken
from haven.vault.sealed import payload_read
from tests.imports import samples

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [
    [f"사람{i}", f"Saram {i}", "여" if i % 2 else "남", f"19{60 + i}-03-05", "청진"]
    for i in range(9)
]
HEADERS = ["이름", "영문이름", "성별", "생년월일", "출신지"]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)


def _stage(ctx: Any, actor: Any) -> Any:
    data = samples.csv_bytes(HEADERS, ROWS)
    return services.import_stage(ctx=ctx, actor=actor, data=data, name="명단.csv").batch


def _made(ctx: Any, batch: Any) -> dict[str, Any]:
    """What one import made, as comparable counts and the people's decrypted names."""
    requests = ImportLedger.objects.filter(batch=batch).values_list("request_id", flat=True)
    cases = Case.objects.filter(request_id__in=requests)
    keys = set(cases.values_list("data_key_id", flat=True))
    people = Person.objects.filter(case__in=cases)
    return {
        "names": sorted(payload_read(ctx=ctx, record=p)["name_hangul"] for p in people),
        "requests": len(set(requests)),
        "cases": cases.count(),
        "own_keys": len(keys),
        "grants_per_key": sorted(
            Counter(
                Grant.objects.filter(data_key_id__in=keys).values_list("data_key_id", flat=True)
            ).values()
        ),
        "recovery_sealed": DataKey.objects.filter(
            pk__in=keys, recovery_sealed__isnull=False
        ).count(),
        "tokens": SearchToken.objects.filter(data_key_id__in=keys).count(),
        "encodings": PersonEncoding.objects.filter(person__in=people, pending_since=None).count(),
        "blocks": BlockToken.objects.filter(person__in=people).count(),
        "events": JourneyEvent.objects.filter(case__in=cases).count(),
        "tallies": CaseTally.objects.filter(case_id__in=cases.values("pk")).count(),
        "ledger": sorted(ImportLedger.objects.filter(batch=batch).values_list("chunk", "people")),
        "audit": sorted(
            e.detail["chunk"]
            for e in AuditEntry.objects.filter(
                action="import.commit", target_id=audit_target_id(batch)
            )
        ),
    }


def test_built_in_workers_the_load_is_the_one_built_here(ctx, alice, monkeypatch) -> None:
    forked: list[int] = []
    real_forked = builders._forked

    def spy(chunks: Any, build: Any, workers: int) -> Any:
        forked.append(workers)
        yield from real_forked(chunks, build, workers)

    monkeypatch.setattr(builders, "_forked", spy)
    serial = _stage(ctx, alice)
    done = services.import_commit(ctx=ctx, actor=alice, batch=serial, workers=1)
    assert done.finished
    parallel = _stage(ctx, alice)
    done = services.import_commit(ctx=ctx, actor=alice, batch=parallel, workers=3)
    assert done.finished and done.chunks_done == done.chunks_total == 5
    assert forked == [3] and not multiprocessing.active_children()
    assert (done.batch.people_committed, done.batch.requests_committed) == (9, 9)
    here, there = _made(ctx, serial), _made(ctx, parallel)
    assert there == here
    assert there["names"] == sorted(row[0] for row in ROWS)
    assert there["own_keys"] == 9 and there["tokens"] > 9 and there["encodings"] == 9
    assert there["audit"] == [0, 1, 2, 3, 4]
    # Every person's key opens for the supervisor from the database alone (nothing kept from
    # the workers): a fresh context, as after logging in again.
    from tests.factories import ctx_for

    fresh = ctx_for(alice)
    requests = ImportLedger.objects.filter(batch=parallel).values_list("request_id", flat=True)
    people = Person.objects.filter(case__request_id__in=requests)
    assert (
        sorted(payload_read(ctx=fresh, record=p)["name_hangul"] for p in people) == there["names"]
    )
    assert not audit_verify().problems


def test_stopped_then_resumed_with_workers_then_undone_leaves_nothing(ctx, alice) -> None:
    keys_before = set(DataKey.objects.values_list("pk", flat=True))
    batch = _stage(ctx, alice)
    step = services.import_commit(ctx=ctx, actor=alice, batch=batch, seconds=0, workers=2)
    assert step.chunks_done == 1 and not step.finished
    assert Person.objects.count() == 2  # one whole chunk; the workers' other chunks dropped
    done = services.import_commit(ctx=ctx, actor=alice, batch=batch, workers=2)
    assert done.finished and Person.objects.count() == 9
    assert ImportLedger.objects.filter(batch=batch).count() == 9
    result = services.import_undo(actor=alice, batch=batch)
    assert (result.destroyed, result.kept) == (9, 0)
    for model in (Person, Case, Request, JourneyEvent, PersonEncoding, BlockToken, CaseTally):
        assert not model.objects.exists(), model
    batch.refresh_from_db()
    left = set(DataKey.objects.values_list("pk", flat=True)) - keys_before
    assert left <= {batch.bad_rows_key_id}
    assert not SearchToken.objects.exclude(data_key_id__in=keys_before).exists()


def test_a_builder_that_fails_leaves_whole_chunks_and_says_which(ctx, alice, monkeypatch) -> None:
    batch = _stage(ctx, alice)
    real = services._build_chunk

    def failing(**kwargs: Any) -> Any:
        if kwargs["chunk"].index == 2:
            raise RuntimeError("a cell that must not be quoted: 사람4")
        return real(**kwargs)

    monkeypatch.setattr(services, "_build_chunk", failing)  # the forked workers inherit it
    with pytest.raises(builders.BuildError) as raised:
        services.import_commit(ctx=ctx, actor=alice, batch=batch, workers=2)
    assert "Chunk 2" in str(raised.value) and "RuntimeError" in str(raised.value)
    assert "사람4" not in str(raised.value)
    committed = ImportChunk.objects.filter(batch=batch, kind="rows", committed_at__isnull=False)
    assert sorted(committed.values_list("index", flat=True)) == [0, 1]
    assert Person.objects.count() == 4
    assert sorted(ImportLedger.objects.filter(batch=batch).values_list("chunk", flat=True)) == [
        0,
        0,
        1,
        1,
    ]
    batch.refresh_from_db()
    assert batch.status == ImportStatus.COMMITTING and batch.people_committed == 4
    monkeypatch.setattr(services, "_build_chunk", real)
    done = services.import_commit(ctx=ctx, actor=alice, batch=batch, workers=2)
    assert done.finished and Person.objects.count() == 9


def test_the_sqlite_page_cache_is_raised_for_the_load_only(ctx, alice) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "sqlite":
        # Another database is asked nothing and changed in nothing.
        with CaptureQueriesContext(connection) as queries:
            assert services._sqlite_cache(services.SQLITE_LOAD_CACHE_KIB) is None
        assert queries.captured_queries == []
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
    seen: list[int] = []
    real = services._commit_chunk

    def spy(**kwargs: Any) -> bool:
        written = real(**kwargs)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            seen.append(cursor.fetchone()[0])
        return written

    services._commit_chunk = spy  # type: ignore[assignment]
    try:
        services.import_commit(ctx=ctx, actor=alice, batch=_stage(ctx, alice), workers=2)
    finally:
        services._commit_chunk = real  # type: ignore[assignment]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == before
    assert seen == [-services.SQLITE_LOAD_CACHE_KIB] * 5
