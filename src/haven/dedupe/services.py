"""Duplicate decisions and the full pass behind `haven dedupe`.

Every function is keyword-only, runs in a transaction, checks access (a role that may decide
and a grant of *both* cases) and writes its audit entry in that transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from haven import access
from haven.accounts.models import Role, User
from haven.audit.services import audit_record
from haven.cases.models import Case, Person
from haven.crypto import KeyContext
from haven.db.statistics import statistics_refresh
from haven.dedupe.models import (
    BlockToken,
    DecisionKind,
    DuplicateCandidate,
    DuplicateDecision,
    PersonEncoding,
    TrainedModel,
)
from haven.dedupe.scoring import (
    REVIEW_THRESHOLD,
    VERSION,
    default_model,
    evidence_rows,
    model_parameters,
    score_pairs,
    table_from_rows,
)
from haven.dedupe.selectors import (
    block_partners,
    encoding_rows,
    request_codes,
    scoring_model,
    trained_model,
)
from haven.dedupe.store import encodings_refresh, stale_person_ids
from haven.matching.blocking import dedupe_candidates
from haven.matching.engine import find_duplicates, train_model
from haven.matching.together import MAX_MEMBERS
from haven.vault.index import index_key_active
from haven.vault.sealed import payload_read

# Below this many people, EM has too few pairs to learn from: the fixed model scores them.
MIN_TRAIN = 2_000
ENCODE_BATCH = 200

Progress = Callable[[int, int], None]


def ordered(a: Case, b: Case) -> tuple[Case, Case]:
    """A pair in its stored order (smaller id first)."""
    return (a, b) if str(a.pk) < str(b.pk) else (b, a)


def live_decision(a: Case, b: Case) -> DuplicateDecision | None:
    first, second = ordered(a, b)
    return DuplicateDecision.objects.filter(
        case_a=first, case_b=second, undone_at__isnull=True
    ).first()


def _check_pair(*, ctx: KeyContext, actor: User, case: Case, other: Case) -> None:
    if not access.allowed(actor, "duplicate.decide"):
        raise PermissionDenied("Your role cannot decide about duplicates.")
    for which, record in (("case", case), ("other", other)):
        if not access.can_view_case(actor, record):
            # Answered as a case that does not exist: never a hint that it does.
            raise ValidationError({which: "Unknown case."})
        # Opening the person proves the key is really held (and untampered with).
        payload_read(ctx=ctx, record=record.person)
    if case.pk == other.pk:
        raise ValidationError({"other": "A case is not a duplicate of itself."})


@transaction.atomic
def duplicate_decide(
    *,
    ctx: KeyContext,
    actor: User,
    case: Case,
    other: Case,
    kind: str,
    survivor: Case | None = None,
) -> DuplicateDecision:
    """Decide about a pair of cases: ``link`` (the same person, both files kept and linked),
    ``merge`` (the same person; ``survivor`` becomes the file to work in, the other is shown as
    merged into it — nothing is moved or deleted, so it can be undone), or ``not_same``.

    The decision is remembered: the pair is not proposed again until it is undone.
    """
    _check_pair(ctx=ctx, actor=actor, case=case, other=other)
    if kind not in DecisionKind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(DecisionKind.values)}."})
    if kind == DecisionKind.MERGE:
        if survivor is None or survivor.pk not in (case.pk, other.pk):
            raise ValidationError({"survivor": "Name which of the two cases is kept."})
    else:
        survivor = None
    first, second = ordered(case, other)
    if live_decision(first, second) is not None:
        raise ValidationError({"kind": "This pair was decided already; undo that decision first."})
    for record in (first, second):
        merged_elsewhere = DuplicateDecision.objects.filter(
            kind=DecisionKind.MERGE, undone_at__isnull=True
        ).exclude(survivor=record)
        if (
            kind == DecisionKind.MERGE
            and record != survivor
            and (
                merged_elsewhere.filter(case_a=record).exists()
                or merged_elsewhere.filter(case_b=record).exists()
            )
        ):
            raise ValidationError(
                {"survivor": "One of these cases is already merged into another one."}
            )
    probability = (
        DuplicateCandidate.objects.filter(case_a=first, case_b=second)
        .values_list("probability", flat=True)
        .first()
    )
    decision = DuplicateDecision.objects.create(
        case_a=first,
        case_b=second,
        kind=kind,
        survivor=survivor,
        probability=probability,
        decided_by=actor,
        decided_at=timezone.now(),
    )
    DuplicateCandidate.objects.filter(case_a=first, case_b=second).delete()
    audit_record(
        actor=actor,
        action=f"duplicate.{kind}",
        target=case,
        detail={
            "decision": str(decision.pk),
            "other": str(other.pk),
            "survivor": str(survivor.pk) if survivor is not None else None,
        },
    )
    return decision


@transaction.atomic
def duplicate_undo(*, ctx: KeyContext, actor: User, decision: DuplicateDecision) -> None:
    """Undo a decision: a merge restores both cases as separate files, a link or "not the same
    person" is forgotten, and the pair is proposed again if it still scores as one."""
    decision = DuplicateDecision.objects.select_for_update().get(pk=decision.pk)
    _check_pair(ctx=ctx, actor=actor, case=decision.case_a, other=decision.case_b)
    if decision.undone_at is not None:
        raise ValidationError({"decision": "This decision was undone already."})
    decision.undone_at = timezone.now()
    decision.undone_by = actor
    decision.save(update_fields=["undone_at", "undone_by"])
    # Pages read proposed pairs from the queue: the pair is looked for again at once, as if
    # both had just been saved, rather than at the next full pass.
    duplicate_candidates_refresh(person_ids=[decision.case_a.person_id, decision.case_b.person_id])
    audit_record(
        actor=actor,
        action="duplicate.undo",
        target=decision.case_a,
        detail={"decision": str(decision.pk), "kind": decision.kind},
    )


