"""Comparison vectors: for each candidate pair, one agreement *level* per field.

Levels run from 0 (disagrees) up to the field's top level (agrees exactly); -1 means "unknown on
at least one side" and carries no weight at all, so a missing birth date neither helps nor hurts.
Everything is vectorised over pairs in chunks; only the optional clear-name path calls Python per
distinct pair of names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.matching.encodings import (
    BIRTH_TOKENS,
    EXACT_TOKENS,
    TOKENS,
    WINDOW_GRIDS,
    EncodedTable,
)
from haven.matching.names import name_similarity
from haven.matching.parallel import over_chunks

Levels = npt.NDArray[np.int8]
Rows = npt.NDArray[np.signedinteger[Any]]  # int64, or int32 (blocking.row_dtype)
Mask = npt.NDArray[np.bool_]
CHUNK = 1 << 19  # pairs compared at once: bounds memory at about 100 MiB a chunk

# Name similarity thresholds of levels 1..4; level 2 is the least a match may rest on.
NAME_STEPS = (0.5, 0.65, 0.85, 0.99)
# Names only (weakly) alike whose spellings are one typo apart get a level of their own,
# between "alike" and "nearly the same": the levels from NAME_STEPS above it move up by one.
NAME_TYPO = 3  # "weakly alike" and one typo apart; "alike" and one typo apart is NAME_TYPO + 1
NAME_NEARLY = 5
EXTRA_STEPS = (0.6, 0.8, 0.95)
CLEAR_PREFILTER = 0.3

LABELS: dict[str, tuple[str, ...]] = {
    "name": (
        "different",
        "weakly alike",
        "alike",
        "one typo apart, weakly alike",
        "one typo apart, alike",
        "nearly the same",
        "the same name",
    ),
    "birth": (
        "different",
        "same day and month, years far apart",
        "a year apart, month differs",
        "same year, month differs",
        "same year and month, day differs",
        "20 to 50 days apart (a lunar date?)",
        "within a year",
        "same year",
        "a year apart, same month",
        "day and month swapped",
        "same day and month, a year apart",
        "same year and month",
        "same date",
    ),
    "origin": (
        "different provinces",
        "same historic province",
        "same province, other towns",
        "same province",
        "same place",
    ),
    "occupation": ("different kind of work", "same kind of work", "the same"),
    **{f: ("differs", "agrees") for f in EXACT_TOKENS},
}
# Birth levels that conflict (both sides know a part of the date and it differs).
BIRTH_CONFLICTS = frozenset({0, 1, 2, 3, 4})
EXTRA_LABELS = ("different", "alike", "nearly the same", "the same")


@dataclass(slots=True)
class Comparisons:
    """Levels of every field for a list of pairs (rows ``left`` of one table, ``right`` of the
    other), and how common each pair's name is."""

    fields: tuple[str, ...]
    left: Rows
    right: Rows
    levels: Levels  # (pairs, fields), -1 unknown
    name_frequency: npt.NDArray[np.float32]  # the commoner side's share of its table

    def __len__(self) -> int:
        return len(self.left)

    def joined(self, other: Comparisons) -> Comparisons:
        """These pairs followed by ``other``'s (the same fields)."""
        return Comparisons(
            self.fields,
            np.concatenate([self.left, other.left.astype(self.left.dtype)]),
            np.concatenate([self.right, other.right.astype(self.right.dtype)]),
            np.concatenate([self.levels, other.levels]),
            np.concatenate([self.name_frequency, other.name_frequency]),
        )


def field_names(table: EncodedTable) -> tuple[str, ...]:
    """The compared fields of a table, in level-matrix column order."""
    return ("name", "birth", *TOKENS, *(f"extra.{f}" for f in table.extra_fields))


def labels_for(field: str) -> tuple[str, ...]:
    """Human labels of a field's levels, lowest first."""
    return LABELS.get(field, EXTRA_LABELS)


def _steps(score: npt.NDArray[np.float64], steps: tuple[float, ...]) -> Levels:
    lv = np.zeros(score.shape, dtype=np.int8)
    for s in steps:
        lv += score >= s
    return np.where(np.isnan(score), -1, lv).astype(np.int8)


def _known_dice(
    table_a: EncodedTable, table_b: EncodedTable, field: str, i: Rows, j: Rows
) -> npt.NDArray[np.float64]:
    """Dice of each pair's filters for ``field``; NaN where either filter is empty."""
    return _cross_dice(table_a, table_b, field, field, i, j)


