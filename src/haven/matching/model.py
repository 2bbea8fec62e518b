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

import numpy as np
import numpy.typing as npt

from haven.matching.compare import NAME_NEARLY, Levels, labels_for
from haven.matching.parallel import over_chunks

FloatArray = npt.NDArray[np.float64]
BOUND = 1e-5
PRIOR_BOUNDS = (1e-6, 0.9)
PSEUDO_COUNT = 50.0  # Dirichlet strength pulling m towards its prior shape
MIN_NAME_LEVEL = 2  # names at least "alike" (similarity >= 0.65) for any match
CONFLICT_NAME_LEVEL = NAME_NEARLY  # "nearly the same" (>= 0.85) when the birth dates conflict
DEFAULT_THRESHOLD = 0.9
TF_BOUND = 6.0  # bits: how far a name's frequency may move its weight either way
SCORE_CHUNK = 1 << 20  # pairs scored at once
DENSE_PATTERNS = 1 << 22  # distinct level vectors counted by bincount up to this many
COARSE = frozenset({"birth", "sex", "origin", "occupation", "group", "broker"})


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
            conflict = np.isin(levels[:, birth], sorted(NEVER_FOR["birth"]))
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

    def frequency_weights(self, levels: Levels, name_frequency: FloatArray | None) -> FloatArray:
        """The adjustment of "the same name" for how common the name is, in bits.

        Sharing a rare name says more than sharing 김민준: u of the top name level is replaced
        by the name's own frequency (as splink's term-frequency adjustment does), within bounds.
        """
        if name_frequency is None or not len(levels):
            return np.zeros(len(levels))
        top = levels[:, 0] == len(self.fields[0].m) - 1
        u_top = self.fields[0].u[-1]
        adjust = np.log2(u_top / np.maximum(name_frequency, 1e-9))
        return np.where(top, np.clip(adjust, -TF_BOUND, TF_BOUND), 0.0)

    def score(
        self, levels: Levels, name_frequency: FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Match weight (log2 odds) and probability per pair, after the name guard.

        ``name_frequency`` (see :meth:`frequency_weights`) adjusts agreeing names for how
        common they are; without it every name counts alike.
        """
        prior_weight = float(np.log2(self.prior / (1 - self.prior)))
        self._check_levels(levels)
        table = self.weight_table()
        weight = np.empty(len(levels))
        prob = np.empty(len(levels))
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
            prob[lo:hi] = 1.0 / (1.0 + np.exp2(-w_sum))

        over_chunks(total=len(levels), size=SCORE_CHUNK, work=chunk)
        return weight, prob


def probability(weight: FloatArray) -> FloatArray:
    """The match probability of each match weight (log2 odds)."""
    prob = np.empty(len(weight))

    def chunk(lo: int, hi: int) -> None:
        prob[lo:hi] = 1.0 / (1.0 + np.exp2(-weight[lo:hi]))

    over_chunks(total=len(weight), size=SCORE_CHUNK, work=chunk)
    return prob


def _prior_m(n_levels: int) -> FloatArray:
    # Matches mostly agree exactly; each level below is a few times rarer.
    shape = np.array([4.0**k for k in range(n_levels)])
    return shape / shape.sum()


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


# Levels that can never count *for* a match, whatever EM finds: names that differ, and birth
# dates that conflict (different; same day and month years apart; a year apart, other month;
# same year, other month; same year and month, other day).
NEVER_FOR: dict[str, frozenset[int]] = {
    "name": frozenset({0, 1}),
    "birth": frozenset({0, 1, 2, 4, 5}),
}


def _guard_monotone(m: FloatArray, u: FloatArray, field: str = "") -> FloatArray:
    """Top level for a match, disagreeing levels against: directions EM may not flip."""
    m = m.copy()
    if m[-1] < u[-1] * 1.5:
        m[-1] = u[-1] * 1.5
    for level in NEVER_FOR.get(field, frozenset({0})):
        m[level] = min(m[level], u[level])
    return _bounded(m / m.sum())


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


def _em_session(
    *,
    levels: Levels,
    m: list[FloatArray],
    u: list[FloatArray],
    fields: tuple[str, ...],
    estimate: set[int],
    max_iterations: int,
    tolerance: float,
    guard: dict[str, object],
    likelihood: set[int] | None = None,
) -> tuple[list[FloatArray], float, int, bool]:
    """EM over ``levels`` updating m of the ``estimate`` columns only.

    The likelihood uses the ``likelihood`` columns (default: ``estimate``): columns the pairs
    were chosen by are left out, as their agreement was forced by the selection (as in splink).
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
            post = (counts_k + PSEUDO_COUNT * _prior_m(n)) / (counts_k.sum() + PSEUDO_COUNT)
            new = _guard_monotone(_bounded(post), u[k], fields[k])
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
) -> MatchModel:
    """Estimate u from random pairs, m by EM sessions, then the prior over the candidates.

    ``sizes`` is the number of levels of each field (the matrices' columns, in ``fields`` order).
    EM runs twice, each time on pairs chosen by one field and estimating the others: the
    candidate pairs whose names agree (m of every field but the name), then ``birth_levels``,
    pairs sharing a birth date (m of the name and the rest). Running EM once over all candidate
    pairs with every field would let it "explain" the many same-name strangers that blocking
    brings together as matches, and learn that a birth date counts for nothing.
    ``name_parts`` names extra fields ("extra.surname") that count as name evidence.
    """
    parts = tuple(fields.index(f) for f in name_parts)
    guard: dict[str, object] = {"name_parts": parts, "min_name_level": min_name_level}
    u = estimate_u(levels=random_levels, sizes=sizes)
    m = [_prior_m(n) for n in sizes]
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
            (candidate_levels[candidate_levels[:, birth_col] >= 6], everything - {birth_col})
        )
    for levels, estimate in sessions:
        m, _prior, it, ok = _em_session(
            levels=levels,
            m=m,
            u=u,
            fields=fields,
            estimate=estimate,
            max_iterations=max_iterations,
            tolerance=tolerance,
            guard=guard,
        )
        iterations, converged = iterations + it, converged and ok
    # The prior: the share of candidate pairs that are matches, m and u now fixed.
    _m, prior, it, ok = _em_session(
        levels=candidate_levels,
        m=m,
        u=u,
        fields=fields,
        estimate=set(),
        max_iterations=max_iterations,
        tolerance=tolerance,
        guard=guard,
        likelihood=everything,
    )
    return _model(
        fields,
        m,
        u,
        prior,
        threshold=threshold,
        name_parts=parts,
        min_name_level=min_name_level,
        iterations=iterations + it,
        converged=converged and ok,
    )


