from __future__ import annotations

import pytest

from haven.referrals.models import Partner
from tests.api.conftest import snapshot

pytestmark = pytest.mark.django_db


def test_supervisor_registers_and_lists_partners(client_for, alice, partner):
    created = client_for(alice).post(
        "/api/partners/", {"name": "National Intelligence Service", "country": "KR"}, format="json"
    )

    assert created.status_code == 201 and created.json()["version"] == 1
    names = [p["name"] for p in client_for(alice).get("/api/partners/").json()["results"]]
    assert names == ["Ministry of Unification", "National Intelligence Service"]


def test_caseworker_cannot_register_a_partner(client_for, bob):
    response = client_for(bob).post("/api/partners/", {"name": "X", "country": "KR"}, format="json")

    assert response.status_code == 403
    assert Partner.objects.count() == 0


def test_a_duplicate_partner_name_is_400(client_for, alice, partner):
    before = snapshot()

    response = client_for(alice).post(
        "/api/partners/", {"name": "ministry of unification", "country": "KR"}, format="json"
    )

    assert response.status_code == 400 and "name" in response.json()["errors"]
    assert snapshot() == before


def test_updating_a_partner_with_a_stale_version_is_409(client_for, alice, erin, partner):
    url = f"/api/partners/{partner.pk}/"
    body = {"name": "MOU", "country": "KR", "active": True}

    first = client_for(alice).put(url, {**body, "version": 1}, format="json")
    before = snapshot()
    second = client_for(erin).put(url, {**body, "name": "Other", "version": 1}, format="json")

    assert first.status_code == 200 and first.json()["version"] == 2
    assert second.status_code == 409
    assert second.json() == {
        "code": "conflict",
        "detail": second.json()["detail"],
        "current_version": 2,
    }
    assert snapshot() == before
    assert Partner.objects.get().name == "MOU"


def test_an_unknown_country_code_is_400(client_for, alice, partner):
    before = snapshot()

    response = client_for(alice).put(
        f"/api/partners/{partner.pk}/",
        {"name": "MOU", "country": "XX", "active": True, "version": 1},
        format="json",
    )

    assert response.status_code == 400 and "country" in response.json()["errors"]
    assert snapshot() == before
