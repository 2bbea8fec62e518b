"""Consent and referrals over the API, including what a partner liaison sees."""

from __future__ import annotations

import pytest

from haven.cases.journey import State
from haven.cases.models import Case
from haven.referrals.models import Referral
from tests.api.conftest import snapshot
from tests.factories import PartnerFactory, make_case

pytestmark = pytest.mark.django_db

FIELDS = ["name_romanized", "current_country"]


@pytest.fixture
def case(ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob, country="TH")
    return case


def _accept(client, case):
    for version, state in enumerate(["verifying", "accepted"], start=1):
        response = client.post(
            f"/api/cases/{case.pk}/transition/",
            {"to_state": state, "version": version},
            format="json",
        )
        assert response.status_code == 200, response.json()


def _consent(client, case, partner, fields=FIELDS):
    return client.post(
        f"/api/cases/{case.pk}/consents/",
        {
            "partner": str(partner.pk),
            "purpose": "relief",
            "fields": fields,
            "method": "own_words",
            "words": "I want the ministry to know my name so they can help me.",
        },
        format="json",
    )


def _draft(client, case, partner, consent_id=None, fields=FIELDS):
    body = {
        "case": str(case.pk),
        "partner": str(partner.pk),
        "purpose": "relief",
        "disclosed_fields": fields,
        "cover_note": "Urgent: in Bangkok.",
    }
    if consent_id:
        body["consent"] = consent_id
    return client.post("/api/referrals/", body, format="json")


def _step(client, referral_id, action, version, **extra):
    return client.post(
        f"/api/referrals/{referral_id}/{action}/", {"version": version, **extra}, format="json"
    )


def test_full_referral_flow_from_consent_to_acceptance(
    client_for, alice, bob, frank, partner, case
):
    staff = client_for(bob)
    _accept(staff, case)
    consent = _consent(staff, case, partner)
    assert consent.status_code == 201, consent.json()
    assert consent.json()["valid"] and consent.json()["words"].startswith("I want")

    draft = _draft(staff, case, partner, consent.json()["id"])
    assert draft.status_code == 201, draft.json()
    rid = draft.json()["id"]
    assert draft.json()["status"] == "draft" and draft.json()["consent_problem"] is None
    assert client_for(frank).get(f"/api/referrals/{rid}/").status_code == 404  # not sent yet

    assert _step(client_for(alice), rid, "approve", 1).json()["status"] == "approved"
    sent = _step(staff, rid, "send", 2)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    assert Case.objects.get(pk=case.pk).state == State.REFERRED

    liaison = client_for(frank)
    assert [r["id"] for r in liaison.get("/api/referrals/").json()["results"]] == [rid]
    packet = liaison.get(f"/api/referrals/{rid}/packet/").json()
    assert set(packet["fields"]) == set(FIELDS)
    assert (
        packet["fields"]["current_country"] == "TH"
        and packet["cover_note"] == "Urgent: in Bangkok."
    )
    assert liaison.get(f"/api/referrals/{rid}/").json()["consent_problem"] is None

    assert _step(liaison, rid, "respond", 3, status="acknowledged").status_code == 200
    accepted = _step(liaison, rid, "respond", 4, status="accepted")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"


def test_a_referral_cannot_be_sent_without_consent(client_for, alice, bob, partner, case):
    rid = _draft(client_for(bob), case, partner).json()["id"]
    _step(client_for(alice), rid, "approve", 1)
    before = snapshot()

    response = _step(client_for(bob), rid, "send", 2)

    assert response.status_code == 400
    assert response.json()["errors"]["consent"] == ["There is no consent for this referral."]
    assert snapshot() == before


def test_a_revoked_consent_stops_sending(client_for, alice, bob, partner, case):
    staff = client_for(bob)
    consent = _consent(staff, case, partner).json()
    rid = _draft(staff, case, partner, consent["id"]).json()["id"]
    _step(client_for(alice), rid, "approve", 1)

    revoked = staff.post(f"/api/consents/{consent['id']}/revoke/", {"version": 1}, format="json")
    assert revoked.status_code == 200 and revoked.json()["valid"] is False
    assert (
        staff.get(f"/api/referrals/{rid}/").json()["consent_problem"] == "The consent was revoked."
    )

    response = _step(staff, rid, "send", 2)
    assert response.status_code == 400
    assert Referral.objects.get().status == "approved"


def test_consent_attached_later_must_cover_the_fields(client_for, alice, bob, partner, case):
    staff = client_for(bob)
    rid = _draft(staff, case, partner, fields=["name_romanized", "exact_place"]).json()["id"]
    consent = _consent(staff, case, partner).json()

    attached = staff.post(
        f"/api/referrals/{rid}/consent/", {"consent": consent["id"], "version": 1}, format="json"
    )

    assert attached.status_code == 200, attached.json()
    assert attached.json()["consent"] == consent["id"]
    assert "Exact place" in attached.json()["consent_problem"]


def test_only_supervisors_approve(client_for, bob, partner, case):
    rid = _draft(client_for(bob), case, partner).json()["id"]
    before = snapshot()

    assert _step(client_for(bob), rid, "approve", 1).status_code == 403
    assert snapshot() == before


def test_a_liaison_sees_only_referrals_sent_to_their_own_agency(
    client_for, alice, bob, frank, partner, case
):
    other = PartnerFactory(name="Other agency", country="TH")
    staff = client_for(bob)
    consent = _consent(staff, case, other).json()
    rid = _draft(staff, case, other, consent["id"]).json()["id"]
    _step(client_for(alice), rid, "approve", 1)
    _step(staff, rid, "send", 2)
    liaison = client_for(frank)
    before = snapshot()

    assert liaison.get("/api/referrals/").json()["count"] == 0
    assert liaison.get(f"/api/referrals/{rid}/").status_code == 404
    assert liaison.get(f"/api/referrals/{rid}/packet/").status_code == 404
    assert _step(liaison, rid, "respond", 3, status="acknowledged").status_code == 404
    assert snapshot() == before


def test_withdrawing_a_draft(client_for, bob, partner, case):
    rid = _draft(client_for(bob), case, partner).json()["id"]

    response = _step(client_for(bob), rid, "withdraw", 1)

    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert _step(client_for(bob), rid, "withdraw", 2).status_code == 400


def test_referrals_and_consents_of_another_teams_case_are_hidden(
    client_for, bob, carol, partner, case
):
    staff = client_for(bob)
    consent = _consent(staff, case, partner).json()
    rid = _draft(staff, case, partner).json()["id"]
    outsider = client_for(carol)
    before = snapshot()

    assert outsider.get(f"/api/referrals/{rid}/").status_code == 404
    assert outsider.get(f"/api/cases/{case.pk}/consents/").status_code == 404
    assert (
        outsider.post(
            f"/api/consents/{consent['id']}/revoke/", {"version": 1}, format="json"
        ).status_code
        == 404
    )
    drafted = _draft(outsider, case, partner)
    assert drafted.status_code == 400 and drafted.json()["errors"] == {"case": ["Unknown case."]}
    assert snapshot() == before


def test_consent_with_unknown_fields_or_method_is_400(client_for, bob, partner, case):
    before = snapshot()

    response = client_for(bob).post(
        f"/api/cases/{case.pk}/consents/",
        {
            "partner": str(partner.pk),
            "purpose": "relief",
            "fields": ["name_romanized", "bank_account"],
            "method": "telepathy",
            "words": "yes",
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"fields", "method"}
    assert snapshot() == before
