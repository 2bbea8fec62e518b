"""The access matrix: every URL and API endpoint x every role x own / other's / no record.

Endpoints are enumerated from the URL conf (recursing includes) and from the OpenAPI schema, so a
new endpoint fails here until ``tests/access_table.py`` says who may call it. Each answer is
checked against that table, which is stated in terms of :data:`haven.access.PERMISSIONS`; every
attempt runs in a savepoint that is rolled back, and a refused attempt must have changed nothing.

The records are built once for the module (in a transaction rolled back at its end); each test
logs one role in and calls one endpoint in every situation.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from haven.access import can_view_case
from haven.accounts.models import Role, User
from haven.api.models import ApiToken
from haven.api.services import api_token_create
from haven.attachments.services import attachment_add
from haven.cases.journey import State
from haven.cases.models import Case
from haven.cases.services import case_revoke, journey_advance
from haven.imports.columns import Options
from haven.imports.models import ImportBatch, ImportMapping
from haven.imports.services import import_mapping_save, import_stage
from haven.referrals.models import Partner, Referral
from haven.referrals.services import (
    consent_record,
    referral_approve,
    referral_create,
    referral_send,
)
from haven.stats.services import (
    default_policy,
    release_approve,
    release_prepare,
    release_request_clean,
)
from haven.vault.holders import system_key
from haven.vault.models import Grant, KeyShare, TeamKey, TeamKeyKind
from haven.vault.services import org_keys_setup, team_key_create, team_keys_share_pending
from tests import access_table as t
from tests.api.conftest import snapshot
from tests.attachments.samples import png as png_sample
from tests.factories import (
    PASSWORD,
    PartnerFactory,
    TeamFactory,
    UserFactory,
    ctx_for,
    login,
    make_broker,
    make_request,
)

pytestmark = pytest.mark.django_db

WEB_METHODS = ("GET", "POST")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# The URL kwarg of each record kind (web pages name them, API paths call them ``pk``).
KIND_OF_KWARG = {
    "case_id": "case",
    "request_id": "request",
    "referral_id": "referral",
    "broker_id": "broker",
    "partner_id": "partner",
    "attachment_id": "attachment",
    "import_id": "import",
    "mapping_id": "mapping",
    "user_id": "user",
    "release_id": "release",
    "statement_id": "statement",
    "cover_id": "cover",
    "group_id": "group",
}
KNOWN_KWARGS = {*KIND_OF_KWARG, "pk", "action", "fmt"}
# Kinds named by a number (staff accounts) rather than a UUID.
INT_KINDS = {"user"}
NO_USER = 999_999_999
# API paths name records ``pk``; the first segment says which kind ("api/cases/<uuid:pk>/...").
API_KIND = {
    "cases": "case",
    "requests": "request",
    "referrals": "referral",
    "consents": "consent",
    "groups": "group",
    "brokers": "broker",
    "partners": "partner",
    "attachments": "attachment",
    "imports": "import",
    "users": "user",
    "stats": "release",
    "statements": "statement",
    "covers": "cover",
}
# One user per role: the matrix's principals.
PRINCIPAL = {
    Role.INTAKE: "dave",
    Role.CASEWORKER: "bob",
    Role.SUPERVISOR: "alice",
    Role.PARTNER_LIAISON: "frank",
    Role.PRESS: "heidi",
    Role.AUDITOR: "grace",
    Role.ADMIN: "erin",
}


# --- enumeration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    route: str  # the pattern, e.g. "cases/<uuid:case_id>/"


def url_routes() -> list[Route]:
    """Every named pattern of the root URL conf, includes recursed."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Route]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace or ""
                inner = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"unnamed URL pattern {prefix}{pattern.pattern}"
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield Route(name=name, route=prefix + str(pattern.pattern))

    return list(walk(get_resolver().url_patterns, "", ""))


