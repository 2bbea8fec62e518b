"""Caseload benchmark: N encrypted cases under per-person key custody, and the pages staff use,
each timed with real cryptography beside the same page with the crypto module in pass-through mode.

    .venv/bin/python benchmarks/caseload.py [--cases 100000] [--database sqlite|postgres|both]

For each database engine, one process seeds two databases from the same random seed (so that they
hold the same plain rows): one with real cryptography, one with :mod:`haven.crypto` in its
benchmark-only pass-through mode (payload AEAD and X25519 sealed boxes replaced by identity
transforms carrying their own format byte; queries, grant lookups, JSON, the password-wrapped
personal keys and the session-protected key are unchanged). Seeding makes the rows the services
make: the organisation keys (`org_keys_setup`), four casework team keys, a supervisor, an intake
officer and 20 caseworkers with password-wrapped key pairs (`user_create`), team keys shared as
`team_keys_share_pending` shares them, 50 brokers (`broker_create`), then the cases in bulk: one
data key per request, group and case, sealed (as `data_key_create` seals it) to the recovery key
and to each holder a case has once triaged and assigned (`case_holders`: the intake officer who
recorded it, its owner, the owner's team key, the intake key and the supervisors' key), with the
grants, requests, groups, people, cases and journey events written by COPY (PostgreSQL) or
executemany (SQLite).

Then, as a supervisor (who holds the team keys through key shares) and as a caseworker (who sees
what is granted to them or to their team's key), each logged in by POSTing the login form (the
real Argon2id unwrap, session and key cookie), it times the dashboard, the case list (first page,
and filtered), a case page and (supervisor) recording a new request through
django.test.Client. The two modes alternate in blocks on the same pages in the same process, and
the ratio crypto/pass-through is printed per page. --profile adds where the time of one request
goes (SQL, sealed-box opens, payload opens, the rest).

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/haven_bench_caseload);
the databases <name>_crypto and <name>_pass are dropped and created by this script and dropped at
the end (unless --keep). The output is also saved to benchmarks/results/caseload-<date>.txt.
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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchdb import pg_drop, pg_recreate, server_version

HERE = Path(__file__).resolve().parent
TARGET_MS = 150.0
TARGET_RATIO = 1.3
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench_caseload"
PASSWORD = "bench: correct horse battery staple"  # noqa: S105 - a benchmark input
MODES = ("crypto", "pass")
CHUNKS = 5  # the timed requests of a page alternate between the modes in this many blocks
WARM_UP = 10
MIN_SAMPLES = 40

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
            "--page-budget",
            str(args.page_budget),
        ]
        for flag in ("analyze_sqlite", "keep", "profile", "reuse"):
            if getattr(args, flag):
                command.append("--" + flag.replace("_", "-"))
        if args.workdir:
            command += ["--workdir", args.workdir]
        print(f"== {database}: seeding 2 x {args.cases:,} cases ...", file=sys.stderr, flush=True)
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
        f"up to {args.requests} timed requests per page and mode (fewer, at least {MIN_SAMPLES}, "
        f"where that would take over {args.page_budget:.0f} s) after {WARM_UP} warm-up ones, the "
        f"modes alternating in {CHUNKS} blocks; targets: p95 <= {TARGET_MS:.0f} ms with real "
        f"crypto, p95 crypto / p95 pass-through <= {TARGET_RATIO}",
        f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}",
        "crypto = real XChaCha20-Poly1305 payloads and X25519 sealed boxes; pass = the same pages "
        "on a database seeded the same way with haven.crypto in pass-through mode",
        "",
    ]
    for r in results:
        for mode in MODES:
            s = r["seed"][mode]
            lines.append(
                f"{r['database']} ({r['server']}), {mode:<6}: seeded {s['cases']:,} cases, "
                f"{s['requests']:,} requests, {s['groups']:,} groups, {s['events']:,} journey "
                f"events, {s['data_keys']:,} data keys, {s['grants']:,} grants in "
                f"{s['seconds']:.1f} s ({s['cases'] / s['seconds']:,.0f} cases/s; "
                f"{s['seal_seconds']:.1f} s of it sealing {s['seals']:,} boxes and "
                f"{s['payloads']:,} payloads)"
            )
        lines.append(
            f"{r['database']}: "
            + ("VACUUM ANALYZE" if r["database"] == "postgres" else "ANALYZE")
            + (" run after seeding" if r["analyzed"] else ": not run")
            + f"; trivial view p50 {r['trivial_p50']:.2f} ms (same middleware, no query)"
        )
        (b1, b5, b15), (e1, e5, e15) = r["load"]
        lines.append(
            f"{r['database']}: load average while measuring (other work on the machine): "
            f"{b1:.2f}/{b5:.2f}/{b15:.2f} at the start, {e1:.2f}/{e5:.2f}/{e15:.2f} at the end"
        )
        for who, login in r["logins"].items():
            lines.append(
                f"{r['database']}: login as {who}, {len(login['crypto'])} times per mode: "
                f"password step (Django's Argon2 password check + Argon2id key unwrap + session "
                f"key) p50 crypto {statistics.median(login['crypto']):.0f} ms / pass "
                f"{statistics.median(login['pass']):.0f} ms; authenticator-code step p50 "
                f"{statistics.median(login['crypto_code']):.0f} ms / "
                f"{statistics.median(login['pass_code']):.0f} ms"
            )
        lines.append("")
    header = (
        f"{'database':<9} {'user':<11} {'page':<27} {'rows':>6} "
        f"{'crypto p50':>10} {'p95':>7} {'pass p50':>9} {'p95':>7} "
        f"{'ratio p50':>9} {'p95':>5} {'p95<=150':>8} {'ratio<=1.3':>10} {'n':>4}"
    )
    lines += [header, "-" * len(header)]
    for r in results:
        for row in r["rows"]:
            c, p = row["crypto"], row["pass"]
            ratio50, ratio95 = c["p50"] / p["p50"], c["p95"] / p["p95"]
            lines.append(
                f"{r['database']:<9} {row['user']:<11} {row['page']:<27} {row['visible']:>6} "
                f"{c['p50']:>10.1f} {c['p95']:>7.1f} {p['p50']:>9.1f} {p['p95']:>7.1f} "
                f"{ratio50:>9.2f} {ratio95:>5.2f} "
                f"{'yes' if c['p95'] <= TARGET_MS else 'NO':>8} "
                f"{'yes' if ratio95 <= TARGET_RATIO else 'NO':>10} {c['n']:>4}"
            )
    lines.append(
        "(rows: the cases the page's user can see; times in ms; n: timed requests per mode)"
    )
    for r in results:
        if r.get("profile"):
            lines += [
                "",
                f"{r['database']}: where the time of one request goes (mean of "
                f"{r['profile_runs']} requests per page and mode)",
            ]
            lines += r["profile"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- child process


DB_NAMES: dict[str, str] = {}


def setup_django(args: argparse.Namespace, workdir: Path, *, recreate: bool = True) -> str:
    # Production settings plus the one flag that lets this process use pass-through mode.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    os.environ["HAVEN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["HAVEN_DATA_DIR"] = str(workdir)
    (workdir / "static").mkdir(exist_ok=True)
    os.environ["HAVEN_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    for name in ("HAVEN_DEBUG", "HAVEN_KDF_OPSLIMIT", "HAVEN_KDF_MEMLIMIT"):
        os.environ.pop(name, None)
    if args.database == "postgres":
        url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
        parts = urlsplit(url)
        base = parts.path.lstrip("/") or "haven_bench_caseload"
        for mode in MODES:
            DB_NAMES[mode] = f"{base}_{mode}"
            if recreate:
                pg_recreate(urlunsplit(parts._replace(path="/" + DB_NAMES[mode])))
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + DB_NAMES["crypto"]))
    else:
        for mode in MODES:
            DB_NAMES[mode] = str(workdir / f"bench-{mode}.sqlite3")
        os.environ["DATABASE_URL"] = f"sqlite:///{DB_NAMES['crypto']}"
    sys.path.insert(0, str(HERE.parent / "src"))
    import django

    django.setup()
    from django.db import connection

    return server_version(connection)


def use_database(mode: str) -> None:
    """Point Django's default connection at the database seeded in ``mode``."""
    from django.db import connection

    if connection.settings_dict["NAME"] != DB_NAMES[mode]:
        connection.close()
        connection.settings_dict["NAME"] = DB_NAMES[mode]
    connection.ensure_connection()


