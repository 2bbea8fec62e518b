"""The press endpoints: statements through their steps, 409 ``blocked`` (the matches for a
supervisor, only a count for the press office), 409 ``withheld``, cover values and openings, and
bad input answered 400 with nothing stored."""

from __future__ import annotations

import uuid

import pytest

from haven.disclosure.models import Cover, Statement
from tests.api.conftest import snapshot
from tests.disclosure.helpers import STATEMENT_EN, TO_THAILAND, advance, arrive, make_group

pytestmark = pytest.mark.django_db

COVER = {
    "label": "Spring group",
    "fields": {
        "count": {"mode": "true", "reason": "They agreed."},
        "origin": {"mode": "cover", "values": {"en": "Shanghai", "ko": "상하이"}},
        "occupation": {"mode": "true", "reason": "Common work."},
        "now": {"mode": "true", "reason": "They landed."},
        "arrived": {"mode": "month", "reason": "The month is enough."},
    },
}


@pytest.fixture
def arrived(ctx, alice):
    group = make_group(ctx, alice)
    advance(ctx, alice, group, TO_THAILAND)
    arrive(ctx, alice, group)
    return group


@pytest.fixture
def api(client_for, alice, heidi):
    return {"alice": client_for(alice), "heidi": client_for(heidi)}


def _cover(api, group) -> str:
    made = api["alice"].post(f"/api/groups/{group.pk}/cover/", COVER, format="json")
    assert made.status_code == 201, made.json()
    return made.json()["id"]


def _statement(api, cover_id, text=STATEMENT_EN) -> dict:
    made = api["heidi"].post(
        "/api/statements/",
        {"title": "Three arrive", "texts": {"en": text}, "subjects": {"A": cover_id}},
        format="json",
    )
    assert made.status_code == 201, made.json()
    return made.json()


def test_a_statement_goes_from_draft_to_release_through_the_api(api, arrived) -> None:
    cover_id = _cover(api, arrived)
    made = _statement(api, cover_id)
    assert made["preview"]["en"].startswith("3 North Korean restaurant workers from Shanghai")
    step = api["heidi"].post(f"/api/statements/{made['id']}/submit/", {"version": 1}, format="json")
    assert step.status_code == 200 and step.json()["status"] == "submitted"
    step = api["alice"].post(
        f"/api/statements/{made['id']}/approve/", {"version": 2}, format="json"
    )
    assert step.status_code == 200, step.json()
    step = api["heidi"].post(
        f"/api/statements/{made['id']}/release/", {"version": 3}, format="json"
    )
    assert step.status_code == 200 and step.json()["released"]["title"] == "Three arrive"
    text = api["heidi"].get(f"/api/statements/{made['id']}/text/")
    assert text.status_code == 200 and "Shanghai" in text.json()["texts"]["en"]


def test_blocked_answers_show_matches_to_the_supervisor_and_only_a_count_to_the_press(
    api, arrived
) -> None:
    cover_id = _cover(api, arrived)
    made = _statement(api, cover_id, STATEMENT_EN + " Lee Young-ho said so.")
    api["heidi"].post(f"/api/statements/{made['id']}/submit/", {"version": 1}, format="json")
    blocked = api["alice"].post(
        f"/api/statements/{made['id']}/approve/", {"version": 2}, format="json"
    )
    assert blocked.status_code == 409
    body = blocked.json()
    assert body["code"] == "blocked" and body["reason"] == "leak" and body["hit_count"] == 1
    assert [(h["field"], h["phrase"]) for h in body["hits"]] == [("name", "Lee Young-ho")]
    # The press officer never learns which words: edit it while approved... it is still submitted.
    detail = api["heidi"].get(f"/api/statements/{made['id']}/").json()
    assert detail["status"] == "submitted"


def test_the_press_office_gets_a_count_not_the_words(api, ctx, alice, heidi, arrived) -> None:
    from haven.disclosure.services import statement_approve

    cover_id = _cover(api, arrived)
    made = _statement(api, cover_id)
    api["heidi"].post(f"/api/statements/{made['id']}/submit/", {"version": 1}, format="json")
    statement = Statement.objects.get(pk=made["id"])
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=2)
    # The group's origin is then changed by a supervisor: the approved text no longer holds.
    cover = Cover.objects.get(pk=cover_id)
    changed = {
        **COVER,
        "fields": {**COVER["fields"], "origin": {"mode": "cover", "values": {"en": "Dalian"}}},
    }
    api["alice"].put(
        f"/api/groups/{arrived.pk}/cover/", {**changed, "version": cover.version}, format="json"
    )
    blocked = api["heidi"].post(
        f"/api/statements/{made['id']}/release/", {"version": 3}, format="json"
    )
    assert blocked.status_code == 409 and blocked.json()["reason"] == "changed"
    assert blocked.json()["hits"] == []


