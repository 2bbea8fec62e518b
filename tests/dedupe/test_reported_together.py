"""People reported together before and again together count for each other on the request page
and in the review queue (haven.matching.together at its fixed weights)."""

from __future__ import annotations

import numpy as np
import pytest

from haven.cases.models import Case
from haven.cases.services import request_create
from haven.dedupe.models import DuplicateCandidate
from haven.dedupe.scoring import default_model, score_pairs
from haven.dedupe.selectors import request_duplicates
from haven.dedupe.services import duplicate_candidates_refresh
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.records import match_record
from tests.dedupe.helpers import person
from tests.factories import ctx_for

pytestmark = pytest.mark.django_db

# The youngest brother written again without his birth year or origin: the same name only.
YOUNGEST_AGAIN = {
    "name_romanized": "Jang Yong-ho",
    "birth_value": "",
    "birth_precision": "unknown",
    "origin_region": "",
}


def _family_then_again(ctx, alice):
    request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="Our family is hiding.",
        people=[
            person(name_hangul="장진성", birth_value="1971"),
            person(name_hangul="장미숙", sex="female", birth_value="1975"),
            person(name_hangul="장영호", birth_value="1980"),
        ],
    )
    for name in ("김선희", "박영철", "리명수"):
        request_create(
            ctx=ctx,
            actor=alice,
            channel="direct_line",
            account="Please help.",
            people=[person(name_hangul=name)],
        )
    again = request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="The Jang family again.",
        people=[
            person(name_romanized="Chang Chin-sŏng", birth_value="1971"),
            person(name_romanized="Chang Mi-suk", sex="female", birth_value="1975"),
            person(**YOUNGEST_AGAIN),
        ],
    )
    alone = request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="Only him.",
        people=[person(**YOUNGEST_AGAIN)],
    )
    return again, alone


def _with_the_youngest(views):
    (view,) = [v for v in views if v.other_name == "장영호"]
    return view


def test_a_brother_reported_again_with_his_family_is_shown_with_that_reason(alice, dave, ctx):
    again, alone = _family_then_again(ctx, alice)
    with_family = _with_the_youngest(
        request_duplicates(ctx=ctx_for(dave), user=dave, request=again)
    )
    on_his_own = _with_the_youngest(request_duplicates(ctx=ctx_for(dave), user=dave, request=alone))
    reason = {e["field"]: e for e in with_family.evidence}["reported together"]
    assert reason["label"] == "other people of the two requests match too"
    assert reason["weight"] > 0
    assert with_family.probability > on_his_own.probability
    # A request naming no one else says nothing about who he was reported with.
    assert "reported together" not in {e["field"] for e in on_his_own.evidence}


def test_the_review_queue_keeps_the_reported_together_reason(alice, ctx):
    again, _alone = _family_then_again(ctx, alice)
    for case in again.cases.all():
        rows = DuplicateCandidate.objects.filter(
            case_a_id=case.pk
        ) | DuplicateCandidate.objects.filter(case_b_id=case.pk)
        # Each of the three is queued beside their first record, with who they came with.
        assert any(_agrees(row.evidence) for row in rows), case.pk


def _agrees(evidence) -> bool:
    return any(
        e["field"] == "reported together"
        and e["label"] == "other people of the two requests match too"
        and e["weight"] > 0
        for e in evidence
    )


def _queued(person_id):
    case = Case.objects.get(person_id=person_id)
    return list(
        DuplicateCandidate.objects.filter(case_a_id=case.pk)
        | DuplicateCandidate.objects.filter(case_b_id=case.pk)
    )


def test_editing_one_of_the_family_keeps_the_support_of_the_others(alice, ctx):
    again, _alone = _family_then_again(ctx, alice)
    for case in again.cases.all():
        # As person_update refreshes the one person edited.
        duplicate_candidates_refresh(person_ids=[case.person_id])
        assert any(_agrees(row.evidence) for row in _queued(case.person_id)), case.pk


def test_two_people_alone_in_their_requests_refreshed_together_do_not_support_each_other(
    alice, ctx
):
    first = request_create(
        ctx=ctx, actor=alice, channel="direct_line", account="a", people=[person(**YOUNGEST_AGAIN)]
    )
    second = request_create(
        ctx=ctx, actor=alice, channel="direct_line", account="b", people=[person(**YOUNGEST_AGAIN)]
    )
    people = [first.cases.get().person_id, second.cases.get().person_id]
    assert duplicate_candidates_refresh(person_ids=people) == 1
    (row,) = _queued(people[0])
    assert "reported together" not in {e["field"] for e in row.evidence}


def test_a_scored_pair_s_explanation_adds_up_to_its_weight_with_the_support() -> None:
    family = [("장진성", 1971), ("장미숙", 1975), ("장영호", 1980)]
    again = [("Chang Chin-sŏng", 1971), ("Chang Mi-suk", 1975), ("Jang Yong-ho", None)]
    records = [
        match_record(id=f"{side}{k}", name=name, birth_year=year)
        for side, people in (("a", family), ("b", again))
        for k, (name, year) in enumerate(people)
    ]
    table = encode_records(records=records, hasher_for=clear_hasher)
    i = np.array([3, 4, 5, 3, 4, 5, 3, 4, 5], dtype=np.int64)
    j = np.array([0, 1, 2, 1, 2, 0, 2, 0, 1], dtype=np.int64)
    codes = np.array([0, 0, 0, 1, 1, 1], dtype=np.int64)
    scored = score_pairs(
        left=table, right=table, i=i, j=j, model=default_model(), requests=(codes, codes)
    )
    assert {(p.left_id, p.right_id) for p in scored} == {("b0", "a0"), ("b1", "a1"), ("b2", "a2")}
    for pair in scored:
        reason = {e.field: e for e in pair.explanation.evidence}["reported together"]
        assert reason.weight > 0
        assert pair.explanation.weight == pytest.approx(pair.weight, abs=0.01)
        assert pair.explanation.probability == pytest.approx(pair.probability, abs=1e-3)


def test_a_refresh_does_not_search_the_companions_of_a_very_long_list(alice, ctx, monkeypatch):
    from haven.dedupe import services

    family = request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="Three of us.",
        people=[
            person(name_hangul="장진성"),
            person(name_hangul="장미숙", sex="female"),
            person(name_hangul="장영호"),
        ],
    )
    searched: list[str] = []
    real = services.block_partners
    monkeypatch.setattr(
        services,
        "block_partners",
        lambda *, person_id, limit: (
            searched.append(person_id) or real(person_id=person_id, limit=limit)
        ),
    )
    one = family.cases.order_by("opened_at", "pk").first().person_id
    duplicate_candidates_refresh(person_ids=[one])
    assert len(searched) == 3  # the person and both companions
    searched.clear()
    monkeypatch.setattr(services, "MAX_MEMBERS", 2)  # the request is now a "long list"
    duplicate_candidates_refresh(person_ids=[one])
    assert [str(p) for p in searched] == [str(one)]
