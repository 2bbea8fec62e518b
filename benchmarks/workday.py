"""Working-day benchmark: the whole organisation at work at once on N encrypted cases, with the
portal taking submissions, served as in production and driven over loopback HTTP.

    .venv/bin/python benchmarks/workday.py [--cases 100000] [--database sqlite|postgres|both]
        [--seconds 120] [--staff intake=4,caseworker=12,supervisor=3,auditor=1]
        [--portal-rates 100,0] [--think 5.0] [--alone 20] [--indexed]

For each database engine:

1. Seeding, in a child process, by benchmarks/caseload.py's ``seed`` (the organisation's keys, four
   team keys, 20 caseworkers and the cases in bulk, each sealed to its holders), with the extra
   supervisors, intake officers and the auditor of the staff mix, and an authenticator for
   everyone (production requires two factors). Each seeded person is a record of the generator
   written blind (benchmarks/generators/blind_korean.py: names, births, origins and aliases as
   varied as real ones), not caseload.py's one repeated person. PostgreSQL gets VACUUM ANALYZE (as autovacuum
   would); SQLite nothing (as in production and caseload.py). The bulk seeding leaves people
   unindexed for search and unencoded for duplicates; ``--indexed`` then runs `haven keys
   rotate-index` and `haven dedupe` as a supervisor, so that search and the request page's
   duplicate pass look among everyone, as in an organisation that ran them.
2. Two servers started the way production runs them, on loopback: the staff side
   (``haven run --no-migrate``, HAVEN_SERVE=staff, gunicorn, --staff-workers) and the portal
   (``haven portal --no-migrate``, --portal-workers), production settings, no debug, 2FA on.
3. Each member of staff is a Python thread with its own `requests` session, logged in through the
   real pages (password, which unlocks the person's key, then the authenticator code). For
   --seconds, each does their role's mix of reads and writes (see MIXES) with a think time
   between actions (exponential, mean --think seconds), while a separate process sends portal
   submissions (the form's GET, then its POST) paced at --portal-rates per second (several
   rates: one day each, on the same servers; 0: no portal stream). A write is timed as its POST
   alone; the page the
   browser is sent to afterwards is loaded (and counted as a case page), as a browser does.
4. Alone: then, with the portal stopped and the other staff idle, one person per role does each
   of the same pages and writes --alone times in a row, on the same servers: the baseline of the
   ratio day / alone.
5. Counted in the database: receipts stored = portal submissions acknowledged (no loss), and
   requests stored = the portal's plus those intake officers and supervisors recorded. Requests
   the portal queued in a surge (HAVEN_PORTAL_QUEUE, as in production) are opened by the intake
   officers' and supervisors' inbox and dashboard pages during the day; what is left at its end
   is counted, then opened with a supervisor's keys before the counts.

Errors are counted per action: 409 (someone changed the case first) apart from the others.
The load average is sampled during the day. Output is also saved to
benchmarks/results/workday-<date>.txt (unless --no-save).

PostgreSQL: HAVEN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/haven_bench_workday),
dropped and created by this script and dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from benchdb import pg_drop, pg_recreate
from django_otp.oath import totp
from intake import PEOPLE, RECEIPT, TOKEN, free_port, haven, percentile

HERE = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/haven_bench_workday"
PAGE_TARGET_MS = 150.0
WRITE_TARGET_MS = 250.0
PORTAL_TARGET = 100.0
PASSWORD = "bench: correct horse battery staple"  # noqa: S105 - caseload.py's, a benchmark input
TERMINAL = {"closed", "declined", "duplicate", "withdrawn", "repatriated", "deceased"}

# What each role does, with weights (share of their actions). "page" actions are GETs, "write"
# actions a POST (after the page holding its form).
MIXES: dict[str, list[tuple[str, str, int]]] = {
    "intake": [
        ("dashboard", "page", 20),
        ("request inbox", "page", 15),
        ("case list, page 1", "page", 10),
        ("case page", "page", 10),
        ("search", "page", 10),
        ("record a request", "write", 35),
    ],
    "caseworker": [
        ("dashboard", "page", 15),
        ("case list, page 1", "page", 15),
        ("case list, filtered", "page", 10),
        ("case page", "page", 20),
        ("search", "page", 5),
        ("note", "write", 15),
        ("journey advance", "write", 12),
        ("group move", "write", 8),
    ],
    "supervisor": [
        ("dashboard", "page", 20),
        ("case list, page 1", "page", 15),
        ("case list, filtered", "page", 15),
        ("case page", "page", 15),
        ("search", "page", 5),
        ("grant", "write", 12),
        ("revoke", "write", 10),
        ("record a request", "write", 8),
    ],
    "auditor": [
        ("audit page", "page", 60),
        ("audit page, filtered", "page", 25),
        ("dashboard", "page", 15),
    ],
}
ROLE_ORDER = ["intake", "caseworker", "supervisor", "auditor"]


# --------------------------------------------------------------------------- seeding (child)


SHELL_COUNTS = """
import json
from haven.cases.models import Request
from haven.portal.models import QueuedRequest, Receipt
print(json.dumps({"requests": Request.objects.count(), "receipts": Receipt.objects.count(),
                  "queued": QueuedRequest.objects.count()}))
"""
# What the portal queued in a surge and the intake's pages had not opened when the day ended
# (haven.portal.queue), opened by a supervisor's keys: then every receipt must be stored.
SHELL_OPEN = """
import json, os, time
from haven.accounts.models import User
from haven.portal.queue import portal_queue_open
from haven.vault.context import context_for
from haven.vault.services import user_key_open
user = User.objects.get(username=os.environ["HAVEN_BENCH_OPENER"])
ctx = context_for(user, user_key_open(user=user, password=os.environ["HAVEN_BENCH_PASSWORD"]))
opened, started = 0, time.perf_counter()
while done := portal_queue_open(ctx=ctx, actor=user, limit=100):
    opened += done