def test_a_statement_about_people_not_yet_safe_is_withheld(api, ctx, alice) -> None:
    group = make_group(ctx, alice)
    advance(ctx, alice, group, TO_THAILAND)
    made = api["alice"].post(
        f"/api/groups/{group.pk}/cover/",
        {"label": "Waiting", "fields": {"origin": {"mode": "cover", "values": {"en": "Qingdao"}}}},
        format="json",
    )
    cover_id = made.json()["id"]
    listed = api["heidi"].get("/api/covers/").json()["results"]
    assert [(c["label"], c["open"], c["fields"]) for c in listed] == [("Waiting", False, {})]
    statement = _statement(api, cover_id, "From [[A.origin]].")
    assert statement["preview"]["en"] == "From […]." and "Qingdao" not in str(statement)
    api["heidi"].post(f"/api/statements/{statement['id']}/submit/", {"version": 1}, format="json")
    blocked = api["alice"].post(
        f"/api/statements/{statement['id']}/approve/", {"version": 2}, format="json"
    )
    assert blocked.status_code == 409 and blocked.json()["closed"] == ["A"]
    text = api["heidi"].get(f"/api/statements/{statement['id']}/text/")
    assert text.status_code == 409 and text.json()["code"] == "withheld"


@pytest.mark.parametrize(
    "body",
    [
        {"title": "T", "texts": {"en": "[[B.origin]]"}, "subjects": {"A": "COVER"}},
        {"title": "T", "texts": {"en": "[[A.weight]]"}, "subjects": {"A": "COVER"}},
        {"title": "T", "texts": {"en": "<iframe src=//x>"}, "subjects": {"A": "COVER"}},
        {"title": "T", "texts": {"en": "x" * 40_001}, "subjects": {"A": "COVER"}},
        {"title": "T", "texts": {"en": "ok"}, "subjects": {"A": "CASE"}},
        {"title": "T", "texts": {"en": "ok"}, "subjects": {"A": str(uuid.uuid4())}},
        {"title": "T", "texts": {"en": "ok"}, "subjects": {"A": "COVER"}, "author": 1},
        {"title": "T", "texts": {"fr": "ok"}, "subjects": {"A": "COVER"}},
    ],
)
def test_bad_statements_get_a_clear_400_and_store_nothing(api, arrived, body) -> None:
    cover_id = _cover(api, arrived)
    case = arrived.cases.first()
    subjects = {
        k: cover_id if v == "COVER" else str(case.pk) if v == "CASE" else v
        for k, v in body["subjects"].items()
    }
    before = snapshot()
    answer = api["heidi"].post("/api/statements/", {**body, "subjects": subjects}, format="json")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["errors"]
    assert snapshot() == before


def test_cover_values_are_for_supervisors_holding_the_case(api, client_for, bob, arrived) -> None:
    case = arrived.cases.first()
    # The press office may not; a caseworker who does not hold the case does not even see it.
    assert (
        api["heidi"].post(f"/api/cases/{case.pk}/cover/", COVER, format="json").status_code == 403
    )
    assert (
        client_for(bob).post(f"/api/cases/{case.pk}/cover/", COVER, format="json").status_code
        == 404
    )
    made = api["alice"].post(
        f"/api/cases/{case.pk}/cover/",
        {"label": "One", "fields": {"origin": {"mode": "cover", "values": {"en": "Dalian"}}}},
        format="json",
    )
    assert made.status_code == 201
    again = api["alice"].post(
        f"/api/cases/{case.pk}/cover/", {"label": "One", "fields": {}}, format="json"
    )
    assert again.status_code == 409
    assert api["alice"].get(f"/api/cases/{case.pk}/cover/").json()["label"] == "One"


def test_openings_through_the_api(api, ctx, alice) -> None:
    from haven.cases.journey import State
    from haven.cases.services import journey_advance

    group = make_group(ctx, alice)
    advance(ctx, alice, group, TO_THAILAND[:5])
    case = group.cases.order_by("pk").first()
    assert (
        api["alice"]
        .post(f"/api/cases/{case.pk}/opening/", {"reason": "x"}, format="json")
        .status_code
        == 400
    )
    journey_advance(
        ctx=ctx, actor=alice, case=case, to_state=State.DETAINED, expected_version=case.version
    )
    opened = api["alice"].post(
        f"/api/cases/{case.pk}/opening/", {"reason": "Public appeal."}, format="json"
    )
    assert opened.status_code == 200 and opened.json()["state"] == "detained"
    assert (
        api["heidi"]
        .post(f"/api/cases/{case.pk}/opening/", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
    assert api["alice"].delete(f"/api/cases/{case.pk}/opening/").status_code == 204
    assert api["alice"].delete(f"/api/cases/{case.pk}/opening/").status_code == 400