def decided_pairs(*, case_of: dict[str, str]) -> list[tuple[str, str, bool]]:
    """Reviewers' live decisions as training answers: (person id, person id, one person or
    not) for pairs of people in ``case_of`` (person id → case id). A link or a merge says
    one person, "not the same" two."""
    person_of = {c: p for p, c in case_of.items()}
    out = []
    for a, b, kind in DuplicateDecision.objects.filter(undone_at__isnull=True).values_list(
        "case_a_id", "case_b_id", "kind"
    ):
        pa, pb = person_of.get(str(a)), person_of.get(str(b))
        if pa is not None and pb is not None:
            out.append((pa, pb, kind != DecisionKind.NOT_SAME))
    return out


# --- New people against the stored ones ------------------------------------------------------

INCREMENTAL_CANDIDATES = 200  # stored people compared with each new one at most


@transaction.atomic
def duplicate_candidates_refresh(
    *, person_ids: Sequence[Any], threshold: float = REVIEW_THRESHOLD
) -> int:
    """Look for possible duplicates of people whose encodings were just stored (a request
    recorded, a person edited, pending people encoded) among everyone stored, without a full
    pass: their stored blocking tokens find the candidates (as the engine's blocker would),
    the organisation's model scores them (:func:`~haven.dedupe.selectors.scoring_model`),
    and their rows of the review queue are replaced by the pairs at or above ``threshold``
    that nobody has decided about. Nothing is decrypted and nothing shown: the queue is read
    by those who may open both cases (the Duplicates page). Returns the pairs queued.

    Runs in the caller's transaction; a system step of the saving service (which writes its
    own audit entry), like the search tokens it stores beside the encodings."""
    index_key = index_key_active()
    if index_key is None or not person_ids:
        return 0
    generation = index_key.generation
    model = scoring_model(threshold=threshold)
    found: dict[tuple[str, str], DuplicateCandidate] = {}
    now = timezone.now()
    pairs: list[tuple[str, str]] = []
    wanted = [str(p) for p in dict.fromkeys(person_ids)]
    # Their companions (the other people of their requests) are scored too, though only the
    # pairs of the people asked about are queued: a pair is supported by the companions'
    # matches (haven.matching.together), and one person edited must not lose that support.
    # Requests naming very many people (bulk lists) are not searched, as in the engine.
    listed = list(
        Case.objects.filter(
            request_id__in=Case.objects.filter(person_id__in=wanted).values("request_id")
        ).values_list("person_id", "request_id")
    )
    size = Counter(r for _, r in listed)
    asked = set(wanted)
    companions = [str(p) for p, r in listed if size[r] <= MAX_MEMBERS and str(p) not in asked]
    # People still pending have no encodings yet: they are looked for when encoded.
    encoded = {r[0]: r for r in encoding_rows([*wanted, *companions], generation)}
    for person_id in [p for p in [*wanted, *companions] if p in encoded]:
        partners = block_partners(person_id=person_id, limit=INCREMENTAL_CANDIDATES)
        pairs.extend((person_id, p) for p in partners)
    people = asked & encoded.keys()
    # Each person's case and request (the people just stored and their partners): people
    # reported together before and now count for each other (haven.matching.together).
    cases = {
        str(p): (str(c), r)
        for p, c, r in Case.objects.filter(
            person_id__in={x for pair in pairs for x in pair} | people
        ).values_list("person_id", "pk", "request_id")
    }
    touched = {cases[p][0] for p in people if p in cases}
    pairs = [(a, b) for a, b in pairs if a in cases and b in cases]
    left = [encoded[a] for a in sorted({a for a, _ in pairs})]
    right = encoding_rows(sorted({b for _, b in pairs}), generation)
    row_l = {r[0]: k for k, r in enumerate(left)}
    row_r = {r[0]: k for k, r in enumerate(right)}
    pairs = [(a, b) for a, b in pairs if a in row_l and b in row_r]
    codes: dict[Any, int] = {}

    def code(person: str) -> int:
        request = cases[person][1]
        return -1 if request is None else codes.setdefault(request, len(codes))

    for scored in score_pairs(
        left=table_from_rows(left),
        right=table_from_rows(right),
        i=np.array([row_l[a] for a, _ in pairs], dtype=np.int64),
        j=np.array([row_r[b] for _, b in pairs], dtype=np.int64),
        model=model,
        threshold=threshold,
        requests=(
            np.array([code(r[0]) for r in left], dtype=np.int64),
            np.array([code(r[0]) for r in right], dtype=np.int64),
        ),
    ):
        if scored.left_id not in people and scored.right_id not in people:
            continue  # a companion's own pair: its queue row is left as it was
        a, b = sorted((cases[scored.left_id][0], cases[scored.right_id][0]))
        found[(a, b)] = DuplicateCandidate(
            case_a_id=a,
            case_b_id=b,
            probability=scored.probability,
            weight=scored.weight,
            evidence=evidence_rows(scored.explanation),
            found_at=now,
        )
    if not touched:
        return 0
    decided = {
        (str(a), str(b))
        for a, b in DuplicateDecision.objects.filter(undone_at__isnull=True)
        .filter(Q(case_a_id__in=touched) | Q(case_b_id__in=touched))
        .values_list("case_a_id", "case_b_id")
    }
    rows = [c for key, c in found.items() if key not in decided]
    # The new people's earlier proposals were made from what they were before.
    DuplicateCandidate.objects.filter(Q(case_a_id__in=touched) | Q(case_b_id__in=touched)).delete()
    DuplicateCandidate.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- The full pass ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupeRun:
    encoded: int  # encodings computed in this run
    unopened: int  # people still pending: the supervisor holds no key for them
    people: int  # people compared
    candidates: int  # pairs compared
    proposed: int  # pairs written to the review queue
    trained: bool  # whether the engine trained its model on this population
    stored_model: bool = False  # scored with the organisation's stored model (--train)
    warnings: tuple[str, ...] = ()  # what the model's plausibility check found

    def __str__(self) -> str:
        how = (
            "the stored model"
            if self.stored_model
            else "model trained by EM"
            if self.trained
            else "fixed model: population too small to train"
        )
        return (
            f"{self.people} people compared ({self.candidates} candidate pairs, {how}); "
            f"{self.proposed} pairs in the review queue; {self.encoded} encodings computed"
            + (
                f", {self.unopened} people not opened (you hold no key for them)"
                if self.unopened
                else ""
            )
            + "."
            + "".join(f"\nThe model was flagged: {w}" for w in self.warnings)
        )


