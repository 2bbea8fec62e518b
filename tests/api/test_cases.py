from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from haven.cases.journey import State
from haven.cases.models import Case, JourneyEvent, Note
from tests.api.conftest import snapshot
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(ctx, alice, bob):
    """A case owned by bob (team A)."""
    return make_case(ctx=ctx, actor=alice, owner=bob, country="CN")


def _move(client, case_id, to_state, version, **extra):
    return client.post(
        f"/api/cases/{case_id}/transition/",
        {"to_state": to_state, "version": version, **extra},
        format="json",
    )


def test_case_list_shows_decrypted_names_most_urgent_first(client_for, bob, alice, ctx, case):
    urgent = make_case(ctx=ctx, actor=alice, owner=bob, urgency=4)

    response = client_for(bob).get("/api/cases/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [str(urgent.pk), str(case.pk)]
    assert results[0]["name"] and results[0]["name_romanized"]
    assert results[0]["version"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "verifying"}, {"moved"}),
        ({"state": "received"}, {"still"}),
        ({"urgency": 4}, {"moved"}),
        ({"country": "th"}, {"moved"}),
        ({"overdue": "true"}, {"still"}),
        ({"active": "true"}, {"moved", "still"}),
        ({"active": "false"}, set()),
    ],
)
def test_case_list_filters(client_for, alice, bob, ctx, params, expected):
    moved = make_case(ctx=ctx, actor=alice, owner=bob, urgency=4)
    still = make_case(ctx=ctx, actor=alice, owner=bob)
    client = client_for(alice)
    assert _move(client, moved.pk, "verifying", 1, country="TH").status_code == 200
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert (
        client.patch(
            f"/api/cases/{still.pk}/", {"version": 1, "next_contact_due": past}, format="json"
        ).status_code
        == 200
    )
    names = {str(moved.pk): "moved", str(still.pk): "still"}

    response = client.get("/api/cases/", params)

    assert response.status_code == 200, response.json()
    assert {names[r["id"]] for r in response.json()["results"]} == expected


def test_case_list_filter_by_owner(client_for, alice, bob, ctx, case):
    make_case(ctx=ctx, actor=alice, owner=alice)

    results = client_for(alice).get("/api/cases/", {"owner": bob.pk}).json()["results"]

    assert [r["id"] for r in results] == [str(case.pk)]


@pytest.mark.parametrize(
    "params",
    [
        {"state": "escaped"},
        {"urgency": "9"},
        {"owner": "bob"},
        {"overdue": "perhaps"},
        {"group": "x"},
    ],
)
def test_case_list_with_a_bad_filter_is_a_clear_400(client_for, alice, params):
    response = client_for(alice).get("/api/cases/", params)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(params)


