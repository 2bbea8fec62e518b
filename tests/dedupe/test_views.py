"""Possible duplicates on the request page, the review page, and through the API."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from haven.accounts.models import User
from haven.api.services import api_token_create
from haven.audit.models import AuditEntry
from haven.dedupe.models import DecisionKind, DuplicateDecision
from haven.dedupe.services import dedupe_run
from tests.dedupe.helpers import HANGUL, MR, record
from tests.factories import PASSWORD, ctx_for, login

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, password=PASSWORD)}")
    return client


@pytest.fixture
def pair(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    return first, second


def test_intake_sees_possible_duplicates_with_reasons_on_the_request_page(client, dave, pair):
    first, second = pair
    login(client, dave)
    page = client.get(reverse("web:request", args=[second.request_id])).content.decode()
    assert "Possible duplicates" in page
    assert "장진성" in page and "Chang Chin-sŏng" in page
    assert "name: the same name" in page and "birth: same year" in page
    assert reverse("web:case_duplicate_decide", args=[second.pk]) in page


def test_deciding_on_the_web_and_undoing_on_the_case_page(client, dave, pair):
    first, second = pair
    login(client, dave)
    back = reverse("web:request", args=[second.request_id])
    response = client.post(
        reverse("web:case_duplicate_decide", args=[second.pk]),
        {"other": str(first.pk), "kind": "merge", "survivor": "other", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    decision = DuplicateDecision.objects.get()
    assert decision.kind == DecisionKind.MERGE and decision.survivor_id == first.pk
    page = client.get(back).content.decode()
    assert "No possible duplicates" in page
    case_page = client.get(reverse("web:case", args=[second.pk])).content.decode()
    assert "merged into" in case_page
    response = client.post(
        reverse("web:case_duplicate_undo", args=[second.pk]), {"decision": str(decision.pk)}
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.undone_at is not None
    assert "장진성" in client.get(back).content.decode()


def test_an_offsite_next_is_not_followed(client, dave, pair):
    first, second = pair
    login(client, dave)
    response = client.post(
        reverse("web:case_duplicate_decide", args=[second.pk]),
        {"other": str(first.pk), "kind": "link", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("web:case", args=[second.pk])


def test_the_review_page(client, alice, bob, dave, ctx, pair):
    dedupe_run(ctx=ctx, actor=alice)
    login(client, dave)
    page = client.get(reverse("web:duplicates")).content.decode()
    assert "장진성" in page and "Chang Chin-sŏng" in page
    login(client, bob)
    assert client.get(reverse("web:duplicates")).status_code == 403


def test_the_api_lists_and_decides(dave, pair):
    first, second = pair
    client = api(dave)
    response = client.get(f"/api/requests/{second.request_id}/duplicates/")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["other"] == str(first.pk) and item["probability"] >= 0.9
    assert {"field": "name", "label": "the same name"}.items() <= item["evidence"][0].items()
    response = client.post(
        f"/api/cases/{second.pk}/duplicates/decide/",
        {"other": str(first.pk), "kind": "not_same"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "not_same"
    assert client.get(f"/api/requests/{second.request_id}/duplicates/").json()["results"] == []
    again = client.post(
        f"/api/cases/{second.pk}/duplicates/decide/",
        {"other": str(first.pk), "kind": "link"},
        format="json",
    )
    assert again.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"other": "not-a-uuid", "kind": "link"},
        {"other": "", "kind": "link"},
        {"kind": "merge"},
        {"kind": "merge", "survivor": "both"},
        {"other": "00000000-0000-4000-8000-000000000000", "kind": "link"},
        {"kind": "maybe"},
        {"kind": "link", "comment": "an unknown field, refused like everywhere in the API"},
    ],
)
def test_bad_api_input_is_a_400(dave, pair, body):
    first, second = pair
    body = {"other": str(first.pk), **body}
    response = api(dave).post(f"/api/cases/{second.pk}/duplicates/decide/", body, format="json")
    assert response.status_code == 400
    assert not DuplicateDecision.objects.exists()


def test_carol_never_learns_of_team_a_cases(alice, bob, carol, ctx):
    team_a = record(ctx=ctx, actor=alice, owner=bob, **HANGUL)
    carols = record(ctx=ctx_for(carol), actor=carol, owner=carol, **MR)
    client = api(carol)
    listed = client.get(f"/api/requests/{carols.request_id}/duplicates/")
    assert listed.status_code == 200 and listed.json()["results"] == []
    # Naming the team A case gets the answer a made-up id gets.
    named = client.post(
        f"/api/cases/{carols.pk}/duplicates/decide/",
        {"other": str(team_a.pk), "kind": "link"},
        format="json",
    )
    made_up = client.post(
        f"/api/cases/{carols.pk}/duplicates/decide/",
        {"other": "00000000-0000-4000-8000-000000000000", "kind": "link"},
        format="json",
    )
    assert (named.status_code, named.json()) == (made_up.status_code, made_up.json())
    assert not DuplicateDecision.objects.exists()
    # Nor can she reach the team A request's list.
    assert client.get(f"/api/requests/{team_a.request_id}/duplicates/").status_code == 404


def test_a_supervisor_runs_the_pass_from_the_page_and_the_queue_fills(client, alice, ctx):
    """Issue 18, item 16: the Duplicates page fills without the command line."""
    from django.urls import reverse

    from haven.cases.services import PersonInput, request_create
    from tests.factories import login as log_in

    for _ in range(2):
        request_create(
            ctx=ctx,
            actor=alice,
            channel="direct_line",
            account="Help.",
            people=[PersonInput(name_hangul="김선희", birth_value="1990-03-04", sex="female")],
        )
    log_in(client, alice)

    response = client.post(reverse("web:duplicates_run"), follow=True)

    assert response.status_code == 200
    assert "proposed 1 pairs" in response.content.decode()
    assert len(response.context["duplicates"]) == 1


def test_intake_cannot_run_the_pass(client, dave):
    from django.urls import reverse

    from tests.factories import login as log_in

    log_in(client, dave)
    assert client.post(reverse("web:duplicates_run")).status_code == 403


def test_the_request_page_lists_possible_duplicates_once_and_offers_them_to_triage(
    client, dave, pair
):
    first, second = pair
    login(client, dave)
    before = AuditEntry.objects.filter(action="duplicate.list").count()
    page = client.get(reverse("web:request", args=[second.request_id])).content.decode()
    # The page and its triage form share one pass: one entry, not one each.
    assert AuditEntry.objects.filter(action="duplicate.list").count() == before + 1
    select = re.search(r'<select name="duplicate_of".*?</select>', page, re.S)
    assert select is not None
    options = re.findall(r'<option value="([0-9a-f-]{36})"', select.group(0))
    assert options and options[0] == str(first.request_id)


def test_the_request_page_shows_the_pairs_stored_when_people_were_saved_without_scoring_again(
    client, dave, pair, monkeypatch
):
    """Scoring ran when the second person was saved; a look at the page only reads it (the
    blocks of a common name hold hundreds at 100,000 people)."""
    first, second = pair
    from haven.dedupe import scoring

    def no_scoring(**kwargs):
        raise AssertionError("a page load compared pairs again")

    monkeypatch.setattr(scoring, "compare_pairs", no_scoring)
    login(client, dave)
    page = client.get(reverse("web:request", args=[second.request_id])).content.decode()
    assert "Possible duplicates" in page
    assert "장진성" in page and "Chang Chin-sŏng" in page


def test_a_pair_nobody_proposed_is_not_shown_and_an_undone_decision_proposes_it_again(
    client, dave, alice, ctx, pair
):
    first, second = pair
    from haven.dedupe.models import DuplicateCandidate
    from haven.dedupe.services import duplicate_decide, duplicate_undo

    decision = duplicate_decide(
        ctx=ctx, actor=alice, case=first, other=second, kind=DecisionKind.NOT_SAME
    )
    assert not DuplicateCandidate.objects.exists()
    login(client, dave)
    listed = reverse("web:case", args=[first.pk])
    page = client.get(reverse("web:request", args=[second.request_id])).content.decode()
    assert "No possible duplicates among the cases you can open." in page

    duplicate_undo(ctx=ctx, actor=alice, decision=decision)
    assert DuplicateCandidate.objects.filter(case_a__in=pair, case_b__in=pair).count() == 1
    page = client.get(reverse("web:request", args=[second.request_id])).content.decode()
    assert "No possible duplicates" not in page and f'<a href="{listed}"' in page


def test_a_stored_pair_whose_weights_the_name_guard_held_back_says_so_and_one_it_did_not_does_not(
    client, dave, pair
):
    from haven.dedupe.models import DuplicateCandidate
    from haven.matching.explain import GUARD_NOTE

    first, second = pair
    login(client, dave)
    url = reverse("web:request", args=[second.request_id])
    assert GUARD_NOTE not in client.get(url).content.decode()

    row = DuplicateCandidate.objects.get()
    row.evidence = [
        {"field": "name", "label": "alike", "weight": 2.0},
        {
            "field": "birth",
            "label": "the same date (held back: names not alike enough)",
            "weight": 0,
        },
    ]
    row.save(update_fields=["evidence"])

    assert GUARD_NOTE in client.get(url).content.decode()
    assert GUARD_NOTE in client.get(reverse("web:duplicates")).content.decode()
