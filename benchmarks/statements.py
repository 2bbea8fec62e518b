"""Statements benchmark: the gate and the leak check on a 2,000-word statement in an organisation
of 100,000 encrypted cases, beside a plain render of the same statement, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/statements.py [--cases 100000] [--database sqlite|postgres|both]

Seeding (as benchmarks/caseload.py does it: rows the services make, sealed with real cryptography,
written by COPY or executemany): the organisation's keys, a supervisor, an intake officer and a
press officer; ``--cases`` cases (most alone, a fifth in groups of two to five) in the journey's
states in a mature caseload's proportions, each person with a distinct-enough Korean name (Hangul
and a romanization, and an alias for one in five) and the blind-index tokens the services store
for them. Then, through the services, the statement's subjects: a group of three that arrived
(with its journey), its cover values, and a 2,000-word statement (English and Korean) about it.

Timed, each ``--runs`` times after a warm-up, in one process:

* **plain render**: the references filled with the cover values (no gate, no check) — the floor;
* **gate**: the one predicate every outward path asks;
* **leak check, supervisor**: the true values of everyone in scope (read with the case keys),
  every spelling, and the whole text against the blind index of all 100,000 people;
* **leak check, press officer**: the same true values from their keyed fingerprints;
* **gate + both checks**: what an approval asks (its writes aside).

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/
h_disclose_statements), dropped and created by this script and dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate, server_version
from caseload import COUNTRY, FINAL_WEIGHTS, KeyMaker, fast_insert

HERE = Path(__file__).resolve().parent
TARGET_MS = 300.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/h_disclose_statements"
PASSWORD = "bench: correct horse battery staple"  # noqa: S105 - a benchmark input

SURNAMES = "김이박최정강조윤장임한오서신권황안송전홍유고문양손배백허남심노하곽성차주우구민류나진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
GIVEN = (
    "민서지현수영준우진성희은정하연윤혜경철호석미숙동재광명순옥춘화금향선복"
    "일남국혁룡길범학봉세태원창무용상훈근덕송림란애련실녀식삼만"
)

ALIAS_FAMILY = ("Jin", "Li", "Wang", "Zhang", "Liu", "Chen", "Zhao", "Piao", "Cui", "Zheng")
ALIAS_GIVEN = ("Mei", "Hua", "Xiu", "Lan", "Yan", "Hong", "Li", "Ming", "Jun", "Fang", "Ying")

SENTENCES_EN = [
    "The organisation helps people who have left North Korea to reach safety and to rebuild their lives.",
    "Over the past year the number of requests for help rose, as sanctions and pressure to send money home made life harder for workers abroad.",
    "Many of those who ask for help worked in restaurants, factories and trading companies in China.",
    "They often travel for weeks through a third country before they can board a flight to Seoul.",
    "The Ministry of Unification confirmed the arrival of the group this month.",
    "We ask the press not to publish photographs or details that could identify anyone, or harm their families.",
    "Every person we help chose to leave, and we record that choice in their own words.",
    "The government in Pyongyang has called such departures abductions and demanded their return.",
    "Our partners in Thailand and in South Korea have worked with us for many years.",
    "Resettlement begins with twelve weeks at a settlement centre, language classes and job training.",
    "In 2016 about 1,400 North Koreans arrived in the South, fewer than a decade earlier.",
    "Women make up most of those who arrive, many of them after years of work abroad.",
    "We are grateful to the volunteers, interpreters and lawyers who give their time.",
    "Anyone who needs help can reach us through our direct line, which stores no address and needs no account.",
    "We will not comment on individual cases while anyone is still on their way.",
    "The families they left behind remain at risk, which is why we say so little.",
    "Sanctions, closed borders and the pandemic changed the routes people take.",
    "Some wait for months in shelters before a flight can be arranged.",
    "Human Rights Watch and other organisations have documented forced repatriations from China.",
    "President Moon Jae-in and President Yoon Suk Yeol both spoke about the protection of defectors.",
    "Kim Jong Un's government has tightened controls at the border since 2020.",
    "On arrival, each person is questioned by the authorities before they are handed over.",
    "Our staff in Seoul and our partners abroad work in several languages, Korean, Chinese and English among them.",
    "Donations from individuals keep the direct line open around the clock.",
]
SENTENCES_KO = [
    "우리 단체는 북한을 떠난 사람들이 안전한 곳에 도착해 새 삶을 시작하도록 돕습니다.",
    "지난 한 해 동안 도움 요청이 늘었으며, 제재와 송금 압박으로 해외 노동자들의 삶이 더 어려워졌습니다.",
    "도움을 요청하는 사람들 가운데 많은 이들이 중국의 식당과 공장, 무역 회사에서 일했습니다.",
    "이들은 서울행 비행기를 타기까지 제3국을 거쳐 몇 주 동안 이동하기도 합니다.",
    "통일부는 이번 달 이들의 입국 사실을 확인했습니다.",
    "언론은 가족에게 해가 될 수 있는 사진이나 신원 정보를 공개하지 말아 주시기 바랍니다.",
    "우리가 돕는 모든 사람은 스스로 떠나기로 결정했으며, 우리는 그 결정을 본인의 말로 기록합니다.",
    "정착은 하나원에서의 12주 교육과 한국어 수업, 직업 훈련으로 시작됩니다.",
    "아직 이동 중인 사람이 있는 동안에는 개별 사례에 대해 언급하지 않습니다.",
    "북한에 남은 가족들은 여전히 위험에 처해 있습니다.",
]
STATEMENT_HEAD = (
    "[[A.count]] North Korean [[A.occupation]]s from [[A.origin]] arrived in [[A.now]] in "
    "[[A.arrived]]. "
)


def names(n: int, rng: random.Random) -> list[tuple[str, str, list[str]]]:
    """``n`` (Hangul, romanized, aliases) names: a surname and a two-syllable given name (one in
    ten a one-syllable given name), romanized in one of the systems the matcher reads."""
    from haven.matching.romanization import romanize_name

    systems = ("rr", "mr", "nk")
    found = []
    for _ in range(n):
        surname = rng.choice(SURNAMES)
        given = rng.choice(GIVEN) + ("" if rng.random() < 0.1 else rng.choice(GIVEN))
        roman = romanize_name(surname, given, rng.choice(systems)).title()  # type: ignore[arg-type]
        # Aliases as workers abroad get them: a Chinese name, or a nickname with a title.
        aliases = (
            [
                rng.choice(ALIAS_FAMILY)
                + " "
                + rng.choice(ALIAS_GIVEN)
                + (rng.choice(ALIAS_GIVEN).lower() if rng.random() < 0.5 else "")
            ]
            if rng.random() < 0.2
            else []
        )
        found.append((surname + given, roman, aliases))
    return found


def statement_text(rng: random.Random, words: int) -> dict[str, str]:
    """About ``words`` words: English prose with references, and a Korean paragraph."""
    english = [STATEMENT_HEAD]
    korean: list[str] = [
        "[[A.origin]] 출신 [[A.occupation]] [[A.count]]명이 [[A.now]]에 도착했습니다."
    ]
    count = len(STATEMENT_HEAD.split()) + 6
    while count < words:
        if rng.random() < 0.8:
            sentence = rng.choice(SENTENCES_EN)
            english.append(sentence)
        else:
            sentence = rng.choice(SENTENCES_KO)
            korean.append(sentence)
        count += len(sentence.split())
    return {"en": " ".join(english), "ko": " ".join(korean)}


# --------------------------------------------------------------------------- child process


def setup_django(database: str, workdir: Path) -> str:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    os.environ["HAVEN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["HAVEN_DATA_DIR"] = str(workdir)
    (workdir / "static").mkdir(exist_ok=True)
    os.environ["HAVEN_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    for name in ("HAVEN_DEBUG", "HAVEN_KDF_OPSLIMIT", "HAVEN_KDF_MEMLIMIT"):
        os.environ.pop(name, None)
    if database == "postgres":
        url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
        pg_recreate(url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench-statements.sqlite3'}"
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    from django.db import connection

    return server_version(connection)


def seed(*, n_cases: int, rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    """The organisation, then ``n_cases`` cases in bulk, with names and search tokens."""
    from django.db import transaction
    from tqdm import tqdm

    from haven.accounts.models import Role
    from haven.accounts.services import user_create
    from haven.cases.models import Case, Group, Person, Request, RequestStatus
    from haven.cases.search import person_index_values
    from haven.cases.tallies import tallies_catch_up
    from haven.vault.index import index_key_active, search_tokens_build
    from haven.vault.sealed import payload_set
    from haven.vault.services import org_keys_setup, team_keys_share_pending

    started = time.perf_counter()
    org = org_keys_setup()
    ctx = org.ctx
    supervisor = user_create(
        username="bench-super", password=PASSWORD, role=Role.SUPERVISOR, chosen_by_them=True
    )
    intake = user_create(
        username="bench-intake", password=PASSWORD, role=Role.INTAKE, chosen_by_them=True
    )
    press = user_create(
        username="bench-press", password=PASSWORD, role=Role.PRESS, chosen_by_them=True
    )
    team_keys_share_pending(ctx=ctx, actor=None)
    maker = KeyMaker(ctx, intake=intake, supervisor=supervisor)
    index_key = index_key_active()
    finals = list(FINAL_WEIGHTS)
    weights = [FINAL_WEIGHTS[s] for s in finals]
    made = {"cases": 0, "tokens": 0}
    people_names = names(n_cases, rng)
    bar = tqdm(total=n_cases, unit="case", file=sys.stderr, mininterval=5)
    span = 3 * 365 * 86400
    while made["cases"] < n_cases:
        from haven.db.rows import Rows

        maker.keys, maker.grants = [], []
        requests, groups, people, cases = [], [], [], []
        tokens_by_key: dict[Any, Any] = {}
        planned = 0
        while planned < 500 and made["cases"] + planned < n_cases:
            size = 1 if rng.random() < 0.8 else rng.randint(2, 5)
            size = min(size, n_cases - made["cases"] - planned)
            final = rng.choices(finals, weights)[0]
            received = now - dt.timedelta(seconds=rng.uniform(3600, span))
            holders = maker.holders_for(None)
            request = Request(
                data_key=maker.new(holders, received),
                channel="direct_line",
                received_at=received,
                urgency=2,
                status=RequestStatus.NEW if final == "received" else RequestStatus.TRIAGED,
                people_count=size,
                created_by_id=intake.pk,
            )
            payload_set(
                ctx=ctx,
                record=request,
                data={"account": "식당 종업원입니다.", "contact": "", "people_as_told": size},
            )
            requests.append(request)
            group = None
            if size > 1:
                group = Group(data_key=maker.new(holders, received), request_id=request.pk)
                payload_set(ctx=ctx, record=group, data={"label": f"Group {len(groups)}"})
                groups.append(group)
            for _ in range(size):
                hangul, roman, aliases = people_names[made["cases"] + planned]
                planned += 1
                key = maker.new(holders, received)
                data = {
                    "name_hangul": hangul,
                    "name_romanized": roman,
                    "aliases": aliases,
                    "sex": "female",
                    "birth": {"value": "1995", "precision": "year"},
                    "origin_region": "Sinuiju",
                    "occupation": "restaurant_worker",
                    "family": [],
                }
                record = Person(data_key=key)
                payload_set(ctx=ctx, record=record, data=data)
                people.append(record)
                tokens_by_key[key.id] = person_index_values(data)
                case = Case(
                    data_key=key,
                    person_id=record.pk,
                    request_id=request.pk,
                    group_id=group.pk if group else None,
                    state=final,
                    urgency=2,
                    country=COUNTRY.get(final, "CN"),
                    opened_at=received,
                    updated_at=received,
                    state_changed_at=received,
                    version=2,
                )
                payload_set(
                    ctx=ctx, record=case, data={"own_words": "", "exact_place": "", "summary": ""}
                )
                cases.append(case)
        rows = Rows()
        made["tokens"] += search_tokens_build(
            ctx=ctx, values_by_key=tokens_by_key, index_key=index_key, rows=rows
        )
        with transaction.atomic():
            for objs in (maker.keys, maker.grants, requests, groups, people, cases):
                fast_insert(objs)
            rows.save()
            # As the services do before each audit entry: the counts kept at write time.
            tallies_catch_up()
        made["cases"] += len(cases)
        bar.update(len(cases))
    bar.close()
    return {
        **made,
        "seconds": time.perf_counter() - started,
        "users": [supervisor.pk, press.pk],
    }


def subjects(rng: random.Random, words: int) -> dict[str, Any]:
    """Through the services: a group of three that arrived, its cover values, the statement."""
    from haven.accounts.models import User
    from haven.cases.journey import State
    from haven.cases.models import Case, Channel
    from haven.cases.services import PersonInput, group_advance, request_create
    from haven.disclosure import facts
    from haven.disclosure.services import CoverInput, cover_set, statement_create
    from haven.vault.context import context_for
    from haven.vault.services import user_key_open

    supervisor = User.objects.get(username="bench-super")
    press_user = User.objects.get(username="bench-press")
    ctx = context_for(supervisor, user_key_open(user=supervisor, password=PASSWORD))
    press = context_for(press_user, user_key_open(user=press_user, password=PASSWORD))
    people = [
        PersonInput(
            name_hangul=h,
            name_romanized=r,
            aliases=a,
            origin_region="Shanxi",
            occupation="restaurant_worker",
            birth_value="1994-03-17",
            birth_precision="day",
        )
        for h, r, a in (
            ("김선희", "Kim Sun-hui", ["Jin Meihua"]),
            ("리영호", "Ri Yong-ho", []),
            ("박정민", "Pak Jong-min", []),
        )
    ]
    request = request_create(
        ctx=ctx,
        actor=supervisor,
        channel=Channel.STAFF,
        account="Three of us.",
        people=people,
        group_label="Taiyuan three",
    )
    group = request.cases.first().group
    for state, country, region in (
        (State.VERIFYING, "CN", ""),
        (State.ACCEPTED, "CN", ""),
        (State.REFERRED, "CN", ""),
        (State.LEFT_WORKPLACE, "CN", "Taiyuan"),
        (State.IN_TRANSIT, "LA", "Luang Namtha"),
        (State.IN_THIRD_COUNTRY, "TH", "Chiang Rai"),
        (State.AWAITING_FLIGHT, "TH", "Bangkok"),
        (State.ARRIVED, "KR", ""),
    ):
        group_advance(
            ctx=ctx,
            actor=supervisor,
            group=group,
            case_versions={c.pk: c.version for c in Case.objects.filter(group=group)},
            to_state=state,
            country=country,
            region=region,
        )
    cover = cover_set(
        ctx=ctx,
        actor=supervisor,
        group=group,
        label="Spring group",
        fields={
            "count": CoverInput(mode=facts.TRUE, reason="Public."),
            "origin": CoverInput(mode=facts.COVER, values={"en": "Shanghai", "ko": "상하이"}),
            "occupation": CoverInput(mode=facts.TRUE, reason="Common work."),
            "now": CoverInput(mode=facts.TRUE, reason="Landed."),
            "arrived": CoverInput(mode=facts.MONTH, reason="Month only."),
        },
    )
    texts = statement_text(rng, words)
    statement = statement_create(
        ctx=press,
        actor=press_user,
        title="Three workers reach safety",
        texts=texts,
        subjects={"A": str(cover.pk)},
    )
    return {
        "ctx": ctx,
        "press": press,
        "statement": statement,
        "words": sum(len(t.split()) for t in texts.values()),
        "supervisor": supervisor,
    }


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def timed(call: Callable[[], Any], runs: int) -> dict[str, float]:
    for _ in range(3):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "max": max(samples),
        "n": len(samples),
    }


def measure(world: dict[str, Any], runs: int) -> dict[str, Any]:
    from haven.disclosure import leakcheck
    from haven.disclosure.gate import gate
    from haven.disclosure.models import LeakPrint
    from haven.disclosure.rendering import render
    from haven.disclosure.services import _published, statement_rendered, subjects_resolve
    from haven.vault.sealed import payload_read

    ctx, press, statement = world["ctx"], world["press"], world["statement"]
    data = payload_read(ctx=ctx, record=statement)
    subjects = subjects_resolve(ctx=ctx, data=data)
    rendered = statement_rendered(data, subjects)
    scope = sorted(subjects.gate.cases())

    def plain() -> Any:
        return render(title=data["title"], texts=data["texts"], subjects=subjects.payloads)

    def the_gate() -> Any:
        return gate(list(subjects.covers.values()))

    def supervisor_check() -> list[Any]:
        truths = leakcheck.truths_read(ctx=ctx, case_ids=scope)
        targets = leakcheck.targets_build(truths, published=_published(subjects))
        return leakcheck.truth_hits(rendered.texts, targets) + leakcheck.index_hits(
            ctx=ctx, texts=rendered.texts, in_scope=scope
        )

    def press_check() -> list[Any]:
        prints = {
            str(p.case_id): payload_read(ctx=press, record=p)
            for p in LeakPrint.objects.filter(case_id__in=scope)
        }
        return leakcheck.fingerprint_hits(rendered.texts, prints, published=_published(subjects))

    def approval_checks() -> list[Any]:
        result = the_gate()
        assert result.open
        return supervisor_check() + press_check()

    hits = supervisor_check()
    return {
        "words": world["words"],
        "characters": sum(len(t) for t in rendered.texts.values()),
        "index_hits": [(h.field, h.phrase) for h in hits],
        "press_hits": len(press_check()),
        "rows": [
            ("plain render (no gate, no check)", timed(plain, runs)),
            ("gate", timed(the_gate, runs)),
            ("leak check, supervisor (true values + index)", timed(supervisor_check, runs)),
            ("leak check, press officer (fingerprints)", timed(press_check, runs)),
            ("gate + both leak checks", timed(approval_checks, runs)),
        ],
    }


def child(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="haven-bench-statements-") as folder:
        workdir = Path(folder)
        server = setup_django(args.database, workdir)
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        call_command("migrate", interactive=False, verbosity=0)
        rng = random.Random(args.seed)
        print(f"  seeding {args.cases:,} cases", file=sys.stderr)
        seeded = seed(n_cases=args.cases, rng=rng, now=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        world = subjects(rng, args.words)
        print(f"  seeded in {seeded['seconds']:.1f} s; measuring", file=sys.stderr)
        load_before = os.getloadavg()
        measured = measure(world, args.runs)
        result = {
            "database": args.database,
            "server": server,
            "seeded": {k: v for k, v in seeded.items() if k != "users"},
            "load": [load_before, os.getloadavg()],
            **measured,
        }
        Path(args.json).write_text(json.dumps(result), encoding="utf-8")
        connection.close()
        if args.database == "postgres":
            pg_drop(os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG))
    return 0


# --------------------------------------------------------------------------- parent process


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Haven statements benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"{args.runs} timed runs per row after 3 warm-up ones; target p95 <= {TARGET_MS:.0f} ms "
        f"for the gate and the leak checks",
        f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}",
        "",
    ]
    for r in results:
        s = r["seeded"]
        (b1, b5, b15), (e1, e5, e15) = r["load"]
        lines += [
            f"{r['database']} ({r['server']}): {s['cases']:,} cases with {s['tokens']:,} search "
            f"tokens seeded in {s['seconds']:.0f} s; statement of {r['words']:,} words "
            f"({r['characters']:,} characters, English and Korean)",
            f"{r['database']}: load average {b1:.2f}/{b5:.2f}/{b15:.2f} at the start of the "
            f"measurements, {e1:.2f}/{e5:.2f}/{e15:.2f} at the end",
            f"{r['database']}: the innocent statement's matches in the blind index of everyone: "
            f"{len(r['index_hits'])} {r['index_hits'][:5]}; from fingerprints: {r['press_hits']}",
        ]
    header = f"{'database':<9} {'what':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>4}"
    lines += ["", header, "-" * len(header)]
    for r in results:
        for what, t in r["rows"]:
            flag = (
                "" if what.startswith("plain") else ("  ok" if t["p95"] <= TARGET_MS else "  OVER")
            )
            lines.append(
                f"{r['database']:<9} {what:<48} {t['p50']:>8.2f} {t['p95']:>8.2f} "
                f"{t['max']:>8.1f} {t['n']:>4}{flag}"
            )
    return "\n".join(lines) + "\n"


def parent(args: argparse.Namespace) -> int:
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            out = Path(handle.name)
        command = [
            sys.executable,
            __file__,
            "--child",
            "--database",
            database,
            "--cases",
            str(args.cases),
            "--runs",
            str(args.runs),
            "--words",
            str(args.words),
            "--seed",
            str(args.seed),
            "--json",
            str(out),
        ]
        print(f"== {database}", file=sys.stderr, flush=True)
        code = subprocess.call(command)  # noqa: S603 - this script, our interpreter
        if code != 0:
            print(f"{database}: the benchmark failed (exit {code}).", file=sys.stderr)
            return code
        results.append(json.loads(out.read_text()))
        out.unlink()
    text = report(results, args)
    print(text)
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(exist_ok=True)
        path = folder / f"statements-{dt.datetime.now().astimezone().date().isoformat()}.txt"
        path.write_text(text, encoding="utf-8")
        print(f"(saved to {path})", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per row")
    parser.add_argument("--words", type=int, default=2_000, help="words in the statement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases < 100:
        parser.error("--cases must be at least 100")
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