def _encode_pending(
    *, ctx: KeyContext, generation: int, batch: int, progress: Progress | None
) -> tuple[int, int]:
    stale = Person.objects.filter(stale_person_ids(generation=generation)).values("pk")
    todo = list(
        Case.objects.filter(person_id__in=stale).select_related("person", "request").order_by("pk")
    )
    done = 0
    for start in range(0, len(todo), batch):
        # Each batch stored in a transaction of its own, opened once it is encoded.
        done += len(encodings_refresh(ctx=ctx, cases=todo[start : start + batch]))
        if progress is not None:
            progress(min(start + batch, len(todo)), len(todo))
    if progress is not None and not todo:
        progress(0, 0)
    return done, len(todo) - done


def _population(
    *, ctx: KeyContext, batch: int, progress: Progress | None
) -> tuple[int, int, Any, dict[str, str]]:
    """Everyone's current encodings for a full pass or training, after computing the pending
    ones ``ctx`` can open: (encoded now, left unopened, the table, person id → case id)."""
    index_key = index_key_active()
    if index_key is None:
        raise ValidationError("The organisation has no index key: duplicate detection is off.")
    if not ctx.holds_index_key():
        raise PermissionDenied(
            "You do not hold the all-staff key, so you cannot compute encodings."
        )
    encoded, unopened = _encode_pending(
        ctx=ctx, generation=index_key.generation, batch=batch, progress=progress
    )
    table, case_of = _current_table(index_key.generation)
    return encoded, unopened, table, case_of


