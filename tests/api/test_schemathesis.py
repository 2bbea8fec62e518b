"""Schemathesis against /api/schema/, as every role: no server error, every answer as documented.

For each role, every operation in the served schema gets up to ``EXAMPLES`` generated requests
of valid input and of input that breaks the schema (derandomized: the same requests on every
run). The tally is printed at the end of the run. Path ids are drawn from random UUIDs and from
records seeded first, so that requests reach real cases, requests, brokers, partners, groups,
consents and referrals too. Each request runs in a savepoint that is rolled back afterwards, so
every example sees the same seeded data whatever the one before it changed.

Checks per response: not a server error (5xx), the status code is documented for the operation,
the content type is documented, and the body matches the documented schema for that code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from haven.api.services import api_token_create
from haven.cases.models import Case, Group
from haven.disclosure.services import CoverInput, cover_set, statement_create
from tests.factories import PASSWORD, ctx_for, make_broker, make_case, make_request

pytestmark = pytest.mark.django_db

ROLES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
# Generated requests per operation and role: valid input, then input that breaks the schema.
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    pairs: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    seeded_hits: int = 0
    failures: int = 0

    def count(self, mode: GenerationMode, status: int, seeded: bool) -> None:
        self.requests[mode.value] = self.requests.get(mode.value, 0) + 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.seeded_hits += seeded

    def line(self) -> str:
        total = sum(self.requests.values())
        modes = ", ".join(f"{n} {mode}" for mode, n in self.requests.items())
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"schemathesis: {len(self.operations)} operations x {len(self.roles)} roles = "
            f"{self.pairs} checked; {total} requests generated ({modes}; "
            f"{self.seeded_hits} on seeded records); status codes {{{codes}}}; "
            f"{self.failures} failing (operation, role, mode)"
        )


TALLY = Tally()


class _Summary:
    """Prints the tally at the end of the run (registered once, when the first test runs)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if TALLY.pairs:
            terminalreporter.write_line(TALLY.line())


@pytest.fixture(scope="module", autouse=True)
def _summary(pytestconfig: pytest.Config) -> None:
    if not pytestconfig.pluginmanager.has_plugin("haven-schemathesis-summary"):
        pytestconfig.pluginmanager.register(_Summary(), "haven-schemathesis-summary")


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[Any]:
    """The WSGI app, called in this test's transaction: as Django's own test client does, the
    request signals must not close the connection (that would end the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _post(client: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, body, format="json")
    assert response.status_code in (200, 201), (url, response.json())
    return response.json()


@pytest.fixture
def seeded(ctx, client_for, alice, bob, carol, heidi, partner) -> dict[str, list[str]]:
    """Real records for path ids, by the first segment of the path."""
    staff, supervisor = client_for(bob), client_for(alice)
    case = make_case(ctx=ctx, actor=alice, owner=bob, country="TH")
    for version, state in enumerate(["verifying", "accepted"], start=1):
        _post(staff, f"/api/cases/{case.pk}/transition/", {"to_state": state, "version": version})
    fields = ["name_romanized", "current_country"]
    consent = _post(
        staff,
        f"/api/cases/{case.pk}/consents/",
        {
            "partner": str(partner.pk),
            "purpose": "relief",
            "fields": fields,
            "method": "own_words",
            "words": "I want the ministry to know my name so they can help me.",
        },
    )
    draft = {"case": str(case.pk), "partner": str(partner.pk), "purpose": "relief"}
    draft |= {"disclosed_fields": fields, "cover_note": "In Bangkok.", "consent": consent["id"]}
    sent = _post(staff, "/api/referrals/", draft)
    _post(supervisor, f"/api/referrals/{sent['id']}/approve/", {"version": 1})
    _post(staff, f"/api/referrals/{sent['id']}/send/", {"version": 2})
    other = make_case(ctx=ctx, actor=alice, owner=bob, country="CN")
    drafted = _post(staff, "/api/referrals/", {**draft, "case": str(other.pk)} | {"consent": None})
    group = make_request(ctx=ctx, actor=alice, people=3, owner=bob)
    carols = make_case(ctx=ctx, actor=alice, owner=carol)
    untriaged = make_request(ctx=ctx, actor=alice)
    broker = make_broker(ctx=ctx, actor=alice)
    group_id = Case.objects.filter(request=group).values_list("group_id", flat=True).first()
    cover = cover_set(
        ctx=ctx,
        actor=alice,
        group=Group.objects.get(pk=group_id),
        label="Seeded group",
        fields={"origin": CoverInput(mode="cover", values={"en": "Shanghai"})},
    )
    statement = statement_create(
        ctx=ctx_for(heidi),
        actor=heidi,
        title="Seeded",
        texts={"en": "From [[A.origin]]."},
        subjects={"A": str(cover.pk)},
    )
    return {
        "cases": [str(case.pk), str(other.pk), str(carols.pk)],
        "requests": [str(untriaged.pk), str(case.request_id)],
        "referrals": [sent["id"], drafted["id"]],
        "consents": [consent["id"]],
        "groups": [str(group_id)],
        "brokers": [str(broker.pk)],
        "partners": [str(partner.pk)],
        "statements": [str(statement.pk)],
        "covers": [str(cover.pk)],
    }


def _explore(
    operation: Any, mode: GenerationMode, examples: int, auth: dict, ids: list[str]
) -> None:
    """Send up to ``examples`` generated requests to ``operation`` and check every answer."""
    strategies = [operation.as_strategy(mode, headers=auth)]
    strategies += [
        operation.as_strategy(mode, headers=auth, path_parameters={"id": pk}) for pk in ids
    ]

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def check(case: schemathesis.Case) -> None:
        with transaction.atomic():
            response = case.call()
            transaction.set_rollback(True)
        TALLY.count(mode, response.status_code, (case.path_parameters or {}).get("id") in ids)
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no body, no parameter to break).
        if mode is not GenerationMode.NEGATIVE:
            raise


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_documented(
    role, request, seeded, client_for, wsgi_in_test_transaction
):
    user = request.getfixturevalue(role)
    auth = {"Authorization": f"Token {api_token_create(user=user, password=PASSWORD)}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", wsgi_in_test_transaction, headers=auth
    )
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        ids = seeded.get(operation.path.split("/")[2], []) if "{id}" in operation.path else []
        for mode, examples in EXAMPLES.items():
            try:
                _explore(operation, mode, examples, auth, ids)
            except (Exception, BaseExceptionGroup) as exc:  # one report per failing operation
                failures.append(f"{role} {label} ({mode.value} data): {exc}")
                TALLY.failures += 1
        TALLY.operations.add(label)
        TALLY.pairs += 1
    TALLY.roles.add(role)
    assert not failures, "\n\n".join(failures)


# Mismatches schemathesis found, kept fixed.


def test_a_body_that_is_not_json_gets_the_documented_400(client_for, bob):
    response = client_for(bob).generic(
        "POST", "/api/brokers/", b'{"alias": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error" and response.json()["errors"] == {}


def test_an_api_path_with_a_malformed_id_gets_a_json_404(client_for, client, bob):
    response = client_for(bob).get("/api/brokers/not-a-uuid/")

    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found."}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