def schema_operations() -> dict[tuple[str, str, str], str]:
    """Every operation of the OpenAPI schema, as (URL name, METHOD, "") -> schema path."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found: dict[tuple[str, str, str], str] = {}
    for path, operations in schema["paths"].items():
        try:
            name = resolve(re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)).url_name
        except Resolver404:  # a record named by a number (staff accounts)
            name = resolve(re.sub(r"\{[^}]+\}", "1", path)).url_name
        assert name, path
        for method in operations:
            if method in HTTP_METHODS:
                found[(name, method.upper(), "")] = path
    return found


ROUTES = {route.name: route for route in url_routes()}
OPERATIONS = schema_operations()
API_NAMES = {name for name, _method, _variant in OPERATIONS}


def enumerated() -> set[tuple[str, str]]:
    """(name, method) of every endpoint: web patterns (and API patterns outside the schema) with
    GET and POST, and every schema operation."""
    keys = {(name, method) for name, method, _ in OPERATIONS}
    for route in ROUTES.values():
        if route.name not in API_NAMES:
            keys |= {(route.name, method) for method in WEB_METHODS}
    return keys


TABLE: dict[tuple[str, str, str], t.Endpoint] = {**t.WEB, **t.API}


def _params() -> list[tuple[str, str, str]]:
    found = enumerated()
    listed = {(name, method) for name, method, _ in TABLE}
    missing = {(name, method, "") for name, method in found - listed}
    return sorted(set(TABLE) | missing)


PARAMS = _params()


def _id(key: tuple[str, str, str]) -> str:
    name, method, variant = key
    return f"{name} {method}" + (f" {variant}" if variant else "")


# --- the records ------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    partner: Partner
    objects: dict[tuple[str, str], Any]  # (kind, situation) -> id
    groups: dict[Any, list[Any]]
    consents: dict[Any, Any]  # referral id -> its consent's id
    extra: dict[str, Any] = field(default_factory=dict)

    def obj(self, kind: str | None, situation: str) -> Any:
        if kind is None:
            return None
        if situation == t.NONE:
            return NO_USER if kind in INT_KINDS else uuid.uuid4()
        shared = ("broker", "partner", "import", "mapping", "user", "release", "statement", "cover")
        return self.objects[(kind, t.ANY if kind in shared else situation)]

    def group_members(self, group_id: Any) -> list[Any]:
        return self.groups.get(group_id) or [uuid.uuid4()]

    def consent_of(self, referral_id: Any) -> Any:
        return self.consents.get(referral_id) or uuid.uuid4()


def _accept(ctx: Any, actor: User, case: Case) -> None:
    for target in (State.VERIFYING, State.ACCEPTED):
        case.refresh_from_db()
        journey_advance(
            ctx=ctx, actor=actor, case=case, to_state=target, expected_version=case.version
        )


def _sent_referral(
    ctx: Any, actor: User, case: Case, partner: Partner, *, approver: User, approver_ctx: Any
) -> Referral:
    _accept(ctx, actor, case)
    fields = ["name_romanized", "own_words"]
    consent = consent_record(
        ctx=ctx,
        actor=actor,
        case=case,
        partner=partner,
        purpose="resettlement",
        fields=fields,
        method="own_words",
        words="I chose to leave.",
    )
    referral = referral_create(
        ctx=ctx,
        actor=actor,
        case=case,
        partner=partner,
        purpose="resettlement",
        disclosed_fields=fields,
        consent=consent,
    )
    referral_approve(
        ctx=approver_ctx, actor=approver, referral=referral, expected_version=referral.version
    )
    referral_send(ctx=ctx, actor=actor, referral=referral, expected_version=referral.version)
    return referral


def _released_statement(ctx: Any, alice: User, heidi: User, cases_a: list[Case]) -> Any:
    """A group that arrived, its cover values, and a statement about it released; cover values
    of team A's case and group too (what supervisors read and replace on the case)."""
    from haven.cases.services import group_advance
    from haven.disclosure import facts
    from haven.disclosure.services import (
        CoverInput,
        cover_set,
        statement_approve,
        statement_create,
        statement_release,
        statement_submit,
    )

    request = make_request(ctx=ctx, actor=alice, people=2)
    group = request.cases.first().group
    for state, country in (
        (State.VERIFYING, "CN"),
        (State.ACCEPTED, "CN"),
        (State.REFERRED, "CN"),
        (State.LEFT_WORKPLACE, "CN"),
        (State.IN_THIRD_COUNTRY, "TH"),
        (State.ARRIVED, "KR"),
    ):
        group_advance(
            ctx=ctx,
            actor=alice,
            group=group,
            case_versions={c.pk: c.version for c in group.cases.all()},
            to_state=state,
            country=country,
        )
    fields = {"origin": CoverInput(mode=facts.COVER, values={"en": "Shanghai"})}
    cover = cover_set(ctx=ctx, actor=alice, group=group, label="Arrived pair", fields=fields)
    cover_set(ctx=ctx, actor=alice, case=cases_a[0], label="Team A one", fields=fields)
    cover_set(ctx=ctx, actor=alice, group=cases_a[0].group, label="Team A group", fields=fields)
    press = ctx_for(heidi)
    statement = statement_create(
        ctx=press,
        actor=heidi,
        title="Two arrived",
        texts={"en": "Two people from [[A.origin]] arrived."},
        subjects={"A": str(cover.pk)},
    )
    statement_submit(ctx=press, actor=heidi, statement=statement, expected_version=1)
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=2)
    statement_release(ctx=press, actor=heidi, statement=statement, expected_version=3)
    return statement, cover


