from __future__ import annotations

import pytest

from haven.cases.journey import State
from haven.cases.models import Case, Group, Request, RequestStatus
from tests.api.conftest import person, request_body, snapshot
from tests.factories import make_broker, make_request

pytestmark = pytest.mark.django_db


def test_recording_a_broker_request_for_a_group_opens_a_case_per_person(client_for, dave, ctx):
    broker = make_broker(ctx=ctx, actor=dave)
    body = request_body(
        channel="broker",
        broker=str(broker.pk),
        group_label="Ningbo restaurant",
        people=[person(), person(name_hangul="리영호", name_romanized="Ri Yong-ho"), person()],
    )

    response = client_for(dave).post("/api/requests/", body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["people_count"] == 3 and data["broker"] == str(broker.pk)
    assert len(data["cases"]) == 3 and {c["state"] for c in data["cases"]} == {"received"}
    cases = Case.objects.filter(request_id=data["id"])
    assert cases.count() == 3
    assert Group.objects.filter(cases__in=cases).distinct().count() == 1


def test_request_detail_decrypts_the_account_and_lists_its_cases(client_for, dave):
    created = client_for(dave).post("/api/requests/", request_body(), format="json").json()

    response = client_for(dave).get(f"/api/requests/{created['id']}/")

    assert response.status_code == 200
    data = response.json()
    assert data["account"] == "I work at a restaurant in Ningbo and want to leave."
    assert data["contact"] == "signal: +00 0000"
    assert data["cases"][0]["name"] == "김선희"


def test_account_is_not_stored_in_plain_text(client_for, dave):
    client_for(dave).post(
        "/api/requests/", request_body(account="UNIQUE-MARKER-1234"), format="json"
    )

    stored = Request.objects.get()
    assert b"UNIQUE-MARKER-1234" not in bytes(stored.payload)


def test_request_list_filters_by_status(client_for, dave, ctx):
    kept = make_request(ctx=ctx, actor=dave)
    make_request(ctx=ctx, actor=dave)
    Request.objects.filter(pk=kept.pk).update(status=RequestStatus.TRIAGED)

    response = client_for(dave).get("/api/requests/", {"status": "triaged"})

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(kept.pk)]


def test_request_list_with_an_unknown_status_is_a_clear_400(client_for, dave):
    response = client_for(dave).get("/api/requests/", {"status": "lost"})

    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_declining_a_request_declines_its_cases(client_for, dave, ctx):
    request = make_request(ctx=ctx, actor=dave, people=2)

    response = client_for(dave).post(
        f"/api/requests/{request.pk}/triage/",
        {"status": "declined", "version": request.version},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "declined"
    assert set(request.cases.values_list("state", flat=True)) == {State.DECLINED}


def test_triage_marks_a_duplicate_of_an_earlier_request(client_for, dave, ctx):
    first = make_request(ctx=ctx, actor=dave)
    second = make_request(ctx=ctx, actor=dave)

    response = client_for(dave).post(
        f"/api/requests/{second.pk}/triage/",
        {"status": "duplicate", "duplicate_of": str(first.pk), "version": 1},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["duplicate_of"] == str(first.pk)


def test_caseworker_cannot_triage(client_for, bob, dave, ctx):
    request = make_request(ctx=ctx, actor=dave, owner=bob)
    before = snapshot()

    response = client_for(bob).post(
        f"/api/requests/{request.pk}/triage/", {"status": "triaged", "version": 1}, format="json"
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_caseworker_does_not_see_another_teams_request(client_for, carol, bob, dave, ctx):
    theirs = make_request(ctx=ctx, actor=dave, owner=carol)

    assert client_for(bob).get(f"/api/requests/{theirs.pk}/").status_code == 404
    assert client_for(bob).get("/api/requests/").json()["count"] == 0
    assert client_for(carol).get(f"/api/requests/{theirs.pk}/").status_code == 200


def test_a_broker_request_without_a_broker_is_refused(client_for, dave):
    before = snapshot()

    response = client_for(dave).post(
        "/api/requests/", request_body(channel="broker"), format="json"
    )

    assert response.status_code == 400
    assert "broker" in response.json()["errors"]
    assert snapshot() == before


def test_an_unknown_broker_is_refused(client_for, dave):
    before = snapshot()
    body = request_body(channel="broker", broker="00000000-0000-0000-0000-000000000000")

    response = client_for(dave).post("/api/requests/", body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"broker": ["Unknown broker."]}
    assert snapshot() == before


def test_a_suspended_brokers_request_is_refused(client_for, alice, ctx):
    broker = make_broker(ctx=ctx, actor=alice)
    client_for(alice).post(
        f"/api/brokers/{broker.pk}/status/", {"status": "suspended", "version": 1}, format="json"
    )
    before = snapshot()

    response = client_for(alice).post(
        "/api/requests/", request_body(channel="broker", broker=str(broker.pk)), format="json"
    )

    assert response.status_code == 400
    assert "suspended" in response.json()["errors"]["broker"][0]
    assert snapshot() == before


def test_administrator_cannot_record_or_list_requests(client_for, erin):
    assert client_for(erin).get("/api/requests/").status_code == 403
    before = snapshot()
    assert client_for(erin).post("/api/requests/", request_body(), format="json").status_code == 403
    assert snapshot() == before
