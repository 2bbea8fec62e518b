"""Caseload benchmark: seed N cases with their journey events, then time the pages staff use.

    .venv/bin/python benchmarks/caseload.py [--cases 100000] [--database sqlite|postgres|both]

Seeding writes real encrypted payloads (one data key per case, request and group, sealed under
the organisation key) in bulk. Then, logged in as a supervisor through django.test.Client, it
times the dashboard, the filtered case list, a case page and recording a new request, each beside
the p50 of a trivial view that passes through the same middleware in the same run. Where the web
UI has no page yet, the selectors behind it are timed directly (marked "selector").

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/haven_bench);
the database is dropped and created by this script. Each database runs in its own process.
The output is also saved to benchmarks/results/caseload-<date>.txt.
"""

from __future__ import annotations

import argparse
import base64
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
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate, server_version

HERE = Path(__file__).resolve().parent
TARGET_MS = 150.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench"

# Final states and how common they are in a mature caseload (most files are finished).
FINAL_WEIGHTS = {  # about 4.7 journey events per case on average
    "received": 4,
    "verifying": 6,
    "accepted": 4,
    "referred": 3,
    "left_workplace": 2,
    "in_transit": 3,
    "in_third_country": 2,
    "awaiting_flight": 2,
    "arrived": 3,
    "handed_over": 5,
    "closed": 10,
    "declined": 25,
    "duplicate": 10,
    "withdrawn": 6,
    "lost_contact": 4,
    "detained": 2,
    "repatriated": 2,
    "deceased": 1,
}
MAIN = [
    "verifying",
    "accepted",
    "referred",
    "left_workplace",
    "in_transit",
    "in_third_country",
    "awaiting_flight",
    "arrived",
    "handed_over",
    "closed",
]
SIDE = {
    "declined": ["declined"],
    "duplicate": ["duplicate"],
    "withdrawn": ["verifying", "accepted", "withdrawn"],
    "lost_contact": ["verifying", "accepted", "referred", "left_workplace", "lost_contact"],
    "detained": ["verifying", "accepted", "referred", "left_workplace", "in_transit", "detained"],
    "repatriated": [
        "verifying",
        "accepted",
        "referred",
        "left_workplace",
        "in_transit",
        "detained",
        "repatriated",
    ],
    "deceased": ["verifying", "accepted", "referred", "left_workplace", "in_transit", "deceased"],
}
COUNTRY = {
    "received": "CN",
    "verifying": "CN",
    "accepted": "CN",
    "referred": "CN",
    "left_workplace": "CN",
    "in_transit": "LA",
    "in_third_country": "TH",
    "awaiting_flight": "TH",
    "arrived": "KR",
    "handed_over": "KR",
    "closed": "KR",
    "repatriated": "KP",
}
TERMINAL = {"closed", "declined", "duplicate", "withdrawn", "repatriated", "deceased"}


def path_to(final: str) -> list[str]:
    if final == "received":
        return []
    if final in MAIN:
        return MAIN[: MAIN.index(final) + 1]
    return SIDE[final]