def build_world() -> World:
    org = org_keys_setup()
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    for team in (team_a, team_b):
        team_key_create(ctx=org.ctx, actor=None, team=team)
    ministry = PartnerFactory(name="Ministry of Unification", country="KR")
    another = PartnerFactory(name="Another agency", country="TH")
    for partner in (ministry, another):
        team_key_create(ctx=org.ctx, actor=None, partner=partner)
    users = {
        "alice": UserFactory(username="alice", role=Role.SUPERVISOR, team=team_a),
        "bob": UserFactory(username="bob", role=Role.CASEWORKER, team=team_a),
        "carol": UserFactory(username="carol", role=Role.CASEWORKER, team=team_b),
        "dave": UserFactory(username="dave", role=Role.INTAKE),
        "erin": UserFactory(username="erin", role=Role.ADMIN),
        "frank": UserFactory(username="frank", role=Role.PARTNER_LIAISON, partner=ministry),
        "grace": UserFactory(username="grace", role=Role.AUDITOR),
        "heidi": UserFactory(username="heidi", role=Role.PRESS),
    }
    team_keys_share_pending(ctx=org.ctx, actor=None)
    alice = users["alice"]
    ctx = ctx_for(alice)

    # Team A's request of two people, owned by bob: "own" for every case role.
    request_a = make_request(ctx=ctx, actor=alice, people=2, owner=users["bob"])
    cases_a = list(request_a.cases.order_by("opened_at", "id"))
    referral_a = _sent_referral(ctx, alice, cases_a[0], ministry, approver=alice, approver_ctx=ctx)
    # Team B's, recorded by carol and sent to another agency; then taken from the intake, team B
    # and supervisors' keys (need to know), so that only carol holds it: "other" for everyone.
    carol = users["carol"]
    carol_ctx = ctx_for(carol)
    request_b = make_request(ctx=carol_ctx, actor=carol, people=2, owner=carol)
    # A file on each request: its key follows the request's (granted and revoked with it).
    attachment_a = attachment_add(
        ctx=ctx, actor=alice, request=request_a, name="a.png", content=png_sample()
    )
    attachment_b = attachment_add(
        ctx=carol_ctx, actor=carol, request=request_b, name="b.png", content=png_sample()
    )
    cases_b = list(request_b.cases.order_by("opened_at", "id"))
    referral_b = _sent_referral(
        carol_ctx, carol, cases_b[0], another, approver=alice, approver_ctx=ctx
    )
    team_b_key = TeamKey.objects.get(team=team_b, active=True)
    for case in cases_b:
        for holder in (
            system_key(TeamKeyKind.INTAKE),
            team_b_key,
            system_key(TeamKeyKind.SUPERVISORS),
        ):
            case.refresh_from_db()
            case_revoke(ctx=ctx, actor=alice, case=case, holder=holder)
    broker = make_broker(ctx=ctx, actor=alice)
    # A spreadsheet checked (not loaded) and a saved column mapping, both alice's.
    staged = import_stage(
        ctx=ctx,
        actor=alice,
        data="이름,생년월일\r\n김선희,1990\r\n박,어제\r\n".encode(),
        name="a.csv",
    )
    mapping = import_mapping_save(
        ctx=ctx, actor=alice, name="old list", mapping={"이름": "name_hangul"}, options=Options()
    )
    # A draft to the ministry (never sent): not the liaison's to see.
    draft = referral_create(
        ctx=ctx,
        actor=alice,
        case=cases_a[1],
        partner=ministry,
        purpose="relief",
        disclosed_fields=["sex"],
    )
    for record in (*cases_a, *cases_b):
        record.refresh_from_db()
    # A published statistics release: prepared by the press officer, approved by a supervisor.
    release = release_prepare(
        ctx=ctx_for(users["heidi"]),
        actor=users["heidi"],
        ask=release_request_clean(
            start="2001-01",
            end="2001-12",
            grain="year",
            tables=["requests:period:channel"],
            policy=default_policy(),
        ),
    )
    release = release_approve(ctx=ctx, actor=alice, release=release, expected_version=1)
    statement, cover = _released_statement(ctx, alice, users["heidi"], cases_a)
    return World(
        users=users,
        partner=ministry,
        objects={
            ("case", t.OWN): cases_a[0].pk,
            ("case", t.OTHER): cases_b[0].pk,
            ("request", t.OWN): request_a.pk,
            ("request", t.OTHER): request_b.pk,
            ("group", t.OWN): cases_a[0].group_id,
            ("group", t.OTHER): cases_b[0].group_id,
            ("referral", t.OWN): referral_a.pk,
            ("referral", t.OTHER): referral_b.pk,
            ("consent", t.OWN): referral_a.consent_id,
            ("consent", t.OTHER): referral_b.consent_id,
            ("attachment", t.OWN): attachment_a.pk,
            ("attachment", t.OTHER): attachment_b.pk,
            ("broker", t.ANY): broker.pk,
            ("partner", t.ANY): ministry.pk,
            ("import", t.ANY): staged.batch.pk,
            ("mapping", t.ANY): mapping.pk,
            ("user", t.ANY): users["carol"].pk,
            ("release", t.ANY): release.pk,
            ("statement", t.ANY): statement.pk,
            ("cover", t.ANY): cover.pk,
        },
        groups={
            cases_a[0].group_id: [c.pk for c in cases_a],
            cases_b[0].group_id: [c.pk for c in cases_b],
        },
        consents={referral_a.pk: referral_a.consent_id, referral_b.pk: referral_b.consent_id},
        extra={"draft": draft.pk, "cases_a": [c.pk for c in cases_a], "another": another.pk},
    )


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """The records, built once and rolled back when the module is done."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- calling and judging ----------------------------------------------------------------------


@dataclass
class Tally:
    checks: int = 0
    endpoints: set[tuple[str, str, str]] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    idor: int = 0

    def line(self) -> str:
        web = sum(1 for key in self.endpoints if key in t.WEB)
        return (
            f"access matrix: {self.checks} endpoint x role x situation checks over "
            f"{len(self.endpoints)} endpoints ({web} web, {len(self.endpoints) - web} API) and "
            f"{len(self.roles)} principals (roles + anonymous); {self.idor} IDOR checks"
        )


TALLY = Tally()


class _Summary:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if TALLY.checks or TALLY.idor:
            terminalreporter.write_line(TALLY.line())


@pytest.fixture(scope="module", autouse=True)
def _summary(pytestconfig: pytest.Config) -> None:
    if not pytestconfig.pluginmanager.has_plugin("haven-access-matrix-summary"):
        pytestconfig.pluginmanager.register(_Summary(), "haven-access-matrix-summary")


def state() -> dict[str, Any]:
    """Everything a refused write must leave alone: sealed records, grants, shares, people."""
    data = snapshot()
    data["grants"] = sorted(
        (str(g.data_key_id), str(g.user_id), str(g.team_key_id), g.stale, bytes(g.sealed))
        for g in Grant.objects.all().order_by()
    )
    data["shares"] = KeyShare.objects.count()
    data["users"] = sorted(
        tuple(map(str, row))
        for row in User.objects.values_list(
            "pk", "role", "team_id", "partner_id", "is_active", "password"
        )
    )
    data["tokens"] = ApiToken.objects.count()
    data["imports"] = sorted(
        tuple(map(str, row))
        for row in ImportBatch.objects.values_list("pk", "status", "version", "stage_key_id")
    )
    data["mappings"] = ImportMapping.objects.count()
    return data


def classify(response: Any) -> str:
    code = response.status_code
    if code == 401:
        return t.LOGIN
    if code in (301, 302, 303, 307, 308):
        location = urlsplit(response["Location"])
        if location.path == reverse("web:login") and "next=" in location.query:
            return t.LOGIN
    return str(code)


def matches(got: str, want: str) -> bool:
    if want == t.OK:
        return got.isdigit() and 200 <= int(got) < 400
    if want == t.PASSED:
        return got.isdigit() and (200 <= int(got) < 400 or got in ("400", "409"))
    return got == want


def url_for(key: tuple[str, str, str], obj: Any) -> str:
    name, _method, variant = key
    route = ROUTES[name]
    kwargs: dict[str, Any] = {}
    for kwarg in (*KIND_OF_KWARG, "pk"):
        if f":{kwarg}>" in route.route:
            kwargs[kwarg] = obj
    if "<slug:action>" in route.route:
        kwargs["action"] = variant
    if "<slug:fmt>" in route.route:
        kwargs["fmt"] = variant or "csv"
    return reverse(name, kwargs=kwargs)


def kind_in_url(key: tuple[str, str, str]) -> str | None:
    name = key[0]
    route = ROUTES[name].route
    for kwarg, kind in KIND_OF_KWARG.items():
        if f":{kwarg}>" in route:
            return kind
    if ":pk>" in route:
        return API_KIND[route.split("/")[1]]
    return None


# A login made once for the module serves while its password counts as just typed (grave actions
# ask for it again after HAVEN_REAUTH_SECONDS); after that each test logs in afresh.
FRESH_FOR = settings.HAVEN_REAUTH_SECONDS - 60


@dataclass
class Login:
    cookies: Any
    token: str
    at: float


def log_in(user: User) -> Login:
    client = Client()
    login(client, user)
    token = api_token_create(user=user, password=PASSWORD)
    return Login(cookies=copy.deepcopy(client.cookies), token=token, at=time.monotonic())


@pytest.fixture(scope="module")
def logins(world: World, django_db_blocker: Any) -> dict[str, Login]:
    """Every principal logged in on the web and holding a fresh API token."""
    with django_db_blocker.unblock():
        return {role: log_in(world.users[user]) for role, user in PRINCIPAL.items()}


class Caller:
    """One principal's client on one surface; every call is made in a rolled-back savepoint."""

    def __init__(self, world: World, logins: dict[str, Login], role: str, api: bool):
        self.api = api
        self.client: Any = APIClient() if api else Client()
        if role != t.ANONYMOUS:
            made = logins[role]
            if time.monotonic() - made.at > FRESH_FOR:
                made = log_in(world.users[PRINCIPAL[Role(role)]])  # for this test only
            if api:
                self.client.credentials(HTTP_AUTHORIZATION=f"Token {made.token}")
            else:
                self.client.cookies = copy.deepcopy(made.cookies)
        self.cookies = copy.deepcopy(self.client.cookies)

    def call(self, method: str, url: str, body: dict[str, Any] | None, *, watch: bool) -> Any:
        """The response, with ``changed``: whether stored state changed (if ``watch``)."""
        self.client.cookies = copy.deepcopy(self.cookies)
        send = getattr(self.client, method.lower())
        with transaction.atomic():
            before = state() if watch else None
            if self.api:
                response = send(url, body, format="json") if body is not None else send(url)
            else:
                response = send(url, body or {}) if method != "GET" else send(url)
            after = state() if watch else None
            transaction.set_rollback(True)
        response.changed = before != after
        return response