seconds = time.perf_counter() - started
print(json.dumps({"opened": opened, "ms_each": seconds * 1000 / max(opened, 1)}))
"""


def seed_child(args: argparse.Namespace) -> int:
    """Seed the database named by DATABASE_URL (the parent's environment) and write what the
    staff threads need (usernames, authenticator keys, case ids) to --json."""
    import django

    django.setup()
    from caseload import seed
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from linkage import blind_payload, blind_records

    from haven.cases.models import Case

    staff = parse_staff(args.staff)
    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    # People as varied as real ones, from the generator written blind (issue 19): a thousand
    # copies of one person would put everyone in one search bucket and one duplicate block.
    people = [blind_payload(r) for r in blind_records(args.cases, args.seed)[0]]
    seeded = seed(
        n_cases=args.cases,
        rng=random.Random(args.seed),
        now=timezone.now(),
        supervisors=max(1, staff.get("supervisor", 0)),
        intakes=max(1, staff.get("intake", 0)),
        auditors=staff.get("auditor", 0),
        all_authenticators=True,
        person_payloads=iter(people),
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    devices = {d.user.username: d.key for d in TOTPDevice.objects.select_related("user")}
    rng = random.Random(args.seed)
    open_cases = Case.objects.exclude(state__in=TERMINAL)
    owned: dict[str, dict[str, list[str]]] = {}
    for username in seeded["staff"]["caseworker"]:
        mine = open_cases.filter(owner__username=username)
        owned[username] = {
            "open": [str(pk) for pk in mine.order_by("?").values_list("pk", flat=True)[:400]],
            "grouped": [
                str(pk)
                for pk in mine.filter(group__isnull=False)
                .order_by("?")
                .values_list("pk", flat=True)[:200]
            ],
        }
    assigned = [
        str(pk)
        for pk in Case.objects.filter(owner__isnull=False)
        .order_by("?")
        .values_list("pk", flat=True)[:2000]
    ]
    rng.shuffle(assigned)
    out = {
        "seconds": time.perf_counter() - started,
        "cases": seeded["cases"],
        "requests": seeded["requests"],
        "groups": seeded["groups"],
        "grants": seeded["grants"],
        "staff": seeded["staff"],
        "totp": devices,
        "owned": owned,
        "assigned": assigned,
        # Names a search looks for: the seeded people's (found once they are indexed).
        "names": [
            name
            for person in rng.sample(people, min(len(people), 2000))
            for name in (person["name_hangul"] or person["name_romanized"],)
            if name
        ][:1000],
    }
    Path(args.json).write_text(json.dumps(out), encoding="utf-8")
    return 0


def parse_staff(text: str) -> dict[str, int]:
    staff = {}
    for part in text.split(","):
        role, _, count = part.partition("=")
        if role.strip() not in MIXES or not count.strip().isdigit():
            raise SystemExit(f"--staff: {part!r} is not role=count (roles: {', '.join(MIXES)})")
        staff[role.strip()] = int(count)
    return staff


# --------------------------------------------------------------------------- HTTP helpers


class Forms(HTMLParser):
    """The forms of a page: action -> {"fields": {name: value}, "options": {name: [values]},
    "checkboxes": {name: [values]}} (the first form with a given action wins)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, Any]] = {}
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"fields": {}, "options": {}, "checkboxes": {}}
            self.forms.setdefault(a.get("action", ""), self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "checkbox":
                self._form["checkboxes"].setdefault(a["name"], []).append(a.get("value", "on"))
            elif kind not in ("submit", "button") and (kind != "radio" or "checked" in a):
                self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["options"][self._select] = []
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._form["options"][self._select].append(value)
            if "selected" in a:
                self._form["fields"][self._select] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"][self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form["fields"][self._textarea] += data

    def find(self, suffix: str) -> dict[str, Any] | None:
        for action, form in self.forms.items():
            if urllib.parse.urlsplit(action).path.endswith(suffix):
                return form
        return None


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


def csrf(html: str) -> str:
    found = CSRF.search(html)
    return unescape(found.group(1)) if found else ""


def totp_now(hex_key: str) -> str:
    """The authenticator's current code, computed as django-otp checks it (its defaults)."""
    return f"{totp(bytes.fromhex(hex_key)):06d}"


SURNAMES = [
    ("김", "Kim"),
    ("리", "Ri"),
    ("박", "Pak"),
    ("최", "Choe"),
    ("정", "Jong"),
    ("강", "Kang"),
]
SYLLABLES = [
    ("영", "yong"),
    ("호", "ho"),
    ("철", "chol"),
    ("순", "sun"),
    ("희", "hui"),
    ("명", "myong"),
    ("성", "song"),
    ("혜", "hye"),
    ("광", "kwang"),
    ("은", "un"),
    ("정", "jong"),
    ("수", "su"),
]


def name_of(rng: random.Random) -> tuple[str, str]:
    """One of 6 x 12 x 12 names (Hangul, romanized): as many people recorded in a day share a
    name as would by chance, not all of them (each would be every other's possible duplicate)."""
    (s, rs), (g1, r1), (g2, r2) = (
        rng.choice(SURNAMES),
        rng.choice(SYLLABLES),
        rng.choice(SYLLABLES),
    )
    return s + g1 + g2, f"{rs} {r1.capitalize()}-{r2}"


class Failure(Exception):
    def __init__(self, status: int, what: str):
        super().__init__(f"{what}: HTTP {status}")
        self.status = status


class Staff:
    """One member of staff: a logged-in session and what they have done."""

    CASE = re.compile(r'href="/cases/([0-9a-f-]{36})/"')

    def __init__(self, base: str, role: str, username: str, totp: str, data: dict[str, Any]):
        import requests

        self.base = base
        self.role = role
        self.username = username
        self.totp = totp
        self.data = data
        self.session = requests.Session()
        self.rng = random.Random(username)
        self.granted: list[tuple[str, str]] = []
        self.samples: list[tuple[str, str, float]] = []  # (action, kind, ms)
        self.statuses: dict[tuple[str, int], int] = {}
        self.exceptions: dict[str, int] = {}
        self.reauths = 0

    def take(self) -> dict[str, Any]:
        """What was done since the last call (samples, unexpected answers, exceptions)."""
        taken = {
            "samples": self.samples,
            "statuses": self.statuses,
            "exceptions": self.exceptions,
        }
        self.samples, self.statuses, self.exceptions = [], {}, {}
        return taken

    # -- plumbing

    def _get(self, path: str) -> Any:
        return self.session.get(self.base + path, allow_redirects=False, timeout=60)

    def _post(self, path: str, fields: dict[str, Any]) -> Any:
        return self.session.post(
            self.base + path,
            data=fields,
            allow_redirects=False,
            timeout=60,
            headers={"Referer": self.base + path},
        )

    def timed(self, action: str, kind: str, call: Callable[[], Any], ok: tuple[int, ...]) -> Any:
        started = time.perf_counter()
        response = call()
        ms = (time.perf_counter() - started) * 1000
        if response.status_code not in ok:
            self.statuses[(action, response.status_code)] = (
                self.statuses.get((action, response.status_code), 0) + 1
            )
            raise Failure(response.status_code, action)
        self.samples.append((action, kind, ms))
        return response

    def page(self, action: str, path: str) -> str:
        return str(self.timed(action, "page", lambda: self._get(path), (200,)).text)

    def log_in(self) -> None:
        login = self._get("/login/")
        fields = {"csrfmiddlewaretoken": csrf(login.text)}
        fields.update(username=self.username, password=PASSWORD)
        response = self._post("/login/", fields)
        if response.status_code != 302:
            raise Failure(response.status_code, f"login of {self.username}")
        page = self._get("/login/two-factor/")
        fields = {"csrfmiddlewaretoken": csrf(page.text), "code": totp_now(self.totp)}
        response = self._post("/login/two-factor/", fields)
        if response.status_code != 302 or "two-factor" in response.headers.get("Location", ""):
            raise Failure(response.status_code, f"second factor of {self.username}")

    def case_page(self, case_id: str) -> tuple[str, Forms]:
        html = self.page("case page", f"/cases/{case_id}/")
        return html, Forms(html)

    def write(self, action: str, path: str, fields: dict[str, Any]) -> None:
        """POST a form (timed), then load the page it sends the browser to (a case page)."""
        response = self.timed(action, "write", lambda: self._post(path, fields), (302,))
        location = response.headers.get("Location", "")
        if "/account/confirm/" in location:
            # Grants and revokes need the password typed in the last HAVEN_REAUTH_SECONDS: type
            # it (as the person would) and do it again. The refused POST is not a sample.
            self.samples.pop()
            self.reauth(location)
            self.write(action, path, fields)
            return
        target = urllib.parse.urlsplit(location).path
        if target.startswith("/cases/"):
            self.page("case page", target)

    def reauth(self, location: str) -> None:
        self.reauths += 1
        page = self._get(location)
        fields = {"csrfmiddlewaretoken": csrf(page.text), "password": PASSWORD}
        self.timed("confirm password", "write", lambda: self._post(location, fields), (302,))

    # -- the actions

    def pick_case(self) -> str:
        if self.role == "caseworker":
            return str(self.rng.choice(self.data["owned"][self.username]["open"]))
        return str(self.rng.choice(self.data["assigned"]))

    def do(self, action: str) -> None:
        getattr(self, "a_" + re.sub(r"\W+", "_", action).strip("_"))()

    def a_dashboard(self) -> None:
        self.page("dashboard", "/")

    def a_request_inbox(self) -> None:
        self.page("request inbox", "/requests/")

    def a_case_list_page_1(self) -> None:
        self.page("case list, page 1", "/cases/")

    def a_case_list_filtered(self) -> None:
        state = self.rng.choice(["in_transit", "verifying", "awaiting_flight", "accepted"])
        self.page("case list, filtered", f"/cases/?state={state}&urgency=4")

    def a_case_page(self) -> None:
        self.case_page(self.pick_case())

    def a_search(self) -> None:
        # Half the time a seeded person's name as written (found once they are indexed:
        # --indexed), else one of the names recorded during the day.
        hangul, romanized = name_of(self.rng)
        query = hangul if self.rng.random() < 0.7 else romanized
        if self.data.get("names") and self.rng.random() < 0.5:
            query = self.rng.choice(self.data["names"])
        self.page("search", "/search/?" + urllib.parse.urlencode({"q": query}))

    def a_audit_page(self) -> None:
        self.page("audit page", "/audit/")

    def a_audit_page_filtered(self) -> None:
        html = self.page("audit page", "/audit/")
        form = Forms(html).find("/audit/")
        actions = [v for v in (form or {}).get("options", {}).get("action", []) if v]
        query = {"action": self.rng.choice(actions)} if actions else {"page": "2"}
        self.page("audit page, filtered", "/audit/?" + urllib.parse.urlencode(query))

    def a_record_a_request(self) -> None:
        html = self.page("new request form", "/requests/new/")
        fields = {"csrfmiddlewaretoken": csrf(html)}
        hangul, romanized = name_of(self.rng)
        fields.update(
            {
                "channel": "direct_line",
                "urgency": str(self.rng.choice([2, 3, 4])),
                "account": "저는 단동에서 일하는 무역 일꾼입니다. 도와주세요.",
                "people_count": "1",
                "p0-name_hangul": hangul,
                "p0-name_romanized": romanized,
                "p0-sex": "male",
                "p0-birth_precision": "unknown",
                "p0-occupation": "trader",
            }
        )
        response = self.timed(
            "record a request", "write", lambda: self._post("/requests/new/", fields), (302,)
        )
        target = urllib.parse.urlsplit(response.headers.get("Location", "")).path
        if target.startswith("/requests/"):
            self.page("request page", target)

    def a_note(self) -> None:
        case = self.pick_case()
        _, forms = self.case_page(case)
        form = forms.find("/notes/")
        if form is None:
            raise Failure(0, "note: no note form on the case page")
        fields = {**form["fields"], "text": "Called via the broker; all well, moving tomorrow."}
        self.write("note", f"/cases/{case}/notes/", fields)

    def a_journey_advance(self) -> None:
        for _ in range(5):
            case = self.pick_case()
            _, forms = self.case_page(case)
            form = forms.find("/move/")
            states = [s for s in (form or {}).get("options", {}).get("to_state", []) if s]
            if form is None or not states:
                continue
            fields = dict(form["fields"])
            # The next state on the main path when offered, else the first offered.
            fields["to_state"] = next((s for s in states if s not in TERMINAL), states[0])
            fields["occurred_at"] = fields.get("occurred_at") or dt.datetime.now(dt.UTC).strftime(
                "%Y-%m-%dT%H:%M"
            )
            fields.setdefault("note", "")
            fields["note"] = fields["note"] or "Moved on, as planned."
            self.write("journey advance", f"/cases/{case}/move/", fields)
            return

    def a_group_move(self) -> None:
        grouped = self.data["owned"][self.username]["grouped"]
        if not grouped:
            return self.a_journey_advance()
        for _ in range(5):
            case = self.rng.choice(grouped)
            _, forms = self.case_page(case)
            form = forms.find("/group-move/")
            members = (form or {}).get("checkboxes", {}).get("case_ids", [])
            states = [s for s in (form or {}).get("options", {}).get("to_state", []) if s]
            if form is None or not members or not states:
                continue
            fields: dict[str, Any] = dict(form["fields"])
            fields["case_ids"] = members
            fields["to_state"] = next((s for s in states if s not in TERMINAL), states[0])
            fields["occurred_at"] = fields.get("occurred_at") or dt.datetime.now(dt.UTC).strftime(
                "%Y-%m-%dT%H:%M"
            )
            self.write("group move", f"/cases/{case}/group-move/", fields)
            return
        return None

    def a_grant(self) -> None:
        case = self.pick_case()
        _, forms = self.case_page(case)
        form = forms.find("/access/grant/")
        people = [v for v in (form or {}).get("options", {}).get("user", []) if v]
        if form is None or not people:
            raise Failure(0, "grant: no grant form or nobody to grant to")
        person = self.rng.choice(people)
        self.write("grant", f"/cases/{case}/access/grant/", {**form["fields"], "user": person})
        self.granted.append((case, person))

    def a_revoke(self) -> None:
        if not self.granted:
            return self.a_grant()
        case, person = self.granted.pop(0)
        _, forms = self.case_page(case)
        form = forms.find("/access/revoke/")
        if form is None:
            raise Failure(0, "revoke: no revoke form on the case page")
        fields = {"csrfmiddlewaretoken": form["fields"].get("csrfmiddlewaretoken", "")}
        self.write("revoke", f"/cases/{case}/access/revoke/", {**fields, "holder": f"u:{person}"})
        return None

    # -- the day

    def run(self, until: float, think: float, stop: threading.Event) -> None:
        actions = [a for a, _, _ in MIXES[self.role]]
        weights = [w for _, _, w in MIXES[self.role]]
        # Start at a random moment of the first think time, so that staff do not move in step.
        stop.wait(self.rng.uniform(0, think))
        while time.monotonic() < until and not stop.is_set():
            self.attempt(self.rng.choices(actions, weights)[0])
            stop.wait(min(think * 5, self.rng.expovariate(1 / think)))

    def attempt(self, action: str) -> None:
        try:
            self.do(action)
        except Failure:
            pass  # counted in statuses
        except Exception as exc:  # noqa: BLE001 - a failed request is a figure, not a crash
            key = f"{action}: {type(exc).__name__}"
            self.exceptions[key] = self.exceptions.get(key, 0) + 1


# --------------------------------------------------------------------------- portal stream


def portal_child(args: argparse.Namespace) -> int:
    """Submit to the portal for --seconds, paced at --portal-rates per second, by --portal-users
    threads: a submission due while all are busy waits (at most as many as there are users);
    one due beyond that, or still waiting at the end, is not sent and counted as behind. Writes
    the tally to --json."""
    import queue

    rate = args.portal_rates[0]
    port = args.port
    lock = threading.Lock()
    tally = {"sent": 0, "acknowledged": 0, "failed": 0, "behind": 0, "due": 0}
    latencies: list[float] = []
    tickets: queue.Queue[int] = queue.Queue()
    stop = threading.Event()
    started = time.monotonic()

    def request(method: str, path: str, body: str | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def submit(n: int) -> None:
        people = 2 if n % 3 == 0 else 1
        try:
            status, html = request("GET", f"/portal/en/request/?people={people}")
            token, hidden = TOKEN.search(html), PEOPLE.search(html)
            if status != 200 or not token or not hidden:
                raise RuntimeError(f"form {status}")
            fields = {
                "token": unescape(token.group(1)),
                "people": unescape(hidden.group(1)),
                "country": "CN",
                "region": "Shenyang",
                "urgency": "3",
                "contact": "",
                "account": "We left the restaurant and are hiding with a friend.",
            }
            for i in range(people):
                fields[f"name_{i}"] = f"김 {n}-{i}"
            with lock:
                tally["sent"] += 1
            t0 = time.monotonic()
            status, html = request("POST", "/portal/en/request/", urllib.parse.urlencode(fields))
            ms = (time.monotonic() - t0) * 1000
            with lock:
                if status == 200 and RECEIPT.search(html):
                    tally["acknowledged"] += 1
                    latencies.append(ms)
                else:
                    tally["failed"] += 1
        except (OSError, http.client.HTTPException, RuntimeError):
            with lock:
                tally["failed"] += 1

    def user() -> None:
        while not stop.is_set():
            try:
                n = tickets.get(timeout=0.2)
            except queue.Empty:
                continue
            submit(n)

    threads = [threading.Thread(target=user) for _ in range(args.portal_users)]
    for thread in threads:
        thread.start()
    # rate x seconds submissions in all, the last one due as the day closes (counting the
    # steps by a float sum left the last one out, and a day of exactly the target rate could
    # never be judged to have met it).
    for n in range(1, round(rate * args.seconds) + 1):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        tally["due"] += 1
        if tickets.qsize() >= args.portal_users:  # every user busy and as many waiting
            tally["behind"] += 1
            continue
        tickets.put(n)
    # The last ones due are taken up by a user finishing the one before: a moment for that,
    # as for any other, before what still waits counts as not sent.
    grace = time.monotonic() + 1.0
    while not tickets.empty() and time.monotonic() < grace:
        time.sleep(0.01)
    while True:  # the day is over: what was due but never taken up was not sent
        try:
            tickets.get_nowait()
        except queue.Empty:
            break
        tally["behind"] += 1
    stop.set()  # the users finish the submission under way
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    latencies.sort()
    Path(args.json).write_text(
        json.dumps({**tally, "elapsed": elapsed, "latencies": latencies}), encoding="utf-8"
    )
    return 0


# --------------------------------------------------------------------------- servers


class Server:
    """`haven run` (staff side) or `haven portal`, as its own process group on loopback."""

    def __init__(self, env: dict[str, str], command: str, workers: int, probe: str):
        self.env = {**env, **({"HAVEN_SERVE": "staff"} if command == "run" else {})}
        self.command = command
        self.workers = workers
        self.probe = probe
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter and our own command
            [sys.executable, "-m", "haven.cli", self.command, "--no-migrate"]
            + ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.probe)
                if conn.getresponse().status in (200, 302):
                    return self
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"haven {self.command} did not start within 90 s")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