def _phonetic_dice(a: EncodedTable, b: EncodedTable, i: Rows, j: Rows) -> npt.NDArray[np.float64]:
    """Dice of the best-agreeing pair of readings, one filter per reading; NaN if unknown."""
    out = _known_dice(a, b, "name.phonetic", i, j)
    alt = "name.phonetic.alt"
    if alt not in a.blooms or alt not in b.blooms:
        return out
    # Only pairs not already agreeing where either side has a second reading pay for more.
    rest = np.flatnonzero((out < 0.99) & ((a.popcounts(alt)[i] > 0) | (b.popcounts(alt)[j] > 0)))
    if len(rest):
        ri, rj = i[rest], j[rest]
        best = out[rest]
        for fa, fb in ((alt, "name.phonetic"), ("name.phonetic", alt), (alt, alt)):
            best = np.fmax(best, _cross_dice(a, b, fa, fb, ri, rj))
        out[rest] = best
    return out


def _cross_dice(
    a: EncodedTable, b: EncodedTable, fa: str, fb: str, i: Rows, j: Rows
) -> npt.NDArray[np.float64]:
    """Dice of filter ``fa`` of ``a`` against filter ``fb`` of ``b`` (same hash); NaN if empty."""
    pa, pb = a.popcounts(fa)[i], b.popcounts(fb)[j]
    out = np.full(len(i), np.nan)
    k = np.flatnonzero((pa > 0) & (pb > 0))
    if len(k):
        # take() and an in-place AND: one (k, words) temporary instead of three, which halves
        # the time of this, the pass's hottest loop, on tens of millions of pairs.
        both = np.take(a.blooms[fa], i[k], axis=0)
        np.bitwise_and(both, np.take(b.blooms[fb], j[k], axis=0), out=both)
        inter = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
        out[k] = 2.0 * inter / (pa[k] + pb[k])
    return out


def _name_score_encoded(
    a: EncodedTable, b: EncodedTable, i: Rows, j: Rows
) -> npt.NDArray[np.float64]:
    phon = _phonetic_dice(a, b, i, j)
    # Korean phonetic agreement where both names read as Korean, else the written form. The
    # letters count for less than syllables when both read as Korean: they agree by accident
    # more often (Gim Hyeon Jeong, Gim Jeong Sang), but catch typos that break a reading.
    # The written form is only worth comparing where the syllables do not already agree.
    score = phon.copy()
    need = np.flatnonzero(~(phon >= 0.99))
    text = _known_dice(a, b, "name.text", i[need], j[need])
    p = phon[need]
    score[need] = np.where(np.isnan(p), text, np.fmax(p, 0.8 * np.nan_to_num(text, nan=0.0)))
    # Both wrote Hangul: the exact syllables decide (박우연 and 박우윤 share a phonetic code).
    hangul = _known_dice(a, b, "name.hangul", i, j)
    return np.where(np.isnan(hangul), score, hangul)


EDIT_CHUNK = 1 << 14  # pairs whose token slots are compared at once (slots² bytes each)


def _edits_meet(a: EncodedTable, b: EncodedTable, i: Rows, j: Rows) -> npt.NDArray[np.bool_]:
    """Whether each pair's one-edit neighbourhoods (``name.edits``) share a token."""
    field = "name.edits"
    out = np.zeros(len(i), dtype=bool)
    if field not in a.blooms or field not in b.blooms:
        return out
    for lo in range(0, len(i), EDIT_CHUNK):
        left = np.take(a.blooms[field], i[lo : lo + EDIT_CHUNK], axis=0).view(np.uint32)
        right = np.take(b.blooms[field], j[lo : lo + EDIT_CHUNK], axis=0).view(np.uint32)
        right[right == 0] = 0xFFFFFFFF  # an unused slot never meets one on the other side
        meet = left[:, :, None] == right[:, None, :]
        out[lo : lo + EDIT_CHUNK] = meet.reshape(len(left), -1).any(axis=1)
    return out


def _name_levels(
    a: EncodedTable, b: EncodedTable, i: Rows, j: Rows, score: npt.NDArray[np.float64]
) -> Levels:
    """Name levels from the similarity, with "one typo apart" for (weakly) alike names whose
    spellings are one edit apart."""
    lv = _steps(score, NAME_STEPS)
    lv[lv >= NAME_TYPO] += NAME_NEARLY - NAME_TYPO
    # Two names both written in Hangul are told apart by their exact syllables (박우연, 박우윤
    # spell alike in keys): a typo in Hangul drops or swaps a syllable, never a letter.
    hangul = (a.popcounts("name.hangul")[i] > 0) & (b.popcounts("name.hangul")[j] > 0)
    weak = np.flatnonzero(((lv == 1) | (lv == 2)) & ~hangul)
    typo = weak[_edits_meet(a, b, i[weak], j[weak])]
    lv[typo] += NAME_TYPO - 1
    return lv