# --------------------------------------------------------------------------- parent process


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
            "--requests",
            str(args.requests),
            "--seed",
            str(args.seed),
            "--json",
            str(out),
        ]
        if args.analyze_sqlite:
            command.append("--analyze-sqlite")
        print(f"== {database}: seeding {args.cases:,} cases ...", file=sys.stderr, flush=True)
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
        path = folder / f"caseload-{dt.datetime.now().astimezone().date().isoformat()}.txt"
        path.write_text(text, encoding="utf-8")
        print(f"(saved to {path})", file=sys.stderr)
    return 0


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Haven caseload benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"{args.requests} timed requests per page after 10 warm-up ones; target p95 <= "
        f"{TARGET_MS:.0f} ms",
        f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}",
        "",
    ]
    for r in results:
        lines.append(
            f"{r['database']} ({r['server']}): seeded {r['cases']:,} cases, {r['requests']:,} "
            f"requests, {r['events']:,} journey events in {r['seed_seconds']:.1f} s "
            f"({r['cases'] / r['seed_seconds']:,.0f} cases/s); "
            f"{('VACUUM ANALYZE' if r['database'] == 'postgres' else 'ANALYZE') + ' run' if r['analyzed'] else 'no ANALYZE'}"
        )
    lines.append("")
    header = (
        f"{'database':<9} {'page':<26} {'how':<9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p95<=150?':>10} {'trivial p50 ms':>15}  note"
    )
    lines += [header, "-" * len(header)]
    for r in results:
        for row in r["rows"]:
            met = "yes" if row["p95"] <= TARGET_MS else "NO"
            lines.append(
                f"{r['database']:<9} {row['page']:<26} {row['how']:<9} {row['p50']:>8.1f} "
                f"{row['p95']:>8.1f} {met:>10} {r['trivial_p50']:>15.2f}  {row.get('note', '')}"
            )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- child process