# --------------------------------------------------------------------------- one database


def summarise(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": percentile(samples, 0.50),
        "p95": percentile(samples, 0.95),
        "p99": percentile(samples, 0.99),
    }


def run_one(database: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.workdir:
        folder = Path(args.workdir).resolve() / database
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix=f"haven-workday-{database}-"))
    out = folder / "seeded.json"
    reuse = bool(args.reuse and out.exists())
    secret_file = folder / "secret-key"
    if not reuse:
        secret_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    pg_url = os.environ.get("HAVEN_BENCH_DATABASE_URL", DEFAULT_PG)
    url = f"sqlite:///{folder / 'haven.sqlite3'}" if database == "sqlite" else pg_url
    if database == "postgres" and not reuse:
        pg_recreate(pg_url)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "haven.settings.base",
        "HAVEN_DATA_DIR": str(folder),
        "HAVEN_SECRET_KEY": secret_file.read_text(encoding="utf-8"),
        "DATABASE_URL": url,
        "HAVEN_DEBUG": "false",
        "HAVEN_ALLOWED_HOSTS": "127.0.0.1",
        # A setting, not capacity: one portal process would otherwise refuse the stream.
        "HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE": "10000000",
    }
    for name in ("HAVEN_KDF_OPSLIMIT", "HAVEN_KDF_MEMLIMIT", "HAVEN_REQUIRE_2FA"):
        env.pop(name, None)
    try:
        if reuse:
            # The earlier days' writes stay: a reused database is a later day, not the same one.
            print(f"== {database}: reusing the database seeded in {folder}", file=sys.stderr)
        else:
            print(f"== {database}: seeding {args.cases:,} cases", file=sys.stderr, flush=True)
            code = subprocess.call(  # noqa: S603 - this script, our interpreter
                [sys.executable, __file__, "--seed-child", "--cases", str(args.cases)]
                + ["--staff", args.staff, "--seed", str(args.seed), "--json", str(out)],
                env=env,
            )
            if code != 0:
                raise SystemExit(f"{database}: seeding failed (exit {code})")
        data = json.loads(out.read_text())
        print(f"  seeded in {data['seconds']:.0f} s", file=sys.stderr, flush=True)
        if args.indexed and not reuse:
            data["indexed"] = index_everyone(env, data, folder)
            out.write_text(json.dumps(data), encoding="utf-8")
        before = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
        with (
            Server(env, "run", args.staff_workers, "/login/") as staff_server,
            Server(env, "portal", args.portal_workers, "/portal/en/") as portal_server,
        ):
            day = working_day(database, data, args, staff_server, portal_server, env)
        queued = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))["queued"]
        opener = {
            "HAVEN_BENCH_OPENER": data["staff"]["supervisor"][0],
            "HAVEN_BENCH_PASSWORD": PASSWORD,
        }
        opening = json.loads(haven({**env, **opener}, "shell", "-c", SHELL_OPEN))
        after = json.loads(haven(env, "shell", "-c", SHELL_COUNTS))
        day["queued_left"] = queued
        day["opened_after"] = opening["opened"]
        day["open_ms"] = opening["ms_each"]
        day["stored_receipts"] = after["receipts"] - before["receipts"]
        day["stored_requests"] = after["requests"] - before["requests"]
        day["server"] = server_name(env)
        day["seeded"] = {k: data[k] for k in ("seconds", "cases", "requests", "groups", "grants")}
        day["indexed"] = data.get("indexed")
        return day
    finally:
        if database == "postgres" and not args.keep:
            pg_drop(pg_url)
        if not args.workdir:
            shutil.rmtree(folder, ignore_errors=True)


