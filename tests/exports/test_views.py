"""Exporting the case list (supervisors, only what they may open) and the audit trail."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from haven.audit.models import AuditEntry
from haven.audit.pseudonyms import audit_id
from haven.cases.services import PersonInput, request_create
from haven.imports.reading import read_table
from haven.vault.holders import system_key
from haven.vault.models import TeamKeyKind
from tests.factories import ctx_for, login, make_case

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    login(client, user)
    return client


def test_a_supervisor_exports_the_cases_they_may_open(alice, carol, ctx) -> None:
    mine = request_create(
        ctx=ctx,
        actor=alice,
        channel="staff",
        account="x",
        people=[
            PersonInput(
                name_hangul='=HYPERLINK("http://evil")', birth_value="1990", birth_precision="year"
            )
        ],
    ).cases.get()
    hidden = make_case(ctx=ctx_for(carol), actor=carol, owner=carol)
    from haven.cases.services import case_revoke
    from haven.vault.models import TeamKey

    team_b = TeamKey.objects.get(team=carol.team, active=True)
    for holder in (system_key(TeamKeyKind.INTAKE), team_b, system_key(TeamKeyKind.SUPERVISORS)):
        hidden.refresh_from_db()
        case_revoke(ctx=ctx, actor=alice, case=hidden, holder=holder)
    response = _client(alice).get("/cases/export.csv")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    table = read_table(response.content)
    ids = [row[0] for _n, row in table.rows]
    assert str(mine.pk) in ids and str(hidden.pk) not in ids
    assert table.rows[0][1][1].startswith("'=HYPERLINK")
    entry = AuditEntry.objects.get(action="case.export")
    assert entry.detail["rows"] == 1 and audit_id(str(mine.pk)) in str(entry.detail)
    xlsx = _client(alice).get("/cases/export.xlsx?state=received")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_a_bad_filter_exports_nothing(alice) -> None:
    response = _client(alice).get("/cases/export.csv?state=nonsense")
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="case.export").exists()


def test_caseworkers_and_others_cannot_export(bob, grace, erin) -> None:
    for user in (bob, grace, erin):
        assert _client(user).get("/cases/export.csv").status_code == 403


def test_the_audit_trail_exports_with_readable_labels(grace, alice, ctx) -> None:
    make_case(ctx=ctx, actor=alice)
    response = _client(grace).get("/audit/export.xlsx")
    assert response.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    labels = {row[3] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "Request — created" in labels  # haven.audit.labels: words, not "request.create"
    assert AuditEntry.objects.filter(action="audit.export").count() == 1
    assert _client(alice).get("/audit/export.csv").status_code == 403