def setup_django(args: argparse.Namespace, workdir: Path) -> str:
    os.environ["DJANGO_SETTINGS_MODULE"] = "haven.settings.base"
    os.environ["HAVEN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["HAVEN_ORG_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ["HAVEN_DATA_DIR"] = str(workdir)
    (workdir / "static").mkdir(exist_ok=True)
    os.environ["HAVEN_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.pop("HAVEN_DEBUG", None)
    if args.database == "postgres":
        url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
        pg_recreate(url)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    from django.db import connection

    server = server_version(connection)
    return server


def data_keys_build(*, ctx: Any, count: int) -> list[Any]:
    """Sealed data keys, made exactly as haven.vault.sealed.data_key_create makes one, but left
    unsaved so that :func:`fast_insert` writes them with the records of their batch."""
    from haven.vault.models import DataKey

    keys = []
    for _ in range(count):
        key = DataKey()
        key.sealed = ctx.new_sealed_data_key(str(key.id))
        keys.append(key)
    return keys


def _converter(field: Any, vendor: str) -> Any:
    """How one column's Python value becomes what the driver stores (as Django would store it)."""
    if vendor == "postgresql":
        return None  # psycopg adapts UUID, datetime, bytes, int and str itself
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind == "UUIDField":
        return lambda v: None if v is None else v.hex
    if kind == "DateTimeField":
        return lambda v: (
            None if v is None else v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
        )
    return None


def fast_insert(objs: list[Any]) -> None:
    """Insert model instances without Django's per-row compile: COPY on PostgreSQL,
    executemany on SQLite, storing each value as the field would."""
    if not objs:
        return
    from django.db import connections

    connection = connections["default"]
    model = type(objs[0])
    fields = list(model._meta.concrete_fields)
    for field in fields:  # auto_now_add and friends
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            for obj in objs:
                field.pre_save(obj, add=True)
    plan = [(f.attname, _converter(f, connection.vendor)) for f in fields]
    rows = [
        tuple(
            getattr(obj, attname) if fn is None else fn(getattr(obj, attname))
            for attname, fn in plan
        )
        for obj in objs
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("%s" for _ in fields)
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def seed(*, n_cases: int, rng: random.Random) -> dict[str, Any]:
    """Bulk-insert ``n_cases`` cases with requests, groups, people and journey events."""
    from django.db import transaction
    from django.utils import timezone
    from tqdm import tqdm

    from haven.accounts.models import Role, Team, User
    from haven.brokers.services import broker_create
    from haven.cases.models import (
        Case,
        Group,
        JourneyEvent,
        Person,
        Request,
        RequestStatus,
    )
    from haven.vault.context import system_key_context
    from haven.vault.sealed import payload_set

    ctx = system_key_context()
    now = timezone.now()
    teams = [Team.objects.create(name=f"Team {i}") for i in range(4)]
    supervisor = User.objects.create(username="bench-super", role=Role.SUPERVISOR, team=teams[0])
    intake = User.objects.create(username="bench-intake", role=Role.INTAKE)
    workers = [
        User.objects.create(username=f"bench-cw{i}", role=Role.CASEWORKER, team=teams[i % 4])
        for i in range(20)
    ]
    brokers = [
        broker_create(ctx=ctx, actor=supervisor, alias=f"Broker {i}", region="Shenyang")
        for i in range(50)
    ]
    has_case_version = any(f.name == "case_version" for f in JourneyEvent._meta.get_fields())
    finals = list(FINAL_WEIGHTS)
    weights = [FINAL_WEIGHTS[s] for s in finals]
    span = 3 * 365 * 86400
    made = {"cases": 0, "requests": 0, "events": 0}
    batch_cases = 500
    bar = tqdm(total=n_cases, unit="case", file=sys.stderr, mininterval=2)
    while made["cases"] < n_cases:
        # Plan one batch: requests of one person (most) or a group of two to five.
        plan: list[tuple[int, str]] = []
        planned = 0
        while planned < batch_cases and made["cases"] + planned < n_cases:
            size = 1 if rng.random() < 0.8 else rng.randint(2, 5)
            size = min(size, n_cases - made["cases"] - planned)
            plan.append((size, rng.choices(finals, weights)[0]))
            planned += size
        n_groups = sum(1 for size, _ in plan if size > 1)
        keys_made = data_keys_build(ctx=ctx, count=len(plan) + n_groups + planned)
        keys = iter(keys_made)
        requests, groups, people, cases, events = [], [], [], [], []
        for size, final in plan:
            received = now - dt.timedelta(seconds=rng.uniform(3600, span))
            broker = rng.choice(brokers) if rng.random() < 0.5 else None
            urgency = rng.choice([1, 2, 2, 3, 3, 4])
            request = Request(
                data_key=next(keys),
                channel="broker" if broker else "direct_line",
                received_at=received,
                urgency=urgency,
                status=RequestStatus.NEW if final == "received" else RequestStatus.TRIAGED,
                people_count=size,
                broker_id=broker.pk if broker else None,
                created_by_id=intake.pk,
            )
            payload_set(
                ctx=ctx,
                record=request,
                data={
                    "account": "식당에서 일하는 종업원입니다. 한국으로 가고 싶습니다. " * 3,
                    "contact": "Signal via broker",
                    "people_as_told": size,
                },
            )
            requests.append(request)
            group = None
            if size > 1:
                group = Group(data_key=next(keys), request_id=request.pk)
                payload_set(ctx=ctx, record=group, data={"label": "Restaurant group"})
                groups.append(group)
            states = path_to(final)
            owner = rng.choice(workers) if final != "received" else None
            for _ in range(size):
                key = next(keys)
                person = Person(data_key=key)
                payload_set(
                    ctx=ctx,
                    record=person,
                    data={
                        "name_hangul": "김은정",
                        "name_romanized": "Kim Un-jong",
                        "aliases": ["Jin Meihua"],
                        "sex": "female",
                        "birth": {"value": "1995", "precision": "year"},
                        "origin_region": "Sinuiju",
                        "occupation": "restaurant_worker",
                        "family": [],
                    },
                )
                people.append(person)
                moments = [received]
                room = (now - received).total_seconds()
                for _ in states:
                    moments.append(moments[-1] + dt.timedelta(seconds=rng.uniform(0, room) / 12))
                due = None
                if final not in TERMINAL:
                    due = now + dt.timedelta(days=rng.uniform(-20, 14))
                case = Case(
                    data_key=key,
                    person_id=person.pk,
                    request_id=request.pk,
                    group_id=group.pk if group else None,
                    owner_id=owner.pk if owner else None,
                    team_id=owner.team_id if owner else None,
                    state=final,
                    urgency=urgency,
                    country=COUNTRY.get(final, "CN"),
                    opened_at=received,
                    updated_at=moments[-1],
                    state_changed_at=moments[-1],
                    next_contact_due=due,
                    version=len(states) + 1,
                    returns_to=states[-2] if final == "lost_contact" else "",
                )
                payload_set(
                    ctx=ctx,
                    record=case,
                    data={
                        "own_words": "제 스스로 결정한 것입니다.",
                        "exact_place": "",
                        "summary": "",
                    },
                )
                cases.append(case)
                previous = ""
                for i, (state, at) in enumerate(zip(["received", *states], moments, strict=True)):
                    event = JourneyEvent(
                        case_id=case.pk,
                        data_key=key,
                        from_state=previous,
                        to_state=state,
                        occurred_at=at,
                        recorded_at=at,
                        recorded_by_id=(owner or intake).pk,
                        country=COUNTRY.get(state, case.country),
                        source="broker" if broker else "requester",
                        confidence="likely",
                    )
                    if has_case_version:
                        event.case_version = i + 1
                    payload_set(
                        ctx=ctx,
                        record=event,
                        data={"region": "Kunming", "place": "", "note": "Called; all well."},
                    )
                    events.append(event)
                    previous = state
        with transaction.atomic():
            for objs in (keys_made, requests, groups, people, cases, events):
                fast_insert(objs)
        ctx.forget()
        made["cases"] += len(cases)
        made["requests"] += len(requests)
        made["events"] += len(events)
        bar.update(len(cases))
    bar.close()
    return {"supervisor": supervisor, "intake": intake, "brokers": brokers, **made}


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def timed(fn: Any, n: int) -> tuple[float, float, float]:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 95), max(samples)


def find_url(names: list[str], *args: Any) -> str | None:
    from django.urls import NoReverseMatch, reverse

    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return None


def measure(seeded: dict[str, Any], n: int, rng: random.Random) -> tuple[list[dict], float]:
    import types

    from django.http import HttpResponse
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from haven.cases.models import Case
    from haven.cases.selectors import case_detail, case_list, case_rows, dashboard
    from haven.cases.services import PersonInput, request_create
    from haven.vault.context import system_key_context

    def trivial(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    urls = types.ModuleType("haven_bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/trivial/", trivial),
        path("", include("haven.urls")),
    ]
    sys.modules["haven_bench_urls"] = urls
    user = seeded["supervisor"]
    ctx = system_key_context()
    case_ids = list(Case.objects.values_list("pk", flat=True))
    rows: list[dict] = []

    with override_settings(ROOT_URLCONF="haven_bench_urls"):
        client = Client()
        client.force_login(user)

        def get(url: str) -> Any:
            def call() -> None:
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {response.status_code}")

            return call

        trivial_p50, _, _ = timed(get("/bench/trivial/"), n)

        def add(page: str, how: str, fn: Any, note: str = "") -> None:
            p50, p95, worst = timed(fn, n)
            rows.append(
                {"page": page, "how": how, "p50": p50, "p95": p95, "max": worst, "note": note}
            )
            print(f"  {page:<26} {how:<9} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms", file=sys.stderr)

        # Dashboard.
        dashboard_url = find_url(["web:dashboard"])
        if dashboard_url:
            body = client.get(dashboard_url).content
            add("dashboard", "url", get(dashboard_url), "stub page" if len(body) < 200 else "")

        def dashboard_selector() -> None:
            board = dashboard(user=user)
            case_rows(ctx=ctx, user=user, cases=board.urgent)
            case_rows(ctx=ctx, user=user, cases=board.overdue)

        add(
            "dashboard",
            "selector",
            dashboard_selector,
            "counts + urgent + overdue, names decrypted",
        )

        # Filtered case list.
        list_url = find_url(["web:case_list", "web:cases", "web:case-list"])
        if list_url:
            add("case list (in_transit, 4)", "url", get(f"{list_url}?state=in_transit&urgency=4"))

        def list_selector() -> None:
            qs = case_list(user=user, state="in_transit", urgency=4)
            qs.count()
            case_rows(ctx=ctx, user=user, cases=qs[:50])

        add(
            "case list (in_transit, 4)",
            "selector",
            list_selector,
            "count + first 50, names decrypted",
        )

        # A case page.
        sample = iter(rng.choices(case_ids, k=n + 20))
        if find_url(["web:case_detail", "web:case", "web:case-detail"], case_ids[0]):
            add(
                "case page",
                "url",
                lambda: get(
                    find_url(["web:case_detail", "web:case", "web:case-detail"], next(sample)) or ""
                )(),
            )
            sample = iter(rng.choices(case_ids, k=n + 20))
        add(
            "case page",
            "selector",
            lambda: case_detail(ctx=ctx, user=user, case_id=next(sample)),
            "case, person, events, notes decrypted",
        )

        # Recording a new request (one person; a request through a broker for three).
        def record() -> None:
            request_create(
                ctx=ctx,
                actor=user,
                channel="direct_line",
                people=[PersonInput(name_hangul="리영호", name_romanized="Ri Yong-ho")],
                account="저는 단동에서 일하는 무역 일꾼입니다. 도와주세요.",
            )

        add("record new request", "service", record, "request_create, one person")
        new_url = find_url(["web:request_new"])
        if new_url:
            form = {
                "channel": "direct_line",
                "urgency": "2",
                "account": "저는 단동에서 일하는 무역 일꾼입니다. 도와주세요.",
                "people_count": "1",
                "p0-name_hangul": "리영호",
                "p0-name_romanized": "Ri Yong-ho",
                "p0-sex": "male",
                "p0-birth_precision": "unknown",
                "p0-occupation": "trader",
            }
            first = client.post(new_url, form)
            if first.status_code == 302:

                def post() -> None:
                    response = client.post(new_url, form)
                    if response.status_code != 302:
                        raise RuntimeError(f"POST {new_url} answered {response.status_code}")

                add("record new request", "url POST", post, "the new-request form, one person")
            else:
                print(f"  POST {new_url} answered {first.status_code}; not timed", file=sys.stderr)
    return rows, trivial_p50


def child(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="haven-bench-") as workdir:
        server = setup_django(args, Path(workdir))
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", interactive=False, verbosity=0)
        rng = random.Random(args.seed)
        started = time.perf_counter()
        seeded = seed(n_cases=args.cases, rng=rng)
        seed_seconds = time.perf_counter() - started
        analyzed = connection.vendor == "postgresql" or args.analyze_sqlite
        if analyzed:
            with connection.cursor() as cursor:
                # PostgreSQL: what autovacuum does to a freshly loaded table (statistics and the
                # visibility map that index-only scans need).
                cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        print(
            f"  seeded in {seed_seconds:.1f} s; measuring {args.requests} requests per page",
            file=sys.stderr,
        )
        rows, trivial_p50 = measure(seeded, args.requests, rng)
        result = {
            "database": args.database,
            "server": server,
            "cases": seeded["cases"],
            "requests": seeded["requests"],
            "events": seeded["events"],
            "seed_seconds": seed_seconds,
            "analyzed": analyzed,
            "rows": rows,
            "trivial_p50": trivial_p50,
        }
        Path(args.json).write_text(json.dumps(result), encoding="utf-8")
        connection.close()
        if args.database == "postgres" and not args.keep:
            pg_drop(os.environ["DATABASE_URL"])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--analyze-sqlite",
        action="store_true",
        help="run ANALYZE on SQLite after seeding (nothing does that in production; PostgreSQL "
        "always gets VACUUM ANALYZE, as autovacuum would do)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases < 100:
        parser.error("--cases must be at least 100")
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
