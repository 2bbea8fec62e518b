"""The matcher end to end: block, compare, train, score, resolve; explain on demand.

:func:`find_duplicates` works within one table (clusters), :func:`link_tables` between two
(one-to-one). Both take :class:`~haven.matching.encodings.EncodedTable` objects, so they run on
keyed encodings alone; with ``clear_names=True`` (tables encoded with ``keep_records=True``)
names are compared with the full Korean name rules instead of their Bloom filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.matching.blocking import (
    DEDUPE_MAX_BLOCK,
    MAX_BLOCK,
    Candidates,
    birth_pairs,
    dedupe_candidates,
    link_candidates,
    random_pairs,
)
from haven.matching.compare import (
    NAME_NEARLY,
    ClearNames,
    Comparisons,
    compare_pairs,
    labels_for,
)
from haven.matching.encodings import EncodedTable
from haven.matching.explain import Explanation, explain
from haven.matching.model import (
    DEFAULT_THRESHOLD,
    MIN_NAME_LEVEL,
    SCORE_CHUNK,
    Frequencies,
    Labelled,
    MatchModel,
    pair_prior,
    probability,
    train,
)
from haven.matching.priors import birth_mix
from haven.matching.resolve import MAX_CLUSTER, clusters, one_to_one
from haven.matching.together import Together, companion_pairs, reported_together

Rows = npt.NDArray[np.signedinteger[Any]]  # int64, or int32 (blocking.row_dtype)
FloatArray = npt.NDArray[np.float64]
RANDOM_PAIRS = 400_000
# Within one population, strangers with the same common name and birth year are the commonest
# near-miss, and a false merge is worse than a missed duplicate: deduplication asks for more.
DEDUPE_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class ProposedMatch:
    """Two records proposed as the same person, by local id."""

    left_id: str
    right_id: str
    probability: float
    weight: float


@dataclass(slots=True)
class MatchResult:
    """The proposed matches (arrays, one entry per pair) and how to explain each.

    ``left``/``right`` are rows of the left and right tables (the same table for dedupe).
    ``cluster`` (dedupe only) gives each row's cluster id; rows alone keep their own index.
    """

    left_table: EncodedTable
    right_table: EncodedTable
    model: MatchModel
    left: Rows
    right: Rows
    weight: FloatArray
    probability: FloatArray
    levels: npt.NDArray[np.int8]
    name_frequency: Frequencies
    candidates: int
    skipped_blocks: int
    cluster: Rows | None = None
    stats: dict[str, float] = field(default_factory=dict)
    together: Together | None = None  # what co-reporting added (dedupe with requests only)
    support: Rows | None = None  # per pair: other matches of its two requests, -1 n/a

    def __len__(self) -> int:
        return len(self.left)

    def pairs(self) -> list[ProposedMatch]:
        """The proposed matches by local id, best first."""
        lid, rid = self.left_table.ids, self.right_table.ids
        order = np.argsort(-self.weight, kind="stable")
        return [
            ProposedMatch(
                lid[int(self.left[k])],
                rid[int(self.right[k])],
                round(float(self.probability[k]), 6),
                round(float(self.weight[k]), 3),
            )
            for k in order
        ]

    def explain(self, index: int) -> Explanation:
        """Why pair ``index`` (a position in these arrays) was proposed."""
        return explain(
            model=self.model,
            levels=self.levels[index],
            left_id=self.left_table.ids[int(self.left[index])],
            right_id=self.right_table.ids[int(self.right[index])],
            name_frequency=float(self.name_frequency[index]),
            together=self._together_evidence(index),
        )

    def _together_evidence(self, index: int) -> tuple[int, float] | None:
        if self.together is None or self.support is None or self.support[index] < 0:
            return None
        support = int(self.support[index])
        t = self.together
        return support, t.agree_weight if support > 0 else t.disagree_weight

    def groups(self) -> list[list[str]]:
        """Dedupe clusters of two or more records, by local id (empty for a link)."""
        if self.cluster is None:
            return []
        ids = self.left_table.ids
        found: dict[int, list[str]] = {}
        for row, c in enumerate(self.cluster.tolist()):
            found.setdefault(c, []).append(ids[row])
        return [sorted(g) for g in found.values() if len(g) > 1]


def birth_precisions(*tables: EncodedTable) -> tuple[float, float, float]:
    """Shares of the tables' records with a birth year that know the day, only the month, only
    the year (the birth prior depends on them: see :func:`haven.matching.priors.birth_mix`)."""
    day = sum(int((t.tokens["birth.md"] != 0).sum()) for t in tables)
    month = sum(int((t.tokens["birth.m"] != 0).sum()) for t in tables) - day
    year = sum(int((t.tokens["birth.y"] != 0).sum()) for t in tables) - day - month
    return birth_mix(day, month, year)


def labelled_pairs(
    *, table: EncodedTable, decisions: Sequence[tuple[str, str, bool]]
) -> Labelled | None:
    """Reviewers' decisions on pairs of a table's records, as :class:`Labelled` levels:
    (left id, right id, whether they are one person); ids not in the table are skipped."""
    row = {rid: k for k, rid in enumerate(table.ids)}
    known = [(row[a], row[b], same) for a, b, same in decisions if a in row and b in row]
    if not known:
        return None
    i = np.array([k[0] for k in known], dtype=np.int64)
    j = np.array([k[1] for k in known], dtype=np.int64)
    comps = compare_pairs(left=table, right=table, i=i, j=j)
    return Labelled(comps.levels, np.array([k[2] for k in known], dtype=bool))


PEOPLE_ROUNDS = 2  # rounds of counting people, not records, behind each name's frequency
OWN_FLOOR = 0.5  # records: a name no one else holds counts as held by half a record
PROBE = 0.15  # probability from which a pair counts as possibly one person, when counting people


def people_frequency(*, table: EncodedTable, left: Rows, right: Rows) -> FloatArray:
    """For each record, the share of the table that are *other people's* records with the
    same name: the records of its name less itself and those it may be one person with
    (``left``/``right``: pairs at p >= ``PROBE``), at least ``OWN_FLOOR`` of a record.

    Counting records, a person recorded four times makes their name look four times as
    common, and every pair of their records is then scored as a common name's. A first pass
    tells which records may be one person's.
    """
    n = len(table)
    group, counts = table.name_groups()
    same = group[left] == group[right]
    partners = np.bincount(left[same], minlength=n) + np.bincount(right[same], minlength=n)
    others = counts[group] - 1 - partners
    return (np.maximum(others, OWN_FLOOR) / max(n, 1)).astype(np.float32)


def _people_rounds(
    *,
    model: MatchModel,
    comps: Comparisons,
    table: EncodedTable,
    fit_prior: bool,
) -> tuple[MatchModel, Frequencies]:
    """Weights (float32) of a dedupe's candidate pairs with the name frequency counted over people:
    a first pass with record counts, then rounds where the pairs found so far to be possibly
    one person (p >= PROBE) are not counted as other people with the name
    (:func:`people_frequency`), each with the prior over all pairs found again
    (``fit_prior``; a stored model keeps its own). Only "the same name" rows change from one
    round to the next. Returns the model and the weights; the pairs' name frequencies are
    updated in ``comps``."""
    n = len(table)
    top = np.flatnonzero(comps.levels[:, 0] == len(model.fields[0].m) - 1)
    # The weights at even odds without the name's frequency, once (float32: at a million
    # records this is the pass's largest array after the candidates).
    even = np.empty(len(comps), dtype=np.float32)
    replace(model, prior=0.5).weights_into(comps.levels, None, out=even)
    base_top = even[top]
    freq_top = comps.name_frequency[top]
    cut = float(np.log2(PROBE / (1 - PROBE)))
    for round_ in range(PEOPLE_ROUNDS + 1):
        # In slices: the adjustment is float64, and whole-length temporaries of the same-name
        # rows were the pass's peak at a million records.
        for lo in range(0, len(top), SCORE_CHUNK):
            hi = lo + SCORE_CHUNK
            even[top[lo:hi]] = base_top[lo:hi] + model.frequency_adjust(freq_top[lo:hi])
        if fit_prior:
            prior = pair_prior(
                model=model,
                levels=comps.levels,
                name_frequency=None,
                total_pairs=n * (n - 1) / 2,
                even_weights=even,
            )
            model = replace(model, prior=prior)
        if round_ == PEOPLE_ROUNDS or not len(top):
            break
        shift = float(np.log2(model.prior / (1 - model.prior)))
        maybe = top[even[top] >= cut - shift]
        per_record = people_frequency(table=table, left=comps.left[maybe], right=comps.right[maybe])
        freq_top = np.maximum(per_record[comps.left[top]], per_record[comps.right[top]])
    comps.name_frequency[top] = freq_top
    even += np.float32(np.log2(model.prior / (1 - model.prior)))
    return model, even


def swapped_name_parts(comps: Comparisons, name_parts: tuple[str, ...]) -> None:
    """Name parts written in each other's fields are compared as the whole name says.

    Records that give the name in parts (a given name and a surname field) put one in the
    other's place now and then ("thomas" / "martinovic" beside "martinovic" / "thomas"): part
    by part the names then differ entirely, while the whole name, compared without regard to
    word order, is the same. Where every part is known on both sides and differs, and the whole
    name is "the same name" (or "nearly the same"), the parts were crossed: each takes the
    whole name's agreement, "the same" (or "nearly the same"), since the whole name holds
    both. Filters of different fields are keyed apart, so the parts cannot be compared
    crosswise directly. Changed in place; the whole name keeps its level (an ignored name is
    made unknown after this).
    """
    if len(name_parts) < 2 or not len(comps):
        return
    cols = np.array([comps.fields.index(f"extra.{f}") for f in name_parts], dtype=np.int64)
    top = len(labels_for(f"extra.{name_parts[0]}")) - 1
    name = comps.levels[:, comps.fields.index("name")]
    parts = comps.levels[:, cols]
    crossed = (name >= NAME_NEARLY) & (parts == 0).all(axis=1)
    rows = np.flatnonzero(crossed)
    if len(rows):
        same = name[rows] == len(labels_for("name")) - 1
        comps.levels[np.ix_(rows, cols)] = np.where(same, top, top - 1)[:, None]


def _train_and_score(
    *,
    left: EncodedTable,
    right: EncodedTable,
    cands: Candidates,
    rand: tuple[Rows, Rows],
    clear: ClearNames | None,
    threshold: float,
    name_parts: tuple[str, ...],
    min_name_level: int,
    ignore: tuple[str, ...],
    labelled: Labelled | None = None,
) -> tuple[MatchModel, Comparisons, Frequencies]:
    comps = compare_pairs(left=left, right=right, i=cands.left, j=cands.right, clear_names=clear)
    rnd = compare_pairs(left=left, right=right, i=rand[0], j=rand[1], clear_names=clear)
    bi, bj = birth_pairs(left=left, right=right if right is not left else None)
    births = compare_pairs(left=left, right=right, i=bi, j=bj, clear_names=clear)
    for c in (comps, rnd, births):
        swapped_name_parts(c, name_parts)
    for f in ignore:
        # An ignored field is "unknown" everywhere: it still blocks, it never weighs.
        col = comps.fields.index(f)
        comps.levels[:, col] = -1
        rnd.levels[:, col] = -1
        births.levels[:, col] = -1
    sizes = tuple(len(labels_for(f)) for f in comps.fields)
    model = train(
        fields=comps.fields,
        sizes=sizes,
        candidate_levels=comps.levels,
        random_levels=rnd.levels,
        birth_levels=births.levels,
        threshold=threshold,
        name_parts=tuple(f"extra.{f}" for f in name_parts),
        min_name_level=min_name_level,
        birth_precisions=birth_precisions(*((left,) if right is left else (left, right))),
        labelled=labelled,
    )
    if right is left:
        # Deduplication: the prior over all pairs of the population, not over the candidates
        # (see pair_prior), or strangers sharing a common name and a birth year are merged;
        # name frequencies over people, not records (see _people_rounds).
        # Linking keeps EM's prior over the candidates: one-to-one resolution already stops a
        # common name from matching many, and FEBRL4 measured better so (F1 0.9988 against
        # 0.9970 with the all-pairs prior at its best threshold).
        model, weight = _people_rounds(model=model, comps=comps, table=left, fit_prior=True)
        return model, comps, weight
    return model, comps, model.weights(comps.levels, comps.name_frequency)


def find_duplicates(
    *,
    table: EncodedTable,
    clear_names: bool = False,
    threshold: float = DEDUPE_THRESHOLD,
    max_block: int = DEDUPE_MAX_BLOCK,
    max_cluster: int = MAX_CLUSTER,
    sample_pairs: int = RANDOM_PAIRS,
    seed: int = 0,
    name_parts: tuple[str, ...] = (),
    min_name_level: int = MIN_NAME_LEVEL,
    ignore_fields: tuple[str, ...] = (),
    model: MatchModel | None = None,
    decisions: Sequence[tuple[str, str, bool]] = (),
    release_blocks: bool = False,
    requests: npt.NDArray[np.int64] | None = None,
) -> MatchResult:
    """Find records of the same person within one table, as pairs and clusters.

    Pairs at or above ``threshold`` probability are proposed; clusters are grown from them with
    the anti-chaining guard of :func:`haven.matching.resolve.clusters` (at most ``max_cluster``
    records), and a pair the guard kept apart is not reported. ``max_block`` bounds blocks
    (see :mod:`haven.matching.blocking`); ``sample_pairs`` random pairs estimate u.
    ``name_parts`` names extra fields (a separate surname field) that count as name evidence;
    ``min_name_level`` is the name level below which coarse fields cannot count for a match;
    ``ignore_fields`` are compared as unknown (they still block). With ``model`` (one trained
    before, see :func:`train_model`, its prior set for this population) nothing is trained:
    the candidates are scored with it. ``decisions`` (left id, right id, one person or not:
    reviewers' answers) are counted in training with their known answer. With
    ``release_blocks`` the table's blocking tokens are dropped once the candidates are known
    (a table built for this pass only: it cannot be blocked again). ``requests`` gives each
    row's request (an integer code, -1 unknown): records of two requests whose other people
    match too are weighed up, those of two requests where no one else does down (see
    :mod:`haven.matching.together`); a pair ``decisions`` say is two people supports no one.
    """
    if requests is not None and len(requests) != len(table):
        raise ValueError("requests must give one code per record of the table")
    # With release_blocks, the blocking tokens (half a gigabyte at a million records) are
    # dropped as soon as they are sorted: they are not needed again.
    cands = dedupe_candidates(table=table, max_block=max_block, release_blocks=release_blocks)
    clear = ClearNames() if clear_names else None
    if model is None:
        rand = random_pairs(n_left=len(table), count=sample_pairs, seed=seed)
        model, comps, weight = _train_and_score(
            left=table,
            right=table,
            cands=cands,
            rand=rand,
            clear=clear,
            threshold=threshold,
            name_parts=name_parts,
            min_name_level=min_name_level,
            ignore=ignore_fields,
            labelled=labelled_pairs(table=table, decisions=decisions) if decisions else None,
        )
    else:
        comps = _compared(
            table=table,
            i=cands.left,
            j=cands.right,
            clear=clear,
            name_parts=name_parts,
            ignore=ignore_fields,
        )
        model, weight = _people_rounds(model=model, comps=comps, table=table, fit_prior=False)
    co: Together | None = None
    if requests is not None:
        comps, weight, co = _with_reported_together(
            table=table,
            comps=comps,
            weight=weight,
            model=model,
            requests=np.asarray(requests, dtype=np.int64),
            decisions=decisions,
            clear=clear,
            name_parts=name_parts,
            ignore=ignore_fields,
        )
    # Probabilities only for the pairs kept: a full-length array of them is 250 MB at a
    # million records.
    keep = np.flatnonzero(weight >= np.log2(threshold / (1 - threshold)))
    left, right = comps.left[keep], comps.right[keep]
    kept = weight[keep].astype(np.float64)
    levels, frequency = comps.levels[keep], comps.name_frequency[keep]
    support = co.support_of(keep.astype(np.int64)) if co is not None else None
    n_candidates, skipped = len(cands), cands.skipped_blocks
    # Every candidate's rows, levels and weight (about 700 MiB at a million records) are not
    # needed once the proposed pairs are copied out: freed before clustering, which builds
    # Python sets of the proposed pairs.
    del cands, comps, weight, keep
    cl = clusters(n=len(table), left=left, right=right, score=kept, max_size=max_cluster)
    # A proposed pair the anti-chaining guard kept apart is not reported as a match.
    joined = cl[left] == cl[right]
    return MatchResult(
        table,
        table,
        model,
        left[joined],
        right[joined],
        kept[joined],
        probability(kept[joined]),
        levels[joined],
        frequency[joined],
        n_candidates,
        skipped,
        cluster=cl,
        # The weights learnt, not every candidate's support (the kept pairs' is below).
        together=None if co is None else co.learnt(),
        support=None if support is None else support[joined],
    )


def _compared(
    *,
    table: EncodedTable,
    i: Rows,
    j: Rows,
    clear: ClearNames | None,
    name_parts: tuple[str, ...],
    ignore: tuple[str, ...],
) -> Comparisons:
    """Pairs of one table compared as the pass compares them: crossed name parts mended,
    ignored fields unknown."""
    comps = compare_pairs(left=table, right=table, i=i, j=j, clear_names=clear)
    swapped_name_parts(comps, name_parts)
    for f in ignore:
        comps.levels[:, comps.fields.index(f)] = -1
    return comps


def _with_reported_together(
    *,
    table: EncodedTable,
    comps: Comparisons,
    weight: npt.NDArray[np.float32],
    model: MatchModel,
    requests: npt.NDArray[np.int64],
    decisions: Sequence[tuple[str, str, bool]],
    clear: ClearNames | None,
    name_parts: tuple[str, ...],
    ignore: tuple[str, ...],
) -> tuple[Comparisons, npt.NDArray[np.float32], Together | None]:
    """The candidates with the companions' pairs blocking missed added and every weight moved
    by who the records were reported with (see :mod:`haven.matching.together`)."""
    # Pairs reviewers said are two people support no one (whatever their score).
    two = _not_same(table=table, comps=comps, decisions=decisions)
    more_i, more_j = companion_pairs(
        left=comps.left, right=comps.right, weight=weight, requests=requests, not_same=two
    )
    blocked = len(comps)
    if len(more_i):
        more = _compared(
            table=table, i=more_i, j=more_j, clear=clear, name_parts=name_parts, ignore=ignore
        )
        comps = comps.joined(more)
        weight = np.concatenate(
            [weight, model.weights(more.levels, more.name_frequency).astype(weight.dtype)]
        )
        if two is not None:
            two = np.concatenate([two, np.zeros(len(more_i), dtype=bool)])
    co = reported_together(
        left=comps.left,
        right=comps.right,
        weight=weight,
        requests=requests,
        learn_from=blocked,
        not_same=two,
    )
    if co is not None:
        # Under the name guard, as the coarse fields: without names alike enough, companions
        # who match do not make two people one.
        weight[co.rows] += co.weights(weak_name=model.weak_name(comps.levels[co.rows]))
    return comps, weight, co


def _not_same(
    *, table: EncodedTable, comps: Comparisons, decisions: Sequence[tuple[str, str, bool]]
) -> npt.NDArray[np.bool_] | None:
    """Which of the compared pairs reviewers said are two people (None if none)."""
    row = {rid: k for k, rid in enumerate(table.ids)}
    two = [(row[a], row[b]) for a, b, same in decisions if not same and a in row and b in row]
    if not two:
        return None
    n = len(table)
    keys = np.array([min(a, b) * n + max(a, b) for a, b in two], dtype=np.int64)
    left, right = comps.left.astype(np.int64), comps.right.astype(np.int64)
    return np.isin(np.minimum(left, right) * n + np.maximum(left, right), keys)


def train_model(
    *,
    table: EncodedTable,
    threshold: float = DEDUPE_THRESHOLD,
    max_block: int = DEDUPE_MAX_BLOCK,
    sample_pairs: int = RANDOM_PAIRS,
    seed: int = 0,
    decisions: Sequence[tuple[str, str, bool]] = (),
) -> tuple[MatchModel, int]:
    """Train a deduplication model on one table (EM, as :func:`find_duplicates` does) without
    resolving anything; returns the model (its prior is over all pairs of this table) and the
    number of candidate pairs it was trained on. To store and reuse on the same population.
    ``decisions`` are reviewers' answers about pairs of the table's records (left id, right
    id, one person or not): EM counts them with their known answer."""
    cands = dedupe_candidates(table=table, max_block=max_block)
    rand = random_pairs(n_left=len(table), count=sample_pairs, seed=seed)
    model, _comps, _weight = _train_and_score(
        left=table,
        right=table,
        cands=cands,
        rand=rand,
        clear=None,
        threshold=threshold,
        name_parts=(),
        min_name_level=MIN_NAME_LEVEL,
        ignore=(),
        labelled=labelled_pairs(table=table, decisions=decisions),
    )
    return model, len(cands)


def link_tables(
    *,
    left: EncodedTable,
    right: EncodedTable,
    clear_names: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    max_block: int = MAX_BLOCK,
    sample_pairs: int = RANDOM_PAIRS,
    seed: int = 0,
    name_parts: tuple[str, ...] = (),
    min_name_level: int = MIN_NAME_LEVEL,
    ignore_fields: tuple[str, ...] = (),
) -> MatchResult:
    """Link two tables one-to-one: each record of one is matched to at most one of the other.

    The options are those of :func:`find_duplicates`. Both tables must encode the same extra
    fields.
    """
    if left.extra_fields != right.extra_fields:
        raise ValueError("the two tables encode different extra fields")
    cands = link_candidates(left=left, right=right, max_block=max_block)
    rand = random_pairs(n_left=len(left), n_right=len(right), count=sample_pairs, seed=seed)
    clear = ClearNames() if clear_names else None
    model, comps, weight = _train_and_score(
        left=left,
        right=right,
        cands=cands,
        rand=rand,
        clear=clear,
        threshold=threshold,
        name_parts=name_parts,
        min_name_level=min_name_level,
        ignore=ignore_fields,
    )
    w64: FloatArray = weight.astype(np.float64, copy=False)
    above = np.flatnonzero(w64 >= np.log2(threshold / (1 - threshold)))
    kept = above[one_to_one(left=comps.left[above], right=comps.right[above], score=w64[above])]
    return MatchResult(
        left,
        right,
        model,
        comps.left[kept],
        comps.right[kept],
        w64[kept],
        probability(w64[kept]),
        comps.levels[kept],
        comps.name_frequency[kept],
        len(cands),
        cands.skipped_blocks,
    )
