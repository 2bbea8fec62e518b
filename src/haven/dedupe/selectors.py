"""Reads: possible duplicates of a request's people, the review queue, a case's decisions.

Only cases the user may open are ever shown or even looked up: candidates are filtered by the
user's grants *before* anything is compared, so a pair involving a case they cannot open does
not exist for them (no count, no score, no hint).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Exists, OuterRef, Q

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.cases.models import Case, Request
from haven.cases.selectors import case_queryset
from haven.crypto import KeyContext
from haven.dedupe.models import (
    BlockToken,
    DecisionKind,
    DuplicateCandidate,
    DuplicateDecision,
    PersonEncoding,
    TrainedModel,
)
from haven.dedupe.scoring import (
    VERSION,
    default_model,
    evidence_guard,
    model_from_parameters,
    primary_name,
)
from haven.dedupe.store import encodings_refresh, waiting_person_ids
from haven.matching.blocking import MAX_BLOCK
from haven.matching.model import MatchModel
from haven.vault.index import index_key_active
from haven.vault.sealed import data_keys_unlock, payload_read

# Other people waiting for encodings that one request page encodes, besides its own: each costs
# a few ms of the page's time (50 made request pages half a second slower while the portal took a
# surge); a backlog after a surge is for `haven dedupe`, which encodes everyone waiting.
PENDING_BATCH = 10
# A request page encodes the people waiting before its answer when there are at most this many
# (a duplicate sent moments earlier is compared at once), and a batch after it
# (haven.web.after). A larger backlog (after a surge) is left whole for after the answer:
# encoding three of thousands made every request page ~80 ms slower under a working day's load
# and still left it incomplete, which the page says.
INLINE_CATCH_UP = 3
# Waiting people looked at per page, of whom those the person may open are encoded (others
# wait for someone who may, or for `haven dedupe`).
WAITING_LOOKED_AT = 500


@dataclass
class DuplicateView:
    """One proposed pair as a page shows it: ``case`` is the one being looked at."""

    case: Case
    other: Case
    case_name: str
    other_name: str
    probability: float
    evidence: list[dict[str, Any]] = field(default_factory=list)
    guard: str | None = None

    @property
    def strength(self) -> str:
        if self.probability >= 0.99:
            return "very likely"
        if self.probability >= 0.9:
            return "likely"
        return "possible"


def _require(user: User, action: str) -> None:
    if not access.allowed(user, action):
        raise PermissionDenied("Your role cannot see possible duplicates.")


def _decided_pairs(case_ids: list[Any]) -> set[tuple[str, str]]:
    live = DuplicateDecision.objects.filter(undone_at__isnull=True).filter(
        Q(case_a_id__in=case_ids) | Q(case_b_id__in=case_ids)
    )
    return {(str(a), str(b)) for a, b in live.values_list("case_a_id", "case_b_id")}


def encoding_rows(person_ids: list[Any], generation: int) -> list[tuple[str, bytes, bytes, bytes]]:
    """Stored encodings (person id, filters, tokens, packed blocking tokens) of these people,
    made under ``generation`` with the current encoding version."""
    return [
        (str(p), bytes(b), bytes(t), bytes(k))
        for p, b, t, k in PersonEncoding.objects.filter(
            person_id__in=person_ids, generation=generation, encoding_version=VERSION
        ).values_list("person_id", "blooms", "tokens", "block")
    ]


def block_partners(*, person_id: Any, limit: int) -> list[str]:
    """Up to ``limit`` people who share a blocking token with ``person_id``: the candidates
    the engine's blocker would pair with them. Blocks shared by more than ``MAX_BLOCK`` people
    say little (everyone born in 1990) and are skipped, as the blocker skips them.

    Each block is read up to one row past ``MAX_BLOCK`` through the token's index: counting
    every member of the large blocks (a birth year holds thousands at 100,000 people) to learn
    that they are large cost recording a request more than the scoring."""
    partners: dict[str, None] = {}
    tokens = BlockToken.objects.filter(person_id=person_id).values_list("token", flat=True)
    for token in sorted(tokens):
        members = list(
            BlockToken.objects.filter(token=token)
            .order_by()
            .values_list("person_id", flat=True)[: MAX_BLOCK + 1]
        )
        if len(members) > MAX_BLOCK:
            continue
        partners.update(dict.fromkeys(str(m) for m in members if str(m) != str(person_id)))
        if len(partners) >= limit:
            break
    return list(partners)[:limit]


def _refresh(
    *,
    ctx: KeyContext,
    user: User,
    cases: list[Case],
    catch_up: int = PENDING_BATCH,
    only_if_complete: bool = False,
) -> int:
    """Encode the shown cases' people, and up to ``catch_up`` other people the user holds whose
    encodings are missing, pending or stale (as a search indexes pending records); with
    ``only_if_complete``, those others only if that is all of them (among the first
    :data:`WAITING_LOOKED_AT` waiting). Returns how many of those others it set out to encode."""
    index_key = index_key_active()
    if index_key is None or not ctx.holds_index_key():
        return 0
    # The waiting people first, then which of them this person may open: as one query, the
    # planner walked every case in order looking for the few (or none) that wait (0.2 s a page
    # at 100,000 cases on PostgreSQL).
    waiting_people = (
        waiting_person_ids(generation=index_key.generation, limit=WAITING_LOOKED_AT)
        if catch_up > 0
        else []
    )
    waiting = (
        list(
            case_queryset(user=user)
            .filter(person_id__in=waiting_people)
            .exclude(pk__in=[c.pk for c in cases])
            .select_related("person", "request")
            .order_by("opened_at")[: catch_up + 1 if only_if_complete else catch_up]
        )
        if waiting_people
        else []
    )
    if len(waiting) > catch_up:
        waiting = []
    if not cases and not waiting:
        return 0
    from haven.dedupe.services import duplicate_candidates_refresh

    # Another request encoding the same people at the same moment fails on their rows: theirs
    # stand. People encoded only now were never looked for among the others: they are, in the
    # transaction that stores them (which opens only once they are encoded).
    with contextlib.suppress(IntegrityError):
        encodings_refresh(
            ctx=ctx,
            cases=[*cases, *waiting],
            then=lambda encoded: duplicate_candidates_refresh(person_ids=encoded),
        )
    return len(waiting)


def encodings_waiting_count(*, ctx: KeyContext, user: User) -> int:
    """How many people ``user`` may see are waiting for their encodings (not compared with
    anyone yet), counted among the first :data:`WAITING_LOOKED_AT` waiting."""
    index_key = index_key_active()
    if index_key is None or not ctx.holds_index_key():
        return 0
    waiting_people = waiting_person_ids(generation=index_key.generation, limit=WAITING_LOOKED_AT)
    if not waiting_people:
        return 0
    return case_queryset(user=user).filter(person_id__in=waiting_people).count()


def encodings_catch_up(*, ctx: KeyContext, user: User, limit: int = PENDING_BATCH) -> int:
    """Encode up to ``limit`` people ``user`` holds who are waiting for their encodings (the
    portal's, whose process holds no index key), and look for their possible duplicates. A
    request page leaves this for after its answer (haven.web.after). Returns how many were
    waiting (a few may have been encoded by someone else meanwhile)."""
    if not access.allowed(user, "duplicate.read"):
        return 0
    return _refresh(ctx=ctx, user=user, cases=[], catch_up=limit)


def trained_model(*, threshold: float, people: int) -> MatchModel | None:
    """The newest stored model trained on encodings made the way they are made now, its prior
    moved to a population of ``people``; None if there is none or it no longer fits."""
    stored = TrainedModel.objects.filter(encoding_version=VERSION).order_by("-trained_at").first()
    if stored is None:
        return None
    try:
        return model_from_parameters(
            parameters=stored.parameters,
            people_trained=stored.people,
            people_now=people,
            threshold=threshold,
        )
    except ValueError:
        return None  # another engine's levels or a damaged row: the fixed model is safer


def scoring_model(*, threshold: float, people: int | None = None) -> MatchModel:
    """The model that scores pairs in the product: the organisation's stored, EM-trained one
    (``haven dedupe --train``) when there is one, else the engine's fixed parameters.
    ``people`` is the population compared against (default: everyone with encodings)."""
    if people is None:
        people = PersonEncoding.objects.filter(generation__isnull=False).count()
    return trained_model(threshold=threshold, people=people) or default_model(threshold=threshold)


def duplicates_for_cases(
    *,
    ctx: KeyContext,
    user: User,
    cases: list[Case],
    catch_up: int = PENDING_BATCH,
    only_if_complete: bool = False,
) -> list[DuplicateView]:
    """Possible duplicates of these cases' people among every case ``user`` may open, with the
    engine's reasons; pairs decided about are left out. ``catch_up``: how many other people
    waiting for their encodings are encoded first, with ``only_if_complete`` only if that is
    all of them (a page passes :data:`INLINE_CATCH_UP` so, and calls
    :func:`encodings_catch_up` after its answer).

    The pairs are those stored in the review queue, which is kept as people are saved: the
    scoring of a person against everyone who shares a block with them ran when they were
    encoded (:func:`~haven.dedupe.services.duplicate_candidates_refresh`), and again for them
    whenever someone who may be them was saved since, or by the last `haven dedupe`. A page
    load reads those pairs instead of scoring again: at 100,000 people the blocks of a common
    name hold hundreds, and scoring them on every look took the request page half a second."""
    _require(user, "duplicate.read")
    cases = [c for c in cases if access.can_view_case(user, c)]
    if not cases or index_key_active() is None:
        return []
    _refresh(ctx=ctx, user=user, cases=cases, catch_up=catch_up, only_if_complete=only_if_complete)
    visible = case_queryset(user=user)
    ids = [c.pk for c in cases]
    place = {str(c.pk): k for k, c in enumerate(cases)}
    rows = list(
        DuplicateCandidate.objects.filter(Q(case_a_id__in=ids) | Q(case_b_id__in=ids))
        .filter(
            Exists(visible.filter(pk=OuterRef("case_a_id"))),
            Exists(visible.filter(pk=OuterRef("case_b_id"))),
        )
        .select_related("case_a__person", "case_a__request", "case_b__person", "case_b__request")
        .order_by("-probability", "pk")
    )
    decided = _decided_pairs(ids)
    shown: list[tuple[DuplicateCandidate, Case, Case]] = []
    for row in rows:
        if (str(row.case_a_id), str(row.case_b_id)) in decided:
            continue
        # Seen from the case of these first in their order (both may be: two people of one
        # request who may be one person).
        a, b = place.get(str(row.case_a_id)), place.get(str(row.case_b_id))
        if a is not None and (b is None or a <= b):
            shown.append((row, row.case_a, row.case_b))
        else:
            shown.append((row, row.case_b, row.case_a))
    # Each case's pairs together, in the order of the cases, best first within.
    shown.sort(key=lambda item: place[str(item[1].pk)])
    # Every name shown is decrypted: their keys in one query, not one query per name (a common
    # name has dozens of possible duplicates).
    data_keys_unlock(
        ctx=ctx,
        key_ids={c.person.data_key_id for _, case, other in shown for c in (case, other)},
    )
    names: dict[str, str] = {}

    def name_of(case: Case) -> str:
        key = str(case.pk)
        if key not in names:
            names[key] = primary_name(payload_read(ctx=ctx, record=case.person)) or "—"
        return names[key]

    views = [
        DuplicateView(
            case=case,
            other=other,
            case_name=name_of(case),
            other_name=name_of(other),
            probability=row.probability,
            evidence=list(row.evidence),
            guard=evidence_guard(row.evidence),
        )
        for row, case, other in shown
    ]
    if views:
        audit_record(
            actor=user,
            action="duplicate.list",
            detail={"cases": sorted({str(v.other.pk) for v in views} | {str(c.pk) for c in cases})},
        )
    return views


def request_duplicates(
    *,
    ctx: KeyContext,
    user: User,
    request: Request,
    catch_up: int = PENDING_BATCH,
    only_if_complete: bool = False,
) -> list[DuplicateView]:
    """Possible duplicates of the people of one request (the request page, intake's triage;
    ``catch_up`` and ``only_if_complete`` as for :func:`duplicates_for_cases`)."""
    _require(user, "duplicate.read")
    cases = list(
        case_queryset(user=user)
        .filter(request=request)
        .select_related("person", "person__data_key", "request")
        .order_by("opened_at", "pk")
    )
    return duplicates_for_cases(
        ctx=ctx,
        user=user,
        cases=cases,
        catch_up=catch_up,
        only_if_complete=only_if_complete,
    )


def review_queue(*, ctx: KeyContext, user: User, limit: int = 100) -> list[DuplicateView]:
    """The pairs the last `haven dedupe` proposed, both of whose cases ``user`` may open, and
    nobody has decided about since; most likely first."""
    _require(user, "duplicate.review")
    visible = case_queryset(user=user)
    rows = list(
        DuplicateCandidate.objects.filter(
            Exists(visible.filter(pk=OuterRef("case_a_id"))),
            Exists(visible.filter(pk=OuterRef("case_b_id"))),
        )
        .select_related("case_a__person", "case_b__person")
        .order_by("-probability", "pk")[:limit]
    )
    decided = _decided_pairs([r.case_a_id for r in rows])
    views = []
    for r in rows:
        if (str(r.case_a_id), str(r.case_b_id)) in decided:
            continue
        views.append(
            DuplicateView(
                case=r.case_a,
                other=r.case_b,
                case_name=primary_name(payload_read(ctx=ctx, record=r.case_a.person)) or "—",
                other_name=primary_name(payload_read(ctx=ctx, record=r.case_b.person)) or "—",
                probability=r.probability,
                evidence=list(r.evidence),
                guard=evidence_guard(r.evidence),
            )
        )
    if views:
        audit_record(
            actor=user,
            action="duplicate.review",
            detail={
                "cases": sorted({str(v.case.pk) for v in views} | {str(v.other.pk) for v in views})
            },
        )
    return views


@dataclass
class DecisionView:
    decision: DuplicateDecision
    other: Case
    label: str


def case_decisions(*, user: User, case: Case) -> list[DecisionView]:
    """Live decisions about ``case`` whose other case ``user`` may open (for its page)."""
    if not access.allowed(user, "duplicate.read") or not access.can_view_case(user, case):
        return []
    decisions = list(
        DuplicateDecision.objects.filter(undone_at__isnull=True)
        .filter(Q(case_a=case) | Q(case_b=case))
        .select_related("case_a", "case_b")
    )
    # The few other cases, checked one by one: not "every case the user sees" as a subquery,
    # which at 100,000 cases costs most of a second.
    others = {d.case_b_id if d.case_a_id == case.pk else d.case_a_id for d in decisions}
    visible = set(case_queryset(user=user).filter(pk__in=others).values_list("pk", flat=True))
    out = []
    for d in decisions:
        other = d.case_b if d.case_a_id == case.pk else d.case_a
        if other.pk not in visible:
            continue
        if d.kind == DecisionKind.MERGE:
            label = "merged into" if d.survivor_id == other.pk else "merged from"
        elif d.kind == DecisionKind.LINK:
            label = "linked with (same person)"
        else:
            label = "not the same person as"
        out.append(DecisionView(decision=d, other=other, label=label))
    return out


def decision_get(*, user: User, decision_id: Any) -> DuplicateDecision | None:
    """A live or undone decision both of whose cases ``user`` may open, else None."""
    try:
        d = DuplicateDecision.objects.select_related("case_a", "case_b").get(pk=decision_id)
    except (DuplicateDecision.DoesNotExist, ValueError, TypeError):
        return None
    except Exception:  # noqa: BLE001 - a malformed id is an unknown one
        return None
    if not (access.can_view_case(user, d.case_a) and access.can_view_case(user, d.case_b)):
        return None
    return d


def linkage_records(*, ctx: KeyContext, user: User) -> list[Any]:
    """Every person ``user`` can open, as match records for a private linkage with a partner
    (``haven link encode``), by case id. Cases merged into another are left out (their survivor
    stands for them); broker ids mean nothing to a partner and are left out too. The read is
    audited (counts only)."""
    from haven.dedupe.scoring import record_from_payload

    if user.role != "supervisor" or not user.is_active:
        raise PermissionDenied("Only an active supervisor encodes records for a linkage.")
    merged = DuplicateDecision.objects.filter(
        kind=DecisionKind.MERGE, undone_at__isnull=True
    ).values_list("case_a_id", "case_b_id", "survivor_id")
    gone = {a if s == b else b for a, b, s in merged}
    cases = (
        case_queryset(user=user)
        .exclude(pk__in=gone)
        .select_related("person", "person__data_key")
        .order_by("opened_at", "pk")
    )
    records = [
        record_from_payload(record_id=str(c.pk), data=payload_read(ctx=ctx, record=c.person))
        for c in cases.iterator(chunk_size=500)
    ]
    audit_record(actor=user, action="linkage.encode", detail={"people": len(records)})
    return records


def request_codes(*, person_ids: list[str]) -> npt.NDArray[np.int64]:
    """Each person's case's request as an integer code, in the given order (-1 for a person
    whose case came with no request): who was reported together, for the full pass (see
    :mod:`haven.matching.together`). Only the links are read, nothing sealed."""
    request_of = {
        str(person): request
        for person, request in Case.objects.values_list("person_id", "request_id")
    }
    codes: dict[Any, int] = {}
    return np.array(
        [
            -1 if request_of.get(p) is None else codes.setdefault(request_of[p], len(codes))
            for p in person_ids
        ],
        dtype=np.int64,
    )