def test_case_detail_has_person_journey_and_notes(client_for, bob, case):
    client = client_for(bob)
    client.post(f"/api/cases/{case.pk}/notes/", {"text": "Called at 9."}, format="json")

    response = client.get(f"/api/cases/{case.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["person"]["name_romanized"] and data["person"]["version"] == 1
    assert data["person"]["birth"] == {"value": "1990", "precision": "year"}
    assert [e["to_state"] for e in data["events"]] == ["received"]
    assert [n["text"] for n in data["notes"]] == ["Called at 9."]
    assert "verifying" in data["allowed_transitions"]


def test_patching_a_case_changes_only_what_is_sent(client_for, bob, case):
    response = client_for(bob).patch(
        f"/api/cases/{case.pk}/",
        {"version": 1, "urgency": 4, "summary": "Waiting in Shenyang."},
        format="json",
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["urgency"] == 4 and data["summary"] == "Waiting in Shenyang."
    assert data["version"] == 2 and data["owner"] == case.owner_id


def test_patch_with_null_clears_next_contact(client_for, bob, case):
    client = client_for(bob)
    due = (timezone.now() + dt.timedelta(days=2)).isoformat()
    client.patch(f"/api/cases/{case.pk}/", {"version": 1, "next_contact_due": due}, format="json")

    response = client.patch(
        f"/api/cases/{case.pk}/", {"version": 2, "next_contact_due": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["next_contact_due"] is None


def test_supervisor_assigns_a_case_and_unknown_owner_is_400(client_for, alice, carol, case):
    client = client_for(alice)
    before = snapshot()
    bad = client.patch(f"/api/cases/{case.pk}/", {"version": 1, "owner": 999999}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"] == {"owner": ["Unknown user."]}
    assert snapshot() == before

    response = client.patch(
        f"/api/cases/{case.pk}/", {"version": 1, "owner": carol.pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["owner"] == carol.pk and response.json()["team"] == carol.team_id


def test_caseworker_cannot_assign_a_case_to_someone_else(client_for, bob, carol, case):
    before = snapshot()

    response = client_for(bob).patch(
        f"/api/cases/{case.pk}/", {"version": 1, "owner": carol.pk}, format="json"
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_replacing_the_person_uses_the_persons_version(client_for, bob, case):
    response = client_for(bob).put(
        f"/api/cases/{case.pk}/person/",
        {
            "version": 1,
            "name_hangul": "박정민",
            "name_romanized": "Pak Jong-min",
            "sex": "male",
            "birth_value": "1988-04",
            "birth_precision": "month",
            "occupation": "trader",
            "family": [{"relation": "sister", "name": "Pak Un-hui"}],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    person = response.json()["person"]
    assert person["name_hangul"] == "박정민" and person["version"] == 2
    assert person["birth"] == {"value": "1988-04", "precision": "month"}
    assert person["family"] == [{"relation": "sister", "name": "Pak Un-hui", "case_id": ""}]
    assert response.json()["version"] == 1  # the case itself did not change


def test_a_person_needs_a_name(client_for, bob, case):
    before = snapshot()

    response = client_for(bob).put(
        f"/api/cases/{case.pk}/person/", {"version": 1, "sex": "female"}, format="json"
    )

    assert response.status_code == 400
    assert "people[0].name" in response.json()["errors"]
    assert snapshot() == before


def test_transition_records_an_event(client_for, bob, case):
    response = _move(
        client_for(bob),
        case.pk,
        "verifying",
        1,
        country="CN",
        region="Liaoning",
        place="Flat 3, Dandong",
        source="broker",
        confidence="likely",
        note="Broker called.",
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["case"] == {"id": str(case.pk), "state": "verifying", "version": 2}
    assert data["event"]["from_state"] == "received" and data["event"]["place"] == "Flat 3, Dandong"
    assert data["event"]["source"] == "broker" and data["event"]["confidence"] == "likely"
    assert JourneyEvent.objects.filter(case=case).count() == 2


def test_a_move_the_journey_does_not_allow_is_409_and_changes_nothing(client_for, bob, case):
    before = snapshot()

    response = _move(client_for(bob), case.pk, "arrived", 1)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert body["from_state"] == "received" and body["to_state"] == "arrived"
    assert snapshot() == before


def test_allowed_transitions_follow_the_state(client_for, bob, case):
    client = client_for(bob)
    _move(client, case.pk, "verifying", 1)

    response = client.get(f"/api/cases/{case.pk}/allowed-transitions/")

    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "verifying" and data["version"] == 2
    assert data["allowed"] == ["accepted", "declined", "duplicate", "withdrawn", "lost_contact"]


def test_lost_contact_can_return_to_where_it_left(client_for, bob, case):
    client = client_for(bob)
    _move(client, case.pk, "verifying", 1)
    _move(client, case.pk, "lost_contact", 2)

    assert "verifying" in client.get(f"/api/cases/{case.pk}/allowed-transitions/").json()["allowed"]
    assert _move(client, case.pk, "verifying", 3).status_code == 200
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


def test_notes_are_added_and_listed_oldest_first(client_for, bob, case):
    client = client_for(bob)
    first = client.post(f"/api/cases/{case.pk}/notes/", {"text": "One"}, format="json")
    client.post(f"/api/cases/{case.pk}/notes/", {"text": "Two"}, format="json")

    assert first.status_code == 201 and first.json()["author"] == bob.pk
    listed = client.get(f"/api/cases/{case.pk}/notes/").json()
    assert [n["text"] for n in listed["results"]] == ["One", "Two"]
    assert Note.objects.filter(case=case).count() == 2