@contextmanager
def active(mode: str) -> Iterator[None]:
    """``mode``'s database, and for "pass" the crypto module in pass-through mode."""
    from haven.crypto import passthrough_for_benchmarks

    use_database(mode)
    with ExitStack() as stack:
        if mode == "pass":
            stack.enter_context(passthrough_for_benchmarks())
        yield


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


AUTO_FIELDS = {"AutoField", "BigAutoField", "SmallAutoField"}


def fast_insert(objs: list[Any]) -> None:
    """Insert model instances without Django's per-row compile: COPY on PostgreSQL,
    executemany on SQLite, storing each value as the field would (auto ids left to the database)."""
    if not objs:
        return
    from django.db import connections

    connection = connections["default"]
    model = type(objs[0])
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type() in AUTO_FIELDS)
    ]
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


class KeyMaker:
    """Data keys and their grants, made as haven.vault.sealed.data_key_create makes them (sealed
    to each holder and to the recovery key), but left unsaved for :func:`fast_insert`."""

    def __init__(self, ctx: Any, *, intake: Any, supervisor: Any):
        from haven.vault import holders as h
        from haven.vault.sealed import recovery_public_key

        self.ctx = ctx
        self.intake = intake
        self.supervisor = supervisor
        self.recovery = recovery_public_key()
        self.initial = self._plan(h.case_holders(actor=intake), granted_by=intake.pk)
        self.plans: dict[Any, list[tuple[str, Any, Any, bytes, Any]]] = {}
        self.keys: list[Any] = []
        self.grants: list[Any] = []
        self.seals = 0
        self.seal_seconds = 0.0
        self.slots: list[int] = []

    @staticmethod
    def _plan(holders: list[Any], granted_by: Any) -> list[tuple[str, Any, Any, bytes, Any]]:
        from haven.accounts.models import User
        from haven.vault.sealed import holder_public_keys

        plan: list[tuple[str, Any, Any, bytes, Any]] = []
        for holder, public in holder_public_keys(holders).items():
            if isinstance(holder, User):
                plan.append((f"u:{holder.pk}", holder.pk, None, public, granted_by))
            else:
                plan.append((holder.ref, None, holder.pk, public, granted_by))
        return plan

    def holders_for(self, owner: Any) -> list[tuple[str, Any, Any, bytes, Any]]:
        """Who a case (its request and group) is sealed to once assigned to ``owner``: those who
        recorded it and then, granted by the supervisor who assigned it, the owner and the
        owner's team key (as case_update's grants_add does)."""
        from haven.vault import holders as h

        if owner is None:
            return self.initial
        if owner.pk not in self.plans:
            everyone = h.case_holders(actor=self.intake, owner=owner, team=owner.team)
            refs = {ref for ref, *_ in self.initial}
            added = [
                row
                for row in self._plan(everyone, granted_by=self.supervisor.pk)
                if row[0] not in refs
            ]
            self.plans[owner.pk] = self.initial + added
        return self.plans[owner.pk]

    def new(self, plan: list[tuple[str, Any, Any, bytes, Any]], at: dt.datetime) -> Any:
        from haven.crypto import erasure_store
        from haven.vault import integrity
        from haven.vault.models import DataKey, Grant

        if not self.slots:
            # The product flushes one request's erasure secrets at a time; seeding, a thousand.
            self.slots = erasure_store().allocate(1000)
        key = DataKey(erasure_slot=self.slots.pop(0))
        recipients = {ref: public for ref, _, _, public, _ in plan}
        recipients["recovery"] = self.recovery
        started = time.perf_counter()
        sealed = self.ctx.data_key_new(str(key.id), recipients, slot=key.erasure_slot)
        self.seal_seconds += time.perf_counter() - started
        self.seals += len(recipients)
        key.recovery_sealed = sealed.pop("recovery")
        # Tagged as data_keys_build tags them: Haven refuses untagged key rows.
        integrity.data_key_tag(key)
        self.keys.append(key)
        for ref, user_id, team_key_id, _, granted_by in plan:
            grant = Grant(
                data_key_id=key.id,
                user_id=user_id,
                team_key_id=team_key_id,
                sealed=sealed[ref],
                stale=False,
                granted_by_id=granted_by,
                granted_at=at,
            )
            integrity.grant_tag(grant, slot=key.erasure_slot)
            self.grants.append(grant)
        return key


