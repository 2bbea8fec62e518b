"""New people scored against the stored ones when saved, without a full pass; reviewers'
decisions as training answers."""

from __future__ import annotations

import pytest

from haven.cases.services import person_update
from haven.dedupe.models import BlockToken, DecisionKind, DuplicateCandidate, PersonEncoding
from haven.dedupe.scoring import unpack_block
from haven.dedupe.selectors import review_queue
from haven.dedupe.services import (
    decided_pairs,
    duplicate_candidates_refresh,
    duplicate_decide,
)
from tests.dedupe.helpers import HANGUL, MR, person, record
from tests.factories import ctx_for

pytestmark = pytest.mark.django_db


def _queued() -> set[frozenset]:
    return {frozenset((c.case_a_id, c.case_b_id)) for c in DuplicateCandidate.objects.all()}


def test_a_new_person_s_possible_duplicate_is_queued_when_saved(alice, dave, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    record(ctx=ctx, actor=alice, name_hangul="김선희", birth_value="1988")
    assert _queued() == set()
    second = record(ctx=ctx, actor=alice, **MR)  # no `haven dedupe` in between
    assert _queued() == {frozenset((first.pk, second.pk))}
    (row,) = DuplicateCandidate.objects.all()
    assert row.probability >= 0.5
    assert {e["field"] for e in row.evidence} >= {"name", "birth"}
    # Shown on the Duplicates page to whoever may open both cases.
    views = review_queue(ctx=ctx_for(dave), user=dave)
    assert {frozenset((v.case.pk, v.other.pk)) for v in views} == _queued()


def test_editing_a_person_replaces_their_proposals(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    assert _queued() == {frozenset((first.pk, second.pk))}
    second.refresh_from_db()
    person_update(
        ctx=ctx,
        actor=alice,
        case=second,
        expected_version=second.person.version,
        person=person(name_romanized="Pak Yong-ho", birth_value="1950"),
    )
    assert _queued() == set()


def test_a_decided_pair_is_not_queued_again(alice, bob, ctx):
    first = record(ctx=ctx, actor=alice, owner=bob, **HANGUL)
    second = record(ctx=ctx, actor=alice, owner=bob, **MR)
    duplicate_decide(
        ctx=ctx_for(bob), actor=bob, case=second, other=first, kind=DecisionKind.NOT_SAME
    )
    assert duplicate_candidates_refresh(person_ids=[second.person_id, first.person_id]) == 0
    assert _queued() == set()


def test_blocking_tokens_are_stored_packed_beside_the_encodings(alice, ctx):
    case = record(ctx=ctx, actor=alice, **HANGUL)
    stored = PersonEncoding.objects.get(person=case.person)
    packed = sorted(unpack_block(bytes(stored.block)).view("i8").tolist())
    rows = sorted(BlockToken.objects.filter(person=case.person).values_list("token", flat=True))
    assert packed == rows and rows


def test_reviewers_decisions_become_training_answers(alice, bob, ctx):
    first = record(ctx=ctx, actor=alice, owner=bob, **HANGUL)
    second = record(ctx=ctx, actor=alice, owner=bob, **MR)
    third = record(ctx=ctx, actor=alice, owner=bob, name_hangul="장진석")
    bob_ctx = ctx_for(bob)
    duplicate_decide(ctx=bob_ctx, actor=bob, case=second, other=first, kind=DecisionKind.LINK)
    duplicate_decide(ctx=bob_ctx, actor=bob, case=third, other=first, kind=DecisionKind.NOT_SAME)
    case_of = {str(c.person_id): str(c.pk) for c in (first, second, third)}
    answers = {frozenset((a, b)): same for a, b, same in decided_pairs(case_of=case_of)}
    assert answers == {
        frozenset((str(first.person_id), str(second.person_id))): True,
        frozenset((str(first.person_id), str(third.person_id))): False,
    }
