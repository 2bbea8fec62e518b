"""Need to know over the API: unseen records are 404 (never 403), roles without cases get 403."""

from __future__ import annotations

import pytest

from tests.api.conftest import snapshot
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def carols_case(ctx, alice, carol):
    return make_case(ctx=ctx, actor=alice, owner=carol)


def _case_calls(case_id):
    return [
        ("get", f"/api/cases/{case_id}/", None),
        ("patch", f"/api/cases/{case_id}/", {"version": 1, "urgency": 4}),
        ("put", f"/api/cases/{case_id}/person/", {"version": 1, "name_hangul": "가"}),
        ("post", f"/api/cases/{case_id}/transition/", {"version": 1, "to_state": "verifying"}),
        ("get", f"/api/cases/{case_id}/notes/", None),
        ("post", f"/api/cases/{case_id}/notes/", {"text": "x"}),
        ("get", f"/api/cases/{case_id}/allowed-transitions/", None),
        ("get", f"/api/cases/{case_id}/consents/", None),
    ]


def test_caseworker_gets_404_for_another_teams_case_everywhere(client_for, bob, carols_case):
    client = client_for(bob)
    before = snapshot()

    for method, url, body in _case_calls(carols_case.pk):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["code"] == "not_found"

    assert snapshot() == before
    assert client.get("/api/cases/").json()["count"] == 0


def test_an_unseen_case_and_a_missing_case_answer_the_same(client_for, bob, carols_case):
    client = client_for(bob)
    unseen = client.get(f"/api/cases/{carols_case.pk}/")
    missing = client.get("/api/cases/00000000-0000-0000-0000-000000000000/")

    assert unseen.status_code == missing.status_code == 404
    assert unseen.json() == missing.json()


def test_team_mate_and_supervisor_see_the_case(client_for, alice, dave, carols_case):
    assert client_for(alice).get(f"/api/cases/{carols_case.pk}/").status_code == 200
    assert client_for(dave).get(f"/api/cases/{carols_case.pk}/").status_code == 200


@pytest.mark.parametrize("who", ["erin", "grace", "heidi", "frank"])
def test_roles_without_cases_get_403(client_for, request, who, carols_case):
    client = client_for(request.getfixturevalue(who))
    before = snapshot()

    assert client.get("/api/cases/").status_code == 403
    assert client.get("/api/dashboard/").status_code == 403
    for method, url, body in _case_calls(carols_case.pk):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (who, method, url)
        assert response.json()["code"] == "permission_denied"
    assert snapshot() == before


def test_unauthenticated_is_401(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/cases/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")
