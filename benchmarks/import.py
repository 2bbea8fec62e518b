"""Import benchmark: checking and loading a spreadsheet of people, beside one request at a time.

    .venv/bin/python benchmarks/import.py [--rows 100000] [--check-rows 10000]
        [--single 500] [--workers N] [--database sqlite|postgres|both] [--workdir D]

For each database, in a process of its own with production settings (real cryptography, the
production Argon2id cost for the one supervisor's key): migrate a fresh database, set up the
organisation's keys (`org_keys_setup`), one supervisor holding the team keys, and an index key;
then

1. **check**: `import_stage` (the dry run) on a CSV of ``--check-rows`` generated people (Korean
   names with romanizations, sexes, birth dates in the forms people write, places, occupations,
   dates received, states; every 50th row broken on purpose, a few duplicates), timed: reading,
   checking, the duplicates preview against the stored people and within the file, sealing the
   staged rows;
2. **load**: `import_stage` then `import_commit` on ``--rows`` people (the staged rows loaded in
   chunks of 500, each person under their own data key sealed to its holders and the recovery
   key, with search tokens and matching encodings, as every other record; the chunks built in
   ``--workers`` processes, as `haven import` does), timed separately;
3. **one at a time**: `request_create` for ``--single`` people, one request each, as the
   services record a request typed on the page: people per second.

Targets (issue 16): 10,000 rows checked in 60 s or less, 100,000 loaded in 10 minutes or less,
on both databases. PostgreSQL: HAVEN_BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/haven_bench_import), dropped and created here and dropped
at the end. Output also saved to benchmarks/results/import-<date>.txt.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdb import pg_drop, pg_recreate, server_version

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench_import"
PASSWORD = "bench: correct horse battery staple"  # noqa: S105 - a benchmark input
CHECK_TARGET_S = 60.0
LOAD_TARGET_S = 600.0

SURNAMES = [
    ("김", "Kim"),
    ("리", "Ri"),
    ("박", "Pak"),
    ("최", "Choe"),
    ("정", "Jong"),
    ("강", "Kang"),
    ("조", "Jo"),
    ("윤", "Yun"),
    ("장", "Jang"),
    ("한", "Han"),
]
GIVEN = [
    ("선희", "Son-hui"),
    ("영철", "Yong-chol"),
    ("순옥", "Sun-ok"),
    ("광호", "Kwang-ho"),
    ("명수", "Myong-su"),
    ("은정", "Un-jong"),
    ("철민", "Chol-min"),
    ("혜련", "Hye-ryon"),
    ("성진", "Song-jin"),
    ("미향", "Mi-hyang"),
    ("경애", "Kyong-ae"),
    ("정남", "Jong-nam"),
]
PLACES = ["신의주", "청진", "혜산", "평양", "함흥", "회령", "남포", "원산", "사리원", "개성"]
JOBS = ["식당 종업원", "무역", "노동자", "간부", "학생", "", "기타"]
STATES = ["접수", "확인중", "수락", "이관", "제3국", "입국", "종결", "연락두절", ""]
COUNTRIES = ["중국", "CN", "태국", "TH", "KR", "라오스"]
HEADERS = [
    "이름",
    "영문이름",
    "성별",
    "생년월일",
    "음력",
    "출신지",
    "직업",
    "접수일",
    "국가",
    "상태",
    "요청번호",
    "본인 진술",
]


def _birth(rng: random.Random) -> str:
    year, month, day = rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)
    form = rng.randrange(5)
    if form == 0:
        return f"{year}-{month:02d}-{day:02d}"
    if form == 1:
        return f"{day:02d}/{month:02d}/{year}"
    if form == 2:
        return f"{year}년 {month}월 {day}일"
    if form == 3:
        return str(year)
    return f"{year}.{month}"


def sheet(rows: int, seed: int) -> bytes:
    """A CSV of ``rows`` people as an NGO's spreadsheet might hold them."""
    rng = random.Random(seed)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    group, left_in_group = 0, 0
    received = dt.date(2016, 1, 1)
    for n in range(rows):
        (sur_h, sur_r), (giv_h, giv_r) = rng.choice(SURNAMES), rng.choice(GIVEN)
        ref = ""
        if left_in_group:  # the rest of a group: the same request, received the same day
            left_in_group -= 1
            ref = f"G-{group}"
        else:
            received = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(3000))
            if rng.random() < 0.08:  # about a fifth of the people travel in groups of 2 to 4
                group += 1
                left_in_group = rng.randint(1, 3)
                ref = f"G-{group}"
        birth = _birth(rng) if n % 50 else "19xx"  # every 50th row cannot load
        writer.writerow(
            [
                sur_h + giv_h,
                f"{sur_r} {giv_r}" if rng.random() < 0.7 else "",
                rng.choice(["여", "남", "F", "M", ""]),
                birth,
                "음력" if rng.random() < 0.1 else "",
                rng.choice(PLACES),
                rng.choice(JOBS),
                received.isoformat(),
                "CN" if ref else rng.choice(COUNTRIES),
                rng.choice(STATES),
                ref,
                "떠나기로 스스로 결정했습니다." if rng.random() < 0.3 else "",
            ]
        )
    return out.getvalue().encode("utf-8")