def _current_table(generation: int) -> tuple[Any, dict[str, str]]:
    """Everyone's current encodings as one table (one row read per person: the blocking
    tokens come packed with the encodings), and each person's case."""
    case_of = {str(p): str(c) for p, c in Case.objects.values_list("person_id", "pk")}
    rows = [
        (str(p), bytes(b), bytes(t), bytes(k))
        for p, b, t, k in PersonEncoding.objects.filter(
            generation=generation, encoding_version=VERSION
        )
        .order_by("person_id")
        .values_list("person_id", "blooms", "tokens", "block")
        .iterator(chunk_size=10_000)
    ]
    return table_from_rows([r for r in rows if r[0] in case_of]), case_of


def _full_pass(
    *, table: Any, case_of: dict[str, str], threshold: float
) -> tuple[list[DuplicateCandidate], int, bool, bool, tuple[str, ...]]:
    """The comparison of a full pass on stored encodings (nothing decrypted): the review
    queue's new rows (pairs at or above ``threshold`` nobody has decided about), the number
    of candidate pairs, whether a model was trained, whether a stored one scored, and what
    the plausibility check found."""
    stored = trained_model(threshold=threshold, people=len(table))
    trained = stored is None and len(table) >= MIN_TRAIN
    found: list[tuple[str, str, float, float, list[dict[str, Any]]]] = []
    warnings: tuple[str, ...] = ()
    if stored is not None or trained:
        result = find_duplicates(
            table=table,
            threshold=threshold,
            model=stored,
            # Training counts them with their answer; every pass keeps a pair said to be two
            # people from supporting others reported with them.
            decisions=decided_pairs(case_of=case_of),
            release_blocks=True,  # the table was read for this pass only
            # People reported together and again together: see haven.matching.together.
            requests=request_codes(person_ids=table.ids),
        )
        candidates = result.candidates
        warnings = result.model.warnings
        for k in range(len(result)):
            e = result.explain(k)
            found.append((e.left_id, e.right_id, e.probability, e.weight, evidence_rows(e)))
    else:
        cands = dedupe_candidates(table=table)
        candidates = len(cands)
        codes = request_codes(person_ids=table.ids)
        for pair in score_pairs(
            left=table,
            right=table,
            i=np.asarray(cands.left),
            j=np.asarray(cands.right),
            model=default_model(threshold=threshold),
            threshold=threshold,
            requests=(codes, codes),
        ):
            found.append(
                (
                    pair.left_id,
                    pair.right_id,
                    pair.probability,
                    pair.weight,
                    evidence_rows(pair.explanation),
                )
            )
    decided = {
        (str(a), str(b))
        for a, b in DuplicateDecision.objects.filter(undone_at__isnull=True).values_list(
            "case_a_id", "case_b_id"
        )
    }
    now = timezone.now()
    rows = []
    for left, right, probability, weight, evidence in found:
        a, b = sorted((case_of[left], case_of[right]))
        if (a, b) in decided:
            continue
        rows.append(
            DuplicateCandidate(
                case_a_id=a,
                case_b_id=b,
                probability=probability,
                weight=weight,
                evidence=evidence,
                found_at=now,
            )
        )
    return rows, candidates, trained, stored is not None, warnings