class ClearNames:
    """Name similarity on clear records with the full Korean rules, cached per pair of names."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], float] = {}

    def scores(self, a: EncodedTable, b: EncodedTable, i: Rows, j: Rows) -> npt.NDArray[np.float64]:
        """Similarity of each pair's names; NaN where a name is empty."""
        ra, rb = a.records, b.records
        if ra is None or rb is None:
            raise ValueError("clear name comparison needs tables made with keep_records=True")
        out = np.empty(len(i), dtype=np.float64)
        cache = self._cache
        for k, (x, y) in enumerate(zip(i.tolist(), j.tolist(), strict=True)):
            na, nb = ra[x].name, rb[y].name
            if not (na.text and nb.text):
                out[k] = np.nan
                continue
            ka, kb = na.identity, nb.identity
            key = (ka, kb) if ka <= kb else (kb, ka)
            s = cache.get(key)
            if s is None:
                s = cache[key] = name_similarity(na, nb)
            out[k] = s
        return out


def _meet(a: EncodedTable, b: EncodedTable, fa: str, fb: str, i: Rows, j: Rows) -> Mask:
    """Where token ``fa`` of ``a`` equals token ``fb`` of ``b`` (both known)."""
    x = a.tokens[fa][i]
    return (x == b.tokens[fb][j]) & (x != 0)


def _birth_levels(a: EncodedTable, b: EncodedTable, i: Rows, j: Rows) -> Levels:
    """Birth levels (``LABELS["birth"]``): how the dates as written agree, with the errors
    real records have — a year off by one, day and month swapped, a lunar date written for
    the solar one (20 to 50 days earlier), only the year known."""
    eq = {f: _meet(a, b, f, f, i, j) for f in BIRTH_TOKENS}
    near = eq["birth.y2a"] | eq["birth.y2b"]  # years at most one apart
    # Both know the month (and the day) and it differs: two full dates that disagree are more
    # likely two people than one date with a typo, so these get levels of their own, below
    # the agreeing ones (a year apart and another month is not "within a year").
    both_months = (a.tokens["birth.m"][i] != 0) & (b.tokens["birth.m"][j] != 0)
    both_days = (a.tokens["birth.md"][i] != 0) & (b.tokens["birth.md"][j] != 0)
    month_differs = both_months & ~eq["birth.m"]
    lv = np.zeros(len(i), dtype=np.int8)
    lv[eq["birth.md"] & ~near] = 1  # a mistyped year, or a coincidence
    lv[near & month_differs] = 2
    lv[near & ~month_differs] = 6
    lv[eq["birth.y"] & month_differs] = 3
    lv[eq["birth.y"] & ~month_differs] = 7
    lv[eq["birth.ym"] & both_days] = 4  # the same year and month, both know the day: it differs
    # Dates that disagree but lie 20 to 50 days apart: one may be the lunar birthday.
    conflict = np.flatnonzero(lv <= 4)
    if len(conflict) and "birth.w0" in a.tokens and "birth.w0" in b.tokens:
        ci, cj = i[conflict], j[conflict]
        window = np.zeros(len(conflict), dtype=bool)
        for k in range(WINDOW_GRIDS):
            window |= _meet(a, b, f"birth.s{k}", f"birth.w{k}", ci, cj)
            window |= _meet(a, b, f"birth.w{k}", f"birth.s{k}", ci, cj)
        lv[conflict[window]] = 5
    # A year apart in the same month (the day unknown on one side) is a mistyped year far more
    # often than "within a year" with the month unknown: a twelfth of strangers share a month.
    lv[near & ~eq["birth.y"] & eq["birth.m"] & ~both_days] = 8
    if "birth.swap" in a.tokens and "birth.swap" in b.tokens:
        swap = _meet(a, b, "birth.ymd", "birth.swap", i, j)
        swap |= _meet(a, b, "birth.swap", "birth.ymd", i, j)
        lv[swap] = 9
    lv[eq["birth.md"] & near & ~eq["birth.y"]] = 10
    lv[eq["birth.ym"] & ~both_days] = 11
    lv[eq["birth.ymd"]] = 12
    unknown = (a.tokens["birth.y"][i] == 0) | (b.tokens["birth.y"][j] == 0)
    lv[unknown] = -1
    return lv


