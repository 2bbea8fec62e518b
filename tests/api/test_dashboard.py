from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_dashboard_counts_states_and_lists_urgent_and_overdue(client_for, alice, bob, ctx):
    urgent = make_case(ctx=ctx, actor=alice, owner=bob, urgency=4)
    late = make_case(ctx=ctx, actor=alice, owner=bob)
    client = client_for(alice)
    past = (timezone.now() - dt.timedelta(hours=3)).isoformat()
    client.patch(f"/api/cases/{late.pk}/", {"version": 1, "next_contact_due": past}, format="json")

    response = client.get("/api/dashboard/")

    assert response.status_code == 200
    data = response.json()
    assert data["by_state"]["received"] == 2 and data["active"] == 2
    assert [c["id"] for c in data["urgent"]] == [str(urgent.pk)]
    assert [c["id"] for c in data["overdue"]] == [str(late.pk)] and data["overdue_count"] == 1
    assert data["urgent"][0]["name"]
    assert data["new_requests"] == 2
    assert sum(row["count"] for row in data["requests_by_year"]) == 2


def test_dashboard_moves_when_a_case_arrives(client_for, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    client = client_for(alice)
    path = ["verifying", "accepted", "referred", "left_workplace", "in_third_country", "arrived"]
    for version, state in enumerate(path, start=1):
        assert (
            client.post(
                f"/api/cases/{case.pk}/transition/",
                {"to_state": state, "version": version},
                format="json",
            ).status_code
            == 200
        )

    data = client.get("/api/dashboard/").json()

    assert data["by_state"]["arrived"] == 1 and data["by_state"]["received"] == 0


def test_caseworker_dashboard_counts_only_their_cases(client_for, alice, bob, carol, ctx):
    make_case(ctx=ctx, actor=alice, owner=bob)
    make_case(ctx=ctx, actor=alice, owner=carol)

    assert client_for(bob).get("/api/dashboard/").json()["active"] == 1
