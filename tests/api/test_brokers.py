from __future__ import annotations

import pytest

from haven.brokers.models import Broker
from tests.api.conftest import request_body, snapshot

pytestmark = pytest.mark.django_db


def _create(client, **extra):
    body = {"alias": "Mr Jang", "region": "Yanbian", "fee_notes": "5,000 USD per person", **extra}
    return client.post("/api/brokers/", body, format="json")


def test_registering_a_broker_and_reading_their_details(client_for, bob):
    created = _create(client_for(bob), warnings="Asked twice for money up front.")

    assert created.status_code == 201, created.json()
    data = client_for(bob).get(f"/api/brokers/{created.json()['id']}/").json()
    assert data["alias"] == "Mr Jang" and data["warnings"] == "Asked twice for money up front."
    assert data["record"] == {
        "requests": 0,
        "people": 0,
        "declined": 0,
        "duplicates": 0,
        "arrived": 0,
        "bad_outcomes": 0,
        "in_progress": 0,
    }
    assert b"Mr Jang" not in bytes(Broker.objects.get().payload)


def test_broker_record_is_derived_from_their_requests(client_for, dave):
    client = client_for(dave)
    broker_id = _create(client).json()["id"]
    body = request_body(
        channel="broker", broker=broker_id, people=[request_body()["people"][0]] * 2
    )
    request = client.post("/api/requests/", body, format="json").json()
    client.post(
        f"/api/requests/{request['id']}/triage/",
        {"status": "declined", "version": 1},
        format="json",
    )

    record = client.get(f"/api/brokers/{broker_id}/").json()["record"]

    assert record["requests"] == 1 and record["people"] == 2 and record["declined"] == 1


def test_broker_list_decrypts_alias_for_the_page(client_for, bob):
    client = client_for(bob)
    _create(client)
    _create(client, alias="Auntie Kim")

    results = client.get("/api/brokers/").json()["results"]

    assert [r["alias"] for r in results] == ["Mr Jang", "Auntie Kim"]


def test_replacing_a_broker_needs_the_current_version(client_for, bob):
    client = client_for(bob)
    broker_id = _create(client).json()["id"]

    ok = client.put(f"/api/brokers/{broker_id}/", {"alias": "Jang", "version": 1}, format="json")
    before = snapshot()
    stale = client.put(
        f"/api/brokers/{broker_id}/", {"alias": "Other", "version": 1}, format="json"
    )

    assert ok.status_code == 200 and ok.json()["alias"] == "Jang" and ok.json()["region"] == ""
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert snapshot() == before


def test_only_supervisors_suspend_brokers(client_for, alice, bob):
    broker_id = _create(client_for(bob)).json()["id"]
    before = snapshot()

    refused = client_for(bob).post(
        f"/api/brokers/{broker_id}/status/", {"status": "suspended", "version": 1}, format="json"
    )
    assert refused.status_code == 403
    assert snapshot() == before

    done = client_for(alice).post(
        f"/api/brokers/{broker_id}/status/", {"status": "suspended", "version": 1}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "suspended"


def test_an_unknown_broker_is_404(client_for, bob):
    missing = "00000000-0000-0000-0000-000000000000"

    assert client_for(bob).get(f"/api/brokers/{missing}/").status_code == 404
    assert (
        client_for(bob)
        .put(f"/api/brokers/{missing}/", {"alias": "x", "version": 1}, format="json")
        .status_code
        == 404
    )


def test_roles_without_brokers_get_403(client_for, erin, frank):
    for user in (erin, frank):
        assert client_for(user).get("/api/brokers/").status_code == 403
        assert _create(client_for(user)).status_code == 403
    assert Broker.objects.count() == 0
