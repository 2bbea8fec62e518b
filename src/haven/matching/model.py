"""Fellegi–Sunter scoring with parameters estimated by EM, and the guard rails around it.

For each field and level, ``m`` is how often true matches sit at that level and ``u`` how often
non-matches do; a pair's *match weight* is log2 of the prior odds plus the sum of
log2(m/u) over its fields (unknown fields add 0), and its probability follows from the weight.
"The same name" is adjusted for how common the name is (a term-frequency adjustment).

``u`` comes from random pairs (almost all non-matches); ``m`` from EM sessions, each on pairs
chosen by one field and estimating the others (see :func:`train`); the prior from the candidate
pairs. EM runs on the distinct comparison vectors with their counts, so it costs little however
many pairs there are. Guard rails keep it from collapsing onto a shortcut such as "everyone born
the same year is one person":

* ``m`` and ``u`` are bounded away from 0 and 1, and ``m`` is pulled towards a sensible prior
  shape by Dirichlet pseudo-counts, so a field cannot take over alone;
* the top level of every field must count *for* a match; disagreeing levels (``NEVER_FOR``:
  different names, conflicting birth dates, a differing exact field) never count for one;
* the prior is bounded;
* without name evidence (names at least ``min_name_level`` alike), the coarse fields many people
  share (birth, sex, origin, occupation, group, broker) can count against a match but never for
  it, in training as in scoring: a shared birth year, origin and group do not make two people
  one. Extra fields named as ``name_parts`` (a separate surname or given-name field) count as
  name evidence when they are at least "nearly the same".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.matching.compare import LABELS, NAME_NEARLY, Levels, labels_for
from haven.matching.parallel import over_chunks
from haven.matching.priors import (
    TYPICAL_MIX,
    FieldPrior,
    birth_prior_m,
    birth_random_u,
    field_prior,
    never_for,
    order_for,
)

FloatArray = npt.NDArray[np.float64]
Frequencies = npt.NDArray[np.floating[Any]]  # name frequencies: float32 in a pass, or float64
BOUND = 1e-5
PRIOR_BOUNDS = (1e-6, 0.9)
MIN_NAME_LEVEL = 2  # names at least "alike" (similarity >= 0.65) for any match
CONFLICT_NAME_LEVEL = NAME_NEARLY  # "nearly the same" (>= 0.85) when the birth dates conflict
DEFAULT_THRESHOLD = 0.9
TF_BOUND = 8.0  # bits: how far a name's frequency may move its weight either way
SCORE_CHUNK = 1 << 20  # pairs scored at once
DENSE_PATTERNS = 1 << 22  # distinct level vectors counted by bincount up to this many
COARSE = frozenset({"birth", "sex", "origin", "occupation", "group", "broker"})
BIRTH_SAME_YM = LABELS["birth"].index("same year and month")


@dataclass(frozen=True, slots=True)
class FieldModel:
    """m and u per level of one field, lowest level first."""

    field: str
    m: tuple[float, ...]
    u: tuple[float, ...]

    @property
    def weights(self) -> tuple[float, ...]:
        """log2(m/u) per level: positive counts for a match, negative against."""
        return tuple(float(np.log2(m / u)) for m, u in zip(self.m, self.u, strict=True))

    @property
    def labels(self) -> tuple[str, ...]:
        """Human labels of the levels."""
        return labels_for(self.field)


@dataclass(frozen=True, slots=True)
class MatchModel:
    """A trained model: per-field parameters, the prior, the threshold and the name guard."""

    fields: tuple[FieldModel, ...]
    prior: float  # share of candidate pairs that are matches
    threshold: float = DEFAULT_THRESHOLD  # probability at or above which a pair is proposed
    min_name_level: int = MIN_NAME_LEVEL
    name_parts: tuple[int, ...] = ()  # columns of extra fields that count as name evidence
    iterations: int = 0
    converged: bool = False
    anchors: int = 0  # name-alike strangers u of the coarse fields was read from (0: random u)
    labelled: int = 0  # reviewers' decisions trained on
    warnings: tuple[str, ...] = ()  # what the plausibility check found (see plausibility())

    def weight_table(self) -> FloatArray:
        """(fields, max levels + 1) weights; column 0 is "unknown" (weight 0)."""
        width = 1 + max(len(f.m) for f in self.fields)
        table = np.zeros((len(self.fields), width))
        for k, f in enumerate(self.fields):
            table[k, 1 : 1 + len(f.m)] = f.weights
        return table

    def field_weights(self, levels: Levels) -> FloatArray:
        """(pairs, fields) weight of each field's level."""
        table = self.weight_table()
        self._check_levels(levels)
        cols = np.arange(len(self.fields))[None, :]
        return table[cols, levels.astype(np.int64) + 1]

    def _check_levels(self, levels: Levels) -> None:
        if not len(levels):
            return
        for f, top in zip(self.fields, levels.max(axis=0).tolist(), strict=True):
            if top >= len(f.m):
                raise ValueError(
                    f"the model has {len(f.m)} levels for {f.field}, the comparisons reach "
                    f"level {top}: use parameters for haven.matching.compare.LABELS"
                )

    def weak_name(self, levels: Levels) -> npt.NDArray[np.bool_]:
        """Pairs without enough name evidence to be a match (unknown names included).

        Where the birth dates conflict (both sides know a part and it differs), names only
        alike are not enough either: siblings travel in one group, come from one place and
        have alike names, and only their birth dates and names tell them apart.
        """
        name = levels[:, 0]
        weak = name < self.min_name_level
        birth = self._birth_column()
        if birth is not None:
            conflict = np.isin(levels[:, birth], sorted(never_for("birth")))
            weak |= conflict & (name < max(self.min_name_level, CONFLICT_NAME_LEVEL))
        for col in self.name_parts:
            # "Nearly the same" or better: a typo in a surname still names the family.
            weak &= levels[:, col] < len(self.fields[col].m) - 2
        return weak

    def _birth_column(self) -> int | None:
        for k, f in enumerate(self.fields):
            if f.field == "birth":
                return k
        return None

    def frequency_weights(self, levels: Levels, name_frequency: Frequencies | None) -> FloatArray:
        """The adjustment of "the same name" for how common the name is, in bits.

        Sharing a rare name says more than sharing 김민준: u of the top name level is replaced
        by how often *another person's* record holds the name (as splink's term-frequency
        adjustment does, within bounds). ``name_frequency`` is, per pair, that share for the
        commoner side (:meth:`~haven.matching.encodings.EncodedTable.name_frequency`, or the
        engine's count of other people: see :func:`haven.matching.engine.find_duplicates`).
        """
        if name_frequency is None or not len(levels):
            return np.zeros(len(levels))
        top = levels[:, 0] == len(self.fields[0].m) - 1
        return np.where(top, self.frequency_adjust(name_frequency), 0.0)

    def frequency_adjust(self, name_frequency: Frequencies) -> FloatArray:
        """:meth:`frequency_weights` of pairs known to share "the same name" (no levels)."""
        u_top = self.fields[0].u[-1]
        adjust = np.log2(u_top / np.maximum(name_frequency.astype(np.float64), 1e-12))
        return np.clip(adjust, -TF_BOUND, TF_BOUND)

    def score(
        self, levels: Levels, name_frequency: Frequencies | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Match weight (log2 odds) and probability per pair, after the name guard.

        ``name_frequency`` (see :meth:`frequency_weights`) adjusts agreeing names for how
        common they are; without it every name counts alike.
        """
        weight = self.weights(levels, name_frequency)
        return weight, probability(weight)

    def weights(self, levels: Levels, name_frequency: Frequencies | None = None) -> FloatArray:
        """Match weight (log2 odds) per pair, after the name guard: :meth:`score` without the
        probabilities (a million-record pass keeps one full-length array, not two)."""
        weight = np.empty(len(levels))
        self.weights_into(levels, name_frequency, out=weight)
        return weight

    def weights_into(
        self,
        levels: Levels,
        name_frequency: Frequencies | None = None,
        *,
        out: npt.NDArray[np.floating[Any]],
    ) -> None:
        """:meth:`weights` written into ``out`` (float32 in a pass: each slice is summed in
        float64 and stored, where a float64 array converted afterwards cost both at once)."""
        prior_weight = float(np.log2(self.prior / (1 - self.prior)))
        self._check_levels(levels)
        table = self.weight_table()
        weight = out
        coarse_cols = [k for k, f in enumerate(self.fields) if f.field in COARSE]

        # In slices, column by column: tens of millions of pairs would otherwise need several
        # full-length temporaries at once (the peak memory of a million-record pass).
        def chunk(lo: int, hi: int) -> None:
            lv = levels[lo:hi]
            freq = None if name_frequency is None else name_frequency[lo:hi]
            w_sum = prior_weight + self.frequency_weights(lv, freq)
            coarse = np.zeros(len(lv))
            for k in range(len(self.fields)):
                w = table[k][lv[:, k].astype(np.int64) + 1]
                w_sum += w
                if k in coarse_cols:
                    coarse += w
            # Without name evidence, the coarse fields many people share (birth, sex, origin,
            # occupation, group, broker) may count against a match but never for it.
            weak = self.weak_name(lv)
            w_sum[weak] -= np.maximum(coarse[weak], 0.0)
            weight[lo:hi] = w_sum

        over_chunks(total=len(levels), size=SCORE_CHUNK, work=chunk)


def probability(weight: FloatArray) -> FloatArray:
    """The match probability of each match weight (log2 odds)."""
    prob = np.empty(len(weight))

    def chunk(lo: int, hi: int) -> None:
        prob[lo:hi] = 1.0 / (1.0 + np.exp2(-weight[lo:hi]))

    over_chunks(total=len(weight), size=SCORE_CHUNK, work=chunk)
    return prob


def _bounded(p: FloatArray) -> FloatArray:
    p = np.clip(p, BOUND, 1 - BOUND)
    return p / p.sum()


def _level_counts(levels: Levels, col: int, n: int, weight: FloatArray) -> FloatArray:
    v = levels[:, col].astype(np.int64)
    known = v >= 0
    return np.bincount(v[known], weights=weight[known], minlength=n).astype(np.float64)[:n]


def estimate_u(*, levels: Levels, sizes: tuple[int, ...]) -> list[FloatArray]:
    """u per field from the levels of random pairs, with add-one smoothing."""
    ones = np.ones(len(levels))
    return [
        _bounded((_level_counts(levels, k, n, ones) + 1.0) / (ones.sum() + n))
        for k, n in enumerate(sizes)
    ]


# Levels that can never count *for* a match, whatever EM finds: names that differ, birth dates
# that conflict, another province, another kind of work, a differing exact field.
NEVER_FOR: dict[str, frozenset[int]] = {
    "name": never_for("name"),
    "birth": never_for("birth"),
}
MIN_ANCHORS = 1_000  # name-alike strangers needed before u of a coarse field is taken from them
ANCHOR_STRENGTH = 100.0  # pseudo-pairs of random-pair u behind the anchors' estimate


def conditional_u(
    *,
    fields: tuple[str, ...],
    u: list[FloatArray],
    candidate_levels: Levels,
    extra_negatives: Levels | None = None,
    min_name_level: int = MIN_NAME_LEVEL,
) -> tuple[list[FloatArray], int]:
    """u of the coarse fields among strangers whose *names are alike*, not among random pairs.

    Fellegi–Sunter multiplies the fields as if they were independent, but they are not among
    the pairs that matter: Korean given names are mostly of one sex, so namesakes agree on sex
    nearly always and a shared sex says nothing; siblings share a name's syllable, an origin
    and a group. The pairs that tell this are candidates whose names are alike but whose birth
    dates are years apart (almost all two people: one person's records conflict on the date
    well under 1% of the time), with any pairs reviewers decided were not the same person
    (``extra_negatives``). With at least ``MIN_ANCHORS`` of them, u of sex, origin,
    occupation, group and broker is their share at each level, drawn towards the random-pair
    u by ``ANCHOR_STRENGTH`` pseudo-pairs. Returns the u list and the number of anchor pairs.
    """
    birth = fields.index("birth") if "birth" in fields else None
    parts = []
    if birth is not None and len(candidate_levels):
        lv = candidate_levels
        parts.append(lv[(lv[:, 0] >= min_name_level) & (lv[:, birth] == 0)])
    if extra_negatives is not None and len(extra_negatives):
        parts.append(extra_negatives)
    if not parts:
        return u, 0
    anchors = np.concatenate(parts)
    if len(anchors) < MIN_ANCHORS:
        return u, len(anchors)
    out = [x.copy() for x in u]
    ones = np.ones(len(anchors))
    for k, f in enumerate(fields):
        if f not in COARSE or f == "birth":
            continue
        counts = _level_counts(anchors, k, len(u[k]), ones)
        if counts.sum() < MIN_ANCHORS / 4:
            continue  # too few anchors know this field
        out[k] = _bounded((counts + ANCHOR_STRENGTH * u[k]) / (counts.sum() + ANCHOR_STRENGTH))
    return out, len(anchors)


def _project(m: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
    """The closest distribution (by one common scale factor) with ``low <= m <= high``."""
    m = np.clip(m, low, high)
    if abs(m.sum() - 1.0) < 1e-12:
        return m
    lo, hi = 0.0, 1.0
    while np.clip(m * hi, low, high).sum() < 1.0 and hi < 1e12:
        hi *= 2.0
    for _ in range(60):  # bisection on the scale: the clipped sum rises with it
        mid = (lo + hi) / 2.0
        if np.clip(m * mid, low, high).sum() < 1.0:
            lo = mid
        else:
            hi = mid
    out = np.clip(m * hi, low, high)
    return out / out.sum()


def _monotone(m: FloatArray, u: FloatArray, edges: tuple[tuple[int, int], ...]) -> FloatArray:
    """Pool levels whose weights break the field's order (a stronger level weighing less than a
    weaker one): both get the weight of their pooled m and u, their m summing as before."""
    m = m.copy()
    for _ in range(4 * len(edges) + 1):
        changed = False
        for hi, lo in edges:
            if m[hi] / u[hi] < m[lo] / u[lo] * (1 - 1e-9):
                ratio = (m[hi] + m[lo]) / (u[hi] + u[lo])
                m[hi], m[lo] = u[hi] * ratio, u[lo] * ratio
                changed = True
        if not changed:
            break
    return m


def _constrain(m: FloatArray, u: FloatArray, field: str, prior: FieldPrior) -> FloatArray:
    """m within the prior's bounds, monotone in the field's order, the top level for a match
    and the disagreeing levels against: directions EM may not flip."""
    n = len(m)
    m = _project(_bounded(m), np.array(prior.low), np.array(prior.high))
    m = _monotone(m, u, order_for(field, n))
    against = [k for k in (never_for(field) if n == len(labels_for(field)) else (0,)) if k < n - 1]
    for _ in range(5):  # renormalising may undo a clamp by a hair: until both hold
        m[-1] = max(m[-1], u[-1] * 1.5)
        for level in against:
            m[level] = min(m[level], u[level] * (1 - 1e-6))
        m = _bounded(m / m.sum())
        if m[-1] >= u[-1] * 1.5 and all(m[k] <= u[k] for k in against):
            break
    return m


def _patterns(levels: Levels, width: int) -> tuple[Levels, FloatArray]:
    """Distinct comparison vectors and their counts: EM works on these, not on every pair."""
    if not len(levels):
        return np.zeros((0, width), np.int8), np.zeros(0)
    # Each vector as one number in mixed radix (a field's levels and "unknown"): the distinct
    # vectors are then a bincount over a few thousand codes, with no sort of every pair.
    radix = [int(levels[:, k].max()) + 2 for k in range(width)]
    if math.prod(radix) > DENSE_PATTERNS:
        return _sorted_patterns(levels, width)
    # The first field most significant: the patterns come out in np.unique's (row) order.
    mult = np.array([math.prod(radix[k + 1 :]) for k in range(width)], dtype=np.int64)
    counts = np.zeros(math.prod(radix), dtype=np.int64)
    for lo in range(0, len(levels), SCORE_CHUNK):
        lv = levels[lo : lo + SCORE_CHUNK]
        codes = np.zeros(len(lv), dtype=np.int64)
        for k in range(width):  # column by column: no (pairs, fields) int64 copy
            codes += (lv[:, k].astype(np.int64) + 1) * mult[k]
        counts += np.bincount(codes, minlength=len(counts))
    present = np.flatnonzero(counts)
    patterns = ((present[:, None] // mult) % np.array(radix) - 1).astype(np.int8)
    return patterns, counts[present].astype(np.float64)


def _sorted_patterns(levels: Levels, width: int) -> tuple[Levels, FloatArray]:
    """Distinct vectors by sorting, for too many combinations to count densely (many fields)."""
    if width > 15 or int(levels.max()) >= 15:
        patterns, counts = np.unique(levels, axis=0, return_counts=True)
        return patterns, counts.astype(np.float64)
    # Each level + 1 fits in 4 bits: one int64 per vector sorts far faster than rows do; the
    # first field in the highest bits, so the patterns come out in np.unique's (row) order.
    codes = np.zeros(len(levels), dtype=np.int64)
    for k in range(width):  # column by column: no (pairs, fields) int64 copy
        codes |= (levels[:, k].astype(np.int64) + 1) << (4 * (width - 1 - k))
    shifts = (width - 1 - np.arange(width, dtype=np.int64)) * 4
    uniq, counts = np.unique(codes, return_counts=True)
    patterns = (((uniq[:, None] >> shifts) & 15) - 1).astype(np.int8)
    return patterns, counts.astype(np.float64)


def _model(
    fields: tuple[str, ...],
    m: list[FloatArray],
    u: list[FloatArray],
    prior: float,
    **kw: object,
) -> MatchModel:
    return MatchModel(
        tuple(FieldModel(f, tuple(mm), tuple(uu)) for f, mm, uu in zip(fields, m, u, strict=True)),
        prior,
        **kw,  # type: ignore[arg-type]
    )


@dataclass(slots=True)
class Labelled:
    """Pairs whose answer is known (reviewers' decisions): their levels and whether each is
    one person. In EM their responsibility is fixed to the answer, in every session."""

    levels: Levels
    match: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.levels)


def _em_session(
    *,
    levels: Levels,
    m: list[FloatArray],
    u: list[FloatArray],
    fields: tuple[str, ...],
    priors: list[FieldPrior],
    estimate: set[int],
    max_iterations: int,
    tolerance: float,
    guard: dict[str, object],
    likelihood: set[int] | None = None,
    labelled: Labelled | None = None,
    free: bool = False,
) -> tuple[list[FloatArray], float, int, bool]:
    """EM over ``levels`` updating m of the ``estimate`` columns only.

    The likelihood uses the ``likelihood`` columns (default: ``estimate``): columns the pairs
    were chosen by are left out, as their agreement was forced by the selection (as in splink).
    Each M-step draws m towards the field's prior by its strength and keeps it within the
    prior's bounds and the field's order (:func:`_constrain`); ``free`` EM does neither (m as
    the data alone would have it, for the plausibility check). ``labelled`` pairs count with
    their known answer.
    """
    patterns, counts = _patterns(levels, len(fields))
    use = np.array(sorted(estimate if likelihood is None else likelihood), dtype=np.int64)
    m = [mm.copy() for mm in m]
    prior, converged, iterations = 0.1, False, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is returned
        model = _model(fields, m, u, prior, **guard)
        fw = model.field_weights(patterns)[:, use] if len(use) else np.zeros((len(patterns), 1))
        weight = float(np.log2(prior / (1 - prior))) + fw.sum(axis=1)
        p = 1.0 / (1.0 + np.exp2(-weight))
        # The name guard in training too: pairs without name evidence never teach EM what a
        # match looks like, however many of them share a birth year.
        p = np.where(model.weak_name(patterns), 0.0, p)
        resp = p * counts
        delta = 0.0
        for k in estimate:
            n = len(m[k])
            counts_k = _level_counts(patterns, k, n, resp)
            if labelled is not None and len(labelled):
                counts_k = counts_k + _level_counts(
                    labelled.levels, k, n, labelled.match.astype(np.float64)
                )
            fp = priors[k]
            if free:
                new = _bounded((counts_k + 1e-3) / (counts_k.sum() + 1e-3 * n))
            else:
                post = (counts_k + fp.strength * np.array(fp.m)) / (counts_k.sum() + fp.strength)
                new = _constrain(post, u[k], fields[k], fp)
            delta = max(delta, float(np.abs(new - m[k]).max()))
            m[k] = new
        total = counts.sum()
        new_prior = float(np.clip(resp.sum() / total if total else prior, *PRIOR_BOUNDS))
        delta = max(delta, abs(new_prior - prior))
        prior = new_prior
        if delta < tolerance:
            converged = True
            break
    return m, prior, iterations, converged


def train(
    *,
    fields: tuple[str, ...],
    sizes: tuple[int, ...],
    candidate_levels: Levels,
    random_levels: Levels,
    birth_levels: Levels | None = None,
    max_iterations: int = 40,
    tolerance: float = 1e-5,
    threshold: float = DEFAULT_THRESHOLD,
    name_parts: tuple[str, ...] = (),
    min_name_level: int = MIN_NAME_LEVEL,
    birth_precisions: tuple[float, float, float] | None = None,
    labelled: Labelled | None = None,
) -> MatchModel:
    """Estimate u from random pairs, m by EM sessions within what is known, then the prior
    over the candidates; flag what looks implausible.

    ``sizes`` is the number of levels of each field (the matrices' columns, in ``fields`` order).
    u comes from random pairs, for the coarse fields from name-alike strangers when there are
    enough (:func:`conditional_u`). EM runs twice, each time on pairs chosen by one field and
    estimating the others: the candidate pairs whose names agree (m of every field but the
    name), then ``birth_levels``, pairs sharing a birth date (m of the name and the rest).
    Running EM once over all candidate pairs with every field would let it "explain" the many
    same-name strangers that blocking brings together as matches, and learn that a birth date
    counts for nothing. Every M-step is held to the fields' priors and bounds
    (:mod:`haven.matching.priors`; the birth prior from ``birth_precisions``, the population's
    shares of records knowing the day, the month, only the year). ``labelled`` pairs
    (reviewers' decisions) count in every session with their known answer, and those decided
    "not the same" join the strangers u of the coarse fields is read from. ``name_parts``
    names extra fields ("extra.surname") that count as name evidence.
    """
    parts = tuple(fields.index(f) for f in name_parts)
    guard: dict[str, object] = {"name_parts": parts, "min_name_level": min_name_level}
    u = estimate_u(levels=random_levels, sizes=sizes)
    negatives = labelled.levels[~labelled.match] if labelled is not None and len(labelled) else None
    u, anchors = conditional_u(
        fields=fields,
        u=u,
        candidate_levels=candidate_levels,
        extra_negatives=negatives,
        min_name_level=min_name_level,
    )
    priors = [field_prior(f, n, birth_precisions) for f, n in zip(fields, sizes, strict=True)]
    m = [_constrain(np.array(fp.m), uu, f, fp) for fp, uu, f in zip(priors, u, fields, strict=True)]
    name_cols = {0, *parts}
    birth_col = fields.index("birth")
    everything = set(range(len(fields)))
    iterations, converged = 0, True
    by_name = (
        candidate_levels[candidate_levels[:, 0] >= NAME_NEARLY]
        if len(candidate_levels)
        else candidate_levels
    )
    sessions: list[tuple[Levels, set[int]]] = [(by_name, everything - name_cols)]
    if birth_levels is not None and len(birth_levels):
        sessions.append((birth_levels, everything - {birth_col}))
    else:  # no birth dates to choose by: candidates whose birth year and month agree
        sessions.append(
            (
                candidate_levels[candidate_levels[:, birth_col] >= BIRTH_SAME_YM],
                everything - {birth_col},
            )
        )
    free_m = [mm.copy() for mm in m]
    for levels, estimate in sessions:
        m, _prior, it, ok = _em_session(
            levels=levels,
            m=m,
            u=u,
            fields=fields,
            priors=priors,
            estimate=estimate,
            max_iterations=max_iterations,
            tolerance=tolerance,
            guard=guard,
            labelled=labelled,
        )
        iterations, converged = iterations + it, converged and ok
        # The same session left free: what EM would have learned without what is known.
        free_m, _p, _it, _ok = _em_session(
            levels=levels,
            m=free_m,
            u=u,
            fields=fields,
            priors=priors,
            estimate=estimate,
            max_iterations=max_iterations,
            tolerance=tolerance,
            guard=guard,
            labelled=labelled,
            free=True,
        )
    wanted = dict(enumerate(free_m))
    # The prior: the share of candidate pairs that are matches, m and u now fixed.
    _m, prior, it, ok = _em_session(
        levels=candidate_levels,
        m=m,
        u=u,
        fields=fields,
        priors=priors,
        estimate=set(),
        max_iterations=max_iterations,
        tolerance=tolerance,
        guard=guard,
        likelihood=everything,
    )
    model = _model(
        fields,
        m,
        u,
        prior,
        threshold=threshold,
        name_parts=parts,
        min_name_level=min_name_level,
        iterations=iterations + it,
        converged=converged and ok,
        anchors=anchors,
        labelled=len(labelled) if labelled is not None else 0,
    )
    return replace(model, warnings=plausibility(model=model, priors=priors, wanted=wanted))


HELD_BITS = 1.0  # EM's own estimate this far (bits) beyond a bound makes a warning


def plausibility(
    *,
    model: MatchModel,
    priors: list[FieldPrior] | None = None,
    wanted: dict[int, FloatArray] | None = None,
) -> tuple[str, ...]:
    """What looks implausible about a trained model, in plain words (empty if nothing).

    Flags the levels where EM left free (``wanted``: m per column, from the same sessions
    without priors or bounds) would have put m well outside what is known about records of
    one person (the bound held it: the model is usable, but the data disagree with the
    priors, or EM found another explanation than "the same person"), the weights that
    point the wrong way after all (the same name or the same date not counting for a match,
    a conflicting date not against it), a prior at its bound, and EM that did not converge.
    """
    out: list[str] = []
    for k, f in enumerate(model.fields):
        labels = f.labels
        if priors is not None and wanted is not None and k in wanted:
            fp, data = priors[k], wanted[k]
            for level, x in enumerate(data.tolist()):
                if x > fp.high[level] * 2**HELD_BITS:
                    out.append(
                        f"{f.field}: the data put {x:.1%} of one person's record pairs at "
                        f"“{labels[level]}”; held at {fp.high[level]:.1%}"
                    )
                elif level == len(data) - 1 and x < fp.low[level] / 2**HELD_BITS:
                    out.append(
                        f"{f.field}: the data put {x:.1%} of one person's record pairs at "
                        f"“{labels[level]}”; held at {fp.low[level]:.1%}"
                    )
        w = f.weights
        if f.field in ("name", "birth") and w[-1] < 3.0:
            out.append(f"{f.field}: “{labels[-1]}” counts only {w[-1]:+.1f} bits for a match")
        if f.field == "birth" and w[0] > -1.0:
            out.append(f"birth: “{labels[0]}” counts only {w[0]:+.1f} bits against a match")
    if not PRIOR_BOUNDS[0] < model.prior < PRIOR_BOUNDS[1]:
        out.append(f"the share of matches among candidates is at its bound ({model.prior:.2g})")
    if not model.converged:
        out.append(f"EM did not converge in {model.iterations} iterations")
    return tuple(out)


PAIR_PRIOR_BOUNDS = (1e-12, 0.5)


def pair_prior(
    *,
    model: MatchModel,
    levels: Levels,
    name_frequency: Frequencies | None,
    total_pairs: float,
    iterations: int = 30,
    even_weights: Frequencies | None = None,
) -> float:
    """The share of *all* pairs of the population that are matches, given the candidates.

    EM's prior is the share of matches among the candidate pairs; but blocking chose those
    pairs because their names agree, and u (from random pairs) does not know that, so name
    agreement would be counted twice: strangers with a common name and the same birth year
    would score as matches. As in splink, the prior here is over all pairs (and u over random
    pairs): the expected number of matches (each candidate's probability, summed, with the
    name-frequency adjustment) over ``total_pairs``, iterated to a fixed point. Pairs that
    were not candidates are taken as non-matches. It falls as the population grows: sharing
    a name and a birth year means less among a million people than among a thousand.
    ``even_weights``: the candidates' weights at even prior odds (``model`` with prior 0.5),
    when the caller has them already.
    """
    if not len(levels) or total_pairs <= 0:
        return PAIR_PRIOR_BOUNDS[0]
    base = (
        even_weights
        if even_weights is not None
        else replace(model, prior=0.5).weights(levels, name_frequency)
    )
    prior = float(np.clip(model.prior * len(levels) / total_pairs, *PAIR_PRIOR_BOUNDS))
    for _ in range(iterations):
        odds = float(np.log2(prior / (1 - prior)))
        expected = sum(
            float((1.0 / (1.0 + np.exp2(-(base[lo : lo + SCORE_CHUNK] + odds)))).sum())
            for lo in range(0, len(base), SCORE_CHUNK)
        )
        new = float(np.clip(expected / total_pairs, *PAIR_PRIOR_BOUNDS))
        if abs(np.log2(new / prior)) < 1e-4:
            prior = new
            break
        prior = new
    return prior


# Fixed parameters for populations too small to train on (EM needs thousands of records), in
# the level order of haven.matching.compare.LABELS, lowest level first: (m, u) per field. Birth
# is what priors.birth_prior_m and birth_random_u compute for a typical mix of precisions (m
# held to the field's bounds and order), written out so that no web process pays for the
# simulation (tests/matching/test_robust.py checks they still agree); sex assumes names that
# say the sex, as Korean given names mostly do (namesakes agree on it).
DEFAULT_PARAMETERS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "birth": (
        (
            0.007364,
            0.000687,
            0.002706,
            0.004809,
            0.000312,
            0.0304,
            0.0591,
            0.582883,
            0.018693,
            0.001573,
            0.007993,
            0.185105,
            0.098374,
        ),
        (
            0.947293,
            0.000687,
            0.010179,
            0.004809,
            0.000312,
            0.000937,
            0.022419,
            0.011303,
            0.000937,
            6.2e-05,
            6.2e-05,
            0.000937,
            6.2e-05,
        ),
    ),  # fmt: skip
    "name": (
        (0.02, 0.04, 0.07, 0.02, 0.02, 0.25, 0.58),
        (0.9497, 0.04, 0.008, 0.0002, 0.0001, 0.0015, 0.0005),
    ),
    "sex": ((0.03, 0.97), (0.15, 0.85)),
    "origin": ((0.06, 0.06, 0.06, 0.42, 0.40), (0.70, 0.14, 0.06, 0.07, 0.03)),
    "occupation": ((0.15, 0.45, 0.40), (0.80, 0.15, 0.05)),
    "group": ((0.5, 0.5), (0.6, 0.4)),
    "broker": ((0.6, 0.4), (0.95, 0.05)),
    "extra": ((0.05, 0.05, 0.15, 0.75), (0.90, 0.07, 0.02, 0.01)),
}
DEFAULT_PRIOR = 0.001


def default_parameters(field: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The fixed (m, u) of one field (extra fields share one setting)."""
    return DEFAULT_PARAMETERS["extra" if field.startswith("extra.") else field]


def simulated_birth_parameters() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """What the fixed birth parameters are computed from (see DEFAULT_PARAMETERS)."""
    m = np.array(birth_prior_m(TYPICAL_MIX))
    u = np.array(birth_random_u(TYPICAL_MIX))
    fp = field_prior("birth", len(m))
    return tuple(_constrain(m, u, "birth", fp).tolist()), tuple(u.tolist())


def default_model(*, fields: tuple[str, ...], threshold: float = DEFAULT_THRESHOLD) -> MatchModel:
    """A model with fixed parameters (no training), with the same guard rails.

    For a handful of pairs or a small organisation; ``fields`` as
    :func:`haven.matching.compare.field_names` lists them (extra fields share one setting).
    """
    return MatchModel(
        tuple(FieldModel(f, *default_parameters(f)) for f in fields),
        DEFAULT_PRIOR,
        threshold=threshold,
    )