def dedupe_run(
    *,
    ctx: KeyContext,
    actor: User,
    threshold: float = REVIEW_THRESHOLD,
    progress: Progress | None = None,
    batch: int = ENCODE_BATCH,
) -> DedupeRun:
    """`haven dedupe`: compute pending encodings (of the people ``actor`` can open), compare
    everyone on their keyed encodings, and replace the review queue with the pairs proposed
    that nobody has decided about yet. Supervisors only; nothing is decrypted to compare."""
    if actor.role != Role.SUPERVISOR or not actor.is_active:
        raise PermissionDenied("Only an active supervisor runs a full duplicate pass.")
    if not 0.0 < threshold < 1.0:
        raise ValidationError({"threshold": "Give a probability between 0 and 1."})
    encoded, unopened, table, case_of = _population(ctx=ctx, batch=batch, progress=progress)
    if len(table) >= MIN_TRAIN and _retrain_due():
        _model_store(actor=actor, table=table, case_of=case_of)
    rows, candidates, trained, stored_used, warnings = _full_pass(
        table=table, case_of=case_of, threshold=threshold
    )
    with transaction.atomic():
        DuplicateCandidate.objects.all().delete()
        DuplicateCandidate.objects.bulk_create(rows, ignore_conflicts=True)
        run = DedupeRun(
            encoded,
            unopened,
            len(table),
            candidates,
            len(rows),
            trained,
            stored_used,
            warnings,
        )
        audit_record(
            actor=actor,
            action="duplicate.run",
            detail={
                "people": run.people,
                "candidates": run.candidates,
                "proposed": run.proposed,
                "encoded": run.encoded,
                "trained": run.trained,
                "stored_model": run.stored_model,
            },
        )
    statistics_refresh(models=[PersonEncoding, BlockToken, DuplicateCandidate])
    return run


def match_model_train(
    *,
    ctx: KeyContext,
    actor: User,
    progress: Progress | None = None,
    batch: int = ENCODE_BATCH,
) -> TrainedModel:
    """`haven dedupe --train`: compute pending encodings, train the Fellegi–Sunter model by EM
    on the organisation's own encodings (nothing decrypted) and store its parameters — m and u
    per field and level and the prior, shares of pairs, no personal data — so that the request
    page and later passes score with them instead of the fixed parameters. Supervisors only;
    needs at least ``MIN_TRAIN`` people, as EM learns nothing from fewer."""
    if actor.role != Role.SUPERVISOR or not actor.is_active:
        raise PermissionDenied("Only an active supervisor trains the duplicate model.")
    _encoded, _unopened, table, case_of = _population(ctx=ctx, batch=batch, progress=progress)
    if len(table) < MIN_TRAIN:
        raise ValidationError(
            f"Too few people to train on ({len(table)}; at least {MIN_TRAIN}): "
            "the fixed model stays in use."
        )
    return _model_store(actor=actor, table=table, case_of=case_of)


# A stored model is trained again in the next full pass once this many decisions were made
# after it: reviewers' answers are the best evidence there is about this organisation's records.
RETRAIN_DECISIONS = 50


def _retrain_due() -> bool:
    latest = TrainedModel.objects.filter(encoding_version=VERSION).order_by("-trained_at").first()
    if latest is None:
        return False
    newer = DuplicateDecision.objects.filter(decided_at__gt=latest.trained_at).count()
    return newer >= RETRAIN_DECISIONS


def _model_store(*, actor: User, table: Any, case_of: dict[str, str]) -> TrainedModel:
    """Train on the table with the reviewers' decisions and store the model (audited)."""
    model, candidates = train_model(table=table, decisions=decided_pairs(case_of=case_of))
    with transaction.atomic():
        stored = TrainedModel.objects.create(
            trained_at=timezone.now(),
            trained_by=actor,
            encoding_version=VERSION,
            people=len(table),
            candidates=candidates,
            parameters=model_parameters(model=model),
        )
        audit_record(
            actor=actor,
            action="duplicate.model_train",
            target=stored,
            detail={
                "people": stored.people,
                "candidates": candidates,
                "iterations": model.iterations,
                "converged": model.converged,
                "decisions": model.labelled,
                "warnings": len(model.warnings),
            },
        )
    return stored