REFUSED = (t.DENIED, t.HIDDEN, t.UNKNOWN, t.NOT_ALLOWED, t.LOGIN)


def _check(
    world: World,
    logins: dict[str, Login],
    key: tuple[str, str, str],
    endpoint: t.Endpoint,
    role: str,
) -> list[str]:
    _name, method, _variant = key
    caller = Caller(world, logins, role, api=key in t.API)
    problems = []
    for situation in t.SITUATIONS[endpoint.kind]:
        obj = world.obj(endpoint.kind, situation)
        in_url = obj if kind_in_url(key) is not None else None
        body = endpoint.body(world, obj) if endpoint.body is not None else None
        url = url_for(key, in_url)
        want = t.expected(endpoint, role, situation)
        refused = want in REFUSED
        response = caller.call(method, url, body, watch=refused and method != "GET")
        got = classify(response)
        TALLY.checks += 1
        TALLY.endpoints.add(key)
        TALLY.roles.add(role)
        where = f"{_id(key)} as {role} on {situation} ({url})"
        if not matches(got, want):
            detail = getattr(response, "content", b"")[:300]
            problems.append(f"{where}: expected {want}, got {got} {detail!r}")
        if response.changed:
            problems.append(f"{where}: refused ({got}) but something changed")
    return problems