def _origin_levels(a: EncodedTable, b: EncodedTable, i: Rows, j: Rows) -> Levels:
    """Origin levels (``LABELS["origin"]``): origins compared as places. Two places the
    tables do not know are compared only for equality (unknown otherwise): a town missing
    from the tables is not "a different province"."""
    lv = np.full(len(i), -1, dtype=np.int8)
    if "origin.province" not in a.tokens or "origin.province" not in b.tokens:
        return lv
    ra, rb = a.tokens["origin.region"][i], b.tokens["origin.region"][j]
    pa, pb = a.tokens["origin.province"][i], b.tokens["origin.province"][j]
    xa, xb = a.tokens["origin.place"][i], b.tokens["origin.place"][j]
    regions = (ra != 0) & (rb != 0)
    provinces = (pa != 0) & (pb != 0)
    lv[regions] = np.where(ra[regions] == rb[regions], 1, 0)
    same = provinces & (pa == pb)
    lv[same] = 3
    lv[same & (xa != 0) & (xb != 0) & (xa != xb)] = 2
    lv[(xa == xb) & (xa != 0)] = 4
    return lv


def _occupation_levels(a: EncodedTable, b: EncodedTable, i: Rows, j: Rows) -> Levels:
    """Occupation levels (``LABELS["occupation"]``): the same words, the same kind of work,
    or different kinds; unknown where either says nothing about the kind."""
    lv = np.full(len(i), -1, dtype=np.int8)
    if "occupation.kind" not in a.tokens or "occupation.kind" not in b.tokens:
        return lv
    ka, kb = a.tokens["occupation.kind"][i], b.tokens["occupation.kind"][j]
    known = (ka != 0) & (kb != 0)
    lv[known] = (ka[known] == kb[known]).astype(np.int8)
    lv[_meet(a, b, "occupation", "occupation", i, j)] = 2
    return lv


def _warm(table: EncodedTable) -> None:
    """Compute a table's lazily cached popcounts and name frequencies before threads read them."""
    for name in table.blooms:
        table.popcounts(name)
    table.name_frequency()


def compare_pairs(
    *,
    left: EncodedTable,
    right: EncodedTable,
    i: Rows,
    j: Rows,
    clear_names: ClearNames | None = None,
) -> Comparisons:
    """Comparison levels of pairs (``left`` row ``i[k]``, ``right`` row ``j[k]``).

    With ``clear_names`` (tables kept their clear records) the name level comes from
    :func:`haven.matching.names.name_similarity`; otherwise from the Bloom filters alone.
    """
    fields = field_names(left)
    levels = np.empty((len(i), len(fields)), dtype=np.int8)
    freq = np.empty(len(i), dtype=np.float32)
    _warm(left)
    _warm(right)

    def chunk(lo: int, hi: int) -> None:
        ci, cj = i[lo:hi], j[lo:hi]
        out = levels[lo:hi]
        score = _name_score_encoded(left, right, ci, cj)
        if clear_names is not None:
            # Names whose filters share almost nothing are different under any rule: only the
            # others pay for the full comparison (most random pairs are skipped this way).
            near = np.flatnonzero(~(score < CLEAR_PREFILTER))
            score[near] = clear_names.scores(left, right, ci[near], cj[near])
        out[:, 0] = _name_levels(left, right, ci, cj, score)
        out[:, 1] = _birth_levels(left, right, ci, cj)
        for col, f in enumerate(TOKENS, start=2):
            if f == "origin":
                out[:, col] = _origin_levels(left, right, ci, cj)
            elif f == "occupation":
                out[:, col] = _occupation_levels(left, right, ci, cj)
            else:
                x, y = left.tokens[f][ci], right.tokens[f][cj]
                out[:, col] = np.where((x == 0) | (y == 0), -1, (x == y).astype(np.int8))
        for col, f in enumerate(left.extra_fields, start=2 + len(TOKENS)):
            key = "extra." + f
            out[:, col] = _steps(_known_dice(left, right, key, ci, cj), EXTRA_STEPS)
        np.maximum(left.name_frequency()[ci], right.name_frequency()[cj], out=freq[lo:hi])

    if clear_names is None:
        over_chunks(total=len(i), size=CHUNK, work=chunk)
    else:
        # The clear-name path is Python per pair (the GIL): threads would only add overhead.
        for lo in range(0, len(i), CHUNK):
            chunk(lo, min(lo + CHUNK, len(i)))
    return Comparisons(fields, i, j, levels, freq)


def level_counts(levels: Levels, column: int, n_levels: int) -> npt.NDArray[np.float64]:
    """How many pairs sit at each level of one field (unknown excluded)."""
    col = levels[:, column]
    return np.bincount(col[col >= 0].astype(np.int64), minlength=n_levels).astype(np.float64)
