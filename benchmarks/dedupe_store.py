"""The product's bulk path at scale: `haven dedupe`'s pass over N stored people, and new people
scored against the stored ones as they are saved.

    .venv/bin/python benchmarks/dedupe_store.py [--people 100000] [--new 200]
                                                [--database sqlite|postgres]

Seeds N people as the product stores them — the project generator's records (benchmarks/
linkage.py, calibrated names), encoded in one batch under a fresh index key (the same bits as
encoding each on its own when saved), each with its case, its PersonEncoding row (filters,
tokens, packed blocking tokens) and its BlockToken rows — with placeholder sealed payloads:
nothing here is decrypted, the pass and the incremental step work on encodings alone. Then
times, as `haven dedupe` runs them: reading the stored encodings (one row per person), the
engine's pass (EM-trained model, clusters), writing the review queue; and the incremental step
a save runs (duplicate_candidates_refresh: blocking-token lookup, scoring, queue rows) for
--new people one by one. Prints the resident-memory peak of the process.

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/h_match_dedupe),
dropped and created by this script and dropped at the end. SQLite: a file in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/h_match_dedupe"


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def setup(args: argparse.Namespace, workdir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    os.environ["HAVEN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["HAVEN_DATA_DIR"] = str(workdir)
    if args.database == "postgres":
        from benchdb import pg_recreate

        url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
        pg_recreate(url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'dedupe.sqlite3'}"
    sys.path.insert(0, str(HERE.parent / "src"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seed(n: int) -> tuple[list[str], int]:
    """N stored people (placeholder payloads, real encodings); their person ids and the time."""
    import numpy as np
    from django.db import connection
    from django.utils import timezone
    from linkage import haven_records, korean_records

    from haven.cases.models import Case, Person
    from haven.crypto import IndexKey
    from haven.dedupe.models import BlockToken, PersonEncoding
    from haven.dedupe.scoring import BLOOM_WORDS, VERSION, pack_block
    from haven.matching.encodings import TOKEN_FIELDS, encode_records
    from haven.vault.models import DataKey, SearchIndexKey

    now = timezone.now()
    SearchIndexKey.objects.create(generation=1, recovery_sealed=b"-", created_at=now)
    rows, _truth = korean_records(n, seed=11)
    records = haven_records(rows)
    ids = [uuid.uuid4() for _ in records]
    table = encode_records(records=records, hasher_for=IndexKey.generate().keyed_hasher)
    blooms = np.concatenate([table.blooms[f] for f in BLOOM_WORDS], axis=1)
    tokens = np.stack([table.tokens[f] for f in TOKEN_FIELDS], axis=1)
    order = np.argsort(table.block_rows, kind="stable")
    block_rows, block_tokens = table.block_rows[order], table.block_tokens[order].view(np.int64)
    starts = np.searchsorted(block_rows, np.arange(len(records) + 1))
    keys = [DataKey(recovery_sealed=b"-") for _ in records]
    DataKey.objects.bulk_create(keys, batch_size=5000)
    people = [Person(id=pid, data_key=k, payload=b"-") for pid, k in zip(ids, keys, strict=True)]
    Person.objects.bulk_create(people, batch_size=5000)
    Case.objects.bulk_create(
        [
            Case(
                person=p,
                data_key=p.data_key,
                payload=b"-",
                opened_at=now,
                updated_at=now,
                state_changed_at=now,
            )
            for p in people
        ],
        batch_size=5000,
    )
    PersonEncoding.objects.bulk_create(
        [
            PersonEncoding(
                person_id=pid,
                generation=1,
                encoding_version=VERSION,
                blooms=blooms[k].astype("<u8").tobytes(),
                tokens=tokens[k].astype("<u8").tobytes(),
                block=pack_block(sorted(set(block_tokens[starts[k] : starts[k + 1]].tolist()))),
                updated_at=now,
            )
            for k, pid in enumerate(ids)
        ],
        batch_size=5000,
    )
    prep = Person._meta.pk.get_db_prep_value  # type: ignore[union-attr]
    entries = [
        (prep(ids[k], connection), t)
        for k in range(len(records))
        for t in sorted(set(block_tokens[starts[k] : starts[k + 1]].tolist()))
    ]
    with connection.cursor() as cursor:
        for lo in range(0, len(entries), 50_000):
            cursor.executemany(
                f"INSERT INTO {BlockToken._meta.db_table} (person_id, token) VALUES (%s, %s)",  # noqa: S608 - a model's table name
                entries[lo : lo + 50_000],
            )
    return [str(i) for i in ids], len(entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=200, help="people scored incrementally")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory() as tmp:
        setup(args, Path(tmp))
        from benchdb import server_version
        from django.db import connection, transaction

        from haven.dedupe.models import DuplicateCandidate
        from haven.dedupe.services import (
            _current_table,
            _full_pass,
            duplicate_candidates_refresh,
        )

        t = time.perf_counter()
        ids, tokens = seed(args.people)
        print(
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {server_version(connection)}: "
            f"{args.people:,} stored people, {tokens:,} blocking tokens, seeded in "
            f"{time.perf_counter() - t:.0f} s"
        )
        t = time.perf_counter()
        table, case_of = _current_table(1)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        rows, candidates, _trained, _stored, warnings = _full_pass(
            table=table, case_of=case_of, threshold=0.5
        )
        t_pass = time.perf_counter() - t
        t = time.perf_counter()
        with transaction.atomic():
            DuplicateCandidate.objects.all().delete()
            DuplicateCandidate.objects.bulk_create(rows, ignore_conflicts=True)
        t_write = time.perf_counter() - t
        print(
            f"  haven dedupe's pass: read the encodings {t_read:.1f} s, compare, train and "
            f"cluster {t_pass:.1f} s ({candidates:,} candidate pairs), write {len(rows):,} "
            f"queue rows {t_write:.1f} s; total {t_read + t_pass + t_write:.1f} s"
            + (f"; warnings: {list(warnings)}" if warnings else "")
        )
        # People with a proposed duplicate first (a save that finds something), then others.
        person_of = {c: p for p, c in case_of.items()}
        paired = list(dict.fromkeys(person_of[str(r.case_a_id)] for r in rows))
        sample = (paired[: args.new // 2] + ids[:: max(1, len(ids) // max(args.new, 1))])[
            : args.new
        ]
        t = time.perf_counter()
        queued = 0
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for pid in sample:
            with transaction.atomic():
                queued += duplicate_candidates_refresh(person_ids=[pid])
        profile.disable()
        if os.environ.get("PROFILE"):
            pstats.Stats(profile).sort_stats("cumtime").print_stats(25)
        per = (time.perf_counter() - t) / max(len(sample), 1)
        print(
            f"  new people against the stored ones: {per * 1000:.0f} ms a person "
            f"({len(sample)} people, {queued} pairs queued)"
        )
        print(f"  peak resident memory of this process: {_peak_mib():,.0f} MiB")
        connection.close()
    if args.database == "postgres":
        from benchdb import pg_drop

        pg_drop(os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG))
    return 0


if __name__ == "__main__":
    sys.exit(main())