def test_the_situations_are_what_they_claim(world: World) -> None:
    """ "own" is held by every case role, "other" by none of them (only carol, team B)."""
    own, other = (Case.objects.get(pk=world.objects[("case", s)]) for s in (t.OWN, t.OTHER))
    for name in ("alice", "bob", "dave"):
        assert can_view_case(world.users[name], own), name
        assert not can_view_case(world.users[name], other), name
    assert can_view_case(world.users["carol"], other)
    sent_to = {
        s: Referral.objects.get(pk=world.objects[("referral", s)]).partner for s in (t.OWN, t.OTHER)
    }
    assert sent_to[t.OWN] == world.users["frank"].partner != sent_to[t.OTHER]


def test_every_endpoint_is_in_the_table() -> None:
    """A new URL or API operation must say who may call it (and the table lists nothing stale)."""
    found = enumerated()
    listed = {(name, method) for name, method, _ in TABLE}
    assert not found - listed, f"endpoints missing from tests/access_table.py: {found - listed}"
    assert not listed - found, f"table entries with no such endpoint: {listed - found}"
    # API endpoints are judged on the API surface, the rest on the web.
    assert {k for k in t.API if k[0] in API_NAMES} == set(OPERATIONS)


@pytest.mark.parametrize("key", PARAMS, ids=_id)
@pytest.mark.parametrize("role", t.ROLES)
def test_access(
    world: World, logins: dict[str, Login], key: tuple[str, str, str], role: str
) -> None:
    endpoint = TABLE.get(key)
    if endpoint is None:
        pytest.fail(f"{_id(key)} is not in tests/access_table.py: say who may call it")
    if key[0] not in ROUTES:
        pytest.fail(f"{_id(key)} is in the table but not in the URL conf")
    unknown = set(re.findall(r"<\w+:(\w+)>", ROUTES[key[0]].route)) - KNOWN_KWARGS
    if unknown:
        pytest.fail(f"{_id(key)}: teach this test which records {unknown} name (KIND_OF_KWARG)")
    kind = kind_in_url(key)
    if kind is not None and endpoint.kind != kind:
        pytest.fail(f"{_id(key)}: the URL names a {kind}, the table says {endpoint.kind}")
    problems = _check(world, logins, key, endpoint, role)
    assert not problems, "\n".join(problems)


