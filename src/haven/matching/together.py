"""Evidence from the people a record was reported with.

A request names several people more often than not (a family, a broker's group, a restaurant's
workers), and when the same people are reported again they tend to come together: a second
broker's roster, a relative's message on the direct line. If two records from two requests look
like one person *and other people of those same two requests also look like one person each*,
the pair is far likelier to be right than its fields alone say; a namesake born in another
province is almost never reported beside the companions of the person they are mistaken for.

For each candidate pair whose two records come from two different requests that both name
others, this counts the *other* pairs between the same two requests that were proposed
(probability at least :data:`STRONG`) and touch neither record of the pair. A sibling mistaken
for their brother across two reports of the family finds the brother's own match touching one
of its records, so it does not count as support for itself. The evidence has two levels, "other
people of these two requests match too" and "no one else does", weighed by log2(m/u) like every
other field, with m and u estimated on the pass's own candidates from their first scores (each
pair counted as one person by its probability), bounded, and dropped when the estimate is not
plausible (fewer than :data:`MIN_EXPECTED` expected true pairs, or m not above u). Pairs where
either request names nobody else, or both records come from one request, are left as they were.

Requests are integer codes given by the caller (the product: each person's case's request); the
module knows nothing about what a request holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.signedinteger[Any]]

STRONG = 0.5  # a pair counts as support from this probability (the dedupe threshold)
STRONG_BITS = float(np.log2(STRONG / (1 - STRONG)))
MIN_EXPECTED = 20.0  # expected true pairs among the possible ones below which nothing is learnt
M_BOUNDS = (0.02, 0.98)
U_BOUNDS = (1e-4, 0.5)
MAX_BITS = 10.0  # no single piece of evidence may outweigh the name


@dataclass(frozen=True, slots=True)
class Together:
    """What the pass learnt and found: the weights of the two levels (bits) and, for each
    candidate the evidence applied to (``rows``, sorted), how many other pairs of its two
    requests were proposed."""

    m: float
    u: float
    rows: npt.NDArray[np.int64]
    support: npt.NDArray[np.int32]

    @property
    def agree_weight(self) -> float:
        """Bits added where others of the two requests match too."""
        return float(np.clip(np.log2(self.m / self.u), -MAX_BITS, MAX_BITS))

    @property
    def disagree_weight(self) -> float:
        """Bits added where no one else of the two requests matches."""
        return float(np.clip(np.log2((1 - self.m) / (1 - self.u)), -MAX_BITS, MAX_BITS))

    def weights(
        self,
        weak_name: npt.NDArray[np.bool_] | None = None,
        support: npt.NDArray[np.int32] | None = None,
    ) -> npt.NDArray[np.float32]:
        """The weight added to each of ``rows`` (or for each given ``support``); where
        ``weak_name`` (the model's name guard: names not alike enough) support counts nothing,
        as the other coarse evidence."""
        support = self.support if support is None else support
        out = np.where(support > 0, self.agree_weight, self.disagree_weight)
        if weak_name is not None:
            out = np.where(weak_name & (out > 0), 0.0, out)
        return out.astype(np.float32)

    def learnt(self) -> Together:
        """The estimate alone, without the candidates' support (to keep with a result)."""
        return _weights_only(self.m, self.u)

    def support_of(self, candidates: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """The support of each given candidate (-1 where the evidence did not apply)."""
        if not len(self.rows):
            return np.full(len(candidates), -1, dtype=np.int32)
        pos = np.minimum(np.searchsorted(self.rows, candidates), len(self.rows) - 1)
        return np.where(self.rows[pos] == candidates, self.support[pos], -1).astype(np.int32)


def _weights_only(m: float, u: float) -> Together:
    return Together(m=m, u=u, rows=np.zeros(0, np.int64), support=np.zeros(0, np.int32))


# Where nothing could be learnt (the request page, a small organisation's pass, a stored
# model): below what the full passes on the blind generator learnt (m 0.56 to 0.77, u 0.007 to
# 0.020), so that support counts a little less than measured: +4.6 bits, -1.0 without.
FIXED_M, FIXED_U = 0.5, 0.02


def fixed() -> Together:
    """The evidence's fixed weights, for scoring without a pass to learn them from."""
    return _weights_only(FIXED_M, FIXED_U)


def _distinct(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The sorted distinct values (by sorting: numpy's hashing unique was ten times slower on
    a few million 64-bit keys)."""
    if not len(values):
        return values
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def _count_lookup(
    keys: npt.NDArray[np.int64], queries: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """How often each query occurs among ``keys``."""
    if not len(keys):
        return np.zeros(len(queries), dtype=np.int64)
    ordered = np.sort(keys)
    first = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    distinct = ordered[first]
    counts = np.diff(np.append(first, len(ordered)))
    pos = np.minimum(np.searchsorted(distinct, queries), len(distinct) - 1)
    return np.where(distinct[pos] == queries, counts[pos], 0).astype(np.int64)


def _compact(
    requests: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Request codes renumbered 0..k-1 (-1 stays unknown), so that keys built from them stay
    within 64 bits whatever the caller gave, and each request's number of records."""
    requests = np.asarray(requests, dtype=np.int64)
    known = requests >= 0
    req = np.full(len(requests), -1, dtype=np.int64)
    distinct, inverse = np.unique(requests[known], return_inverse=True)
    req[known] = inverse.ravel()
    return req, np.bincount(req[known], minlength=len(distinct))


def support_counts(
    *,
    left: Rows,
    right: Rows,
    weight: npt.NDArray[np.floating[Any]],
    requests: npt.NDArray[np.int64],
    not_same: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """(candidates the evidence applies to, sorted; each one's support): for each candidate
    pair between two different requests that both name someone else, how many *other*
    candidate pairs between the same two requests have ``weight`` at least the log2 odds of
    :data:`STRONG` and share neither of its records. ``left``/``right`` are rows of one row
    space (a record is one row however often it appears); a pair given twice, either way
    round, counts once. ``requests`` gives each row's request (any integers, -1 unknown);
    pairs marked ``not_same`` (reviewers said they are two people) support nothing."""
    req, size = _compact(requests)
    if not len(left) or not len(size):
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    n_req = len(size)
    ra = req[np.asarray(left, dtype=np.int64)]
    rb = req[np.asarray(right, dtype=np.int64)]
    many = (ra >= 0) & (rb >= 0) & (ra != rb)
    many[many] &= (size[ra[many]] > 1) & (size[rb[many]] > 1)
    rows = np.flatnonzero(many).astype(np.int64)
    if not len(rows):
        return rows, np.zeros(0, np.int32)
    a = np.asarray(left, dtype=np.int64)[rows]
    b = np.asarray(right, dtype=np.int64)[rows]
    x, y = np.minimum(a, b), np.maximum(a, b)  # the pair either way round
    lo, hi = np.minimum(ra[rows], rb[rows]), np.maximum(ra[rows], rb[rows])
    del ra, rb, many, a, b
    n = int(y.max()) + 1
    # Request pairs and record pairs as compact codes: code * count stays within 64 bits.
    code = np.unique(lo * n_req + hi, return_inverse=True)[1].astype(np.int64).ravel()
    pair = np.unique(x * n + y, return_inverse=True)[1].astype(np.int64).ravel()
    del lo, hi
    strong = np.asarray(weight[rows], dtype=np.float64) >= STRONG_BITS
    if not_same is not None:
        strong &= ~not_same[rows]
    n_pairs = int(pair.max()) + 1
    # Each strong pair once (a pair given twice is one pair).
    s_key = _distinct(code[strong] * n_pairs + pair[strong])
    s_code = s_key // n_pairs
    s_pair = s_key % n_pairs
    first = np.zeros(n_pairs, dtype=np.int64)
    second = np.zeros(n_pairs, dtype=np.int64)
    first[pair], second[pair] = x, y
    total = _count_lookup(s_code, code)
    touching = np.concatenate([s_code * n + first[s_pair], s_code * n + second[s_pair]])
    at_x = _count_lookup(touching, code * n + x)
    at_y = _count_lookup(touching, code * n + y)
    itself = _count_lookup(s_key, code * n_pairs + pair)
    # The strong pairs touching x or y: at_x + at_y, less the pair itself counted twice.
    return rows, (total - at_x - at_y + itself).astype(np.int32)


def reported_together(
    *,
    left: Rows,
    right: Rows,
    weight: npt.NDArray[np.floating[Any]],
    requests: npt.NDArray[np.int64],
    learn_from: int | None = None,
    not_same: npt.NDArray[np.bool_] | None = None,
) -> Together | None:
    """The co-reporting evidence of a dedupe's candidate pairs (``left``/``right`` rows,
    ``weight`` their log2 odds so far), given each row's request code (``requests``, -1 where
    unknown). m and u are learnt from the first ``learn_from`` pairs (all by default: the
    pairs blocking chose; the companions' cross pairs added after them are nearly all
    strangers supported by someone else's match, and would teach that support is common among
    strangers). ``None`` when it does not apply or could not be estimated; the caller adds
    :meth:`Together.weights` to ``weight[rows]``."""
    rows, support = support_counts(
        left=left, right=right, weight=weight, requests=requests, not_same=not_same
    )
    if not len(rows):
        return None
    learn = rows < (len(left) if learn_from is None else learn_from)
    p = 1.0 / (1.0 + np.exp2(-np.asarray(weight[rows[learn]], dtype=np.float64)))
    agree = support[learn] > 0
    expected = float(p.sum())
    if expected < MIN_EXPECTED or expected > len(p) - MIN_EXPECTED:
        return None
    m = float((p * agree).sum() / expected)
    u = float(((1 - p) * agree).sum() / (len(p) - expected))
    if m <= u:  # support would count against a match: not the evidence this is about
        return None
    m = min(max(m, M_BOUNDS[0]), M_BOUNDS[1])
    u = min(max(u, U_BOUNDS[0]), min(U_BOUNDS[1], m))
    return Together(m=m, u=u, rows=rows, support=support)


MAX_MEMBERS = 20  # requests naming more people are not searched for companions (bulk lists)


def companion_pairs(
    *,
    left: Rows,
    right: Rows,
    weight: npt.NDArray[np.floating[Any]],
    requests: npt.NDArray[np.int64],
    not_same: npt.NDArray[np.bool_] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs blocking did not bring together, between two requests that already share a
    proposed pair (``weight`` at least the log2 odds of :data:`STRONG`): each other person of
    one with each other person of the other, (lower row, higher row), none of them among the
    given pairs (``not_same`` ones, which reviewers said are two people, do not count as
    proposed). A common name without a birth date is in a block too large to compare, and a
    name spelled two letters off shares no blocking key; beside a companion's match they are
    worth comparing."""
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    codes, size = _compact(requests)
    if not len(left) or not len(size):
        return none
    a = np.asarray(left, dtype=np.int64)
    b = np.asarray(right, dtype=np.int64)
    ra, rb = codes[a], codes[b]
    strong = (np.asarray(weight) >= STRONG_BITS) & (ra >= 0) & (rb >= 0)
    strong &= ra != rb
    if not_same is not None:
        strong &= ~not_same
    if not strong.any():
        return none
    n_req = len(size)
    key = _distinct(np.minimum(ra[strong], rb[strong]) * n_req + np.maximum(ra[strong], rb[strong]))
    pairs = np.stack([key // n_req, key % n_req], axis=1)
    # Each request's rows, consecutive in ``order``: request r's are order[start[r]:][:size[r]].
    order = np.argsort(codes, kind="stable")
    start = np.searchsorted(codes[order], np.arange(n_req))
    s1, s2 = size[pairs[:, 0]], size[pairs[:, 1]]
    # One of them naming no one else leaves nothing new; bulk lists are not searched.
    usable = (s1 >= 2) & (s2 >= 2) & (s1 <= MAX_MEMBERS) & (s2 <= MAX_MEMBERS)
    pairs, s1, s2 = pairs[usable], s1[usable], s2[usable]
    if not len(pairs):
        return none
    count = s1 * s2
    which = np.repeat(np.arange(len(pairs)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    x = order[start[pairs[which, 0]] + k // s2[which]]
    y = order[start[pairs[which, 1]] + k % s2[which]]
    xs, ys = np.minimum(x, y), np.maximum(x, y)
    n = int(len(codes))
    new = _distinct(xs.astype(np.int64) * n + ys.astype(np.int64))
    known = _distinct(np.minimum(a, b) * n + np.maximum(a, b))
    new = new[~np.isin(new, known, assume_unique=True)]
    return new // n, new % n
