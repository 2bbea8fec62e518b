"""Optimistic concurrency: two changes from the same version — one wins, the other gets 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from haven.api.services import api_token_create
from haven.brokers.models import Broker
from haven.cases.models import Case, Person, Request
from haven.referrals.models import Referral
from tests.api.conftest import snapshot
from tests.factories import PASSWORD, make_broker, make_case, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(ctx, alice, bob, partner):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    broker = make_broker(ctx=ctx, actor=alice)
    request = make_request(ctx=ctx, actor=alice)
    from haven.referrals.services import referral_create

    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["name_romanized"],
    )
    return {"case": case, "broker": broker, "request": request, "referral": referral}


# (method, url, first body, second body, how to read back what is stored)
CASES = {
    "case patch": (
        "patch",
        "/api/cases/{case}/",
        {"version": 1, "summary": "first"},
        {"version": 1, "summary": "second"},
        lambda w, c: c.get(f"/api/cases/{w['case'].pk}/").json()["summary"],
    ),
    "case transition": (
        "post",
        "/api/cases/{case}/transition/",
        {"version": 1, "to_state": "verifying"},
        {"version": 1, "to_state": "declined"},
        lambda w, c: Case.objects.get(pk=w["case"].pk).state,
    ),
    "person put": (
        "put",
        "/api/cases/{case}/person/",
        {"version": 1, "name_romanized": "first"},
        {"version": 1, "name_romanized": "second"},
        lambda w, c: c.get(f"/api/cases/{w['case'].pk}/").json()["person"]["name_romanized"],
    ),
    "broker put": (
        "put",
        "/api/brokers/{broker}/",
        {"version": 1, "alias": "first"},
        {"version": 1, "alias": "second"},
        lambda w, c: c.get(f"/api/brokers/{w['broker'].pk}/").json()["alias"],
    ),
    "request triage": (
        "post",
        "/api/requests/{request}/triage/",
        {"version": 1, "status": "triaged"},
        {"version": 1, "status": "declined"},
        lambda w, c: Request.objects.get(pk=w["request"].pk).status,
    ),
    "referral approve then withdraw": (
        "post",
        "/api/referrals/{referral}/approve/",
        {"version": 1},
        {"version": 1},
        lambda w, c: Referral.objects.get(pk=w["referral"].pk).status,
    ),
}
FIRST_RESULT = {
    "case patch": "first",
    "case transition": "verifying",
    "person put": "first",
    "broker put": "first",
    "request triage": "triaged",
    "referral approve then withdraw": "approved",
}


@pytest.mark.parametrize("name", list(CASES))
def test_second_change_from_the_same_version_is_409_and_the_first_stays(
    client_for, alice, world, name
):
    method, url, first, second, read = CASES[name]
    url = url.format(**{k: v.pk for k, v in world.items()})
    a, b = client_for(alice), client_for(alice)
    # Two different steps from the same version: approve wins, withdraw is stale.
    url2 = url.replace("/approve/", "/withdraw/")

    one = getattr(a, method)(url, first, format="json")
    before = snapshot()
    two = getattr(b, method)(url2, second, format="json")

    assert one.status_code == 200, one.json()
    assert two.status_code == 409, two.json()
    assert two.json()["code"] == "conflict" and two.json()["current_version"] == 2
    assert snapshot() == before
    assert read(world, a) == FIRST_RESULT[name]


def test_revoking_a_consent_twice_is_refused_and_changes_nothing(client_for, bob, partner, world):
    client = client_for(bob)
    consent = client.post(
        f"/api/cases/{world['case'].pk}/consents/",
        {
            "partner": str(partner.pk),
            "purpose": "relief",
            "fields": ["name_romanized"],
            "method": "verbal",
            "words": "Yes.",
        },
        format="json",
    ).json()
    url = f"/api/consents/{consent['id']}/revoke/"

    assert client.post(url, {"version": 1}, format="json").status_code == 200
    before = snapshot()
    again = client.post(url, {"version": 1}, format="json")

    assert again.status_code == 400
    assert again.json()["errors"] == {"consent": ["This consent is already revoked."]}
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_truly_concurrent_updates_never_both_win(alice, bob, ctx):
    # Threads need a database they can share: the test settings use a file, never ":memory:".
    assert not str(connection.settings_dict["NAME"]).startswith(":memory")
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    results: list[int] = []
    barrier = threading.Barrier(2)
    tokens = [api_token_create(user=alice, password=PASSWORD) for _ in range(2)]

    def edit(summary: str) -> None:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.pop()}")
        barrier.wait()
        response = client.patch(
            f"/api/cases/{case.pk}/", {"version": 1, "summary": summary}, format="json"
        )
        results.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=edit, args=(s,)) for s in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(results) == [200, 409]
    assert Case.objects.get(pk=case.pk).version == 2
    assert Person.objects.count() == 1 and Broker.objects.count() == 0