# --- IDOR: guessed ids, and ids of records out of reach named in bodies ------------------------


def _neighbours(value: Any) -> list[str]:
    """Ids an attacker would try next to a real one: sequential neighbours and the extremes."""
    number = uuid.UUID(str(value)).int
    return [str(uuid.UUID(int=number + 1)), str(uuid.UUID(int=number - 1))]


GUESSES = ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"]
READS = sorted(k for k, e in TABLE.items() if k[1] == "GET" and e.kind and not e.not_allowed)


@pytest.mark.parametrize("key", READS, ids=_id)
def test_guessed_ids_are_answered_as_missing_ones(
    world: World, logins: dict[str, Login], key: tuple[str, str, str]
) -> None:
    """Sequential neighbours of real ids (own and other's) and the extreme UUIDs get exactly the
    answer of a random id, for every role that may look at all: nothing tells them apart."""
    endpoint = TABLE[key]
    kind = endpoint.kind
    assert kind is not None
    problems = []
    for role in t.ROLES:
        if t.expected(endpoint, role, t.NONE) != t.HIDDEN:
            continue  # refused whatever the id (403) or not logged in
        caller = Caller(world, logins, role, api=key in t.API)
        real = {world.obj(kind, s) for s in t.SITUATIONS[kind] if s != t.NONE}
        if kind in INT_KINDS:
            guesses: list[Any] = [max(u.pk for u in world.users.values()) + 1, 0, NO_USER + 1]
            baseline = caller.call("GET", url_for(key, NO_USER), None, watch=False)
        else:
            guesses = [g for value in real for g in _neighbours(value)] + GUESSES
            baseline = caller.call("GET", url_for(key, uuid.uuid4()), None, watch=False)
        for guess in guesses:
            response = caller.call("GET", url_for(key, guess), None, watch=False)
            TALLY.idor += 1
            same = response.status_code == baseline.status_code == 404
            if key in t.API:
                same = same and response.json() == baseline.json()
            if not same:
                problems.append(f"{_id(key)} as {role}: {guess} answered {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path", ["/api/cases/1/", "/api/referrals/2/packet/", "/cases/1/", "/requests/0001/"]
)
def test_non_uuid_ids_are_not_found(world: World, logins: dict[str, Login], path: str) -> None:
    caller = Caller(world, logins, Role.CASEWORKER, api=path.startswith("/api/"))
    TALLY.idor += 1
    assert caller.call("GET", path, None, watch=False).status_code == 404