def enrol_authenticator(user: Any) -> None:
    """A confirmed authenticator, as the enrolment page leaves one (the login asks for a code)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def seed(
    *,
    n_cases: int,
    rng: random.Random,
    now: dt.datetime,
    supervisors: int = 1,
    intakes: int = 1,
    auditors: int = 0,
    all_authenticators: bool = False,
    person_payloads: Iterator[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The organisation, its people and keys, then ``n_cases`` cases in bulk.

    The first supervisor assigns and the first intake officer records every case; more
    supervisors, intake officers and auditors (benchmarks/workday.py) hold the same keys by role.
    ``all_authenticators``: everyone has a confirmed authenticator (as production requires), not
    only the two people caseload.py logs in as. ``staff`` in the result lists the usernames by
    role. ``person_payloads``: each seeded person's payload in turn (benchmarks/workday.py gives the blind
    generator's, so that names, births and origins are as varied as real ones); by default
    every person is the same 김은정, as caseload.py's figures were measured."""
    from django.db import transaction
    from tqdm import tqdm

    from haven.accounts.models import Role, Team
    from haven.accounts.services import user_create
    from haven.brokers.services import broker_create
    from haven.cases.models import Case, Group, JourneyEvent, Person, Request, RequestStatus
    from haven.cases.tallies import tallies_catch_up
    from haven.vault.sealed import payload_set
    from haven.vault.services import org_keys_setup, team_key_create, team_keys_share_pending

    started = time.perf_counter()
    org = org_keys_setup()
    ctx = org.ctx  # holds the intake, supervisors and staff keys, as `haven setup`'s does
    teams = [Team.objects.create(name=f"Team {i}") for i in range(4)]
    for team in teams:
        team_key_create(ctx=ctx, actor=None, team=team)

    def person(username: str, role: str, team: Any = None) -> Any:
        # As after their first login, where each chose their own password (keys are shared only
        # with people who did).
        return user_create(
            username=username, password=PASSWORD, role=role, team=team, chosen_by_them=True
        )

    supervisor = person("bench-super", Role.SUPERVISOR, teams[0])
    intake = person("bench-intake", Role.INTAKE)
    workers = [person(f"bench-cw{i}", Role.CASEWORKER, teams[i % 4]) for i in range(20)]
    staff = {
        "supervisor": [supervisor]
        + [
            person(f"bench-super{i}", Role.SUPERVISOR, teams[i % 4])
            for i in range(2, supervisors + 1)
        ],
        "intake": [intake]
        + [person(f"bench-intake{i}", Role.INTAKE) for i in range(2, intakes + 1)],
        "caseworker": workers,
        "auditor": [person(f"bench-audit{i}", Role.AUDITOR) for i in range(1, auditors + 1)],
    }
    team_keys_share_pending(ctx=ctx, actor=None)
    for member in (
        [m for members in staff.values() for m in members]
        if all_authenticators
        else [supervisor, workers[0]]
    ):
        enrol_authenticator(member)
    brokers = [
        broker_create(ctx=ctx, actor=supervisor, alias=f"Broker {i}", region="Shenyang")
        for i in range(50)
    ]
    maker = KeyMaker(ctx, intake=intake, supervisor=supervisor)
    payloads = 0
    payload_seconds = 0.0

    def sealed(record: Any, data: dict[str, Any]) -> None:
        nonlocal payloads, payload_seconds
        t0 = time.perf_counter()
        payload_set(ctx=ctx, record=record, data=data)
        payload_seconds += time.perf_counter() - t0
        payloads += 1

    finals = list(FINAL_WEIGHTS)
    weights = [FINAL_WEIGHTS[s] for s in finals]
    span = 3 * 365 * 86400
    made = {"cases": 0, "requests": 0, "groups": 0, "events": 0, "data_keys": 0, "grants": 0}
    batch_cases = 500
    bar = tqdm(total=n_cases, unit="case", file=sys.stderr, mininterval=5)
    while made["cases"] < n_cases:
        # Plan one batch: requests of one person (most) or a group of two to five.
        plan: list[tuple[int, str]] = []
        planned = 0
        while planned < batch_cases and made["cases"] + planned < n_cases:
            size = 1 if rng.random() < 0.8 else rng.randint(2, 5)
            size = min(size, n_cases - made["cases"] - planned)
            plan.append((size, rng.choices(finals, weights)[0]))
            planned += size
        maker.keys, maker.grants = [], []
        requests, groups, people, cases, events = [], [], [], [], []
        for size, final in plan:
            received = now - dt.timedelta(seconds=rng.uniform(3600, span))
            broker = rng.choice(brokers) if rng.random() < 0.5 else None
            urgency = rng.choice([1, 2, 2, 3, 3, 4])
            owner = rng.choice(workers) if final != "received" else None
            holders = maker.holders_for(owner)
            request = Request(
                data_key=maker.new(holders, received),
                channel="broker" if broker else "direct_line",
                received_at=received,
                urgency=urgency,
                status=RequestStatus.NEW if final == "received" else RequestStatus.TRIAGED,
                people_count=size,
                broker_id=broker.pk if broker else None,
                created_by_id=intake.pk,
            )
            sealed(
                request,
                {
                    "account": "식당에서 일하는 종업원입니다. 한국으로 가고 싶습니다. " * 3,
                    "contact": "Signal via broker",
                    "people_as_told": size,
                },
            )
            requests.append(request)
            group = None
            if size > 1:
                group = Group(data_key=maker.new(holders, received), request_id=request.pk)
                sealed(group, {"label": "Restaurant group"})
                groups.append(group)
            states = path_to(final)
            for _ in range(size):
                key = maker.new(holders, received)
                record = Person(data_key=key)
                sealed(
                    record,
                    next(person_payloads)
                    if person_payloads is not None
                    else {
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
                people.append(record)
                moments = [received]
                room = (now - received).total_seconds()
                for _ in states:
                    moments.append(moments[-1] + dt.timedelta(seconds=rng.uniform(0, room) / 12))
                due = None
                if final not in TERMINAL:
                    due = now + dt.timedelta(days=rng.uniform(-20, 14))
                case = Case(
                    data_key=key,
                    person_id=record.pk,
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
                sealed(
                    case,
                    {"own_words": "제 스스로 결정한 것입니다.", "exact_place": "", "summary": ""},
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
                        case_version=i + 1,
                    )
                    sealed(event, {"region": "Kunming", "place": "", "note": "Called; all well."})
                    events.append(event)
                    previous = state
        with transaction.atomic():
            for objs in (maker.keys, maker.grants, requests, groups, people, cases, events):
                fast_insert(objs)
            # As the services do before each audit entry: the counts kept at write time.
            tallies_catch_up()
        made["cases"] += len(cases)
        made["requests"] += len(requests)
        made["groups"] += len(groups)
        made["events"] += len(events)
        made["data_keys"] += len(maker.keys)
        made["grants"] += len(maker.grants)
        bar.update(len(cases))
    bar.close()
    ctx.forget()
    return {
        **made,
        "seconds": time.perf_counter() - started,
        "seals": maker.seals,
        "payloads": payloads,
        "seal_seconds": maker.seal_seconds + payload_seconds,
        "users": {"supervisor": supervisor.username, "caseworker": workers[0].username},
        "staff": {role: [m.username for m in members] for role, members in staff.items()},
    }


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "max": max(samples),
        "n": len(samples),
    }


def timed_pair(
    calls: dict[str, Callable[[], None]], n: int, budget: float
) -> dict[str, dict[str, float]]:
    """Time ``calls[mode]`` ``n`` times per mode, alternating the modes in blocks.

    A page so slow that ``n`` requests per mode would take longer than ``budget`` seconds gets
    fewer (never under MIN_SAMPLES); the report prints how many were timed."""
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    started = time.perf_counter()
    for mode in MODES:
        with active(mode):
            for _ in range(WARM_UP):
                calls[mode]()
    each = (time.perf_counter() - started) / (2 * WARM_UP)
    n = min(n, max(MIN_SAMPLES, int(budget / (2 * each))))
    block = max(1, -(-n // CHUNKS))
    done, turn = 0, 0
    while done < n:
        k = min(block, n - done)
        for mode in MODES if turn % 2 == 0 else tuple(reversed(MODES)):
            with active(mode):
                for _ in range(k):
                    started = time.perf_counter()
                    calls[mode]()
                    samples[mode].append((time.perf_counter() - started) * 1000)
        done += k
        turn += 1
    return {mode: summary(samples[mode]) for mode in MODES}


def totp_code(username: str) -> str:
    """The current code of the person's authenticator (enrolled at seeding). Replay protection is
    reset first, so that the benchmark may log in several times within one 30-second step."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    device.last_t = -1
    device.throttling_failure_count = 0
    device.save()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def log_in(client: Any, username: str) -> tuple[float, float]:
    """Log in through the real pages, as a person does: the password (which unlocks the key),
    then the authenticator code. Returns the milliseconds of each step."""
    from django.urls import reverse

    from haven.vault.context import COOKIE_NAME

    started = time.perf_counter()
    response = client.post(reverse("web:login"), {"username": username, "password": PASSWORD})
    password_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 302 or COOKIE_NAME not in client.cookies:
        raise RuntimeError(f"logging in as {username} failed ({response.status_code})")
    code_ms = 0.0
    two_factor = reverse("web:login_two_factor")
    if response["Location"].startswith(two_factor):
        code = totp_code(username)
        started = time.perf_counter()
        response = client.post(two_factor, {"code": code})
        code_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 302 or response["Location"].startswith(two_factor):
            raise RuntimeError(f"the second factor of {username} failed ({response.status_code})")
    return password_ms, code_ms


def visible_cases(username: str) -> list[Any]:
    """The ids of the cases ``username`` can see, in an order both databases share."""
    from haven.access import visible_to
    from haven.accounts.models import User
    from haven.cases.models import Case

    user = User.objects.get(username=username)
    return list(
        Case.objects.filter(visible_to(user))
        .order_by("opened_at", "state", "urgency")
        .values_list("pk", flat=True)
    )


def measure(
    seeded: dict[str, Any], n: int, rng: random.Random, profile: bool, budget: float
) -> dict[str, Any]:
    import types

    from django.http import HttpResponse
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path, reverse

    def trivial(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    urls = types.ModuleType("haven_bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/trivial/", trivial),
        path("", include("haven.urls")),
    ]
    sys.modules["haven_bench_urls"] = urls
    users = seeded["crypto"]["users"]
    rows: list[dict[str, Any]] = []
    logins: dict[str, dict[str, list[float]]] = {}
    profile_lines: list[str] = []

    with override_settings(ROOT_URLCONF="haven_bench_urls"):
        clients: dict[tuple[str, str], Any] = {}

        def log_in_all(who: str, username: str) -> None:
            # Just before the person's pages: a session idle for 30 minutes ends.
            logins[who] = {}
            for mode in MODES:
                with active(mode):
                    steps = []
                    for _ in range(3):
                        client = Client()
                        steps.append(log_in(client, username))
                    clients[(who, mode)] = client
                    logins[who][mode] = [password for password, _ in steps]
                    logins[who][mode + "_code"] = [code for _, code in steps]
            print(
                f"  login as {who}: crypto {statistics.median(logins[who]['crypto']):.0f} ms, "
                f"pass {statistics.median(logins[who]['pass']):.0f} ms",
                file=sys.stderr,
            )

        log_in_all("supervisor", users["supervisor"])
        with active("crypto"):
            trivial_p50 = statistics.median(
                [
                    timed_call(getter(clients[("supervisor", "crypto")], "/bench/trivial/"))
                    for _ in range(n)
                ]
            )

        name = "김은정".encode()
        for who, username in users.items():
            if who not in logins:
                log_in_all(who, username)
            visible = {}
            for mode in MODES:
                with active(mode):
                    visible[mode] = visible_cases(username)
            if len(visible["crypto"]) != len(visible["pass"]):
                raise RuntimeError("the two databases do not hold the same cases")
            positions = rng.choices(range(len(visible["crypto"])), k=n + 20)

            def case_url(mode: str, _visible: dict = visible, _pos: list = positions) -> Any:
                picks = iter(_pos)
                return lambda: reverse("web:case", args=[_visible[mode][next(picks)]])

            pages = page_makers(who, clients, case_url, name)
            for page, make in pages:
                result = timed_pair({mode: make(mode) for mode in MODES}, n, budget)
                rows.append(
                    {"user": who, "page": page, "visible": len(visible["crypto"]), **result}
                )
                c, p = result["crypto"], result["pass"]
                print(
                    f"  {who:<10} {page:<27} crypto p50 {c['p50']:6.1f} p95 {c['p95']:6.1f} | "
                    f"pass p50 {p['p50']:6.1f} p95 {p['p95']:6.1f} | ratio p95 "
                    f"{c['p95'] / p['p95']:.2f}",
                    file=sys.stderr,
                )
                if profile:
                    profile_lines += profile_page(who, page, {m: make(m) for m in MODES})
    return {"rows": rows, "trivial_p50": trivial_p50, "logins": logins, "profile": profile_lines}


def page_makers(
    who: str, clients: dict[tuple[str, str], Any], case_url: Callable[[str], Any], name: bytes
) -> list[tuple[str, Callable[[str], Any]]]:
    """The pages timed for ``who``: for each, how to make its call in a mode."""
    from django.urls import reverse

    dashboard, case_list = reverse("web:dashboard"), reverse("web:cases")
    filtered = f"{case_list}?state=in_transit&urgency=4"
    pages: list[tuple[str, Callable[[str], Any]]] = [
        ("dashboard", lambda mode: getter(clients[(who, mode)], dashboard, name)),
        ("case list, page 1", lambda mode: getter(clients[(who, mode)], case_list, name)),
        ("case list (in_transit, 4)", lambda mode: getter(clients[(who, mode)], filtered)),
        ("case page", lambda mode: getter(clients[(who, mode)], case_url(mode), name)),
    ]
    if who == "supervisor":
        pages.append(("record new request (POST)", lambda mode: poster(clients[(who, mode)])))
    return pages


def getter(client: Any, url: str | Callable[[], str], expect: bytes = b"") -> Callable[[], None]:
    """A GET that must answer 200 and (when given) show a decrypted name."""

    def call() -> None:
        target = url() if callable(url) else url
        response = client.get(target)
        if response.status_code != 200:
            raise RuntimeError(f"GET {target} answered {response.status_code}")
        if expect and expect not in response.content:
            raise RuntimeError(f"GET {target}: no decrypted {expect.decode()!r} on the page")

    return call


def timed_call(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def poster(client: Any) -> Callable[[], None]:
    from django.urls import reverse

    url = reverse("web:request_new")
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

    def post() -> None:
        response = client.post(url, form)
        if response.status_code != 302:
            raise RuntimeError(f"POST {url} answered {response.status_code}")

    return post


PROFILE_RUNS = 10


def _profiled(mode: str, call: Callable[[], None]) -> tuple[float, dict, dict]:
    """Run ``call`` PROFILE_RUNS times in ``mode`` with SQL and key operations timed."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    from haven import crypto

    stats: dict[str, list[float]] = {}
    statements: dict[str, list[float]] = {}

    def count(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                stats.setdefault(name, []).append(time.perf_counter() - t0)

        return wrapper

    def sql(execute: Any, text: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(text, params, many, context)
        finally:
            elapsed = time.perf_counter() - t0
            stats.setdefault("sql", []).append(elapsed)
            statements.setdefault(" ".join(text.split())[:160], []).append(elapsed)

    def hook(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(sql)  # SQLite reconnects on every request

    patched = {
        (crypto.PersonalKey, "open_sealed"): "sealed-box open",
        (crypto.KeyContext, "open"): "payload open",
        (crypto.PersonalKey, "from_session"): "session key",
    }
    originals = {target: getattr(*target) for target in patched}
    wall = 0.0
    with active(mode):
        for (owner, attr), label in patched.items():
            setattr(owner, attr, count(label, originals[(owner, attr)]))
        connection_created.connect(hook)
        connection.execute_wrappers.append(sql)
        try:
            for _ in range(PROFILE_RUNS):
                t0 = time.perf_counter()
                call()
                wall += time.perf_counter() - t0
        finally:
            connection_created.disconnect(hook)
            if sql in connection.execute_wrappers:
                connection.execute_wrappers.remove(sql)
            for target, fn in originals.items():
                setattr(*target, fn)
    return wall, stats, statements


def profile_page(who: str, page: str, calls: dict[str, Callable[[], None]]) -> list[str]:
    """Where one request's time goes: SQL (count, time, the costliest statement), sealed-box
    opens (data keys and team keys), payload opens, the session key and the rest (templates,
    ORM, middleware), with real crypto and in pass-through mode."""
    lines = []
    per = PROFILE_RUNS
    for mode in MODES:
        wall, stats, statements = _profiled(mode, calls[mode])
        total = wall / per * 1000
        parts = []
        accounted = 0.0
        for label in ("sql", "sealed-box open", "payload open", "session key"):
            times = stats.get(label, [])
            ms = sum(times) / per * 1000
            accounted += ms
            parts.append(f"{label} {len(times) / per:.0f}x {ms:.1f} ms")
        lines.append(
            f"  {who:<10} {page:<27} {mode:<6} {total:6.1f} ms = "
            + ", ".join(parts)
            + f", rest {total - accounted:.1f} ms"
        )
        if mode == "crypto":
            ranked = sorted(statements.items(), key=lambda item: -sum(item[1]))[:2]
            for text, times in ranked:
                lines.append(
                    f"{'':<12}SQL {len(times) / per:.0f}x {sum(times) / per * 1000:.1f} ms: {text}"
                )
    return lines


def child(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        if args.workdir:
            workdir = Path(args.workdir).resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="haven-bench-")))
        seeded_file = workdir / f"seeded-{args.database}.json"
        reuse = bool(args.reuse and seeded_file.exists())
        server = setup_django(args, workdir, recreate=not reuse)
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        now = timezone.now()
        seeded: dict[str, Any] = {}
        analyzed = connection.vendor == "postgresql" or args.analyze_sqlite
        if reuse:
            seeded = json.loads(seeded_file.read_text())
            analyzed = seeded.pop("analyzed")
            print(f"  reusing the databases seeded earlier in {workdir}", file=sys.stderr)
            for mode in MODES:  # the code may have gained migrations (indexes) since
                with active(mode):
                    call_command("migrate", interactive=False, verbosity=0)
        for mode in MODES if not reuse else ():
            with active(mode):
                call_command("migrate", interactive=False, verbosity=0)
                print(f"  seeding the {mode} database", file=sys.stderr)
                seeded[mode] = seed(n_cases=args.cases, rng=random.Random(args.seed), now=now)
                if analyzed:
                    with connection.cursor() as cursor:
                        # PostgreSQL: what autovacuum does to a freshly loaded table (statistics
                        # and the visibility map that index-only scans need).
                        cursor.execute(
                            "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
                        )
            print(f"  seeded in {seeded[mode]['seconds']:.1f} s", file=sys.stderr)
        if args.workdir and not reuse:
            seeded_file.write_text(json.dumps({**seeded, "analyzed": analyzed}), encoding="utf-8")
        print(f"  measuring {args.requests} requests per page and mode", file=sys.stderr)
        load_before = os.getloadavg()
        measured = measure(
            seeded, args.requests, random.Random(args.seed), args.profile, args.page_budget
        )
        result = {
            "database": args.database,
            "server": server,
            "seed": seeded,
            "analyzed": analyzed,
            "rows": measured["rows"],
            "trivial_p50": measured["trivial_p50"],
            "logins": measured["logins"],
            "profile": measured["profile"],
            "profile_runs": PROFILE_RUNS,
            "load": [load_before, os.getloadavg()],
        }
        Path(args.json).write_text(json.dumps(result), encoding="utf-8")
        connection.close()
        if args.database == "postgres" and not args.keep:
            seeded_file.unlink(missing_ok=True)
            parts = urlsplit(os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG))
            for mode in MODES:
                pg_drop(urlunsplit(parts._replace(path="/" + DB_NAMES[mode])))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page/mode")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--analyze-sqlite",
        action="store_true",
        help="run ANALYZE on SQLite after seeding (nothing does that in production; PostgreSQL "
        "always gets VACUUM ANALYZE, as autovacuum would do)",
    )
    parser.add_argument("--profile", action="store_true", help="also show where the time goes")
    parser.add_argument(
        "--page-budget",
        type=float,
        default=600.0,
        help="seconds a page may take (both modes); slower pages get fewer timed requests",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument(
        "--workdir", help="keep the SQLite databases (and what was seeded) in this folder"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir (and --keep for PostgreSQL): measure the databases seeded by an "
        "earlier run instead of seeding again",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases < 100:
        parser.error("--cases must be at least 100")
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