PAIR_PRIOR_BOUNDS = (1e-12, 0.5)


def pair_prior(
    *,
    model: MatchModel,
    levels: Levels,
    name_frequency: FloatArray | None,
    total_pairs: float,
    iterations: int = 30,
    even_weights: FloatArray | None = None,
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
        else replace(model, prior=0.5).score(levels, name_frequency)[0]
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
# the level order of haven.matching.compare.LABELS, lowest level first: (m, u) per field.
DEFAULT_PARAMETERS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "name": (
        (0.02, 0.04, 0.07, 0.02, 0.02, 0.25, 0.58),
        (0.9497, 0.04, 0.008, 0.0002, 0.0001, 0.0015, 0.0005),
    ),
    "birth": (
        (0.03, 0.01, 0.01, 0.05, 0.03, 0.003, 0.157, 0.02, 0.05, 0.14, 0.50),
        (0.90, 0.003, 0.037, 0.0028, 0.045, 0.003, 0.005, 0.0002, 0.0002, 0.002, 0.0002),
    ),
    "sex": ((0.03, 0.97), (0.5, 0.5)),
    "origin": ((0.15, 0.85), (0.85, 0.15)),
    "occupation": ((0.2, 0.8), (0.7, 0.3)),
    "group": ((0.5, 0.5), (0.6, 0.4)),
    "broker": ((0.6, 0.4), (0.95, 0.05)),
    "extra": ((0.05, 0.05, 0.15, 0.75), (0.90, 0.07, 0.02, 0.01)),
}
DEFAULT_PRIOR = 0.001


def default_model(*, fields: tuple[str, ...], threshold: float = DEFAULT_THRESHOLD) -> MatchModel:
    """A model with fixed parameters (no training), with the same guard rails.

    For a handful of pairs or a small organisation; ``fields`` as
    :func:`haven.matching.compare.field_names` lists them (extra fields share one setting).
    """
    return MatchModel(
        tuple(
            FieldModel(f, *DEFAULT_PARAMETERS["extra" if f.startswith("extra.") else f])
            for f in fields
        ),
        DEFAULT_PRIOR,
        threshold=threshold,
    )