@dataclass(frozen=True)
class Attempt:
    who: str  # role
    method: str
    url: Any  # (world) -> url
    body: Any  # (world) -> body
    expect: int
    like_random: Any = None  # (world) -> body with a random id: must get the same answer


def _case(situation: str) -> Any:
    return lambda w: w.objects[("case", situation)]


def _referral(situation: str) -> Any:
    return lambda w: w.objects[("referral", situation)]


def _max_user(w: World) -> int:
    return max(u.pk for u in w.users.values()) + 1


ATTEMPTS = {
    # Grants name a colleague: never oneself, never a role without cases, never a made-up id.
    # (dave holds team A's case through the intake key only: a personal grant would outlive it.)
    "grant to oneself": Attempt(
        Role.INTAKE,
        "POST",
        lambda w: f"/api/cases/{_case(t.OWN)(w)}/access/grant/",
        lambda w: {"user": w.users["dave"].pk},
        400,
    ),
    "grant to an administrator": Attempt(
        Role.CASEWORKER,
        "POST",
        lambda w: f"/api/cases/{_case(t.OWN)(w)}/access/grant/",
        lambda w: {"user": w.users["erin"].pk},
        400,
    ),
    "grant to a guessed user id": Attempt(
        Role.CASEWORKER,
        "POST",
        lambda w: f"/api/cases/{_case(t.OWN)(w)}/access/grant/",
        lambda w: {"user": _max_user(w)},
        400,
    ),
    "grant oneself another team's case": Attempt(
        Role.CASEWORKER,
        "POST",
        lambda w: f"/api/cases/{_case(t.OTHER)(w)}/access/grant/",
        lambda w: {"user": w.users["bob"].pk},
        404,
    ),
    "grant oneself on the web": Attempt(
        Role.INTAKE,
        "POST",
        lambda w: reverse("web:case_grant", args=[_case(t.OWN)(w)]),
        lambda w: {"user": w.users["dave"].pk},
        302,
    ),
    "revoke someone on another team's case": Attempt(
        Role.SUPERVISOR,
        "POST",
        lambda w: f"/api/cases/{_case(t.OTHER)(w)}/access/revoke/",
        lambda w: {"user": w.users["carol"].pk},
        404,
    ),
    "revoke oneself": Attempt(
        Role.SUPERVISOR,
        "POST",
        lambda w: f"/api/cases/{_case(t.OWN)(w)}/access/revoke/",
        lambda w: {"user": w.users["alice"].pk},
        400,
    ),
    "revoke a guessed user id": Attempt(
        Role.SUPERVISOR,
        "POST",
        lambda w: f"/api/cases/{_case(t.OWN)(w)}/access/revoke/",
        lambda w: {"user": _max_user(w)},
        400,
    ),
    "revoke as a caseworker on the web": Attempt(
        Role.CASEWORKER,
        "POST",
        lambda w: reverse("web:case_revoke", args=[_case(t.OWN)(w)]),
        lambda w: {"holder": f"u:{w.users['alice'].pk}"},
        403,
    ),
    # Records of other teams named in bodies: answered as if they did not exist.
    "refer another team's case": Attempt(
        Role.CASEWORKER,
        "POST",
        lambda w: "/api/referrals/",
        lambda w: {
            "case": str(_case(t.OTHER)(w)),
            "partner": str(w.partner.pk),
            "purpose": "relief",
            "disclosed_fields": ["sex"],
        },
        400,
        like_random=lambda w: {
            "case": str(uuid.uuid4()),
            "partner": str(w.partner.pk),
            "purpose": "relief",
            "disclosed_fields": ["sex"],
        },
    ),
    "move another team's case with one's group": Attempt(
        Role.CASEWORKER,
        "POST",
        lambda w: f"/api/groups/{w.objects[('group', t.OWN)]}/transition/",
        lambda w: {
            "case_ids": [str(_case(t.OTHER)(w))],
            "versions": {str(_case(t.OTHER)(w)): 1},
            "to_state": "withdrawn",
        },
        400,
        like_random=lambda w: {
            "case_ids": [str(uid := uuid.uuid4())],
            "versions": {str(uid): 1},
            "to_state": "withdrawn",
        },
    ),
    "rest a referral on another case's consent": Attempt(
        Role.SUPERVISOR,
        "POST",
        lambda w: f"/api/referrals/{_referral(t.OWN)(w)}/consent/",
        lambda w: {"version": 1, "consent": str(w.objects[("consent", t.OTHER)])},
        400,
        like_random=lambda w: {"version": 1, "consent": str(uuid.uuid4())},
    ),
    "mark a duplicate of another team's request": Attempt(
        Role.INTAKE,
        "POST",
        lambda w: f"/api/requests/{w.objects[('request', t.OWN)]}/triage/",
        lambda w: {
            "version": 1,
            "status": "duplicate",
            "duplicate_of": str(w.objects[("request", t.OTHER)]),
        },
        400,
        like_random=lambda w: {
            "version": 1,
            "status": "duplicate",
            "duplicate_of": str(uuid.uuid4()),
        },
    ),
    # A partner liaison sees what was sent to their partner, and nothing else.
    "liaison reads a draft to their own partner": Attempt(
        Role.PARTNER_LIAISON, "GET", lambda w: f"/api/referrals/{w.extra['draft']}/", None, 404
    ),
    "liaison reads its packet": Attempt(
        Role.PARTNER_LIAISON,
        "GET",
        lambda w: f"/api/referrals/{w.extra['draft']}/packet/",
        None,
        404,
    ),
    "liaison answers another partner's referral": Attempt(
        Role.PARTNER_LIAISON,
        "POST",
        lambda w: f"/api/referrals/{_referral(t.OTHER)(w)}/respond/",
        lambda w: {"version": 1, "status": "accepted"},
        404,
    ),
    "liaison opens another partner's referral page": Attempt(
        Role.PARTNER_LIAISON,
        "GET",
        lambda w: reverse("web:referral", args=[_referral(t.OTHER)(w)]),
        None,
        404,
    ),
}


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_ids_out_of_reach_in_bodies_get_nowhere(
    world: World, logins: dict[str, Login], name: str
) -> None:
    attempt = ATTEMPTS[name]
    caller = Caller(world, logins, attempt.who, api=attempt.url(world).startswith("/api/"))
    body = attempt.body(world) if attempt.body else None
    response = caller.call(attempt.method, attempt.url(world), body, watch=True)
    TALLY.idor += 1
    assert response.status_code == attempt.expect, response.content[:300]
    assert not response.changed
    if attempt.like_random is not None:
        random = caller.call(
            attempt.method, attempt.url(world), attempt.like_random(world), watch=False
        )
        TALLY.idor += 1
        assert (random.status_code, random.json()) == (response.status_code, response.json())


