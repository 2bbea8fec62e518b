"""Duplicate detection in the product: encodings on save, proposals with reasons, decisions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from haven.cases.models import JourneyEvent, Note
from haven.cases.services import note_add, person_update
from haven.crypto import KeyContext
from haven.dedupe.models import (
    BlockToken,
    DecisionKind,
    DuplicateCandidate,
    DuplicateDecision,
    PersonEncoding,
)
from haven.dedupe.scoring import BLOOM_BYTES, TOKEN_BYTES
from haven.dedupe.selectors import case_decisions, duplicates_for_cases, review_queue
from haven.dedupe.services import dedupe_run, duplicate_decide, duplicate_undo
from haven.portal.services import Submission, portal_request_create
from tests.dedupe.helpers import HANGUL, MR, person, record
from tests.factories import ctx_for

pytestmark = pytest.mark.django_db


def _pairs(views):
    return {frozenset((v.case.pk, v.other.pk)) for v in views}


def test_encodings_are_stored_when_a_person_is_saved(alice, ctx):
    case = record(ctx=ctx, actor=alice, **HANGUL)
    encoding = PersonEncoding.objects.get(person=case.person)
    assert encoding.generation is not None and encoding.pending_since is None
    assert len(bytes(encoding.blooms)) == BLOOM_BYTES
    assert len(bytes(encoding.tokens)) == TOKEN_BYTES
    assert BlockToken.objects.filter(person=case.person).exists()


def test_hangul_and_mccune_reischauer_spellings_are_proposed_with_reasons(alice, dave, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    record(ctx=ctx, actor=alice, name_hangul="김선희", sex="female", birth_value="1990")
    views = duplicates_for_cases(ctx=ctx_for(dave), user=dave, cases=[second])
    assert _pairs(views) == {frozenset((first.pk, second.pk))}
    (view,) = views
    assert view.probability >= 0.9
    reasons = {e["field"]: e["label"] for e in view.evidence}
    assert reasons["name"] == "the same name"
    assert reasons["birth"] == "same year"
    assert view.case_name == "Chang Chin-sŏng" and view.other_name == "장진성"


def test_a_full_date_of_birth_on_both_sides_is_scored_with_its_reason(alice, dave, ctx):
    day = {"birth_value": "1971-03-14", "birth_precision": "day"}
    first = record(ctx=ctx, actor=alice, **HANGUL, **day)
    second = record(ctx=ctx, actor=alice, **MR, **day)
    views = duplicates_for_cases(ctx=ctx_for(dave), user=dave, cases=[second])
    assert _pairs(views) == {frozenset((first.pk, second.pk))}
    reasons = {e["field"]: e["label"] for e in views[0].evidence}
    assert "year" not in reasons["birth"] and reasons["birth"]


def test_people_with_different_names_are_not_proposed(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    record(ctx=ctx, actor=alice, name_hangul="김선희")
    assert duplicates_for_cases(ctx=ctx, user=alice, cases=[first]) == []


def test_not_the_same_person_is_remembered(alice, bob, ctx):
    first = record(ctx=ctx, actor=alice, owner=bob, **HANGUL)
    second = record(ctx=ctx, actor=alice, owner=bob, **MR)
    bob_ctx = ctx_for(bob)
    decision = duplicate_decide(
        ctx=bob_ctx, actor=bob, case=second, other=first, kind=DecisionKind.NOT_SAME
    )
    assert decision.survivor is None
    assert duplicates_for_cases(ctx=bob_ctx, user=bob, cases=[first, second]) == []
    # Not proposed again by a full pass, nor after the person is edited.
    dedupe_run(ctx=ctx, actor=alice)
    assert not DuplicateCandidate.objects.exists()
    second.person.refresh_from_db()
    person_update(
        ctx=bob_ctx,
        actor=bob,
        case=second,
        expected_version=second.person.version,
        person=person(name_romanized="Jang Jin-seong"),
    )
    assert duplicates_for_cases(ctx=bob_ctx, user=bob, cases=[second]) == []
    assert [d.label for d in case_decisions(user=bob, case=first)] == ["not the same person as"]


def test_merge_keeps_both_histories_and_undo_restores_both(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    note_add(ctx=ctx, actor=alice, case=first, text="First file.")
    note_add(ctx=ctx, actor=alice, case=second, text="Second file.")
    before = {
        c.pk: (
            list(JourneyEvent.objects.filter(case=c).values_list("pk", flat=True)),
            list(Note.objects.filter(case=c).values_list("pk", flat=True)),
        )
        for c in (first, second)
    }
    decision = duplicate_decide(
        ctx=ctx, actor=alice, case=second, other=first, kind=DecisionKind.MERGE, survivor=first
    )
    assert decision.survivor_id == first.pk
    assert [d.label for d in case_decisions(user=alice, case=second)] == ["merged into"]
    assert [d.label for d in case_decisions(user=alice, case=first)] == ["merged from"]
    after = {
        c.pk: (
            list(JourneyEvent.objects.filter(case=c).values_list("pk", flat=True)),
            list(Note.objects.filter(case=c).values_list("pk", flat=True)),
        )
        for c in (first, second)
    }
    assert after == before  # nothing moved, nothing deleted
    assert duplicates_for_cases(ctx=ctx, user=alice, cases=[second]) == []

    duplicate_undo(ctx=ctx, actor=alice, decision=decision)
    decision.refresh_from_db()
    assert decision.undone_at is not None and decision.undone_by == alice
    assert case_decisions(user=alice, case=first) == []
    assert case_decisions(user=alice, case=second) == []
    # Both are separate files again: the pair may be proposed again.
    views = duplicates_for_cases(ctx=ctx, user=alice, cases=[second])
    assert _pairs(views) == {frozenset((first.pk, second.pk))}
    with pytest.raises(ValidationError):
        duplicate_undo(ctx=ctx, actor=alice, decision=decision)


def test_link(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    duplicate_decide(ctx=ctx, actor=alice, case=first, other=second, kind=DecisionKind.LINK)
    assert [d.label for d in case_decisions(user=alice, case=first)] == [
        "linked with (same person)"
    ]
    with pytest.raises(ValidationError):  # decided already: undo first
        duplicate_decide(ctx=ctx, actor=alice, case=first, other=second, kind=DecisionKind.NOT_SAME)


def test_decisions_are_audited(alice, ctx):
    from haven.audit.models import AuditEntry

    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    decision = duplicate_decide(
        ctx=ctx, actor=alice, case=first, other=second, kind=DecisionKind.LINK
    )
    duplicate_undo(ctx=ctx, actor=alice, decision=decision)
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["duplicate.link", "duplicate.undo"]


@pytest.mark.parametrize(
    ("kind", "survivor", "field"),
    [
        ("bogus", None, "kind"),
        (DecisionKind.MERGE, None, "survivor"),
        (DecisionKind.MERGE, "third", "survivor"),
    ],
)
def test_bad_decisions_are_refused(alice, ctx, kind, survivor, field):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    third = record(ctx=ctx, actor=alice, name_hangul="김선희")
    with pytest.raises(ValidationError) as exc:
        duplicate_decide(
            ctx=ctx,
            actor=alice,
            case=first,
            other=second,
            kind=kind,
            survivor=third if survivor else None,
        )
    assert field in exc.value.message_dict
    assert not DuplicateDecision.objects.exists()


def test_a_case_is_not_its_own_duplicate(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    with pytest.raises(ValidationError):
        duplicate_decide(ctx=ctx, actor=alice, case=first, other=first, kind=DecisionKind.LINK)


def test_carol_never_sees_a_pair_involving_a_case_only_team_a_holds(alice, bob, carol, dave, ctx):
    team_a_case = record(ctx=ctx, actor=alice, owner=bob, **HANGUL)
    carol_ctx = ctx_for(carol)
    carols = record(ctx=carol_ctx, actor=carol, owner=carol, **MR)
    # Carol (team B) and Bob (team A) each see only their own side: no pair, no hint.
    assert duplicates_for_cases(ctx=carol_ctx, user=carol, cases=[carols]) == []
    assert duplicates_for_cases(ctx=ctx_for(bob), user=bob, cases=[team_a_case]) == []
    # Intake holds both and sees the pair.
    views = duplicates_for_cases(ctx=ctx_for(dave), user=dave, cases=[carols])
    assert _pairs(views) == {frozenset((team_a_case.pk, carols.pk))}
    # Carol cannot decide about (or learn of) the team A case either.
    with pytest.raises(ValidationError):
        duplicate_decide(
            ctx=carol_ctx, actor=carol, case=carols, other=team_a_case, kind=DecisionKind.LINK
        )
    # The review queue: carol may not read it; intake sees the pair once a pass ran.
    dedupe_run(ctx=ctx, actor=alice)
    with pytest.raises(PermissionDenied):
        review_queue(ctx=carol_ctx, user=carol)
    assert _pairs(review_queue(ctx=ctx_for(dave), user=dave)) == {
        frozenset((team_a_case.pk, carols.pk))
    }
    # A decision about the pair stays out of carol's view of her own case.
    duplicate_decide(
        ctx=ctx, actor=alice, case=carols, other=team_a_case, kind=DecisionKind.NOT_SAME
    )
    assert case_decisions(user=carol, case=carols) == []


def test_roles_without_cases_see_no_duplicates(alice, erin, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    with pytest.raises(PermissionDenied):
        duplicates_for_cases(ctx=KeyContext(actor_id=erin.pk), user=erin, cases=[first])


def test_portal_requests_wait_and_are_encoded_when_someone_with_the_index_key_looks(
    alice, dave, ctx
):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    request, _receipt = portal_request_create(
        submission=Submission(
            names=["Chang Chin-sŏng"],
            country="CN",
            region="",
            urgency=2,
            account="Please help me.",
            contact="",
        ),
        form_token="dedupe-test",
    )
    portal_case = request.cases.get()
    waiting = PersonEncoding.objects.get(person=portal_case.person)
    assert waiting.generation is None and waiting.pending_since is not None
    assert not BlockToken.objects.filter(person=portal_case.person).exists()
    # Dave opens the request: its person is encoded and the pair proposed (name only: the
    # portal asks for no birth date).
    views = duplicates_for_cases(ctx=ctx_for(dave), user=dave, cases=[portal_case])
    assert PersonEncoding.objects.get(person=portal_case.person).generation is not None
    assert _pairs(views) == {frozenset((first.pk, portal_case.pk))}


def test_dedupe_run_encodes_pending_people_and_fills_the_queue(alice, ctx):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    record(ctx=ctx, actor=alice, name_hangul="김선희", sex="female", birth_value="1990")
    PersonEncoding.objects.filter(person=second.person).delete()  # written before dedupe
    calls = []
    run = dedupe_run(ctx=ctx, actor=alice, progress=lambda d, t: calls.append((d, t)))
    assert run.encoded == 1 and run.people == 3 and run.proposed == 1 and not run.trained
    assert calls and calls[-1][0] == calls[-1][1]
    (candidate,) = DuplicateCandidate.objects.all()
    assert {candidate.case_a_id, candidate.case_b_id} == {first.pk, second.pk}
    assert {e["field"] for e in candidate.evidence} >= {"name", "birth"}
    # A second pass replaces the queue rather than adding to it.
    assert dedupe_run(ctx=ctx, actor=alice).proposed == 1
    assert DuplicateCandidate.objects.count() == 1


def test_a_full_pass_refreshes_the_planners_statistics_of_what_it_rewrote(alice, ctx, monkeypatch):
    from haven.dedupe import services

    record(ctx=ctx, actor=alice, **HANGUL)
    analyzed: list[type] = []
    monkeypatch.setattr(services, "statistics_refresh", lambda *, models: analyzed.extend(models))

    dedupe_run(ctx=ctx, actor=alice)

    assert {PersonEncoding, DuplicateCandidate} <= set(analyzed)


def test_only_supervisors_run_a_full_pass(bob, dave):
    for user in (bob, dave):
        with pytest.raises(PermissionDenied):
            dedupe_run(ctx=ctx_for(user), actor=user)


def test_bad_threshold_is_refused(alice, ctx):
    for threshold in (0.0, 1.0, -1.0, 2.0):
        with pytest.raises(ValidationError):
            dedupe_run(ctx=ctx, actor=alice, threshold=threshold)


def test_after_an_index_key_rotation_encodings_are_made_again(alice, ctx):
    from haven.vault.index_rotation import index_key_rotate
    from tests.factories import PASSWORD

    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    old = PersonEncoding.objects.get(person=first.person).generation
    index_key_rotate(supervisor=alice, password=PASSWORD)
    fresh = ctx_for(alice)
    # Encodings under the old key are never compared with new ones: re-made when looked at.
    views = duplicates_for_cases(ctx=fresh, user=alice, cases=[second])
    assert _pairs(views) == {frozenset((first.pk, second.pk))}
    assert set(PersonEncoding.objects.values_list("generation", flat=True)) == {old + 1}


def test_the_full_pass_tells_the_matcher_who_was_reported_together(alice, ctx, monkeypatch):
    from haven.cases.services import request_create
    from haven.dedupe import services
    from tests.dedupe.helpers import person

    family = request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="Please help us.",
        people=[person(**HANGUL), person(name_hangul="장진희", sex="female")],
    )
    alone = record(ctx=ctx, actor=alice, **MR)
    seen: dict[str, object] = {}
    real = services.find_duplicates

    def spy(**kwargs):
        seen["ids"], seen["requests"] = kwargs["table"].ids, kwargs["requests"]
        return real(**kwargs)

    monkeypatch.setattr(services, "MIN_TRAIN", 2)
    monkeypatch.setattr(services, "find_duplicates", spy)
    dedupe_run(ctx=ctx, actor=alice)
    code = dict(zip(seen["ids"], seen["requests"].tolist(), strict=True))
    siblings = [str(c.person_id) for c in family.cases.all()]
    assert code[siblings[0]] == code[siblings[1]] >= 0
    assert code[str(alone.person_id)] not in (code[siblings[0]], -1)


def test_request_codes_give_people_of_one_request_one_code_and_unknown_people_none(alice, ctx):
    from haven.dedupe.selectors import request_codes

    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    codes = request_codes(
        person_ids=[str(second.person_id), "no-such-person", str(first.person_id)]
    ).tolist()
    assert codes[1] == -1
    assert codes[0] != codes[2] and min(codes[0], codes[2]) >= 0


def test_the_names_of_many_possible_duplicates_are_unlocked_in_one_query(alice, dave, ctx):
    spellings = ["Chang Chin-sŏng", "Jang Jin-seong", "Chang Chin Song", "Jang Jinseong"]
    others = [record(ctx=ctx, actor=alice, **HANGUL)]
    others += [record(ctx=ctx, actor=alice, name_romanized=s) for s in spellings[1:]]
    shown = record(ctx=ctx, actor=alice, name_romanized=spellings[0])
    with CaptureQueriesContext(connection) as queries:
        views = duplicates_for_cases(ctx=ctx_for(dave), user=dave, cases=[shown])
    assert {v.other.pk for v in views} == {o.pk for o in others}
    assert all(v.case_name == spellings[0] and v.other_name for v in views)
    unlocks = [q for q in queries.captured_queries if '"vault_grant"."sealed"' in q["sql"]]
    # One for every name listed, not one per name.
    assert len(unlocks) == 1, [q["sql"][:120] for q in unlocks]