def index_everyone(env: dict[str, str], data: dict[str, Any], folder: Path) -> dict[str, float]:
    """As an organisation that ran `haven keys rotate-index` and `haven dedupe` once: every seeded
    person searchable and encoded for duplicates (the seeding writes cases in bulk without
    either, so search and the request page's duplicate pass would look among the day's records
    only)."""
    secret = folder / "supervisor-password"
    secret.write_text(PASSWORD, encoding="utf-8")
    secret.chmod(0o600)
    supervisor = data["staff"]["supervisor"][0]
    took = {}
    for name, command in (
        ("rotate_index_s", ["keys", "rotate-index"]),
        ("dedupe_s", ["dedupe"]),
    ):
        print(f"  haven {' '.join(command)}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        haven(env, *command, "--supervisor", supervisor, "--password-file", str(secret))
        took[name] = time.perf_counter() - started
        print(f"    {took[name]:.0f} s", file=sys.stderr, flush=True)
    return took


def server_name(env: dict[str, str]) -> str:
    return haven(
        env,
        "shell",
        "-c",
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('SHOW server_version' if connection.vendor == 'postgresql' "
        "else 'SELECT sqlite_version()'); "
        "v = c.fetchone()[0].split()[0]\n"
        "if connection.vendor == 'postgresql':\n"
        # Said, since it shapes a day: with it off (this machine's CI setting) the queue-like
        # tables (the counts' notes, the portal's queue) keep their dead rows all day.
        "    c.execute('SHOW autovacuum'); v += ', autovacuum ' + c.fetchone()[0]\n"
        "print(('PostgreSQL ' if connection.vendor == 'postgresql' else 'SQLite ') + v)",
    )


def working_day(
    database: str,
    data: dict[str, Any],
    args: argparse.Namespace,
    staff_server: Server,
    portal_server: Server,
    env: dict[str, str],
) -> dict[str, Any]:
    """Log the staff in, run one day per portal rate, then the baseline alone."""
    base = f"http://127.0.0.1:{staff_server.port}"
    wanted = parse_staff(args.staff)
    people: list[Staff] = []
    for role in ROLE_ORDER:
        names = data["staff"][role][: wanted.get(role, 0)]
        people += [Staff(base, role, name, data["totp"][name], data) for name in names]
    print(f"  logging in {len(people)} staff", file=sys.stderr, flush=True)
    for person in people:
        person.log_in()
    # Warm the workers (imports, first templates) before anything is timed.
    for person in people[:: max(1, len(people) // 4)]:
        for action, _kind, _w in MIXES[person.role]:
            if action in ("dashboard", "case list, page 1", "audit page"):
                person.attempt(action)
    for person in people:
        person.take()

    days = []
    for rate in args.portal_rates:
        days.append(one_day(database, rate, people, args, portal_server, env))

    print(f"== {database}: alone ({args.alone} of each, one person at a time)", file=sys.stderr)
    alone_loads = [os.getloadavg()]
    alone: dict[str, dict[str, Any]] = {}
    for role in ROLE_ORDER:
        first = next((p for p in people if p.role == role), None)
        if first is None:
            continue
        for action, _kind, _w in MIXES[role]:
            for _ in range(args.alone):
                first.attempt(action)
        alone[role] = first.take()
    alone_loads.append(os.getloadavg())
    for person in people:
        person.take()  # nothing should be left, but never count it twice

    for day in days:
        day["rows"] = table_rows(people, day["taken"], alone)
        del day["taken"]
    alone_errors = {
        f"{role}: {what}": count
        for role, taken in alone.items()
        for what, count in error_counts(taken).items()
    }
    return {
        "database": database,
        "days": days,
        "alone_loads": alone_loads,
        "alone_errors": alone_errors,
        "reauths": sum(p.reauths for p in people),
        "staff_recorded": sum(
            1
            for taken in [*(t for d in days for t in d["all_taken"]), *alone.values()]
            for action, _k, _ms in taken["samples"]
            if action == "record a request"
        ),
    }


def error_counts(taken: dict[str, Any]) -> dict[str, int]:
    counts = {f"{action}: HTTP {status}": n for (action, status), n in taken["statuses"].items()}
    counts.update(taken["exceptions"])
    return counts


def one_day(
    database: str,
    rate: float,
    people: list[Staff],
    args: argparse.Namespace,
    portal_server: Server,
    env: dict[str, str],
) -> dict[str, Any]:
    label = f"portal {rate:g}/s" if rate else "no portal"
    print(
        f"== {database}: the working day, {label} ({args.seconds} s)", file=sys.stderr, flush=True
    )
    portal = None
    portal_json = Path(tempfile.mkstemp(suffix=".json")[1])
    if rate:
        portal = subprocess.Popen(  # noqa: S603 - this script, our interpreter
            [sys.executable, __file__, "--portal-child", "--port", str(portal_server.port)]
            + ["--seconds", str(args.seconds), "--portal-rates", f"{rate:g}"]
            + ["--portal-users", str(args.portal_users), "--json", str(portal_json)],
            env=env,
        )
    stop = threading.Event()
    loads: list[tuple[float, float, float]] = [os.getloadavg()]
    until = time.monotonic() + args.seconds
    threads = [
        threading.Thread(target=p.run, args=(until, args.think, stop), daemon=True) for p in people
    ]
    for thread in threads:
        thread.start()
    while time.monotonic() < until:
        time.sleep(min(5.0, max(0.0, until - time.monotonic())))
        loads.append(os.getloadavg())
    for thread in threads:
        thread.join(timeout=120)
    tally = None
    if portal is not None:
        portal.wait(timeout=300)
        tally = json.loads(portal_json.read_text())
    portal_json.unlink()
    loads.append(os.getloadavg())
    taken = {p.username: p.take() for p in people}
    errors: dict[str, int] = {}
    for p in people:
        for what, count in error_counts(taken[p.username]).items():
            errors[f"{p.role}: {what}"] = errors.get(f"{p.role}: {what}", 0) + count
    return {
        "label": label,
        "rate": rate,
        "portal": tally,
        "loads": loads,
        "taken": taken,
        "all_taken": list(taken.values()),
        "errors": errors,
    }


def table_rows(
    people: list[Staff], taken: dict[str, dict[str, Any]], alone: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = []
    for role in ROLE_ORDER:
        members = [p for p in people if p.role == role]
        if not members:
            continue
        day: dict[tuple[str, str], list[float]] = {}
        statuses: dict[tuple[str, int], int] = {}
        for p in members:
            for action, kind, ms in taken[p.username]["samples"]:
                day.setdefault((action, kind), []).append(ms)
            for key, count in taken[p.username]["statuses"].items():
                statuses[key] = statuses.get(key, 0) + count
        base: dict[tuple[str, str], list[float]] = {}
        for action, kind, ms in alone.get(role, {}).get("samples", []):
            base.setdefault((action, kind), []).append(ms)
        for key in sorted(set(day) | set(base), key=lambda k: (k[1] != "page", k[0])):
            action, kind = key
            rows.append(
                {
                    "role": role,
                    "staff": len(members),
                    "action": action,
                    "kind": kind,
                    "day": summarise(day.get(key, [])),
                    "alone": summarise(base.get(key, [])),
                    "errors": sum(
                        n for (a, status), n in statuses.items() if a == action and status != 409
                    ),
                    "conflicts": statuses.get((action, 409), 0),
                }
            )
    return rows


# --------------------------------------------------------------------------- report


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    staff = parse_staff(args.staff)
    rates = ", ".join(f"{r:g}/s" if r else "none" for r in args.portal_rates)
    lines = [
        f"Haven working-day benchmark, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"{args.cases:,} encrypted cases; days of {args.seconds} s; staff "
        + ", ".join(f"{n} {role}" for role, n in staff.items())
        + f" (think time exponential, mean {args.think:g} s, at most {5 * args.think:g} s), "
        f"each a thread with its own session over loopback HTTP; portal submissions paced at "
        f"{rates} ({args.portal_users} users at most).",
        f"Servers: `haven run` (staff side, {args.staff_workers} gunicorn workers) and `haven "
        f"portal` ({args.portal_workers} workers), production settings, 2FA on, on the same "
        f"machine as the load generator and the database: {os.cpu_count()} CPU(s) shared with "
        f"other work, Python {sys.version.split()[0]}.",
        f"Targets under the day's load: every staff page p95 <= {PAGE_TARGET_MS:.0f} ms, every "
        f"write p95 <= {WRITE_TARGET_MS:.0f} ms; portal >= {PORTAL_TARGET:.0f} submissions/s, "
        "stored = acknowledged. alone: the same action by one person with nothing else running "
        f"({args.alone} times each, after the day(s), same servers); ratio: day p95 / alone p95.",
        "",
    ]
    for r in results:
        s = r["seeded"]
        lines.append(
            f"{r['database']} ({r['server']}): seeded {s['cases']:,} cases ({s['requests']:,} "
            f"requests, {s['groups']:,} groups, {s['grants']:,} grants) in {s['seconds']:.0f} s"
            + (
                f"; then every person indexed for search (`haven keys rotate-index`, "
                f"{r['indexed']['rotate_index_s']:.0f} s) and encoded for duplicates "
                f"(`haven dedupe`, {r['indexed']['dedupe_s']:.0f} s)"
                if r.get("indexed")
                else "; seeded people neither searchable nor encoded for duplicates (--indexed)"
            )
        )
        for d in r["days"]:
            loads = d["loads"]
            during = [load[0] for load in loads[1:]] or [loads[0][0]]
            lines.append(
                f"  day, {d['label']}: load average {'/'.join(f'{x:.2f}' for x in loads[0])} "
                f"before, {'/'.join(f'{x:.2f}' for x in loads[-1])} at its end (1-min mean "
                f"during it {sum(during) / len(during):.2f})"
            )
        lines.append(
            f"  alone: load average {'/'.join(f'{x:.2f}' for x in r['alone_loads'][0])} "
            f"before, {'/'.join(f'{x:.2f}' for x in r['alone_loads'][-1])} after"
        )
    lines.append("")
    header = (
        f"{'database':<8} {'day':<14} {'role':<10} {'action':<22} {'kind':<5} {'n':>4} "
        f"{'p50':>6} {'p95':>6} {'p99':>6} {'alone p50':>9} {'p95':>6} {'ratio':>5} "
        f"{'target':>6} {'err':>3} {'409':>3}"
    )
    lines += [header, "-" * len(header)]
    for r in results:
        for d in r["days"]:
            for row in d["rows"]:
                day, alone = row["day"], row["alone"]
                target = PAGE_TARGET_MS if row["kind"] == "page" else WRITE_TARGET_MS
                meets = "-" if not day["n"] else ("yes" if day["p95"] <= target else "NO")
                ratio = day["p95"] / alone["p95"] if day["n"] and alone["n"] else float("nan")
                lines.append(
                    f"{r['database']:<8} {d['label']:<14} {row['role']:<10} "
                    f"{row['action']:<22} {row['kind']:<5} {day['n']:>4} {day['p50']:>6.0f} "
                    f"{day['p95']:>6.0f} {day['p99']:>6.0f} {alone['p50']:>9.0f} "
                    f"{alone['p95']:>6.0f} {ratio:>5.1f} {meets:>6} {row['errors']:>3} "
                    f"{row['conflicts']:>3}"
                )
    lines.append(
        "(times in ms; n: the day's samples (p99 of fewer than 100 is the largest few); a write "
        "is its POST alone; err: answers other than the expected one, 409 apart)"
    )
    lines.append("")
    for r in results:
        for d in r["days"]:
            p = d["portal"]
            if p is not None:
                seconds = float(args.seconds)
                lat = p["latencies"]
                lines.append(
                    f"{r['database']} portal, day {d['label']}: "
                    f"{p['acknowledged'] / seconds:.1f} submissions/s acknowledged "
                    f"({p['acknowledged']} of {p['sent']} sent, {p['due']} due, {p['behind']} "
                    f"not sent as all users were busy, {p['failed']} failed); POST p50/p95/p99 "
                    f"{percentile(lat, 0.5):.0f}/{percentile(lat, 0.95):.0f}/"
                    f"{percentile(lat, 0.99):.0f} ms; target "
                    f"{'yes' if p['acknowledged'] / seconds >= PORTAL_TARGET else 'no'}"
                )
            if d["errors"]:
                lines.append(
                    f"{r['database']} errors, day {d['label']}: "
                    + "; ".join(f"{k} x{v}" for k, v in sorted(d["errors"].items()))
                )
        acked = sum(d["portal"]["acknowledged"] for d in r["days"] if d["portal"])
        lost = acked - r["stored_receipts"]
        recorded_ok = r["stored_requests"] == acked + r["staff_recorded"]
        lines.append(
            f"{r['database']}: receipts stored {r['stored_receipts']} for {acked} portal "
            f"submissions acknowledged (loss {lost}); requests stored {r['stored_requests']} = "
            f"portal {acked} + staff {r['staff_recorded']}: {'yes' if recorded_ok else 'NO'}"
        )
        lines.append(
            f"{r['database']}: queued by the portal and not yet opened by the intake's pages when "
            f"the day ended: {r['queued_left']}, opened afterwards by a supervisor's keys at "
            f"{r['open_ms']:.1f} ms each (HAVEN_PORTAL_QUEUE, haven.portal.queue)"
        )
        if r["alone_errors"]:
            lines.append(
                f"{r['database']} errors while alone: "
                + "; ".join(f"{k} x{v}" for k, v in sorted(r["alone_errors"].items()))
            )
        if r["reauths"]:
            lines.append(
                f"{r['database']}: supervisors typed their password again {r['reauths']} times "
                "(grants and revokes need it within HAVEN_REAUTH_SECONDS; not in the figures)"
            )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def rates(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers") from exc
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("rates cannot be negative")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=120, help="length of the working day")
    parser.add_argument("--staff", default="intake=4,caseworker=12,supervisor=3,auditor=1")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time, seconds")
    parser.add_argument(
        "--portal-rates",
        type=rates,
        default=[PORTAL_TARGET],
        help="portal submissions per second during the day; several (e.g. 100,0) run one day "
        "each on the same servers, 0 meaning no portal stream",
    )
    parser.add_argument("--portal-users", type=int, default=24)
    parser.add_argument("--staff-workers", type=int, default=4)
    parser.add_argument("--portal-workers", type=int, default=4)
    parser.add_argument("--alone", type=int, default=20, help="baseline samples per action")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--workdir", help="keep the SQLite database, keys and what was seeded in this folder"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir (and --keep for PostgreSQL): run the day on the database seeded "
        "by an earlier run instead of seeding again",
    )
    parser.add_argument(
        "--indexed",
        action="store_true",
        help="after seeding, index every person for search and encode them for duplicates "
        "(haven keys rotate-index, haven dedupe), as an organisation that ran both would be",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--seed-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--portal-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_child:
        return seed_child(args)
    if args.portal_child:
        return portal_child(args)
    if args.cases < 100:
        parser.error("--cases must be at least 100")
    if args.seconds < 10:
        parser.error("--seconds must be at least 10")
    parse_staff(args.staff)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = [run_one(database, args) for database in databases]
    text = report(results, args)
    print(text)
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(exist_ok=True)
        path = folder / f"workday-{dt.datetime.now().astimezone().date().isoformat()}.txt"
        path.write_text(text, encoding="utf-8")
        print(f"(saved to {path})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
