"""The access endpoints: list holders, grant, revoke (with rotation), delete with the keys."""

from __future__ import annotations

import pytest

from haven.cases.models import Case
from haven.vault.models import DataKey, Grant
from tests.api.conftest import snapshot
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_holders_are_listed_for_those_who_hold_the_case(client_for, ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    holders = client_for(bob).get(f"/api/cases/{case.pk}/access/").json()

    assert {h["username"] for h in holders if h["kind"] == "person"} == {"alice", "bob"}
    assert {h["team_key_kind"] for h in holders if h["kind"] == "team_key"} == {
        "intake",
        "supervisors",
        "team",
    }
    assert client_for(carol).get(f"/api/cases/{case.pk}/access/").status_code == 404


def test_grant_then_revoke_with_rotation(client_for, ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    old_key = case.data_key_id

    granted = client_for(bob).post(
        f"/api/cases/{case.pk}/access/grant/", {"user": carol.pk}, format="json"
    )
    assert granted.status_code == 200 and granted.json()["keys_sealed"] == 2
    assert client_for(carol).get(f"/api/cases/{case.pk}/").status_code == 200

    revoked = client_for(alice).post(
        f"/api/cases/{case.pk}/access/revoke/", {"user": carol.pk, "rotate": True}, format="json"
    )
    assert revoked.status_code == 200
    assert "carol" not in {h["username"] for h in revoked.json()}
    assert Case.objects.get(pk=case.pk).data_key_id != old_key
    assert client_for(carol).get(f"/api/cases/{case.pk}/").status_code == 404
    assert client_for(bob).get(f"/api/cases/{case.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("grant", {}, 400),
        ("grant", {"user": "carol"}, 400),
        ("grant", {"user": 999999}, 400),
        ("grant", {"user": 1, "extra": True}, 400),
        ("revoke", {"user": 1, "team_key": "00000000-0000-0000-0000-000000000000"}, 400),
        ("revoke", {"team_key": "00000000-0000-0000-0000-000000000000"}, 400),
        ("revoke", {"rotate": True}, 400),
        ("delete", {"version": 1}, 400),
        ("delete", {"version": 1, "confirm": "yes"}, 400),
        ("delete", {"version": 99, "confirm": "DELETE"}, 409),
    ],
)
def test_bad_access_calls_are_refused_and_change_nothing(
    client_for, ctx, alice, bob, path, body, status
):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    before = (snapshot(), sorted(Grant.objects.values_list("pk", "stale")))

    response = client_for(alice).post(
        f"/api/cases/{case.pk}/{'' if path == 'delete' else 'access/'}{path}/", body, format="json"
    )

    assert response.status_code == status, response.json()
    assert (snapshot(), sorted(Grant.objects.values_list("pk", "stale"))) == before


def test_granting_to_an_administrator_is_refused(client_for, ctx, alice, bob, erin):
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    response = client_for(bob).post(
        f"/api/cases/{case.pk}/access/grant/", {"user": erin.pk}, format="json"
    )

    assert response.status_code == 400
    assert not Grant.objects.filter(user=erin).exists()


def test_a_caseworker_cannot_revoke_or_delete(client_for, ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    client = client_for(bob)

    assert (
        client.post(
            f"/api/cases/{case.pk}/access/revoke/", {"user": alice.pk}, format="json"
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/cases/{case.pk}/delete/", {"version": 1, "confirm": "DELETE"}, format="json"
        ).status_code
        == 403
    )
    assert Case.objects.filter(pk=case.pk).exists()


def test_a_supervisor_deletes_a_case_and_its_keys(client_for, ctx, alice):
    case = make_case(ctx=ctx, actor=alice)

    response = client_for(alice).post(
        f"/api/cases/{case.pk}/delete/",
        {"version": case.version, "confirm": "DELETE"},
        format="json",
    )

    assert response.status_code == 204
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not DataKey.objects.filter(pk=case.data_key_id).exists()


@pytest.mark.parametrize("name", ["erin", "grace", "heidi", "frank"])
def test_roles_without_cases_get_403_on_access_endpoints(client_for, ctx, alice, request, name):
    case = make_case(ctx=ctx, actor=alice)
    client = client_for(request.getfixturevalue(name))

    assert client.get(f"/api/cases/{case.pk}/access/").status_code == 403
    assert (
        client.post(f"/api/cases/{case.pk}/access/grant/", {"user": 1}, format="json").status_code
        == 403
    )
