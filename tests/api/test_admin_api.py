"""The API for staff accounts, imports, exports and printed case files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from haven.accounts.models import User
from haven.cases.models import Person
from haven.imports.models import ImportBatch
from tests.factories import make_case
from tests.imports import samples

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_changes_and_resets_an_account(client_for, erin) -> None:
    api = client_for(erin)
    created = api.post(
        "/api/users/", {"username": "minji", "role": "caseworker", "team": "Team C"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    user = User.objects.get(username="minji")
    assert user.check_password(body["temporary_password"]) and body["user"]["team"] == "Team C"
    changed = api.put(f"/api/users/{user.pk}/", {"role": "intake", "team": None}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "intake"
    assert changed.json()["team"] is None
    refused = api.post(
        f"/api/users/{user.pk}/reset-password/", {"confirm": "someone"}, format="json"
    )
    assert refused.status_code == 400
    reset = api.post(f"/api/users/{user.pk}/reset-password/", {"confirm": "minji"}, format="json")
    user.refresh_from_db()
    assert reset.status_code == 200 and user.check_password(reset.json()["temporary_password"])
    assert api.put(f"/api/users/{erin.pk}/", {"role": "auditor"}, format="json").status_code == 403


def test_a_supervisor_imports_through_the_api(client_for, alice) -> None:
    api = client_for(alice)
    upload = SimpleUploadedFile("people.csv", samples.csv_bytes())
    staged = api.post("/api/imports/", {"file": upload, "date_order": "dmy"}, format="multipart")
    assert staged.status_code == 201, staged.content
    body = staged.json()
    assert body["rows_valid"] == 4 and body["mapping"]["이름"] == "name_hangul"
    assert Person.objects.count() == 0
    loaded = api.post(f"/api/imports/{body['id']}/commit/", {}, format="json")
    assert loaded.status_code == 200 and loaded.json()["status"] == "committed"
    assert Person.objects.count() == 4
    undone = api.post(f"/api/imports/{body['id']}/undo/", {}, format="json")
    assert undone.status_code == 200 and undone.json()["requests_undone"] == 4
    bomb = api.post(
        "/api/imports/",
        {"file": SimpleUploadedFile("x.xlsx", samples.xml_bomb())},
        format="multipart",
    )
    assert bomb.status_code == 400 and "document type" in bomb.content.decode()
    assert ImportBatch.objects.count() == 1


def test_exports_and_printing_through_the_api(client_for, alice, grace, ctx) -> None:
    case = make_case(ctx=ctx, actor=alice)
    api = client_for(alice)
    csv = api.get("/api/cases/export/?as=csv")
    assert csv.status_code == 200 and csv["Cache-Control"] == "no-store"
    assert str(case.pk).encode() in csv.content
    assert api.get("/api/cases/export/?as=pdf").status_code == 400
    pdf = api.get(f"/api/cases/{case.pk}/print/?lang=ko")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    audit = client_for(grace).get("/api/audit/export/?as=xlsx")
    assert audit.status_code == 200 and audit.content[:2] == b"PK"