def test_the_liaison_lists_only_what_was_sent_to_their_partner(
    world: World, logins: dict[str, Login]
) -> None:
    caller = Caller(world, logins, Role.PARTNER_LIAISON, api=True)
    listed = {
        r["id"] for r in caller.call("GET", "/api/referrals/", None, watch=False).json()["results"]
    }
    TALLY.idor += 1
    assert listed == {str(world.objects[("referral", t.OWN)])}


# The administrators' staff-account bodies: the only ones that may carry a role, team or activation
# (``user.manage``: the matrix checks that nobody else reaches them, and the service refuses
# one's own account).
STAFF_BODIES = {"UserCreateInputRequest", "UserUpdateInputRequest"}


def test_no_endpoint_takes_a_role_team_or_grant_of_ones_own() -> None:
    """Roles, teams and activation are changed only by administrators (the CLI, the staff pages
    and their API bodies), never by oneself: no other API request body carries them (grants name
    a colleague, refused for oneself)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    fields = {
        (name, prop)
        for name, component in schema["components"]["schemas"].items()
        if name.endswith("Request") and name not in STAFF_BODIES
        for prop in component.get("properties", {})
    }
    assert not {f for f in fields if f[1] in ("role", "team", "is_active", "partner_id")}
    assert all(name in schema["components"]["schemas"] for name in STAFF_BODIES)
    assert {Role.ADMIN} == PERMISSIONS_OF_STAFF_BODIES


PERMISSIONS_OF_STAFF_BODIES = set(t.PERMISSIONS["user.manage"])


def test_nobody_changes_their_own_role_or_team(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    from haven.accounts.services import user_update

    erin, alice, bob = world.users["erin"], world.users["alice"], world.users["bob"]
    with transaction.atomic():
        for actor, user in ((erin, erin), (alice, alice), (alice, bob), (bob, bob)):
            TALLY.idor += 1
            with pytest.raises(PermissionDenied):
                user_update(actor=actor, user=user, role=Role.SUPERVISOR)
        transaction.set_rollback(True)
