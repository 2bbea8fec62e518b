"""Group moves over the API: all chosen members move together, or none does."""

from __future__ import annotations

import pytest

from haven.cases.models import Case, JourneyEvent
from tests.api.conftest import snapshot
from tests.factories import make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_cases(ctx, alice, bob):
    request = make_request(ctx=ctx, actor=alice, people=3, owner=bob)
    return list(request.cases.order_by("opened_at", "id"))


def _group_move(client, cases, to_state, **extra):
    """Move ``cases`` at the versions they have now, unless the test passes its own versions."""
    current = dict(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("pk", "version"))
    body = {
        "case_ids": [str(c.pk) for c in cases],
        "to_state": to_state,
        "versions": {str(pk): version for pk, version in current.items()},
        **extra,
    }
    return client.post(f"/api/groups/{cases[0].group_id}/transition/", body, format="json")


def test_versions_are_required(client_for, bob, group_cases):
    before = snapshot()
    response = client_for(bob).post(
        f"/api/groups/{group_cases[0].group_id}/transition/",
        {"case_ids": [str(c.pk) for c in group_cases], "to_state": "verifying"},
        format="json",
    )

    assert response.status_code == 400
    assert "versions" in response.json()["errors"]
    assert snapshot() == before


def test_group_members_move_together(client_for, bob, group_cases):
    response = _group_move(client_for(bob), group_cases, "verifying", country="CN")

    assert response.status_code == 200, response.json()
    assert {c["state"] for c in response.json()["cases"]} == {"verifying"}
    assert {c["version"] for c in response.json()["cases"]} == {2}
    assert JourneyEvent.objects.filter(case__in=group_cases, to_state="verifying").count() == 3


def test_a_group_can_split_by_moving_only_some(client_for, bob, group_cases):
    response = _group_move(client_for(bob), group_cases[:2], "verifying")

    assert response.status_code == 200
    states = dict(
        Case.objects.filter(pk__in=[c.pk for c in group_cases]).values_list("pk", "state")
    )
    assert sorted(states.values()) == ["received", "verifying", "verifying"]


def test_if_one_member_cannot_move_none_moves(client_for, bob, group_cases):
    client = client_for(bob)
    client.post(
        f"/api/cases/{group_cases[2].pk}/transition/",
        {"to_state": "withdrawn", "version": 1},
        format="json",
    )
    before = snapshot()

    response = _group_move(client, group_cases, "verifying")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "no member was moved" in response.json()["detail"]
    assert snapshot() == before


def test_a_stale_version_of_one_member_moves_none(client_for, bob, group_cases):
    client = client_for(bob)
    client.patch(f"/api/cases/{group_cases[1].pk}/", {"version": 1, "urgency": 4}, format="json")
    before = snapshot()

    response = _group_move(
        client, group_cases, "verifying", versions={str(c.pk): 1 for c in group_cases}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["current_version"] == 2
    assert snapshot() == before


def test_versions_must_name_exactly_the_chosen_cases(client_for, bob, group_cases):
    before = snapshot()

    response = _group_move(
        client_for(bob), group_cases, "verifying", versions={str(group_cases[0].pk): 1}
    )

    assert response.status_code == 400
    assert "versions" in response.json()["errors"]
    assert snapshot() == before


def test_current_versions_move_everyone(client_for, bob, group_cases):
    response = _group_move(
        client_for(bob), group_cases, "verifying", versions={str(c.pk): 1 for c in group_cases}
    )

    assert response.status_code == 200


def test_a_case_outside_the_group_is_refused(client_for, alice, bob, ctx, group_cases):
    outsider = make_request(ctx=ctx, actor=alice, owner=bob).cases.get()
    before = snapshot()

    response = _group_move(client_for(bob), [*group_cases, outsider], "verifying")

    assert response.status_code == 400
    assert "case_ids" in response.json()["errors"]
    assert snapshot() == before


def test_another_teams_group_is_404(client_for, carol, group_cases):
    before = snapshot()

    response = _group_move(client_for(carol), group_cases, "verifying")

    assert response.status_code == 404
    assert snapshot() == before


def test_an_unknown_state_for_a_group_is_400(client_for, bob, group_cases):
    before = snapshot()

    response = _group_move(client_for(bob), group_cases, "teleported")

    assert response.status_code == 400
    assert "to_state" in response.json()["errors"]
    assert snapshot() == before