def worker(args: argparse.Namespace) -> dict[str, object]:
    """Runs in its own process: DJANGO_SETTINGS_MODULE and DATABASE_URL are set by main()."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from haven.accounts.models import Role
    from haven.accounts.services import user_create
    from haven.cases.services import PersonInput, request_create
    from haven.imports.services import import_commit, import_stage
    from haven.vault.context import context_for
    from haven.vault.services import org_keys_setup, team_keys_share_pending, user_key_open

    org = org_keys_setup()
    supervisor = user_create(
        username="sup", password=PASSWORD, role=Role.SUPERVISOR, chosen_by_them=True
    )
    team_keys_share_pending(ctx=org.ctx, actor=None)
    ctx = context_for(supervisor, user_key_open(user=supervisor, password=PASSWORD))
    result: dict[str, object] = {"database": server_version(connection)}

    data = sheet(args.check_rows, seed=1)
    start = time.perf_counter()
    staged = import_stage(ctx=ctx, actor=supervisor, data=data, name="check.csv")
    result["check_s"] = time.perf_counter() - start
    result["check_rows"] = staged.batch.rows_total
    result["check_valid"] = staged.batch.rows_valid
    result["check_duplicates"] = staged.batch.duplicates_flagged

    data = sheet(args.rows, seed=2)
    start = time.perf_counter()
    staged = import_stage(ctx=ctx, actor=supervisor, data=data, name="load.csv")
    result["load_check_s"] = time.perf_counter() - start
    start = time.perf_counter()
    from django.conf import settings

    workers = args.workers or settings.HAVEN_IMPORT_WORKERS
    result["workers"] = workers
    done = import_commit(ctx=ctx, actor=supervisor, batch=staged.batch, workers=workers)
    result["load_s"] = time.perf_counter() - start
    result["load_people"] = done.batch.people_committed
    result["load_requests"] = done.batch.requests_committed

    people = [
        PersonInput(
            name_hangul=f"김선희{i}",
            name_romanized="Kim Son-hui",
            sex="female",
            birth_value="1990",
            birth_precision="year",
        )
        for i in range(args.single)
    ]
    start = time.perf_counter()
    for person in people:
        request_create(
            ctx=ctx, actor=supervisor, channel="staff", account="One at a time.", people=[person]
        )
    result["single_s"] = time.perf_counter() - start
    result["single_people"] = args.single
    return result


def _run_worker(args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            __file__,
            "--worker",
            "--rows",
            str(args.rows),
            "--check-rows",
            str(args.check_rows),
            "--single",
            str(args.single),
            "--workers",
            str(args.workers or 0),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--check-rows", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes the load builds chunks in (default: HAVEN_IMPORT_WORKERS; 1: none)",
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="haven-import-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base = {
        **os.environ,
        # Last on the worker's path (see the top of this file): bench_settings comes from here.
        "PYTHONPATH": f"{os.environ.get('PYTHONPATH', '')}{os.pathsep}{HERE}",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "HAVEN_SECRET_KEY": secrets.token_urlsafe(50),
        "HAVEN_DATA_DIR": str(workdir),
        "HAVEN_IMPORT_MAX_ROWS": str(max(args.rows, args.check_rows) + 10),
        "HAVEN_IMPORT_MAX_BYTES": str(200_000_000),
    }
    results = []
    if args.database in ("sqlite", "both"):
        db = workdir / "import.sqlite3"
        for suffix in ("", "-wal", "-shm", "-writers.lock"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        results.append(_run_worker(args, {**base, "DATABASE_URL": f"sqlite:///{db}"}))
    if args.database in ("postgres", "both"):
        url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
        pg_recreate(url)
        try:
            results.append(_run_worker(args, {**base, "DATABASE_URL": url}))
        finally:
            pg_drop(url)
    lines = [
        f"import benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, load average {os.getloadavg()[0]:.2f}",
        f"{'database':<18} {'check rows':>10} {'check s':>8} {'load rows':>10} {'stage s':>8} {'load s':>8} {'people/s':>9} {'one-at-a-time people/s':>24} {'speed-up':>9}",
    ]
    ok = True
    for r in results:
        load_rate = float(r["load_people"]) / float(r["load_s"])  # type: ignore[arg-type]
        single_rate = float(r["single_people"]) / float(r["single_s"])  # type: ignore[arg-type]
        lines.append(
            f"{r['database']:<18} {r['check_rows']:>10} {float(r['check_s']):>8.1f} {r['load_people']:>10} "  # type: ignore[arg-type]
            f"{float(r['load_check_s']):>8.1f} {float(r['load_s']):>8.1f} {load_rate:>9.0f} {single_rate:>24.1f} {load_rate / single_rate:>8.1f}x"  # type: ignore[arg-type]
        )
        scaled_check = float(r["check_s"]) * 10_000 / max(int(r["check_rows"]), 1)  # type: ignore[arg-type]
        scaled_load = (
            (float(r["load_s"]) + float(r["load_check_s"]))
            * 100_000
            / max(int(r["load_people"]), 1)
        )  # type: ignore[arg-type]
        ok &= scaled_check <= CHECK_TARGET_S and scaled_load <= LOAD_TARGET_S
        lines.append(
            f"{'':<18} {r['workers']} builder processes; checked {r['check_valid']} of {r['check_rows']} rows, {r['check_duplicates']} flagged as possible duplicates; "
            f"loaded {r['load_people']} people in {r['load_requests']} requests; "
            f"targets: 10,000 checked <= {CHECK_TARGET_S:.0f} s ({scaled_check:.1f} s scaled), "
            f"100,000 staged and loaded <= {LOAD_TARGET_S:.0f} s ({scaled_load:.0f} s scaled)"
        )
    text = "\n".join(lines)
    print(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"import-{dt.datetime.now().astimezone():%Y%m%d}.txt").write_text(
        text + "\n", encoding="utf-8"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
