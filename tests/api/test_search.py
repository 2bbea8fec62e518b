"""`GET /api/cases/?q=`: the name search through the blind index, validated, within need to know."""

from __future__ import annotations

import pytest

from tests.api.conftest import person, request_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(client_for, alice, bob):
    """Two cases recorded through the API: 김선희 (bob's) and 박정민 (unassigned)."""
    client = client_for(alice)
    ids = {}
    for name, owner in (("김선희", bob.pk), ("박정민", None)):
        body = request_body(people=[person(name_hangul=name, name_romanized="", aliases=[])])
        if owner is not None:
            body["owner"] = owner
        response = client.post("/api/requests/", body, format="json")
        assert response.status_code == 201, response.json()
        ids[name] = response.json()["cases"][0]["id"]
    return ids


@pytest.mark.parametrize("q", ["Kim Sun-hui", "Gim Seon-hui", "김선희"])
def test_q_finds_a_case_by_name(client_for, alice, cases, q):
    response = client_for(alice).get("/api/cases/", {"q": q})

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [cases["김선희"]]


def test_q_combines_with_the_other_filters_and_need_to_know(client_for, alice, bob, carol, cases):
    assert client_for(alice).get("/api/cases/", {"q": "Pak Jong-min"}).json()["count"] == 1
    assert (
        client_for(alice).get("/api/cases/", {"q": "김선희", "state": "closed"}).json()["count"]
        == 0
    )
    assert client_for(bob).get("/api/cases/", {"q": "Kim Sun-hui"}).json()["count"] == 1
    assert client_for(carol).get("/api/cases/", {"q": "Kim Sun-hui"}).json()["count"] == 0
    assert client_for(alice).get("/api/cases/", {"q": ""}).json()["count"] == 2


@pytest.mark.parametrize("q", ["김" * 10_000, "x" * 201, "Kim\x00Sun", "Kim\x07Sun", "Kim\x1b[2J"])
def test_a_hostile_q_is_a_400_on_q(client_for, alice, cases, q):
    response = client_for(alice).get("/api/cases/", {"q": q})

    assert response.status_code == 400
    assert "q" in response.json()["errors"]


def test_q_finds_nothing_when_it_has_no_letters(client_for, alice, cases):
    response = client_for(alice).get("/api/cases/", {"q": "!!! ???"})

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_an_administrator_searching_is_refused(client_for, alice, erin, cases):
    response = client_for(erin).get("/api/cases/", {"q": "김선희"})

    assert response.status_code == 403
