"""People reported together before and again together count for each other on the request page
and in the review queue (haven.matching.together at its fixed weights)."""

from __future__ import annotations

import pytest

from haven.cases.services import request_create
from haven.dedupe.models import DuplicateCandidate
from haven.dedupe.selectors import request_duplicates
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
        reasons = [{e["field"] for e in row.evidence} for row in rows]
        # Each of the three is queued beside their first record, with who they came with.
        assert any("reported together" in r for r in reasons), case.pk
